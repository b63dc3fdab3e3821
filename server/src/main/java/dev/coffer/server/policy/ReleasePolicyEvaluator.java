package dev.coffer.server.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.server.policy.ReleasePolicy.AllOf;
import dev.coffer.server.policy.ReleasePolicy.AnyOf;
import dev.coffer.server.policy.ReleasePolicy.AuthorityBlock;
import dev.coffer.server.policy.ReleasePolicy.Condition;
import dev.coffer.server.policy.ReleasePolicy.Expr;

import java.util.ArrayList;
import java.util.List;

/**
 * Evaluates a parsed policy against a verified token's claims. A block applies only to tokens
 * of its own authority. The denial reason names the failing rule by its JSON path, the
 * expectation and what the token carried (claim values are public token content, not secrets).
 */
public final class ReleasePolicyEvaluator {
    private ReleasePolicyEvaluator() {}

    public static PolicyDecision evaluate(ReleasePolicy policy, String issuer, JsonNode claims) {
        List<String> reasons = new ArrayList<>();
        for (AuthorityBlock block : policy.authorities()) {
            String reason;
            if (!block.authority().equals(issuer)) {
                reason = block.path() + ": authority " + block.authority() + " does not match token issuer " + issuer;
            } else {
                reason = failure(block.expr(), claims);
            }
            if (reason == null && !policy.allOfAuthorities()) {
                return new PolicyDecision(true, block.path() + " satisfied");
            }
            if (reason != null) {
                if (policy.allOfAuthorities()) return new PolicyDecision(false, reason);
                reasons.add(reason);
            }
        }
        if (policy.allOfAuthorities()) return new PolicyDecision(true, "policy.allOf satisfied");
        return new PolicyDecision(false, String.join("; ", reasons));
    }

    /** Null when the expression holds, else why not. */
    private static String failure(Expr expr, JsonNode claims) {
        return switch (expr) {
            case AllOf all -> {
                for (Expr e : all.items()) {
                    String r = failure(e, claims);
                    if (r != null) yield r;
                }
                yield null;
            }
            case AnyOf any -> {
                List<String> rs = new ArrayList<>();
                for (Expr e : any.items()) {
                    String r = failure(e, claims);
                    if (r == null) yield null;
                    rs.add(r);
                }
                yield any.path() + ".anyOf: no alternative holds (" + String.join("; ", rs) + ")";
            }
            case Condition c -> condition(c, claims);
        };
    }

    private static String condition(Condition c, JsonNode claims) {
        JsonNode value = claims;
        for (String segment : c.claimPath()) {
            if (value == null) break;
            if (value.isArray() && segment.chars().allMatch(Character::isDigit) && segment.length() < 9) {
                value = value.get(Integer.parseInt(segment));
            } else {
                value = value.get(segment);
            }
        }
        boolean present = value != null && !value.isNull() && !value.isMissingNode();
        String where = c.path() + ": claim '" + c.claim() + "' ";
        switch (c.op()) {
            case EXISTS -> {
                boolean want = c.value().booleanValue();
                return present == want ? null : where + (present ? "is present but must not exist" : "is missing but must exist");
            }
            case EQUALS -> {
                if (!present) return where + "is missing; expected it to equal " + c.value();
                return same(value, c.value()) ? null : where + "is " + shorten(value) + "; expected " + c.value();
            }
            case NOT_EQUALS -> {
                if (!present) return where + "is missing; expected a value other than " + c.value();
                return !same(value, c.value()) ? null : where + "is " + shorten(value) + "; expected any other value";
            }
            default -> {
                if (!present) return where + "is missing; expected a number " + c.op().jsonName + " " + c.value();
                if (!value.isNumber()) return where + "is " + shorten(value) + ", not a number; expected " + c.op().jsonName + " " + c.value();
                int cmp = value.decimalValue().compareTo(c.value().decimalValue());
                boolean ok = switch (c.op()) {
                    case LESS -> cmp < 0;
                    case LESS_OR_EQUALS -> cmp <= 0;
                    case GREATER -> cmp > 0;
                    case GREATER_OR_EQUALS -> cmp >= 0;
                    default -> false;
                };
                return ok ? null : where + "is " + value + "; expected " + c.op().jsonName + " " + c.value();
            }
        }
    }

    private static boolean same(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) return a.decimalValue().compareTo(b.decimalValue()) == 0;
        if (a.isTextual() && b.isTextual()) return a.textValue().equals(b.textValue());
        if (a.isBoolean() && b.isBoolean()) return a.booleanValue() == b.booleanValue();
        return false;
    }

    private static String shorten(JsonNode v) {
        String s = v.toString();
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }
}

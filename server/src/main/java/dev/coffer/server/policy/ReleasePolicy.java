package dev.coffer.server.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A key release policy in Azure Key Vault's grammar: a version and a top-level {@code anyOf}
 * or {@code allOf} of authority blocks, each an issuer plus an expression over its token's
 * claims. Parse with {@link ReleasePolicyParser}; the parsed form is what gets evaluated.
 *
 * @param json the policy exactly as stored and returned to administrators
 */
public record ReleasePolicy(String version, boolean allOfAuthorities, List<AuthorityBlock> authorities, ObjectNode json) {

    /** One issuer and the expression its tokens must satisfy. */
    public record AuthorityBlock(String authority, Expr expr, String path) {}

    /** The closed set of expression nodes. */
    public sealed interface Expr permits AnyOf, AllOf, Condition {}

    public record AnyOf(List<Expr> items, String path) implements Expr {}

    public record AllOf(List<Expr> items, String path) implements Expr {}

    /** {@code claim} (a dotted path into the token's claims) compared with {@code value} by {@code op}. */
    public record Condition(String claim, List<String> claimPath, Operator op, JsonNode value, String path) implements Expr {}

    public enum Operator {
        EQUALS("equals"), NOT_EQUALS("notEquals"), LESS("less"), LESS_OR_EQUALS("lessOrEquals"),
        GREATER("greater"), GREATER_OR_EQUALS("greaterOrEquals"), EXISTS("exists");

        public final String jsonName;

        Operator(String jsonName) {
            this.jsonName = jsonName;
        }

        public static Operator fromJson(String name) {
            for (Operator o : values()) {
                if (o.jsonName.equals(name)) return o;
            }
            return null;
        }
    }

    /** The issuers (normalized) whose tokens this policy can accept. */
    public Set<String> authorityNames() {
        Set<String> names = new LinkedHashSet<>();
        for (AuthorityBlock b : authorities) names.add(b.authority);
        return names;
    }
}

package dev.coffer.policy.enforce;

import java.util.List;

/**
 * Why a request was refused: the rule, the framework's error messages, and — where a single
 * field decides it — that field with what the policy expected and what the host sent, plus the
 * policy container that came closest to allowing the request.
 *
 * @param closestContainer name of the closest policy container, or null when containers do not apply
 */
public record Explanation(String rule, List<String> errors, String field, String expected, String actual,
                          String closestContainer) {
    public Explanation {
        errors = List.copyOf(errors);
    }

    /** One line: "create_container denied: invalid command; field argList: expected [...], got [...]; closest container: web". */
    public String message() {
        StringBuilder sb = new StringBuilder(rule).append(" denied: ");
        sb.append(errors.isEmpty() ? "no policy rule allows this request" : String.join(", ", errors));
        if (field != null) {
            sb.append("; field ").append(field).append(": expected ").append(expected).append(", got ").append(actual);
        }
        if (closestContainer != null) {
            sb.append("; closest policy container: ").append(closestContainer);
        }
        return sb.toString();
    }
}

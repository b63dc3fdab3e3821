package dev.coffer.policy.k8s;

/**
 * A Kubernetes manifest that cannot be turned into a policy: malformed or hostile YAML, or a pod
 * spec asking for something the policy cannot pin. The message names the document, the field,
 * what was expected and what to do.
 */
public final class ManifestException extends Exception {
    public ManifestException(String message) {
        super(message);
    }
}

package dev.coffer.cli.k8s;

/** A node setup step that cannot be done as asked: the message says what was expected, what was found and what to do. */
final class K8sException extends Exception {
    K8sException(String message) {
        super(message);
    }
}

package dev.coffer.cli.k8s;

/**
 * The RuntimeClass that sends pods to Coffer: handler {@value ContainerdConfig#RUNTIME_NAME} (the
 * containerd runtime install adds), scheduled only on nodes labelled {@value #NODE_LABEL}=true
 * (the nodes the install DaemonSet prepared). {@code deploy/kubernetes/runtimeclass.yaml} is this
 * text; a test keeps them equal.
 */
public final class RuntimeClassManifest {
    /** The node label that marks nodes with the Coffer runtime: the DaemonSet selects on it, and so does the RuntimeClass. */
    public static final String NODE_LABEL = "coffer.dev/runtime";
    public static final String NAME = ContainerdConfig.RUNTIME_NAME;

    private RuntimeClassManifest() {}

    public static String yaml() {
        return """
                # Pods with runtimeClassName: %1$s run in Coffer confidential sandboxes (containerd runtime "%1$s").
                apiVersion: node.k8s.io/v1
                kind: RuntimeClass
                metadata:
                  name: %1$s
                handler: %2$s
                scheduling:
                  nodeSelector:
                    %3$s: "true"
                """.formatted(NAME, ContainerdConfig.RUNTIME_NAME, NODE_LABEL);
    }
}

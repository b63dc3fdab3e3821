package dev.coffer.shim.task;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.shim.ttrpc.Code;
import dev.coffer.shim.ttrpc.TtrpcException;

/**
 * A task's place in a Kubernetes pod, as containerd's CRI plugin writes it into every bundle's
 * annotations: the pod's sandbox (pause) task, which starts the pod's Coffer group under the pod's
 * policy, or a container of the pod, which joins that group. A task without the annotations
 * ({@code ctr run}) is a group of its own.
 */
public sealed interface PodRole {
    String CONTAINER_TYPE = "io.kubernetes.cri.container-type";
    String SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
    String CONTAINER_NAME = "io.kubernetes.cri.container-name";

    /** Not part of a pod: one task, one group. */
    record Standalone() implements PodRole {}

    /** The pod's sandbox task: its id is the pod's. */
    record Sandbox(String sandboxId) implements PodRole {}

    /** A container of the pod {@code sandboxId}, named {@code name} in the pod's spec. */
    record Member(String sandboxId, String name) implements PodRole {}

    static PodRole of(JsonNode annotations) throws TtrpcException {
        if (!annotations.has(CONTAINER_TYPE)) return new Standalone();
        String type = annotations.get(CONTAINER_TYPE).asText();
        String sandbox = annotations.path(SANDBOX_ID).asText("");
        if (sandbox.isEmpty()) {
            throw new TtrpcException(Code.INVALID_ARGUMENT, "expected annotation " + SANDBOX_ID + " beside "
                    + CONTAINER_TYPE + "=" + type + ", found none; CRI sets both");
        }
        return switch (type) {
            case "sandbox" -> new Sandbox(sandbox);
            case "container" -> {
                String name = annotations.path(CONTAINER_NAME).asText("");
                if (name.isEmpty()) {
                    throw new TtrpcException(Code.INVALID_ARGUMENT, "expected annotation " + CONTAINER_NAME
                            + " on a container of pod " + sandbox + ", found none; CRI sets it");
                }
                yield new Member(sandbox, name);
            }
            default -> throw new TtrpcException(Code.INVALID_ARGUMENT, "expected annotation " + CONTAINER_TYPE
                    + " to be sandbox or container, found \"" + type + "\"");
        };
    }
}

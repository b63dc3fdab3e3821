package dev.coffer.shim.ttrpc;

import java.util.Map;

/**
 * One ttrpc service: its full name as the client sends it (the proto package and service,
 * "containerd.task.v2.Task") and its methods by name.
 */
public record TtrpcService(String name, Map<String, Method> methods) {
    public TtrpcService {
        methods = Map.copyOf(methods);
    }

    /** A unary method: the request payload in, the response payload out. */
    @FunctionalInterface
    public interface Method {
        byte[] call(byte[] request) throws TtrpcException;
    }
}

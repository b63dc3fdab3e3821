package dev.coffer.policy.model;

import java.util.Objects;

/**
 * One environment variable a container is launched with. When {@code variable} is false the
 * value is pinned exactly; when true, {@code value} is an RE2 pattern the launch-time value must
 * match in full (for values only known at deploy time, e.g. a tenant id), and the generator
 * emits an {@code re2} rule for it.
 */
public record EnvVarInput(String name, String value, boolean variable) {
    public EnvVarInput {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("environment variable name must be non-empty and contain no '=': found '"
                    + name + "'; fix the env entry in the group spec");
        }
        value = value == null ? (variable ? ".*" : "") : value;
    }

    public static EnvVarInput exact(String name, String value) {
        return new EnvVarInput(name, value, false);
    }

    public static EnvVarInput pattern(String name, String re2Pattern) {
        return new EnvVarInput(name, re2Pattern, true);
    }
}

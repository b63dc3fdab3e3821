package dev.coffer.policy.enforce;

import java.util.List;

/** Presence checks for request fields: a missing field is named, not a bare NullPointerException. */
final class Fields {
    private Fields() {}

    static void require(Object value, String field) {
        if (value == null) {
            throw new IllegalArgumentException("missing field '" + field + "'");
        }
    }

    static <T> List<T> list(List<T> value, String field) {
        if (value == null) {
            throw new IllegalArgumentException("missing field '" + field + "' (a list)");
        }
        for (T item : value) {
            if (item == null) {
                throw new IllegalArgumentException("field '" + field + "' contains null");
            }
        }
        return List.copyOf(value);
    }
}

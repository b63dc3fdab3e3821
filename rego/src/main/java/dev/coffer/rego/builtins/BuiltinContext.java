package dev.coffer.rego.builtins;

import java.time.Instant;
import java.util.Map;

/** What a built-in may ask of the running evaluation. */
public interface BuiltinContext {
    /** The evaluation's fixed notion of now (all calls in one evaluation see the same time). */
    Instant now();

    /** A per-evaluation memo for expensive derived objects (parsed keys, compiled globs). */
    Map<Object, Object> cache();
}

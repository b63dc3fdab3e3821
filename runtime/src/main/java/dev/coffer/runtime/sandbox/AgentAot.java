package dev.coffer.runtime.sandbox;

import java.nio.file.Path;
import java.util.List;

/**
 * What the process sandbox's agent JVM does with an ahead-of-time cache (JDK 25, JEPs 483/514/515:
 * classes loaded and linked, and method profiles, kept from a training run): nothing, start from a
 * cache, or record one at its exit (the training run, {@link AgentAotTraining}).
 *
 * <p>The cache is code the agent JVM runs in place of what it would parse from its jars, so with a
 * TEE it is measured: its SHA-384 goes into the launch parameters ({@link #measuredLines()}), and a
 * launch with a cache measures differently from one without. The cache's path is a location, like
 * the socket's, and is not measured; its content is.
 */
sealed interface AgentAot {
    /** The JVM options that do it (between the agent's fixed options and its class path). */
    List<String> jvmOptions();

    /** The lines it adds to the measured launch parameters (see {@link SimTeeLaunch}). */
    List<String> measuredLines();

    /** A normal start: no cache. Measures exactly as a launch did before caches existed. */
    record None() implements AgentAot {
        @Override
        public List<String> jvmOptions() {
            return List.of();
        }

        @Override
        public List<String> measuredLines() {
            return List.of();
        }
    }

    /**
     * Start from {@code cache}, whose SHA-384 is {@code sha384Hex}. Should the JVM be unable to map
     * it (another JDK, a damaged file) it says so in the agent's log and starts normally: the code
     * is then the measured jars' alone, which the measurement also names.
     */
    record Use(Path cache, String sha384Hex) implements AgentAot {
        @Override
        public List<String> jvmOptions() {
            return List.of("-XX:AOTCache=" + cache);
        }

        @Override
        public List<String> measuredLines() {
            return List.of("-XX:AOTCache sha384:" + sha384Hex);
        }
    }

    /** The training run: the JVM writes a cache of what it did to {@code output} at its exit. */
    record Record(Path output) implements AgentAot {
        @Override
        public List<String> jvmOptions() {
            return List.of("-XX:AOTCacheOutput=" + output);
        }

        @Override
        public List<String> measuredLines() {
            return List.of("-XX:AOTCacheOutput");
        }
    }
}

package dev.coffer.rego;

import java.time.Duration;
import java.time.Instant;

/**
 * Per-evaluation settings. Limits keep hostile policies and inputs from taking the host
 * down: each one ends evaluation with an {@code eval_limit_error}.
 *
 * @param strictBuiltinErrors built-in errors are errors (true) rather than undefined (false)
 * @param maxSteps            expressions evaluated, in total
 * @param maxDepth            nested rule, function and comprehension evaluations
 * @param timeout             wall-clock limit, or null for none
 * @param maxOutputBytes      bytes of print output
 * @param maxResults          rows a query may produce
 * @param now                 the time seen by time.now_ns, or null for the clock
 */
public record EvalOptions(boolean strictBuiltinErrors, long maxSteps, int maxDepth, Duration timeout,
                          long maxOutputBytes, int maxResults, Instant now) {
    public static final EvalOptions DEFAULT = new EvalOptions(false, 10_000_000, 1_000, Duration.ofSeconds(10),
            1 << 20, 100_000, null);

    public EvalOptions withStrictBuiltinErrors(boolean strict) {
        return new EvalOptions(strict, maxSteps, maxDepth, timeout, maxOutputBytes, maxResults, now);
    }

    public EvalOptions withMaxSteps(long steps) {
        return new EvalOptions(strictBuiltinErrors, steps, maxDepth, timeout, maxOutputBytes, maxResults, now);
    }

    public EvalOptions withMaxDepth(int depth) {
        return new EvalOptions(strictBuiltinErrors, maxSteps, depth, timeout, maxOutputBytes, maxResults, now);
    }

    public EvalOptions withTimeout(Duration t) {
        return new EvalOptions(strictBuiltinErrors, maxSteps, maxDepth, t, maxOutputBytes, maxResults, now);
    }

    public EvalOptions withMaxOutputBytes(long bytes) {
        return new EvalOptions(strictBuiltinErrors, maxSteps, maxDepth, timeout, bytes, maxResults, now);
    }

    public EvalOptions withNow(Instant t) {
        return new EvalOptions(strictBuiltinErrors, maxSteps, maxDepth, timeout, maxOutputBytes, maxResults, t);
    }
}

package dev.coffer.agent.protocol;

import java.time.Duration;
import java.util.Map;

/**
 * How long the host waits for the agent's answer, by the kind of request: short for state
 * queries, longer for actions (a mount re-hashes a layer, a create runs the OCI runtime, under
 * emulation each takes seconds), and for exec and wait the request's own timeout plus the query
 * deadline, never more than {@code longest}. A silent agent (or a relay that lost the session)
 * then ends in an error naming the request and the deadline, not in a hang.
 *
 * <p>Set by environment variables (seconds): {@value #QUERY_ENV}, {@value #ACTION_ENV},
 * {@value #LONGEST_ENV}.
 */
public record AgentDeadlines(Duration query, Duration action, Duration longest) {
    public static final String QUERY_ENV = "COFFER_AGENT_QUERY_DEADLINE";
    public static final String ACTION_ENV = "COFFER_AGENT_ACTION_DEADLINE";
    public static final String LONGEST_ENV = "COFFER_AGENT_LONGEST_DEADLINE";
    /** The agent caps exec and wait at one hour (ContainerService); a deadline past that plus a margin serves nothing. */
    static final Duration AGENT_LONGEST_WAIT = Duration.ofHours(1);
    /** exec_in_container without a timeout runs for up to a minute in the agent. */
    static final Duration AGENT_DEFAULT_EXEC = Duration.ofMinutes(1);
    public static final AgentDeadlines DEFAULT = new AgentDeadlines(Duration.ofSeconds(60), Duration.ofSeconds(300),
            AGENT_LONGEST_WAIT.plusMinutes(5));

    public AgentDeadlines {
        for (Duration d : new Duration[] {query, action, longest}) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("expected positive agent deadlines, found " + d);
            }
        }
        if (longest.compareTo(query) < 0 || longest.compareTo(action) < 0) {
            throw new IllegalArgumentException("expected the longest agent deadline (" + longest.toSeconds()
                    + " s) to be at least the query and action deadlines, found it shorter");
        }
    }

    /** The defaults, each overridden by its environment variable (whole seconds) when set. */
    public static AgentDeadlines fromEnvironment(Map<String, String> env) {
        return new AgentDeadlines(seconds(env, QUERY_ENV, DEFAULT.query), seconds(env, ACTION_ENV, DEFAULT.action),
                seconds(env, LONGEST_ENV, DEFAULT.longest));
    }

    private static Duration seconds(Map<String, String> env, String name, Duration fallback) {
        String v = env.get(name);
        if (v == null || v.isBlank()) return fallback;
        try {
            long s = Long.parseLong(v.strip());
            if (s >= 1 && s <= 86_400) return Duration.ofSeconds(s);
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("expected " + name + " as whole seconds 1..86400, found \"" + v + "\"");
    }

    /** The deadline for {@code request}'s answer. */
    public Duration forRequest(Request request) {
        Duration d = switch (request) {
            case Request.Ping p -> query;
            case Request.GetProperties p -> query;
            case Request.ReadLogs p -> query;
            case Request.ReadDecisionLog p -> query;
            case Request.ExecInContainer x -> waitOf(x.timeoutMillis() <= 0 ? AGENT_DEFAULT_EXEC : Duration.ofMillis(x.timeoutMillis()));
            case Request.WaitContainer w -> waitOf(Duration.ofMillis(Math.max(0, w.timeoutMillis())));
            // a stop waits out its grace before the action itself (SIGKILL, the runtime's delete, unmounts)
            case Request.ShutdownContainer s -> action.plus(s.grace());
            case Request.ShutdownSandbox s -> action.plus(s.grace());
            default -> action;
        };
        return d.compareTo(longest) > 0 ? longest : d;
    }

    private Duration waitOf(Duration requested) {
        Duration capped = requested.compareTo(AGENT_LONGEST_WAIT) > 0 ? AGENT_LONGEST_WAIT : requested;
        return capped.plus(query);
    }
}

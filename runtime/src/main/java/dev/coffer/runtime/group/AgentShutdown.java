package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.AgentDeadlines;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.runtime.sandbox.Sandbox;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's part of a stop, under one bounded budget: the agent stops the containers, the host
 * pulls their last output (a microVM keeps the logs inside), the agent unmounts everything. The
 * agent is inside the sandbox, so it may be hung, dead, or a hostile guest that never answers:
 * whatever it does, this part ends within {@link #budget(AgentDeadlines, Duration)} and says why it gave up, and the
 * caller then kills the sandbox (QEMU, or the agent's process and what it started). A stop never
 * waits on the agent's goodwill.
 */
final class AgentShutdown {
    /**
     * Beyond the grace period, how long the agent gets to stop a container, and again to shut the
     * sandbox down: it runs the OCI runtime's kill (SIGTERM, then SIGKILL after the grace), and
     * for the sandbox unmounts the layers and closes the dm-crypt mappings; under TCG each of
     * those takes seconds.
     */
    static final Duration MARGIN = Duration.ofSeconds(60);

    /**
     * What the agent did: each container's final record, and why the stop must be forced (null
     * when the agent answered everything in time).
     */
    record Outcome(List<ContainerRecord> containers, String forcedBecause) {}

    private final GroupManager manager;
    private final Sandbox sandbox;
    private final GroupState state;
    private final Duration grace;
    private final AgentDeadlines deadlines;
    private final long endNanos;

    private AgentShutdown(GroupManager manager, Sandbox sandbox, GroupState state, Duration grace) {
        this.manager = manager;
        this.sandbox = sandbox;
        this.state = state;
        this.grace = grace;
        this.deadlines = manager.deadlines();
        this.endNanos = System.nanoTime() + budget(deadlines, grace).toNanos();
    }

    /**
     * The most the agent's part of a stop takes: the probe, the containers' stop, the log pull
     * (one query deadline) and the sandbox's shutdown.
     */
    static Duration budget(AgentDeadlines deadlines, Duration grace) {
        Duration probe = deadlines.query();
        return probe.plus(grace).plus(MARGIN).plus(probe).plus(grace).plus(MARGIN);
    }

    /**
     * How long the agent gets to answer a ping before the stop is forced: the deadline of any
     * query (60 s unless {@value AgentDeadlines#QUERY_ENV} says otherwise). The agent answers ping
     * on a connection of its own whatever its other requests are doing, in milliseconds natively
     * and under a second under TCG; the rest is room for an overloaded host, since a stop forced
     * on an agent that was merely slow loses the containers' last output.
     */
    private Duration probe() {
        return deadlines.query();
    }

    /** Runs the agent's part of stopping {@code state}'s group; never throws for the agent's sake. */
    static Outcome run(GroupManager manager, Sandbox sandbox, GroupState state, Duration grace) {
        return new AgentShutdown(manager, sandbox, state, grace).run();
    }

    private Outcome run() {
        try (AgentClient agent = sandbox.connect()) {
            agent.call(new Request.Ping(), Result.class, probe());
        } catch (IOException e) {
            return new Outcome(unknownExits(state.containers()), "the agent did not answer ping: " + e.getMessage());
        }
        List<ContainerRecord> finals = new ArrayList<>(state.containers());
        String silent = shutdownContainers(finals);
        if (silent != null) return new Outcome(unknownExits(finals), silent);
        try {
            manager.pullLogs(state, this::deadline); // the last output, before the sandbox and its logs are gone
        } catch (AgentClient.AgentDeadlineException e) {
            return new Outcome(finals, e.getMessage());
        } catch (IOException e) {
            // the copies miss the last output (the agent refused or the channel broke): the stop goes on
        }
        try (AgentClient agent = sandbox.connect()) {
            agent.exchange(new Request.ShutdownSandbox(grace.toMillis()), deadline(grace.plus(MARGIN)));
        } catch (AgentClient.AgentDeadlineException e) {
            return new Outcome(finals, e.getMessage());
        } catch (IOException e) {
            // the agent exited (it powers a microVM off) or broke the connection: the forced cleanup removes the rest
        }
        return new Outcome(finals, null);
    }

    /**
     * Stops every container, in parallel and each on its own connection (N containers take one
     * grace period, not N), updating {@code finals}; returns why the agent is taken for silent, or null.
     */
    private String shutdownContainers(List<ContainerRecord> finals) {
        List<ContainerRecord> containers = List.copyOf(finals);
        String[] silent = new String[1];
        List<Thread> threads = new ArrayList<>();
        Duration deadline = deadline(grace.plus(MARGIN));
        for (int i = 0; i < containers.size(); i++) {
            int index = i;
            ContainerRecord c = containers.get(i);
            threads.add(Thread.ofVirtual().name("stop-" + c.name()).start(() -> {
                try (AgentClient agent = sandbox.connect()) {
                    Result.ContainerStatus s = agent.call(new Request.ShutdownContainer(c.name(), grace.toMillis()),
                            Result.ContainerStatus.class, deadline);
                    synchronized (finals) {
                        finals.set(index, c.with("exited", s.pid() != null ? s.pid() : c.pid(), s.exitCode()));
                    }
                } catch (AgentClient.AgentDeadlineException e) {
                    synchronized (finals) {
                        if (silent[0] == null) silent[0] = e.getMessage();
                    }
                } catch (IOException e) {
                    // refused or broken: shutdown_sandbox and the host's cleanup still stop it
                }
            }));
        }
        for (Thread t : threads) {
            try {
                t.join(); // bounded: each call ends by its deadline
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (finals) {
            return silent[0];
        }
    }

    /** {@code wanted}, cut to what is left of the budget (at least a millisecond: a deadline must be positive). */
    private Duration deadline(Duration wanted) {
        Duration left = Duration.ofNanos(Math.max(1_000_000, endNanos - System.nanoTime()));
        return wanted.compareTo(left) > 0 ? left : wanted;
    }

    /** The deadline {@code request} would have, cut to what is left of the budget. */
    private Duration deadline(Request request) {
        return deadline(deadlines.forRequest(request));
    }

    /** Containers whose exit the agent never reported: their state is unknown, not "exited". */
    private static List<ContainerRecord> unknownExits(List<ContainerRecord> containers) {
        return containers.stream().map(c -> c.exitCode() == null ? c.with("unknown", c.pid(), null) : c).toList();
    }
}

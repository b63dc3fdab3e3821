package dev.coffer.agent.container;

import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The sandbox's exec processes that the host streams (exec_in_container with an execID): started
 * by the OCI runtime's {@code exec}, their stdin fed by write_exec_stdin, their output read back in
 * chunks by offset. Each answer is one request/response, so it works over any transport, a
 * microVM's single relayed session included.
 *
 * <p>Bounded everywhere, since the host drives it: a fixed number of live processes, stdin chunks
 * and the stdin backlog, the output buffered per stream (a process whose output nobody reads blocks
 * on its pipe, as on a terminal nobody reads, and loses nothing), the wait of a read, and an idle
 * timeout: a process no request touched for {@link #IDLE} is killed, and an ended one forgotten.
 */
final class ExecProcesses {
    static final int MAX_LIVE = 16;
    /** Output held per stream that the host has not read yet. */
    static final int MAX_BUFFERED_OUTPUT = 1024 * 1024;
    /** The most one read returns per stream (base64 makes it a third larger on the wire). */
    static final int MAX_OUTPUT_CHUNK = 256 * 1024;
    /** Stdin written by the host that the process has not read yet. */
    static final int MAX_STDIN_BACKLOG = 256 * 1024;
    static final Duration IDLE = Duration.ofMinutes(5);
    private static final Pattern EXEC_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private record Key(String containerID, String execID) {}

    private final OciRuntime runtime;
    private final Map<Key, ExecProcess> processes = new LinkedHashMap<>();
    private final ScheduledExecutorService reaper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "exec-reaper");
        t.setDaemon(true);
        return t;
    });

    ExecProcesses(OciRuntime runtime) {
        this.runtime = runtime;
        reaper.scheduleWithFixedDelay(this::reap, 10, 10, TimeUnit.SECONDS);
    }

    /**
     * Starts {@code argv} (the runtime's exec command line, without the process args' checks: the
     * caller built it) as exec {@code req.execID()} of {@code containerID}.
     */
    void start(String containerID, Request.ExecInContainer req, List<String> argv, java.nio.file.Path pidFile,
               boolean returnOutput) {
        if (!EXEC_ID.matcher(req.execID()).matches()) {
            throw AgentException.invalid("expected an execID of letters, digits, '_', '.', '-' (at most 128), found \""
                    + abbreviate(req.execID()) + "\"");
        }
        if (req.terminal()) {
            throw AgentException.invalid("expected terminal false, found true: this agent gives exec processes pipes, not a"
                    + " terminal; exec without a tty (kubectl exec -i, ctr task exec without -t)");
        }
        Key key = new Key(containerID, req.execID());
        synchronized (this) {
            if (processes.containsKey(key)) {
                throw AgentException.conflict("expected a new execID, found exec " + req.execID() + " already in container "
                        + containerID + "; choose another ID");
            }
            if (processes.size() >= MAX_LIVE) {
                throw AgentException.conflict("expected at most " + MAX_LIVE + " exec processes in the sandbox, found "
                        + processes.size() + " (ended ones are forgotten once read or after " + IDLE.toMinutes()
                        + " min idle); end or read some first");
            }
            Process p;
            try {
                ProcessBuilder pb = new ProcessBuilder(argv);
                if (!req.stdin()) pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                if (!returnOutput) {
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
                }
                p = pb.start();
            } catch (IOException e) {
                throw AgentException.failed("cannot start " + runtime.name() + " exec: " + e.getMessage());
            }
            ExecProcess x = new ExecProcess(req.argList(), p, pidFile, req.stdin(), !returnOutput);
            processes.put(key, x);
            x.startPumps();
        }
    }

    /** The command of a live exec: what the policy's signal rule checks. */
    synchronized List<String> argList(String containerID, String execID) {
        return find(containerID, execID).argList;
    }

    Result.Done writeStdin(Request.WriteExecStdin req) {
        ExecProcess x;
        synchronized (this) {
            x = find(req.containerID(), req.execID());
        }
        byte[] data = req.data() == null ? new byte[0] : req.data();
        if (data.length > Request.MAX_STDIN_CHUNK) {
            throw AgentException.invalid("expected a stdin chunk of at most " + Request.MAX_STDIN_CHUNK + " bytes, found "
                    + data.length + "; send it in smaller chunks");
        }
        x.write(data, req.close());
        return new Result.Done();
    }

    Result.ExecOutput read(Request.ReadExecOutput req) {
        ExecProcess x;
        synchronized (this) {
            x = find(req.containerID(), req.execID());
        }
        int max = req.maxBytes() <= 0 ? 64 * 1024 : Math.min(req.maxBytes(), MAX_OUTPUT_CHUNK);
        long wait = Math.clamp(req.waitMillis(), 0, Request.LONGEST_OUTPUT_WAIT.toMillis());
        return x.read(req.stdoutOffset(), req.stderrOffset(), max, wait);
    }

    /** Sends {@code signal} to the exec'd process (the runtime's exec forwards it). */
    void signal(String containerID, String execID, int signal) {
        ExecProcess x;
        synchronized (this) {
            x = find(containerID, execID);
        }
        if (!x.process.isAlive()) {
            throw AgentException.conflict("expected exec " + execID + " to be running to signal it, found it ended");
        }
        if (!x.signal(signal)) {
            throw AgentException.failed("cannot signal exec " + execID + ": the runtime wrote no pid for it");
        }
    }

    /** Kills and forgets every exec of {@code containerID} (its container is shutting down). */
    void endAll(String containerID) {
        List<ExecProcess> ending;
        synchronized (this) {
            ending = processes.entrySet().stream().filter(e -> e.getKey().containerID().equals(containerID))
                    .map(Map.Entry::getValue).toList();
            processes.keySet().removeIf(k -> k.containerID().equals(containerID));
        }
        ending.forEach(ExecProcess::kill);
    }

    private ExecProcess find(String containerID, String execID) {
        ExecProcess x = processes.get(new Key(containerID, execID));
        if (x == null) {
            throw AgentException.notFound("expected a live exec " + abbreviate(String.valueOf(execID)) + " in container "
                    + containerID + ", found none (never started, or ended and forgotten)");
        }
        x.touch();
        return x;
    }

    private void reap() {
        long now = System.nanoTime();
        List<ExecProcess> idle;
        synchronized (this) {
            idle = processes.values().stream().filter(x -> now - x.lastTouched > IDLE.toNanos()).toList();
            // an ended one is forgotten; a running one is killed now and forgotten once it has ended
            processes.values().removeIf(x -> idle.contains(x) && !x.process.isAlive() && x.removePidFile());
        }
        idle.forEach(ExecProcess::kill);
    }

    /** Forgets an ended exec whose exit the host has read, with the pid file the runtime wrote for it. */
    private synchronized void forget(ExecProcess x) {
        processes.values().remove(x);
        x.removePidFile();
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 80) + "...";
    }

    /** One process: its output buffered per stream, its stdin fed by a writer thread. All state under its monitor. */
    private final class ExecProcess {
        final List<String> argList;
        final Process process;
        final java.nio.file.Path pidFile;
        final boolean outputWithheld;
        final Buffer out = new Buffer();
        final Buffer err = new Buffer();
        final ArrayDeque<byte[]> stdin = new ArrayDeque<>();
        int stdinBacklog;
        boolean stdinClosing;
        final boolean stdinOpen;
        volatile long lastTouched = System.nanoTime();

        ExecProcess(List<String> argList, Process process, java.nio.file.Path pidFile, boolean stdinOpen,
                    boolean outputWithheld) {
            this.argList = List.copyOf(argList);
            this.process = process;
            this.pidFile = pidFile;
            this.stdinOpen = stdinOpen;
            this.outputWithheld = outputWithheld;
        }

        void touch() {
            lastTouched = System.nanoTime();
        }

        void startPumps() {
            Thread.ofVirtual().name("exec-stdout").start(() -> pump(process.getInputStream(), out));
            Thread.ofVirtual().name("exec-stderr").start(() -> pump(process.getErrorStream(), err));
            if (stdinOpen) {
                Thread.ofVirtual().name("exec-stdin").start(this::feedStdin);
            } else {
                closeQuietly(process.getOutputStream());
            }
            process.onExit().thenRun(() -> {
                synchronized (this) {
                    notifyAll();
                }
            });
        }

        private void pump(InputStream in, Buffer buffer) {
            byte[] chunk = new byte[16 * 1024];
            try (in) {
                int n;
                while ((n = in.read(chunk)) > 0) {
                    synchronized (this) {
                        // a full buffer holds the process on its pipe until the host reads: nothing is dropped
                        while (buffer.length >= MAX_BUFFERED_OUTPUT && !buffer.abandoned) wait();
                        if (buffer.abandoned) return;
                        buffer.append(chunk, n);
                        notifyAll();
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the process ended or was killed: what was read is kept
            } finally {
                synchronized (this) {
                    buffer.ended = true;
                    notifyAll();
                }
            }
        }

        private void feedStdin() {
            OutputStream to = process.getOutputStream();
            try {
                while (true) {
                    byte[] next;
                    synchronized (this) {
                        while (stdin.isEmpty() && !stdinClosing && process.isAlive()) wait(1000);
                        if (stdin.isEmpty()) break; // closing, or the process ended
                        next = stdin.peekFirst();
                    }
                    to.write(next); // may block while the process does not read: outside the monitor
                    to.flush();
                    synchronized (this) {
                        stdin.pollFirst();
                        stdinBacklog -= next.length;
                        notifyAll();
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the process no longer reads its stdin
            } finally {
                closeQuietly(to);
            }
        }

        synchronized void write(byte[] data, boolean close) {
            if (!stdinOpen) {
                throw AgentException.conflict("expected an exec started with stdin, found this one started without;"
                        + " start the exec with stdin true to write to it");
            }
            if (stdinClosing) {
                throw AgentException.conflict("expected an open stdin, found it closed by an earlier write_exec_stdin");
            }
            if (!process.isAlive()) {
                throw AgentException.conflict("expected a running process to write stdin to, found it ended");
            }
            if (stdinBacklog + data.length > MAX_STDIN_BACKLOG) {
                throw AgentException.conflict("expected at most " + MAX_STDIN_BACKLOG + " bytes of stdin waiting for the"
                        + " process, found " + stdinBacklog + " waiting and " + data.length + " more offered; retry once it reads");
            }
            if (data.length > 0) {
                stdin.addLast(data.clone());
                stdinBacklog += data.length;
            }
            if (close) stdinClosing = true;
            notifyAll();
        }

        synchronized Result.ExecOutput read(long outOffset, long errOffset, int max, long waitMillis) {
            out.release(outOffset, "stdout");
            err.release(errOffset, "stderr");
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
            try {
                while (!out.hasFrom(outOffset) && !err.hasFrom(errOffset) && !ended()) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) break;
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] o = out.from(outOffset, max);
            byte[] e = err.from(errOffset, max);
            notifyAll(); // released space lets a pump go on
            // exited only when everything the process wrote has been handed out, in this chunk or before
            boolean exited = ended() && outOffset + o.length == out.end() && errOffset + e.length == err.end();
            Result.ExecOutput result = new Result.ExecOutput(o, outOffset + o.length, e, errOffset + e.length, exited,
                    exited ? exitCode() : null, outputWithheld);
            if (exited) forget(this);
            return result;
        }

        private boolean ended() {
            return !process.isAlive() && out.ended && err.ended;
        }

        private int exitCode() {
            return process.exitValue();
        }

        /**
         * Signals the exec'd process itself, by the pid the runtime wrote (the runtime's exec waits
         * for it, so the pid is its and not reused while the runtime lives); false without a pid.
         */
        boolean signal(int signal) {
            String pid;
            try {
                pid = java.nio.file.Files.readString(pidFile).strip();
            } catch (IOException e) {
                return false;
            }
            if (!pid.matches("[1-9][0-9]{0,9}") || !process.isAlive()) return false;
            HostCommand.run(List.of("kill", "-" + signal, pid), 10_000);
            return true;
        }

        /** Always true, so it can sit in a filter. */
        boolean removePidFile() {
            try {
                java.nio.file.Files.deleteIfExists(pidFile);
            } catch (IOException e) {
                // the container's directory goes with it at shutdown anyway
            }
            return true;
        }

        void kill() {
            synchronized (this) {
                out.abandoned = true;
                err.abandoned = true;
                stdinClosing = true;
                notifyAll();
            }
            // SIGKILL to the process itself: the runtime's exec would not relay a SIGKILL sent to it
            if (process.isAlive()) signal(9);
            process.destroy();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }

    /** One output stream's unread bytes: {@code base} is the offset of {@code data[0]}. */
    private static final class Buffer {
        long base;
        byte[] data = new byte[0];
        int length;
        boolean ended;
        boolean abandoned;

        long end() {
            return base + length;
        }

        void append(byte[] chunk, int n) {
            if (length + n > data.length) data = Arrays.copyOf(data, Math.max(length + n, data.length * 2));
            System.arraycopy(chunk, 0, data, length, n);
            length += n;
        }

        /** Drops the bytes before {@code offset}: the host has them. */
        void release(long offset, String stream) {
            if (offset < base || offset > end()) {
                throw AgentException.invalid("expected a " + stream + " offset in " + base + ".." + end()
                        + " (bytes before " + base + " were read and released), found " + offset);
            }
            int drop = (int) (offset - base);
            System.arraycopy(data, drop, data, 0, length - drop);
            length -= drop;
            base = offset;
            if (length == 0 && data.length > 64 * 1024) data = new byte[0];
        }

        boolean hasFrom(long offset) {
            return offset < end();
        }

        byte[] from(long offset, int max) {
            int start = (int) (offset - base);
            return Arrays.copyOfRange(data, start, start + Math.min(max, length - start));
        }
    }

    private static void closeQuietly(OutputStream s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // the process is gone
        }
    }
}

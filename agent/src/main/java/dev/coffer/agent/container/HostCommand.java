package dev.coffer.agent.container;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a short-lived helper binary (mount, umount, runc kill, ...) with a timeout and captured output. */
final class HostCommand {
    record Outcome(int exitCode, String output) {}

    private HostCommand() {}

    static Outcome run(List<String> argv, long timeoutMillis) {
        Process p;
        try {
            p = new ProcessBuilder(argv).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw AgentException.failed("expected to run `" + argv.getFirst() + "`, found it cannot be started ("
                    + e.getMessage() + "); install it or fix PATH");
        }
        byte[][] out = new byte[1][];
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                out[0] = in.readNBytes(64 * 1024);
                in.transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException e) {
                out[0] = new byte[0];
            }
        });
        try {
            if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw AgentException.failed("expected `" + String.join(" ", argv) + "` to finish within "
                        + timeoutMillis + " ms, it did not and was killed");
            }
            reader.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw AgentException.failed("interrupted while running " + argv.getFirst());
        }
        String text = out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8).strip();
        return new Outcome(p.exitValue(), text);
    }

    /** Runs and insists on exit code 0; the error quotes the command and its output. */
    static String check(List<String> argv, long timeoutMillis) {
        Outcome o = run(argv, timeoutMillis);
        if (o.exitCode() != 0) {
            throw AgentException.failed("`" + String.join(" ", argv) + "` failed with exit code " + o.exitCode()
                    + (o.output().isEmpty() ? "" : ": " + o.output().replace('\n', ' ')));
        }
        return o.output();
    }
}

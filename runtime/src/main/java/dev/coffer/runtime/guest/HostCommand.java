package dev.coffer.runtime.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs a host tool with a bounded wait and turns failure into a one-line, actionable error. */
final class HostCommand {
    private HostCommand() {}

    static String run(List<String> command, long timeoutSeconds) {
        return run(command, timeoutSeconds, Map.of(), null);
    }

    static String run(List<String> command, long timeoutSeconds, Map<String, String> env, Path dir) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        if (dir != null) pb.directory(dir.toFile());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new GuestBuildException("cannot run " + command.getFirst() + " (" + e.getMessage()
                    + "); install it, see `coffer guest build --help`", e);
        }
        try {
            p.getOutputStream().close();
            // read on another thread so a chatty tool cannot block on a full pipe while we wait
            var output = new java.util.concurrent.CompletableFuture<String>();
            Thread.ofVirtual().start(() -> {
                try {
                    output.complete(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    output.complete("");
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                throw new GuestBuildException(String.join(" ", command) + " did not finish within " + timeoutSeconds
                        + " s; check the host's load and the tool");
            }
            String out = output.get(10, TimeUnit.SECONDS);
            if (p.exitValue() != 0) {
                throw new GuestBuildException(String.join(" ", abbreviate(command)) + " failed with exit " + p.exitValue() + ": "
                        + lastLines(out));
            }
            return out;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new GuestBuildException("interrupted while running " + command.getFirst(), e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | IOException e) {
            p.destroyForcibly();
            throw new GuestBuildException("cannot read the output of " + command.getFirst() + ": " + e.getMessage(), e);
        }
    }

    private static List<String> abbreviate(List<String> command) {
        return command.size() <= 8 ? command : List.of(command.get(0), command.get(1), command.get(2), "...");
    }

    private static String lastLines(String out) {
        List<String> lines = out.strip().lines().toList();
        return String.join(" | ", lines.subList(Math.max(0, lines.size() - 4), lines.size()));
    }
}

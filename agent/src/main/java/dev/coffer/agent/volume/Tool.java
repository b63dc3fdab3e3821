package dev.coffer.agent.volume;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs cryptsetup, losetup, mkfs.ext4 and mount. Secrets go to the child's stdin only, never
 * into its arguments (visible in /proc) or into messages.
 */
final class Tool {
    record Result(int exit, String out, String err) {
        boolean ok() {
            return exit == 0;
        }

        String detail() {
            String e = err.isBlank() ? out : err;
            e = e.strip().replaceAll("\\s*\\n\\s*", "; ");
            return e.length() > 500 ? e.substring(0, 500) + "..." : e;
        }
    }

    private Tool() {}

    static Result run(List<String> command, byte[] stdin, long timeoutSeconds) {
        ProcessBuilder pb = new ProcessBuilder(command);
        // No locale surprises in messages we match, and no udev waits inside containers.
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("DM_DISABLE_UDEV", "1");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.UNSUPPORTED, "cannot run " + command.getFirst() + ": " + e.getMessage()
                    + "; install it (Debian: apt-get install cryptsetup-bin util-linux e2fsprogs mount)");
        }
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) in.write(stdin);
        } catch (IOException e) {
            // The tool exited without reading its input; its exit status says why.
        }
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
                throw new VolumeException(VolumeException.Reason.FAILED, describe(command) + " did not finish within " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new VolumeException(VolumeException.Reason.FAILED, "interrupted while running " + describe(command));
        }
    }

    static Result require(List<String> command, byte[] stdin, long timeoutSeconds, String what) {
        Result r = run(command, stdin, timeoutSeconds);
        if (!r.ok()) throw new VolumeException(VolumeException.Reason.FAILED, what + ": " + describe(command) + " exited " + r.exit() + ": " + r.detail());
        return r;
    }

    /** The command without arguments that could be long; never includes secrets (they are on stdin). */
    static String describe(List<String> command) {
        List<String> shown = new ArrayList<>(command.subList(0, Math.min(command.size(), 3)));
        return String.join(" ", shown) + (command.size() > 3 ? " ..." : "");
    }

    private static CompletableFuture<String> drain(InputStream s) {
        return CompletableFuture.supplyAsync(() -> {
            try (s) {
                return new String(s.readNBytes(1 << 20), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }, Thread.ofVirtual()::start);
    }
}

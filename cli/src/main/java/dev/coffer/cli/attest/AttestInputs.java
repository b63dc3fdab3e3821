package dev.coffer.cli.attest;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.UsageException;
import dev.coffer.attest.sim.SimulatedSecureProcessor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/** Shared option parsing for the attest commands: files, hex values, the sim chip. */
final class AttestInputs {
    private AttestInputs() {}

    static byte[] read(Path file, String what) {
        try {
            long size = Files.size(file);
            if (size > 16 << 20) {
                throw new CofferException(what + " " + file + " is " + size + " bytes; expected a few kilobytes at most");
            }
            return Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CofferException(what + " " + file + " does not exist");
        } catch (IOException e) {
            throw new CofferException("cannot read " + what + " " + file + " (" + e.getMessage() + ")");
        }
    }

    static byte[] hex(String option, String value, int bytes) {
        if (value == null) return null;
        String v = value.strip();
        if (v.startsWith("0x")) v = v.substring(2);
        if (v.length() != 2 * bytes || !v.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new UsageException(option + " expects " + 2 * bytes + " hex digits (" + bytes + " bytes), found '" + value + "' ("
                    + v.length() + " characters)");
        }
        return HexFormat.of().parseHex(v);
    }

    /** Up to {@code bytes} bytes of hex, zero-padded on the right (nonces are often shorter than the field). */
    static byte[] paddedHex(String option, String value, int bytes) {
        String v = value.strip();
        if (v.startsWith("0x")) v = v.substring(2);
        if (v.isEmpty() || v.length() > 2 * bytes || v.length() % 2 != 0 || !v.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new UsageException(option + " expects an even number of hex digits, at most " + 2 * bytes + ", found '" + value + "'");
        }
        return java.util.Arrays.copyOf(HexFormat.of().parseHex(v), bytes);
    }

    static Path simDirectory(Path override) {
        return override != null ? override : CofferHome.resolve().resolve("sim-tee");
    }

    static SimulatedSecureProcessor loadSim(Path override) {
        Path dir = simDirectory(override);
        if (!Files.isRegularFile(dir.resolve("ark.pem"))) {
            throw new CofferException("--trust-sim: no simulated secure processor at " + dir
                    + "; it is created by the first sandbox run with --tee sim (or 'coffer attest sim-report')");
        }
        try {
            return SimulatedSecureProcessor.load(dir);
        } catch (RuntimeException e) {
            throw new CofferException(e.getMessage(), e);
        }
    }
}

package dev.coffer.runtime.guest;

import dev.coffer.attest.endorse.EndorsementFormatException;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.runtime.sandbox.ProcessSandboxBackend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The guest endorsements of a Coffer home: the home's own endorsement key
 * ({@code $COFFER_HOME/endorsement/}) and the endorsements kept beside the guest
 * ({@code $COFFER_HOME/guest/endorsements/*.cose}), each a COSE_Sign1 in Azure's UVM
 * reference-info format stating one launch MEASUREMENT.
 *
 * <p>File names are {@code <kind>-<measurement prefix>-<issuer digest>.cose}: endorsing the same
 * measurement again by the same issuer and feed replaces the earlier file, so rebuilding does
 * not pile them up; another endorser's endorsement of the same guest sits beside it.
 */
public final class GuestEndorsements {
    /** Where endorsements are kept, under the guest directory. */
    public static final String DIR = "endorsements";
    public static final String SUFFIX = ".cose";
    /**
     * The guest SVN Coffer's builds are endorsed at. Raised when a guest build fixes a security
     * problem, so verifiers can refuse older guests with a minimum SVN.
     */
    public static final long GUEST_SVN = 1;

    /** What an endorsement is of: the microVM guest, the process sandbox's agent, or a measurement a user named. */
    public enum Kind {
        MICROVM, PROCESS, MEASUREMENT, SNP;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One endorsement file; {@code problem} is non-null (and {@code endorsement} null) when it cannot be read. */
    public record Entry(Path file, String kind, GuestEndorsement endorsement, String problem) {
        /** Whether the document is intact: chain, did:x509 and signature check out at {@code at} (trust is the verifier's call). */
        public boolean intact(Instant at) {
            if (endorsement == null) return false;
            EndorsementVerdict v = EndorsementVerifier.verify(endorsement, endorsement.launchMeasurement(), at,
                    List.of(new TrustedEndorser(endorsement.issuer(), endorsement.feed(), 0)));
            return v.endorsed();
        }
    }

    private GuestEndorsements() {}

    public static Path keyDir(Path home) {
        return dev.coffer.attest.endorse.EndorsementKey.homeDir(home);
    }

    public static Path dir(Path home) {
        return home.resolve("guest").resolve(DIR);
    }

    /** The home's endorsement key, created on first use. */
    public static EndorsementKey homeKey(Path home) {
        return EndorsementKey.openOrCreate(keyDir(home));
    }

    /** The home key as a verifier trusts it (its DID and feed), creating the key on first use. */
    public static TrustedEndorser homeEndorser(Path home) {
        return homeKey(home).trustedEndorser();
    }

    /** Endorses the built microVM guest's launch measurement ({@code coffer guest measure}) with the home key. */
    public static Entry endorseMicroVm(Path home, GuestImage guest) throws IOException {
        String measurement = java.util.HexFormat.of().formatHex(guest.measurement().compute());
        return store(home, Kind.MICROVM, homeKey(home).sign(measurement, GUEST_SVN));
    }

    /**
     * Endorses, with the home key, the MEASUREMENT an SEV-SNP secure processor computes for
     * {@code coffer run --tee snp} of {@code guest} with {@code settings} (firmware resolved):
     * one endorsement per firmware, vCPU count and type, as each is a different MEASUREMENT.
     */
    public static Entry endorseSnp(Path home, GuestImage guest, dev.coffer.runtime.sandbox.SnpSettings settings) throws IOException {
        String measurement = java.util.HexFormat.of().formatHex(dev.coffer.runtime.microvm.SnpLaunch.launchMeasurement(guest, settings));
        return store(home, Kind.SNP, homeKey(home).sign(measurement, GUEST_SVN));
    }

    /**
     * Endorses, with the home key, the process sandbox's MEASUREMENT for a {@code --tee sim}
     * launch with the default flags (OCI runtime auto, no SKR API, no forwarded ports).
     */
    public static Entry endorseProcessSandbox(Path home) throws IOException {
        return endorseProcessSandbox(home, "auto", null, List.of(), List.of());
    }

    /**
     * Endorses, with the home key, the process sandbox's MEASUREMENT for a {@code --tee sim}
     * launch with these flags: the agent's code and its measured launch flags
     * ({@link ProcessSandboxBackend#simMeasurementHex}), so a group with an SKR API or forwarded
     * ports needs its own endorsement.
     */
    public static Entry endorseProcessSandbox(Path home, String ociRuntime, Integer skrPort, List<String> endpoints,
                                              List<Integer> ports) throws IOException {
        String measurement = ProcessSandboxBackend.simMeasurementHex(ociRuntime, skrPort, endpoints, ports);
        return store(home, Kind.PROCESS, homeKey(home).sign(measurement, GUEST_SVN));
    }

    /**
     * Keeps an endorsement (parsed first: a malformed one throws {@link EndorsementFormatException}
     * and nothing is written), replacing an earlier one of the same measurement, issuer and feed.
     */
    public static Entry store(Path home, Kind kind, byte[] cose) throws IOException {
        GuestEndorsement e = GuestEndorsement.parse(cose);
        Path dir = dir(home);
        Files.createDirectories(dir);
        String name = kind.label() + "-" + e.launchMeasurement().substring(0, 16) + "-" + issuerDigest(e) + SUFFIX;
        Path file = dir.resolve(name);
        Path tmp = dir.resolve(name + ".tmp");
        Files.write(tmp, cose);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Entry(file, kind.label(), e, null);
    }

    /** Every endorsement kept, in file-name order; unreadable files are listed with their problem. */
    public static List<Entry> list(Path home) throws IOException {
        Path dir = dir(home);
        if (!Files.isDirectory(dir)) return List.of();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(SUFFIX) && Files.isRegularFile(p)).sorted().toList();
        }
        List<Entry> out = new ArrayList<>(files.size());
        for (Path f : files) {
            String name = f.getFileName().toString();
            String kind = name.contains("-") ? name.substring(0, name.indexOf('-')) : "unknown";
            long size = Files.size(f);
            if (size > GuestEndorsement.MAX_DOCUMENT_BYTES) {
                out.add(new Entry(f, kind, null, "file is " + size + " bytes; at most " + GuestEndorsement.MAX_DOCUMENT_BYTES + " are accepted"));
                continue;
            }
            try {
                out.add(new Entry(f, kind, GuestEndorsement.parse(Files.readAllBytes(f)), null));
            } catch (EndorsementFormatException e) {
                out.add(new Entry(f, kind, null, e.getMessage()));
            }
        }
        return out;
    }

    /** The readable endorsements of {@code measurementHex} (any case), from any issuer. */
    public static List<GuestEndorsement> lookup(Path home, String measurementHex) throws IOException {
        String wanted = measurementHex.strip().toLowerCase(Locale.ROOT);
        return list(home).stream().map(Entry::endorsement)
                .filter(e -> e != null && e.launchMeasurement().equals(wanted)).toList();
    }

    private static String issuerDigest(GuestEndorsement e) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest((e.issuer() + "\n" + e.feed()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 6);
        } catch (java.security.NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }
}

package dev.coffer.agent.tee;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.coffer.attest.cert.EcdsaP384;
import dev.coffer.attest.sim.SimLaunch;
import dev.coffer.attest.sim.SimulatedSecureProcessor;
import dev.coffer.attest.snp.SnpReport;
import dev.coffer.attest.snp.SnpReportFormatException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The launch-context file that gives one sandbox — and only it — access to the simulated secure
 * processor: which simulated chip ({@code $COFFER_HOME/sim-tee}), the launch's MEASUREMENT and
 * HOST_DATA, the guest policy and the group it was made for, sealed by the chip.
 *
 * <p>The seal is a report signed by the chip's VCEK whose REPORT_DATA is SHA-512 of the other
 * fields, and whose MEASUREMENT and HOST_DATA are the launch's. Editing any field (to bind the
 * sandbox to another policy, say) breaks the seal and the agent refuses the file: a context can
 * only come from whoever holds the chip's key, as a real launch can only come from the secure
 * processor. The file is mode 0600 in the group's state directory; a looser mode is refused,
 * because reading it is enough to obtain reports for the launch.
 *
 * <pre>{"format": "coffer-sim-launch-context/v1", "group": "web", "simTee": "/root/.coffer/sim-tee",
 *  "measurement": "96 hex", "hostData": "64 hex", "guestPolicy": "0x30000", "seal": "2368 hex"}</pre>
 */
public final class SimLaunchContext {
    public static final String FORMAT = "coffer-sim-launch-context/v1";

    private static final HexFormat HEX = HexFormat.of();
    private static final long MAX_FILE_BYTES = 64 * 1024;

    /** The file's fields; {@code seal} is the hex of a report over the others. */
    record FileContent(String format, String group, String simTee, String measurement, String hostData,
                       String guestPolicy, String seal) {
        /** The field names, in the record's order: every one a string, no other field allowed. */
        static final List<String> FIELDS = Arrays.stream(FileContent.class.getRecordComponents())
                .map(java.lang.reflect.RecordComponent::getName).toList();

        /**
         * Reads a context with Jackson's streaming parser: a flat object of string fields needs no
         * data binding, and the agent reads it first thing at its start, where building an object
         * mapper and a record deserializer cost about 100 ms of a 300 ms TEE phase. Strict: a
         * field not listed, a field twice, a value that is not a string (or null), or anything after
         * the object is refused.
         */
        static FileContent parse(byte[] json) throws IOException {
            Map<String, String> values = new HashMap<>();
            try (JsonParser p = READER.createParser(json)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("expected a JSON object, found " + p.currentToken());
                }
                for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                    String name = p.currentName();
                    if (!FIELDS.contains(name)) throw new IOException("expected only the fields " + FIELDS + ", found \"" + name + "\"");
                    JsonToken value = p.nextToken();
                    if (value == JsonToken.VALUE_STRING) {
                        values.put(name, p.getText());
                    } else if (value != JsonToken.VALUE_NULL) {
                        throw new IOException("expected field " + name + " to be a string, found " + value);
                    }
                }
                if (p.nextToken() != null) throw new IOException("expected nothing after the object, found " + p.currentToken());
            }
            return new FileContent(values.get("format"), values.get("group"), values.get("simTee"), values.get("measurement"),
                    values.get("hostData"), values.get("guestPolicy"), values.get("seal"));
        }
    }

    /** The reader's JSON: a repeated field is an error, not a silent overwrite. */
    private static final JsonFactory READER = JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    /** The writer's, on the host side only: loaded when a context is created, never at the agent's start. */
    private static final class Writer {
        static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();
    }

    private SimLaunchContext() {}

    /**
     * Starts a launch on {@code processor} for {@code group} and writes its sealed context to
     * {@code file} (mode 0600, written to a sibling and renamed so no reader sees half a file).
     *
     * @return the launch, for the host's own record of MEASUREMENT and HOST_DATA
     */
    public static SimLaunch create(SimulatedSecureProcessor processor, String group, byte[] measurement, byte[] hostData,
                                   Path file) throws IOException {
        SimLaunch launch = processor.launch(measurement, hostData);
        String simTee = processor.directory().toAbsolutePath().normalize().toString();
        String measurementHex = HEX.formatHex(measurement);
        String hostDataHex = HEX.formatHex(hostData);
        String guestPolicy = "0x" + Long.toHexString(launch.guestPolicy());
        byte[] seal = launch.report(sealData(group, simTee, measurementHex, hostDataHex, guestPolicy));
        FileContent content = new FileContent(FORMAT, group, simTee, measurementHex, hostDataHex, guestPolicy, HEX.formatHex(seal));
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, Writer.JSON.writeValueAsBytes(content), StandardOpenOption.TRUNCATE_EXISTING);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return launch;
    }

    /**
     * Opens the context in {@code file} for the sandbox of {@code group}: checks its mode, its
     * fields and its seal, then returns the evidence source that signs reports for the launch.
     * The chip is loaded from the directory the context names (the process sandbox's host home).
     *
     * @throws TeeException naming what is wrong with the file and what to do
     */
    public static SimEvidenceSource open(Path file, String group) {
        return open(file, group, null);
    }

    /**
     * As {@link #open(Path, String)}, with the chip loaded from {@code chipDirectory} when it is
     * not null: a microVM's agent keeps the chip in its own fixed directory and never uses the
     * host's path that the context carries (that path is only part of the sealed text).
     */
    public static SimEvidenceSource open(Path file, String group, Path chipDirectory) {
        FileContent c = read(file);
        Sealed sealed = fields(file.toString(), c, group);
        if (chipDirectory == null && (c.simTee() == null || !Path.of(c.simTee()).isAbsolute())) {
            throw refused(file.toString(), "expected simTee as an absolute directory, found " + c.simTee());
        }
        Path chip = chipDirectory != null ? chipDirectory : Path.of(c.simTee());
        SimulatedSecureProcessor processor;
        try {
            processor = SimulatedSecureProcessor.loadForSigning(chip);
        } catch (RuntimeException e) {
            throw new TeeException("cannot open the simulated secure processor for the launch context " + file
                    + " in " + chip + " (" + e.getMessage() + ")", e);
        }
        requireSealedBy(file.toString(), c, sealed, processor.vcek());
        SimLaunch launch = processor.launch(sealed.measurement(), sealed.hostData(), sealed.guestPolicy());
        return new SimEvidenceSource(launch);
    }

    /**
     * Checks a context's text (as a launch disk carries it) and its seal against the chip's VCEK
     * certificate ({@code vcekPem}), in memory, before anything of the chip is written anywhere:
     * a context made for another group, altered, or sealed by another chip is refused.
     *
     * @throws TeeException naming what is wrong
     */
    public static void checkSealed(String contextText, String group, byte[] vcekPem) {
        String what = "carried by the launch disk";
        if (contextText == null || contextText.length() > MAX_FILE_BYTES) {
            throw refused(what, "expected a launch context of at most " + MAX_FILE_BYTES + " bytes, found "
                    + (contextText == null ? "none" : contextText.length() + " characters"));
        }
        FileContent c;
        try {
            c = FileContent.parse(contextText.getBytes(StandardCharsets.UTF_8));
        } catch (JacksonException e) {
            throw refused(what, "it is not launch-context JSON (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw refused(what, "it is not launch-context JSON (" + e.getMessage() + ")");
        }
        Sealed sealed = fields(what, c, group);
        dev.coffer.attest.cert.AmdCertificate vcek;
        try {
            vcek = dev.coffer.attest.cert.Certificates.parseOne(vcekPem);
        } catch (RuntimeException e) {
            throw refused(what, "the simulated chip's VCEK certificate does not parse (" + e.getMessage() + ")");
        }
        requireSealedBy(what, c, sealed, vcek);
    }

    /** The decoded fields of a context. */
    private record Sealed(byte[] measurement, byte[] hostData, long guestPolicy, SnpReport seal) {}

    private static Sealed fields(String file, FileContent c, String group) {
        if (!FORMAT.equals(c.format())) {
            throw refused(file, "expected format " + FORMAT + ", found " + c.format());
        }
        if (!group.equals(c.group())) {
            throw refused(file, "it was made for group \"" + c.group() + "\", not for this sandbox's group \"" + group + "\"");
        }
        byte[] measurement = hex(file, "measurement", c.measurement(), 48);
        byte[] hostData = hex(file, "hostData", c.hostData(), 32);
        long guestPolicy;
        try {
            if (c.guestPolicy() == null || !c.guestPolicy().startsWith("0x")) throw new NumberFormatException();
            guestPolicy = Long.parseUnsignedLong(c.guestPolicy().substring(2), 16);
        } catch (NumberFormatException e) {
            throw refused(file, "expected guestPolicy as 0x-prefixed hex, found " + c.guestPolicy());
        }
        if (c.simTee() == null) {
            throw refused(file, "expected simTee (the sealed name of the chip's directory), found none");
        }
        SnpReport seal;
        try {
            seal = SnpReport.parse(hex(file, "seal", c.seal(), -1));
        } catch (SnpReportFormatException e) {
            throw refused(file, "its seal is not an SNP report (" + e.getMessage() + ")");
        }
        return new Sealed(measurement, hostData, guestPolicy, seal);
    }

    private static void requireSealedBy(String file, FileContent c, Sealed s, dev.coffer.attest.cert.AmdCertificate vcek) {
        SnpReport seal = s.seal();
        // The seal is this chip's report over the other fields: its VCEK signed it, and it carries
        // them. Whether the chip's chain leads to a trusted root is for the reports' verifiers.
        String mismatch = !signedBy(vcek, seal) ? "its signature is not this simulated chip's"
                : !Arrays.equals(seal.reportData(), sealData(c.group(), c.simTee(), c.measurement(), c.hostData(), c.guestPolicy()))
                ? "it was made over other contents"
                : !Arrays.equals(seal.measurement(), s.measurement()) ? "MEASUREMENT differs"
                : !Arrays.equals(seal.hostData(), s.hostData()) ? "HOST_DATA differs"
                : seal.policy().raw() != s.guestPolicy() ? "guest policy differs" : null;
        if (mismatch != null) {
            throw refused(file, "its seal does not match its contents or this simulated chip (" + mismatch
                    + "); it was altered after the launch");
        }
    }

    /**
     * Seals whose signature this JVM has verified, by SHA-256 of the VCEK's public point and the
     * whole report (signed bytes and signature). A microVM's agent checks the launch disk's context
     * in memory before it writes the chip ({@link #checkSealed}), then opens the same context from
     * the file a moment later in the same JVM ({@link #open}); the second P-384 verification
     * (seconds on an emulated guest CPU) could only give the first one's answer again, because a
     * signature's validity depends on nothing but the key and the report's bytes. Only successes
     * are kept, and every other check of the seal runs each time.
     */
    private static final Set<String> VERIFIED_SEALS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static boolean signedBy(dev.coffer.attest.cert.AmdCertificate vcek, SnpReport seal) {
        var key = EcdsaP384.publicKey(vcek);
        String id;
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(key.getQ().getEncoded(false));
            sha.update(seal.raw());
            id = HEX.formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
        if (VERIFIED_SEALS.contains(id)) return true;
        boolean valid = EcdsaP384.verify(key, seal.raw(), 0, SnpReport.SIGNED_LENGTH, seal.signatureR(), seal.signatureS());
        if (valid) VERIFIED_SEALS.add(id);
        return valid;
    }

    private static FileContent read(Path file) {
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw new TeeException("expected the launch context " + file + " to be a regular file, found "
                        + (Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? "something else (a link or directory)" : "nothing")
                        + "; start the group again so the runtime writes a new one");
            }
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            Set<PosixFilePermission> loose = Set.of(PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
                    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
                    PosixFilePermission.OTHERS_EXECUTE);
            if (mode.stream().anyMatch(loose::contains)) {
                throw refused(file.toString(), "its mode is " + PosixFilePermissions.toString(mode)
                        + " but must be rw------- (0600): whoever reads it can obtain reports for this launch");
            }
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw refused(file.toString(), "it is " + Files.size(file) + " bytes, more than a launch context's " + MAX_FILE_BYTES);
            }
            byte[] bytes = Files.readAllBytes(file);
            try {
                return FileContent.parse(bytes);
            } catch (JacksonException e) {
                throw refused(file.toString(), "it is not launch-context JSON (" + e.getOriginalMessage() + ")");
            } catch (IOException e) {
                throw refused(file.toString(), "it is not launch-context JSON (" + e.getMessage() + ")");
            }
        } catch (IOException e) {
            throw new TeeException("cannot read the launch context " + file + " (" + e.getMessage() + ")", e);
        }
    }

    private static byte[] hex(String file, String field, String value, int length) {
        if (value == null || value.length() % 2 != 0 || !value.matches("[0-9a-f]*")
                || (length >= 0 && value.length() != 2 * length)) {
            throw refused(file, "expected " + field + " as " + (length >= 0 ? 2 * length + " " : "") + "lowercase hex digits, found "
                    + (value == null ? "none" : value.length() > 100 ? value.length() + " characters" : "\"" + value + "\""));
        }
        return HEX.parseHex(value);
    }

    /** REPORT_DATA of the seal: SHA-512 over every other field, each on its own line. */
    static byte[] sealData(String group, String simTee, String measurementHex, String hostDataHex, String guestPolicy) {
        String text = FORMAT + "\n" + group + "\n" + simTee + "\n" + measurementHex.toLowerCase(Locale.ROOT) + "\n"
                + hostDataHex.toLowerCase(Locale.ROOT) + "\n" + guestPolicy + "\n";
        try {
            return MessageDigest.getInstance("SHA-512").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-512", e);
        }
    }

    private static TeeException refused(String file, String why) {
        return new TeeException("refusing the launch context " + file + ": " + why
                + "; start the group again so the runtime writes a new one");
    }
}

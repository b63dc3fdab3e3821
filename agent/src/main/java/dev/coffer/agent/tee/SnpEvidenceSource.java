package dev.coffer.agent.tee;

import dev.coffer.agent.skr.Evidence;
import dev.coffer.agent.skr.EvidenceSource;

import dev.coffer.attest.evidence.EvidenceKind;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;

/**
 * Evidence from a real AMD SEV-SNP guest. Two kernel interfaces exist; the newer one is preferred:
 * <ul>
 * <li>configfs-tsm ({@code /sys/kernel/config/tsm/report}, Linux 6.7+): make a directory, write
 *     REPORT_DATA to {@code inblob}, read the report from {@code outblob} and the host's
 *     certificate table from {@code auxblob}; {@code generation} tells whether another writer
 *     interfered between our write and our read.</li>
 * <li>{@code /dev/sev-guest} (Linux 5.19+): the SNP_GET_REPORT ioctl, called through the JDK's
 *     foreign function API. It returns no certificates; a verifier then fetches the VCEK from
 *     AMD's KDS by chip id and TCB.</li>
 * </ul>
 * There is no simulation here: where neither interface exists, {@link #detect} says so.
 */
public final class SnpEvidenceSource implements GuestTee {
    static final String CONFIGFS_TSM = "sys/kernel/config/tsm/report";
    static final String SEV_GUEST = "dev/sev-guest";
    private static final int REPORT_SIZE = 1184;

    private final Path configfs;   // null: use the device
    private final Path device;

    private SnpEvidenceSource(Path configfs, Path device) {
        this.configfs = configfs;
        this.device = device;
    }

    /**
     * The SEV-SNP guest interface under {@code root} ("/" in production; tests point elsewhere).
     *
     * @throws TeeException "no SEV-SNP guest interface found" when neither exists
     */
    public static SnpEvidenceSource detect(Path root) {
        Path tsm = root.resolve(CONFIGFS_TSM);
        Path dev = root.resolve(SEV_GUEST);
        if (Files.isDirectory(tsm)) return new SnpEvidenceSource(tsm, null);
        if (Files.exists(dev)) return new SnpEvidenceSource(null, dev);
        throw new TeeException("no SEV-SNP guest interface found: expected " + tsm + " (configfs-tsm, Linux 6.7+) or " + dev
                + " (sev-guest driver); --tee snp works only inside a SEV-SNP guest, use --tee sim elsewhere");
    }

    /** Which interface reports come from: configfs-tsm or /dev/sev-guest, with its path. */
    public String interfaceDescription() {
        return configfs != null ? "configfs-tsm " + configfs : "sev-guest " + device;
    }

    @Override
    public EvidenceKind kind() {
        return EvidenceKind.SEV_SNP;
    }

    @Override
    public Evidence evidence(byte[] reportData) {
        if (reportData == null || reportData.length != 64) {
            throw new IllegalArgumentException("REPORT_DATA must be exactly 64 bytes, found "
                    + (reportData == null ? "none" : reportData.length + " bytes"));
        }
        return configfs != null ? viaConfigfs(reportData) : viaDevice(reportData);
    }

    // --- configfs-tsm ------------------------------------------------------------------------

    private Evidence viaConfigfs(byte[] reportData) {
        Path entry = configfs.resolve("coffer-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID());
        try {
            Files.createDirectory(entry);
        } catch (IOException e) {
            throw new TeeException("cannot create a configfs-tsm report entry " + entry + " (" + e + "); is configfs"
                    + " mounted read-write and the agent running as root?", e);
        }
        try {
            String provider = readText(entry.resolve("provider"));
            if (provider != null && !provider.equals("sev_guest")) {
                throw new TeeException("expected the configfs-tsm provider sev_guest, found " + provider
                        + "; this guest's TEE is not SEV-SNP, so --tee snp does not apply");
            }
            Files.write(entry.resolve("inblob"), reportData);
            String generation = readText(entry.resolve("generation"));
            byte[] out = Files.readAllBytes(entry.resolve("outblob"));
            String after = readText(entry.resolve("generation"));
            if (generation != null && !generation.equals(after)) {
                throw new TeeException("the configfs-tsm entry " + entry + " was rewritten while the report was read"
                        + " (generation " + generation + " -> " + after + "); ask again");
            }
            if (out.length < REPORT_SIZE) {
                throw new TeeException("expected a " + REPORT_SIZE + "-byte SEV-SNP report from " + entry.resolve("outblob")
                        + ", found " + out.length + " bytes");
            }
            byte[] aux = Files.exists(entry.resolve("auxblob")) ? Files.readAllBytes(entry.resolve("auxblob")) : new byte[0];
            return new Evidence(Arrays.copyOf(out, REPORT_SIZE), aux.length == 0 ? "" : CertTable.toPem(aux));
        } catch (IOException e) {
            throw new TeeException("the SEV-SNP guest could not produce a report through configfs-tsm " + entry + " ("
                    + e + ")", e);
        } finally {
            try {
                Files.deleteIfExists(entry);
            } catch (IOException e) {
                // configfs entries are rmdir'ed; a leftover one is harmless and reused by nobody.
            }
        }
    }

    private static String readText(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file).strip() : null;
    }

    // --- /dev/sev-guest ------------------------------------------------------------------------

    /** _IOWR('S', 0x0, struct snp_guest_request_ioctl): dir 3, size 32, type 'S', nr 0. */
    static final long SNP_GET_REPORT = (3L << 30) | (32L << 16) | ('S' << 8);
    private static final int O_RDWR = 2;

    private Evidence viaDevice(byte[] reportData) {
        Linker linker = Linker.nativeLinker();
        MemoryLayout errnoLayout = Linker.Option.captureStateLayout();
        VarHandle errno = errnoLayout.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        var lookup = linker.defaultLookup();
        MethodHandle open = linker.downcallHandle(lookup.find("open").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                Linker.Option.captureCallState("errno"));
        MethodHandle ioctl = linker.downcallHandle(lookup.find("ioctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
        MethodHandle close = linker.downcallHandle(lookup.find("close").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(errnoLayout);
            int fd = (int) open.invokeExact(state, arena.allocateFrom(device.toString()), O_RDWR);
            if (fd < 0) {
                throw new TeeException("cannot open " + device + " (errno " + (int) errno.get(state, 0L)
                        + "); the agent must run as root inside a SEV-SNP guest");
            }
            try {
                // struct snp_report_req { u8 user_data[64]; u32 vmpl; u8 rsvd[28]; }
                MemorySegment req = arena.allocate(96, 8);
                MemorySegment.copy(reportData, 0, req, ValueLayout.JAVA_BYTE, 0, 64);
                // struct snp_report_resp { u8 data[4000]; } holding MSG_REPORT_RSP
                MemorySegment resp = arena.allocate(4000, 8);
                // struct snp_guest_request_ioctl { u8 msg_version; u64 req_data; u64 resp_data; u64 exitinfo2; }
                MemorySegment ioc = arena.allocate(32, 8);
                ioc.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
                ioc.set(ValueLayout.JAVA_LONG, 8, req.address());
                ioc.set(ValueLayout.JAVA_LONG, 16, resp.address());
                int rc = (int) ioctl.invokeExact(state, fd, SNP_GET_REPORT, ioc);
                if (rc < 0) {
                    throw new TeeException("SNP_GET_REPORT on " + device + " failed (errno " + (int) errno.get(state, 0L)
                            + ", firmware/VMM error 0x" + Long.toHexString(ioc.get(ValueLayout.JAVA_LONG, 24)) + ")");
                }
                int status = resp.get(ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
                int size = resp.get(ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 4);
                if (status != 0 || size < REPORT_SIZE || size > 4000 - 32) {
                    throw new TeeException("the SEV-SNP firmware answered SNP_GET_REPORT with status 0x" + Integer.toHexString(status)
                            + " and a " + size + "-byte report; expected status 0 and " + REPORT_SIZE + " bytes");
                }
                return new Evidence(resp.asSlice(32, REPORT_SIZE).toArray(ValueLayout.JAVA_BYTE), "");
            } finally {
                int ignored = (int) close.invokeExact(fd);
            }
        } catch (TeeException e) {
            throw e;
        } catch (Throwable e) {
            throw new TeeException("cannot call the sev-guest driver through " + device + " (" + e + ")", e);
        }
    }
}

package dev.coffer.cli.doctor;

import dev.coffer.cli.UsageException;
import dev.coffer.runtime.sandbox.SnpSettings;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The SEV-SNP launch's choices, shared by {@code coffer run --tee snp} and the preflights
 * ({@code run --check}, {@code doctor}) so both check exactly what the launch will use.
 */
public final class SnpOptions {
    @Option(names = "--ovmf", paramLabel = "FILE",
            description = "SEV-SNP: the AmdSev OVMF build (stateless, with the SEV hashes table). Default: the first of "
                    + "/usr/share/ovmf/OVMF.amdsev.fd, /usr/share/OVMF/OVMF.amdsev.fd, /usr/share/edk2/ovmf/OVMF.amdsev.fd,"
                    + " /usr/share/edk2/x64/OVMF.amdsev.fd, /usr/share/qemu/OVMF.amdsev.fd.")
    Path ovmf;

    @Option(names = "--vcpus", paramLabel = "N", defaultValue = "" + SnpSettings.DEFAULT_VCPUS,
            description = "SEV-SNP: virtual CPUs (default: ${DEFAULT-VALUE}); part of the launch measurement.")
    int vcpus;

    @Option(names = "--cpu-type", paramLabel = "TYPE", defaultValue = SnpSettings.DEFAULT_CPU_TYPE,
            description = "SEV-SNP: QEMU CPU model, an EPYC type (default: ${DEFAULT-VALUE}); its CPUID signature is part of the"
                    + " launch measurement, so give `coffer guest measure --snp` the same.")
    String cpuType;

    @Option(names = "--memory", paramLabel = "MIB", defaultValue = "" + SnpSettings.DEFAULT_MEMORY_MIB,
            description = "SEV-SNP: guest memory in MiB (default: ${DEFAULT-VALUE}, at least " + SnpSettings.MIN_MEMORY_MIB + ").")
    int memoryMib;

    @Option(names = "--snp-id-block", paramLabel = "FILE",
            description = "SEV-SNP: the guest owner's ID block (96 bytes, binary), with --snp-id-auth.")
    Path idBlock;

    @Option(names = "--snp-id-auth", paramLabel = "FILE",
            description = "SEV-SNP: the ID authentication information structure (4096 bytes, binary) signing the ID block.")
    Path idAuth;

    @Option(names = "--snp-author-key", description = "SEV-SNP: the ID authentication structure also carries an author key.")
    boolean authorKey;

    /** The settings these options give; a usage error naming the option for a bad value. */
    public SnpSettings settings() {
        try {
            return new SnpSettings(ovmf == null ? null : ovmf.toAbsolutePath(), cpuType, vcpus, memoryMib, read(idBlock, "--snp-id-block"),
                    read(idAuth, "--snp-id-auth"), authorKey);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static byte[] read(Path file, String option) {
        if (file == null) return null;
        try {
            if (Files.size(file) > SnpSettings.ID_AUTH_BYTES) {
                throw new UsageException("expected " + option + " FILE of at most " + SnpSettings.ID_AUTH_BYTES + " bytes, found "
                        + Files.size(file) + " in " + file);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UsageException("expected a readable " + option + " FILE, found " + file + " (" + e.getMessage() + ")");
        }
    }
}

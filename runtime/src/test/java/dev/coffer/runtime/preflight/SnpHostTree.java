package dev.coffer.runtime.preflight;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A directory laid out like an SEV-SNP host's /proc, /sys, /dev and /usr/share, for the checks to
 * read as they read "/": the files hold what such a host's kernel serves there. QEMU is a small
 * script in the tree's bin/ answering {@code --version} and {@code -object help} as the given
 * release does; the checks run it as they run the real one.
 */
final class SnpHostTree {
    final Path root;

    SnpHostTree(Path root) {
        this.root = root;
    }

    static Path shared() {
        String prop = System.getProperty("coffer.shared");
        return (prop != null ? Path.of(prop) : Path.of("../../shared")).resolve("testdata/attestation/snp-measure");
    }

    Path write(String relative, String text) throws IOException {
        Path p = root.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text, StandardCharsets.UTF_8);
        return p;
    }

    SnpHostTree cpu(String vendor, String model, String flags, int count) throws IOException {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < count; i++) {
            s.append("processor\t: ").append(i).append("\nvendor_id\t: ").append(vendor).append("\ncpu family\t: 25\nmodel name\t: ")
                    .append(model).append("\nflags\t\t: ").append(flags).append("\n\n");
        }
        write("proc/cpuinfo", s.toString());
        return this;
    }

    SnpHostTree memAvailableKib(long kib) throws IOException {
        write("proc/meminfo", "MemTotal:       65536000 kB\nMemFree:        30000000 kB\nMemAvailable:   " + kib + " kB\n");
        return this;
    }

    /** The cpuid driver's device: 16 bytes at offset 0x8000001F (a sparse file). */
    SnpHostTree cpuid(int eax, int ebx) throws IOException {
        Path p = root.resolve(SevCpuid.DEVICE);
        Files.createDirectories(p.getParent());
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(eax).putInt(ebx).putInt(509).putInt(100).flip();
            ch.write(b, SevCpuid.LEAF);
        }
        return this;
    }

    SnpHostTree kvmAmd(String sevSnp) throws IOException {
        write("dev/kvm", "");
        write("sys/module/kvm_amd/parameters/sev", "Y\n");
        write("sys/module/kvm_amd/parameters/sev_es", "Y\n");
        if (sevSnp != null) write("sys/module/kvm_amd/parameters/sev_snp", sevSnp + "\n");
        return this;
    }

    SnpHostTree devSev() throws IOException {
        write("dev/sev", "");
        return this;
    }

    SnpHostTree firmware(String fixture) throws IOException {
        Path p = root.resolve("usr/share/ovmf/OVMF.amdsev.fd");
        Files.createDirectories(p.getParent());
        Files.copy(shared().resolve(fixture), p);
        return this;
    }

    SnpHostTree qemu(String version, List<String> objects) throws IOException {
        Path q = write("bin/qemu-system-x86_64", "#!/bin/sh\ncase \"$1\" in\n"
                + "--version) printf 'QEMU emulator version " + version + "\\nCopyright (c) 2003-2024 Fabrice Bellard and the QEMU Project developers\\n' ;;\n"
                + "-object) printf 'List of user creatable objects:\\n" + String.join("", objects.stream().map(o -> "  " + o + "\\n").toList())
                + "' ;;\n*) exit 1 ;;\nesac\n");
        q.toFile().setExecutable(true);
        return this;
    }

    /** A built guest (stand-in files: the checks look at their presence, not their content). */
    Path guest(boolean withBzImage) throws IOException {
        Path dir = root.resolve("home/guest");
        String rootHash = "ab".repeat(32);
        write("home/guest/vmlinux", "vmlinux");
        write("home/guest/initrd.cpio", "initrd");
        Files.write(dir.resolve("agent.img"), new byte[3 * 4096]);
        if (withBzImage) write("home/guest/vmlinuz", "bzImage");
        write("home/guest/guest.json", """
                {"format":1,"kernelVersion":"6.1.0-50-amd64","kernel":"vmlinux","initrd":"initrd.cpio","agentDisk":"agent.img",
                 "agentRootHash":"%s","agentDataBlocks":2,"cmdline":"console=ttyS0 coffer.agentdisk=%s,2"}
                """.formatted(rootHash, rootHash));
        return dir;
    }

    HostProbe probe() {
        return new HostProbe(root, HostProbe.QEMU, List.of(root.resolve("bin")));
    }

    /** Everything an SNP host has: Milan, SNP enabled, QEMU 9.2, the AmdSev OVMF, a guest with its bzImage. */
    static SnpHostTree ready(Path root) throws IOException {
        return new SnpHostTree(root).cpu("AuthenticAMD", "AMD EPYC 7763 64-Core Processor", "fpu sse2 svm sev sev_es sev_snp", 8)
                .memAvailableKib(16_000_000).cpuid(0x0101fd3f, 0x00004173).kvmAmd("Y").devSev()
                .firmware("ovmf_AmdSev_suffix.bin").qemu("9.2.0", List.of("memory-backend-memfd", "sev-guest", "sev-snp-guest"));
    }
}

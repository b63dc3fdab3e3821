package dev.coffer.runtime.preflight;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The host's CPUID leaf 0x8000001F (AMD memory encryption), as the kernel's cpuid driver serves
 * it: reading 16 bytes of {@code /dev/cpu/N/cpuid} at offset {@code leaf | subleaf << 32} gives
 * EAX, EBX, ECX, EDX. QEMU checks {@code cbitpos} against EBX[5:0] and puts
 * {@code reduced-phys-bits} into the guest's own CPUID as EBX[11:6], so both are taken from here.
 */
public record SevCpuid(int eax, int ebx, int ecx, int edx) {
    public static final long LEAF = 0x8000001FL;
    /** Where the cpuid driver ({@code modprobe cpuid}) exposes CPU 0, relative to the root. */
    public static final String DEVICE = "dev/cpu/0/cpuid";

    /** EAX bit 1: SEV. */
    public boolean sev() {
        return (eax & (1 << 1)) != 0;
    }

    /** EAX bit 3: SEV-ES. */
    public boolean sevEs() {
        return (eax & (1 << 3)) != 0;
    }

    /** EAX bit 4: SEV-SNP. */
    public boolean snp() {
        return (eax & (1 << 4)) != 0;
    }

    /** EBX[5:0]: the page-table bit that marks a page encrypted (the C-bit). */
    public int cbitPosition() {
        return ebx & 0x3f;
    }

    /** EBX[11:6]: physical address bits lost to memory encryption. */
    public int reducedPhysBits() {
        return (ebx >>> 6) & 0x3f;
    }

    /** Reads the leaf from the cpuid device of {@code root} (the host's "/", or a prepared tree in tests). */
    public static SevCpuid read(Path root) throws IOException {
        Path device = root.resolve(DEVICE);
        try (FileChannel ch = FileChannel.open(device, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            long at = LEAF;
            while (b.hasRemaining()) {
                int n = ch.read(b, at + b.position());
                if (n < 0) {
                    throw new IOException("expected 16 bytes of CPUID leaf 0x8000001f from " + device + ", found " + b.position());
                }
            }
            b.flip();
            return new SevCpuid(b.getInt(), b.getInt(), b.getInt(), b.getInt());
        }
    }
}

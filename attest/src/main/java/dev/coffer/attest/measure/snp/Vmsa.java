package dev.coffer.attest.measure.snp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The initial VMSA page (the SEV-ES save area, AMD APM vol. 2 table B-4; Linux's struct
 * sev_es_save_area) of one vCPU at reset, as the VMM hands it to the secure processor. Every
 * field not set here is zero. The values are the reset state KVM gives a vCPU, with the
 * differences each VMM has.
 */
final class Vmsa {
    private Vmsa() {}

    /** x86 reset vector: where the bootstrap processor starts. */
    static final long BSP_EIP = 0xfffffff0L;

    // Offsets into the save area.
    private static final int ES = 0x00, CS = 0x10, SS = 0x20, DS = 0x30, FS = 0x40, GS = 0x50,
            GDTR = 0x60, LDTR = 0x70, IDTR = 0x80, TR = 0x90;
    private static final int EFER = 0xd0, CR4 = 0x148, CR0 = 0x158, DR7 = 0x160, DR6 = 0x168,
            RFLAGS = 0x170, RIP = 0x178, G_PAT = 0x268, RDX = 0x310, SEV_FEATURES = 0x3b0, XCR0 = 0x3e8,
            MXCSR = 0x408, X87_FCW = 0x410;

    private static final long DEFAULT_PAT = 0x0007040600070406L; // AMD APM vol. 2, A.3
    private static final long GCE_PAT = 0x00070106L;             // GCE's hypervisor writes its own
    /** The signature EC2 and GCE put in RDX whatever the guest's CPU model. */
    static final int CLOUD_RDX = 0x600;

    static byte[] page(long eip, long sevFeatures, VcpuSignature sig, VmmType vmm) {
        int csFlags = 0x9b, ssFlags = 0x93, trFlags = 0x8b, mxcsr = 0x1f80, fcw = 0x37f;
        long pat = DEFAULT_PAT, rdx = sig.value() & 0xffffffffL;
        switch (vmm) {
            case QEMU -> {}
            case EC2 -> {
                csFlags = eip == BSP_EIP ? 0x9a : 0x9b;
                ssFlags = 0x92;
                trFlags = 0x83;
                rdx = CLOUD_RDX;
                mxcsr = 0;
                fcw = 0;
            }
            case GCE -> {
                pat = GCE_PAT;
                rdx = CLOUD_RDX;
                mxcsr = 0;
                fcw = 0;
            }
        }
        ByteBuffer b = ByteBuffer.allocate(OvmfFirmware.PAGE).order(ByteOrder.LITTLE_ENDIAN);
        segment(b, ES, 0, 0x93, 0xffff, 0);
        // Real-mode CS: selector 0xf000, base = the 64 KiB segment holding the entry point.
        segment(b, CS, 0xf000, csFlags, 0xffff, eip & 0xffff0000L);
        segment(b, SS, 0, ssFlags, 0xffff, 0);
        segment(b, DS, 0, 0x93, 0xffff, 0);
        segment(b, FS, 0, 0x93, 0xffff, 0);
        segment(b, GS, 0, 0x93, 0xffff, 0);
        segment(b, GDTR, 0, 0, 0xffff, 0);
        segment(b, LDTR, 0, 0x82, 0xffff, 0);
        segment(b, IDTR, 0, 0, 0xffff, 0);
        segment(b, TR, 0, trFlags, 0xffff, 0);
        b.putLong(EFER, 0x1000);   // EFER.SVME, which KVM sets
        b.putLong(CR4, 0x40);      // CR4.MCE, which KVM sets
        b.putLong(CR0, 0x10);      // CR0.ET
        b.putLong(DR7, 0x400);
        b.putLong(DR6, 0xffff0ff0L);
        b.putLong(RFLAGS, 0x2);
        b.putLong(RIP, eip & 0xffff);
        b.putLong(G_PAT, pat);
        b.putLong(RDX, rdx);
        b.putLong(SEV_FEATURES, sevFeatures);
        b.putLong(XCR0, 0x1);
        b.putInt(MXCSR, mxcsr);
        b.putShort(X87_FCW, (short) fcw);
        return b.array();
    }

    private static void segment(ByteBuffer b, int at, int selector, int attrib, int limit, long base) {
        b.putShort(at, (short) selector).putShort(at + 2, (short) attrib).putInt(at + 4, limit).putLong(at + 8, base);
    }
}

package dev.coffer.attest.measure.snp;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What the vectors do not pin: the VMM differences, vCPU signatures, every input moving the
 * digest, and the inputs refused.
 */
class LaunchVariantsTest {
    static final OvmfFirmware FW = SnpMeasureVectors.firmware("ovmf_AmdSev_suffix.bin");
    static final VcpuSignature EPYC_V4 = VcpuSignature.ofType("EPYC-v4");
    static final long SEC_MEMORY_PAGES = (0x9000 + 0x3000 + 0xf000) / 4096;

    static LaunchDigest snp(VmmType vmm) {
        return LaunchDigestCalculator.compute(new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.empty(), 2, EPYC_V4, vmm, 1), true);
    }

    static List<MeasuredStep.Page> pages(LaunchDigest d) {
        return d.steps().stream().map(MeasuredStep.Page.class::cast).toList();
    }

    static long count(List<MeasuredStep.Page> p, PageType t) {
        return p.stream().filter(s -> s.type() == t).count();
    }

    static int indexOf(List<MeasuredStep.Page> p, PageType t) {
        for (int i = 0; i < p.size(); i++) if (p.get(i).type() == t) return i;
        return -1;
    }

    @Test
    void signaturesOfQemuEpycModels() {
        assertEquals(0x00800f12, VcpuSignature.ofType("EPYC").value());
        assertEquals(0x00800f12, VcpuSignature.ofType("epyc-v4").value());
        assertEquals(0x00830f10, VcpuSignature.ofType("EPYC-Rome-v2").value());
        assertEquals(0x00a00f11, VcpuSignature.ofType("EPYC-Milan").value());
        assertEquals(0x00a10f10, VcpuSignature.ofType("EPYC-Genoa-v1").value());
        assertEquals(VcpuSignature.of(25, 1, 1), VcpuSignature.ofType("EPYC-Milan-v2"));
        assertTrue(VcpuSignature.typeNames().containsAll(List.of("EPYC-v1", "EPYC-v2", "EPYC-v3", "EPYC-v4", "EPYC-IBPB", "EPYC-Rome-v1")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VcpuSignature.ofType("EPYC-Zen9"));
        assertTrue(e.getMessage().contains("EPYC-Milan") && e.getMessage().contains("--vcpu-sig"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VcpuSignature.of(25, 256, 0));
    }

    @Test
    void qemuAddsTheFirmwareThenEverySectionInOrderThenTheVmsas() {
        List<MeasuredStep.Page> p = pages(snp(VmmType.QEMU));
        assertEquals(FW.size() / 4096, count(p, PageType.NORMAL));
        assertEquals(FW.gpa(), p.getFirst().gpa());
        assertEquals(0, count(p, PageType.UNMEASURED));
        // SEC memory, the SVSM CAA, and (no kernel) the hashes page are ZERO pages.
        assertEquals(SEC_MEMORY_PAGES + 1 + 1, count(p, PageType.ZERO));
        assertEquals(1, count(p, PageType.SECRETS));
        assertEquals(0x80d000L, p.get(indexOf(p, PageType.SECRETS)).gpa());
        int cpuid = indexOf(p, PageType.CPUID);
        assertEquals(0x80e000L, p.get(cpuid).gpa());
        assertEquals(0x80f000L, p.get(cpuid + 1).gpa(), "the SVSM CAA follows the CPUID page, in declaration order");
        assertEquals(List.of(PageType.VMSA, PageType.VMSA), p.subList(p.size() - 2, p.size()).stream().map(MeasuredStep.Page::type).toList());
        assertEquals(PageInfoChain.VMSA_GPA, p.getLast().gpa());
        // Pages whose contents are not measured contribute 48 zero bytes.
        assertArrayEquals(new byte[48], p.get(cpuid).contentsSha384());
    }

    @Test
    void gceLeavesSecMemoryUnmeasuredAndEc2AddsTheCpuidPageLast() {
        List<MeasuredStep.Page> gce = pages(snp(VmmType.GCE));
        assertEquals(SEC_MEMORY_PAGES, count(gce, PageType.UNMEASURED));
        assertEquals(2, count(gce, PageType.ZERO));

        List<MeasuredStep.Page> ec2 = pages(snp(VmmType.EC2));
        int cpuid = indexOf(ec2, PageType.CPUID);
        assertEquals(1, count(ec2, PageType.CPUID));
        assertEquals(PageType.VMSA, ec2.get(cpuid + 1).type(), "EC2 adds the CPUID page after every other section");

        Set<String> digests = new HashSet<>();
        for (VmmType vmm : VmmType.values()) digests.add(snp(vmm).hex());
        assertEquals(3, digests.size(), "each VMM gives its own MEASUREMENT");
    }

    @Test
    void vmsasDifferPerVmmAsEachSetsItsRegisters() {
        byte[] qemu = Vmsa.page(Vmsa.BSP_EIP, 1, EPYC_V4, VmmType.QEMU);
        byte[] ec2 = Vmsa.page(Vmsa.BSP_EIP, 1, EPYC_V4, VmmType.EC2);
        byte[] ec2Ap = Vmsa.page(0x80b004, 1, EPYC_V4, VmmType.EC2);
        byte[] gce = Vmsa.page(Vmsa.BSP_EIP, 1, EPYC_V4, VmmType.GCE);
        ByteBuffer q = ByteBuffer.wrap(qemu).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xfff0, q.getLong(0x178), "RIP is the low 16 bits of the reset vector");
        assertEquals(0xffff0000L, q.getLong(0x18), "CS base holds the rest");
        assertEquals(0x00800f12L, q.getLong(0x310), "QEMU puts the vCPU signature in RDX");
        assertEquals(1, q.getLong(0x3b0));
        assertEquals(0x9a, ByteBuffer.wrap(ec2).order(ByteOrder.LITTLE_ENDIAN).getShort(0x12));
        assertEquals(0x9b, ByteBuffer.wrap(ec2Ap).order(ByteOrder.LITTLE_ENDIAN).getShort(0x12));
        assertEquals(0x600, ByteBuffer.wrap(ec2).order(ByteOrder.LITTLE_ENDIAN).getLong(0x310));
        assertEquals(0x00070106L, ByteBuffer.wrap(gce).order(ByteOrder.LITTLE_ENDIAN).getLong(0x268));
    }

    @Test
    void everyInputMovesTheDigest() {
        DirectBoot boot = DirectBoot.of(new byte[] {1}, new byte[] {2}, "a");
        LaunchInputs base = new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(boot), 2, EPYC_V4, VmmType.QEMU, 1);
        List<LaunchInputs> variants = List.of(base,
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(DirectBoot.of(new byte[] {9}, new byte[] {2}, "a")), 2, EPYC_V4, VmmType.QEMU, 1),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(DirectBoot.of(new byte[] {1}, new byte[] {9}, "a")), 2, EPYC_V4, VmmType.QEMU, 1),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(DirectBoot.of(new byte[] {1}, new byte[] {2}, "b")), 2, EPYC_V4, VmmType.QEMU, 1),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(boot), 3, EPYC_V4, VmmType.QEMU, 1),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(boot), 2, VcpuSignature.ofType("EPYC-Milan"), VmmType.QEMU, 1),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.of(boot), 2, EPYC_V4, VmmType.QEMU, 0x21),
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.empty(), 2, EPYC_V4, VmmType.QEMU, 1));
        Set<String> digests = new HashSet<>();
        for (LaunchInputs in : variants) digests.add(LaunchDigestCalculator.compute(in).hex());
        assertEquals(variants.size(), digests.size());
        // No initrd and an empty initrd are the same to QEMU (both hash as empty), and so here.
        assertArrayEquals(DirectBoot.of(new byte[0], null, null).table(), DirectBoot.of(new byte[0], new byte[0], "").table());
    }

    @Test
    void directBootFromFilesEqualsFromBytes(@TempDir Path tmp) throws IOException {
        byte[] kernel = new byte[200_000];
        for (int i = 0; i < kernel.length; i++) kernel[i] = (byte) (i * 31);
        Files.write(tmp.resolve("vmlinuz"), kernel);
        Files.write(tmp.resolve("initrd"), new byte[] {7, 7});
        assertArrayEquals(DirectBoot.of(kernel, new byte[] {7, 7}, "root=/dev/vda").table(),
                DirectBoot.ofFiles(tmp.resolve("vmlinuz"), tmp.resolve("initrd"), "root=/dev/vda").table());
        assertEquals(176, DirectBoot.PADDED_TABLE_LENGTH);
    }

    @Test
    void badInputsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.empty(), 0, EPYC_V4, VmmType.QEMU, 1));
        assertThrows(IllegalArgumentException.class,
                () -> new LaunchInputs(SevMode.SNP, FW, Optional.of(new byte[47]), Optional.empty(), 1, EPYC_V4, VmmType.QEMU, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LaunchInputs(SevMode.SEV_ES, FW, Optional.of(new byte[48]), Optional.empty(), 1, EPYC_V4, VmmType.QEMU, 1));
        assertTrue(e.getMessage().contains("SNP only"), e.getMessage());
        assertThrows(NullPointerException.class,
                () -> new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.empty(), 1, null, VmmType.QEMU, 1));
        // EC2 and GCE set RDX themselves: no signature needed.
        assertEquals(48, LaunchDigestCalculator.compute(
                new LaunchInputs(SevMode.SNP, FW, Optional.empty(), Optional.empty(), 1, null, VmmType.GCE, 1)).measurement().length);
        assertEquals(SevMode.SEV_ES, SevMode.parse("SEV-ES"));
        assertThrows(IllegalArgumentException.class, () -> SevMode.parse("tdx"));
        assertEquals(VmmType.EC2, VmmType.parse("ec2"));
    }
}

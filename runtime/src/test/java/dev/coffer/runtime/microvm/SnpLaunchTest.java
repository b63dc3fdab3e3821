package dev.coffer.runtime.microvm;

import dev.coffer.runtime.guest.GuestImage;
import dev.coffer.runtime.guest.GuestNetwork;
import dev.coffer.runtime.preflight.SevCpuid;
import dev.coffer.runtime.sandbox.SnpSettings;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SNP launch's command line against golden files (one argument per line, in
 * src/test/resources/snp-launch), for several hosts' CPUID 0x8000001F and guest sizes. To
 * regenerate after a deliberate change: {@code -Dcoffer.golden.update=src/test/resources/snp-launch}.
 */
class SnpLaunchTest {
    static final GuestImage GUEST = new GuestImage(Path.of("/home/u/.local/share/coffer/guest"), "6.1.0-50-amd64", "ab".repeat(32), 10,
            "console=ttyS0 quiet reboot=t panic=-1 tsc_early_khz=2450000 8250.nr_uarts=1 cryptomgr.notests coffer.agentdisk="
                    + "ab".repeat(32) + ",10", "");
    /** HOST_DATA of a policy: SHA-256 of its text, as the launch computes it. */
    static final byte[] HOST_DATA = dev.coffer.attest.measure.HostData.ofPolicy("package policy\n".getBytes(StandardCharsets.UTF_8));
    static final Path OVMF = Path.of("/usr/share/ovmf/OVMF.amdsev.fd");

    /** Milan: EAX with SEV, SEV-ES, SNP; EBX = C-bit 51, 5 reduced physical address bits. */
    static final SevCpuid MILAN = new SevCpuid(0x0101fd3f, 0x00004173, 509, 100);
    /** Rome (SNP-capable firmware aside): C-bit 47, 5 bits. */
    static final SevCpuid ROME = new SevCpuid(0x0001fd1f, 0x0000016f, 509, 100);
    /** Genoa as KVM guests see it after the reduced-phys-bits change: C-bit 51, 1 bit. */
    static final SevCpuid GENOA = new SevCpuid(0x0101fd3f, 0x00000073, 1006, 0);

    MicroVm.Config vm(List<MicroVm.Disk> layers, boolean network) {
        MicroVm.Config c = MicroVm.Config.forAgent(GUEST, Path.of("/home/u/.local/share/coffer/groups/web/vm"), Accelerator.KVM)
                .withDisks(layers).withDisks(List.of(new MicroVm.Disk(Path.of("/home/u/.local/share/coffer/groups/web/vm/launch.img"),
                        "coffer-launch", true)));
        return network ? c.withNetwork(List.of(new MicroVm.PortForward(8080, 8080)),
                GuestNetwork.Plan.of(List.of("https://vault.example:443"), List.of(8080)).endpoints()) : c;
    }

    SnpLaunch.Inputs inputs(SevCpuid host, SnpSettings settings, boolean network) {
        return new SnpLaunch.Inputs(vm(List.of(new MicroVm.Disk(Path.of("/home/u/.local/share/coffer/layers/0123.disk"),
                "l0123456789abcdef", true)), network), settings, host.cbitPosition(), host.reducedPhysBits(), HOST_DATA,
                SnpLaunch.GUEST_POLICY);
    }

    static byte[] filled(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    void assertGolden(String name, List<String> command) throws IOException {
        String actual = String.join("\n", command) + "\n";
        String update = System.getProperty("coffer.golden.update");
        if (update != null) Files.writeString(Path.of(update, name + ".args"), actual, StandardCharsets.UTF_8);
        try (InputStream in = SnpLaunchTest.class.getResourceAsStream("/snp-launch/" + name + ".args")) {
            assertNotNull(in, "golden file snp-launch/" + name + ".args");
            assertEquals(new String(in.readAllBytes(), StandardCharsets.UTF_8), actual, name);
        }
    }

    @Test
    void milanOneVcpuOneGibDetached() throws IOException {
        assertGolden("milan-1vcpu-1024m-detached", SnpLaunch.qemuCommand(inputs(MILAN,
                new SnpSettings(OVMF, "EPYC-v4", 1, 1024, null, null, false), true), true));
    }

    @Test
    void romeFourVcpusFourGibAttached() throws IOException {
        assertGolden("rome-4vcpu-4096m", SnpLaunch.qemuCommand(inputs(ROME,
                new SnpSettings(OVMF, "EPYC-Rome", 4, 4096, null, null, false), false), false));
    }

    @Test
    void genoaWithIdBlockAndAuthorKey() throws IOException {
        assertGolden("genoa-2vcpu-2048m-idblock", SnpLaunch.qemuCommand(inputs(GENOA,
                new SnpSettings(Path.of("/opt/edk2/OVMF.amdsev.fd"), "EPYC-Genoa", 2, 2048, filled(96, 1), filled(4096, 7), true),
                true), true));
    }

    @Test
    void theCommandPassesExactlyWhatTheMeasurementIsComputedFrom() {
        SnpSettings s = new SnpSettings(OVMF, "EPYC-Milan", 3, 1536, null, null, false);
        List<String> cmd = SnpLaunch.qemuCommand(inputs(MILAN, s, false), true);
        SnpLaunch.Measured m = SnpLaunch.measured(GUEST, s);
        assertEquals(m.kernel().toString(), after(cmd, "-kernel"));
        assertEquals(GUEST.bzImage(), m.kernel(), "OVMF boots the bzImage, not the PVH vmlinux");
        assertEquals(m.initrd().toString(), after(cmd, "-initrd"));
        assertEquals(m.cmdline(), after(cmd, "-append"));
        assertEquals(GUEST.cmdline(), m.cmdline());
        assertEquals(m.firmware().toString(), after(cmd, "-bios"));
        assertEquals(m.cpuType(), after(cmd, "-cpu"));
        assertEquals("EPYC-Milan", m.cpuType());
        assertEquals(m.vcpus() + ",maxcpus=" + m.vcpus(), after(cmd, "-smp"));
        assertEquals(3, m.vcpus());
        assertEquals(0x1, m.guestFeatures());
        assertEquals("1536M", after(cmd, "-m"));
        String snp = cmd.stream().filter(a -> a.startsWith("sev-snp-guest,")).findFirst().orElseThrow();
        assertTrue(snp.contains(",cbitpos=51,reduced-phys-bits=5,"), snp);
        assertTrue(snp.contains(",kernel-hashes=on,"), snp);
        assertTrue(snp.endsWith(",host-data=" + java.util.Base64.getEncoder().encodeToString(HOST_DATA)), snp);
        // the same devices as every Coffer VM, on PCI with the platform's DMA API
        assertTrue(cmd.contains("virtio-serial-pci,disable-legacy=on,iommu_platform=on"), cmd.toString());
        assertFalse(String.join(" ", cmd).contains("-device virtio-blk-device"), cmd.toString());
        assertFalse(cmd.contains("-accel"), "SNP runs only under KVM: -enable-kvm, never an accelerator choice");
    }

    @Test
    void theSameInputsGiveTheSameCommandAndTheInputsAreCopied() {
        byte[] hostData = HOST_DATA.clone();
        SnpLaunch.Inputs in = new SnpLaunch.Inputs(vm(List.of(), false), new SnpSettings(OVMF, "EPYC-v4", 1, 1024, null, null, false),
                51, 1, hostData, SnpLaunch.GUEST_POLICY);
        List<String> first = SnpLaunch.qemuCommand(in, true);
        Arrays.fill(hostData, (byte) 0xff); // the caller's array changing afterwards changes nothing
        assertEquals(first, SnpLaunch.qemuCommand(in, true));
    }

    @Test
    void badInputsAreRefusedWithWhatWasExpected() {
        MicroVm.Config c = vm(List.of(), false);
        SnpSettings ok = new SnpSettings(OVMF, "EPYC-v4", 1, 1024, null, null, false);
        String e;
        e = refused(() -> new SnpLaunch.Inputs(c, ok, 51, 1, HOST_DATA, SnpLaunch.GUEST_POLICY | (1L << 19)));
        assertTrue(e.contains("debug (bit 19)"), e);
        e = refused(() -> new SnpLaunch.Inputs(c, ok, 51, 1, HOST_DATA, 0x10000));
        assertTrue(e.contains("bit 17"), e);
        e = refused(() -> new SnpLaunch.Inputs(c, ok, 0, 1, HOST_DATA, SnpLaunch.GUEST_POLICY));
        assertTrue(e.contains("C-bit position of 32..63") && e.contains("found 0"), e);
        e = refused(() -> new SnpLaunch.Inputs(c, ok, 51, 0, HOST_DATA, SnpLaunch.GUEST_POLICY));
        assertTrue(e.contains("reduced-phys-bits of 1..63"), e);
        e = refused(() -> new SnpLaunch.Inputs(c, ok, 51, 1, new byte[31], SnpLaunch.GUEST_POLICY));
        assertTrue(e.contains("32 bytes of HOST_DATA, found 31"), e);
        e = refused(() -> new SnpLaunch.Inputs(c, new SnpSettings(null, "EPYC-v4", 1, 1024, null, null, false), 51, 1, HOST_DATA,
                SnpLaunch.GUEST_POLICY));
        assertTrue(e.contains("firmware"), e);
        // a comma would smuggle another option into -object/-bios
        e = refused(() -> new SnpLaunch.Inputs(c, new SnpSettings(Path.of("/x/OVMF.fd,readonly=off"), "EPYC-v4", 1, 1024, null,
                null, false), 51, 1, HOST_DATA, SnpLaunch.GUEST_POLICY));
        assertTrue(e.contains("without commas"), e);
    }

    @Test
    void settingsRefuseWhatCannotBeMeasuredOrLaunched() {
        String e;
        e = refused(() -> new SnpSettings(OVMF, "host", 1, 1024, null, null, false));
        assertTrue(e.contains("EPYC-v4") && e.contains("\"host\""), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4,+avx", 1, 1024, null, null, false));
        assertTrue(e.contains("vCPU type"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 0, 1024, null, null, false));
        assertTrue(e.contains("1..255 vCPUs"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 1, 256, null, null, false));
        assertTrue(e.contains("at least 512 MiB"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 1, 1024, new byte[95], new byte[4096], false));
        assertTrue(e.contains("96 bytes, found 95"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 1, 1024, new byte[96], null, false));
        assertTrue(e.contains("together"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 1, 1024, new byte[96], new byte[4000], false));
        assertTrue(e.contains("4096 bytes, found 4000"), e);
        e = refused(() -> new SnpSettings(OVMF, "EPYC-v4", 1, 1024, null, null, true));
        assertTrue(e.contains("author key"), e);
    }

    static String after(List<String> cmd, String option) {
        return cmd.get(cmd.indexOf(option) + 1);
    }

    static String refused(org.junit.jupiter.api.function.Executable e) {
        return assertThrows(IllegalArgumentException.class, e).getMessage();
    }
}

package dev.coffer.runtime.preflight;

import dev.coffer.runtime.sandbox.SnpSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnpPreflightTest {
    @TempDir
    Path root;

    static Set<String> failing(SnpPreflight.Result r) {
        return r.failing().stream().map(Check::name).collect(Collectors.toCollection(java.util.TreeSet::new));
    }

    static Check check(SnpPreflight.Result r, String name) {
        return r.checks().stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void aPreparedSnpHostIsAllGreenAndGivesTheLaunchItsCbitAndFirmware() throws Exception {
        SnpHostTree tree = SnpHostTree.ready(root);
        Path guest = tree.guest(true);
        SnpPreflight.Result r = SnpPreflight.check(tree.probe(), new SnpSettings(null, "EPYC-Milan", 4, 2048, null, null, false), guest);
        assertTrue(r.ready(), r.render());
        assertEquals(SnpPreflight.names(), r.checks().stream().map(Check::name).toList(), "every declared check, in order");
        assertEquals(51, r.cpuid().cbitPosition());
        assertEquals(5, r.cpuid().reducedPhysBits());
        assertEquals(root.resolve("usr/share/ovmf/OVMF.amdsev.fd"), r.firmware());
        assertTrue(r.render().startsWith("SEV-SNP launch: ready\n"), r.render());
        assertTrue(check(r, "qemu").found().contains("QEMU 9.2.0"), r.render());
        assertTrue(check(r, "ovmf kernel hashes").found().contains("0x810c00 (1024 bytes)"), r.render());
        assertTrue(check(r, "cpuid").found().contains("cbitpos 51, reduced-phys-bits 5"), r.render());
    }

    @Test
    void aHalfReadyHostNamesExactlyWhatIsMissingAndWhatToDo() throws Exception {
        SnpHostTree tree = new SnpHostTree(root).cpu("AuthenticAMD", "AMD EPYC 7763 64-Core Processor", "fpu svm sev sev_es sev_snp", 8)
                .memAvailableKib(16_000_000).cpuid(0x0101fd3f, 0x00004173).kvmAmd("N").devSev()
                .firmware("ovmf_OvmfX64_suffix.bin").qemu("8.2.2", List.of("memory-backend-memfd", "sev-guest"));
        Path guest = tree.guest(false);
        SnpPreflight.Result r = SnpPreflight.check(tree.probe(), SnpSettings.defaults(), guest);
        assertFalse(r.ready());
        assertEquals(Set.of("kvm_amd sev_snp", "qemu", "qemu sev-snp-guest", "ovmf kernel hashes", "guest"), failing(r), r.render());
        assertTrue(check(r, "kvm_amd sev_snp").fix().contains("modprobe kvm_amd sev_snp=1"), r.render());
        assertTrue(check(r, "qemu").found().contains("QEMU 8.2.2") && check(r, "qemu").found().contains("9.1"), r.render());
        assertTrue(check(r, "ovmf kernel hashes").found().contains(dev.coffer.attest.measure.snp.OvmfFirmware.SEV_HASH_TABLE_GUID), r.render());
        assertTrue(check(r, "guest").found().contains("vmlinuz") && check(r, "guest").fix().contains("coffer guest build"), r.render());
        String screen = r.render();
        assertTrue(screen.startsWith("SEV-SNP launch: NOT READY (5 of 12 checks not met)\n"), screen);
        String unwrapped = screen.replaceAll("\n +", " ");
        for (Check c : r.failing()) assertTrue(unwrapped.contains(c.fix()), c.name());
        assertTrue(screen.lines().allMatch(l -> l.length() <= Preflights.WIDTH || !l.strip().contains(" ")), screen);
        assertTrue(screen.lines().count() <= 25, "one readable screen:\n" + screen);
    }

    @Test
    void anEmptyHostFailsEveryCheckItCanAndSkipsThoseThatDependOnThem() throws Exception {
        SnpPreflight.Result r = SnpPreflight.check(new HostProbe(root, HostProbe.QEMU, List.of(root.resolve("bin"))),
                SnpSettings.defaults(), root.resolve("home/guest"));
        assertFalse(r.ready());
        for (Check c : r.checks()) {
            assertFalse(c.ok(), c.name());
            assertFalse(c.found().isBlank(), c.name());
            if (c.status() == Check.Status.MISSING) assertFalse(c.fix().isBlank(), c.name() + " says what to do");
        }
        assertEquals(Check.Status.SKIPPED, check(r, "qemu sev-snp-guest").status());
        assertEquals(Check.Status.SKIPPED, check(r, "ovmf kernel hashes").status());
        assertEquals(Check.Status.SKIPPED, check(r, "kvm_amd sev_snp").status());
    }

    @Test
    void aHostTooSmallForTheGuestIsNamed() throws Exception {
        SnpHostTree tree = SnpHostTree.ready(root).memAvailableKib(1_000_000);
        SnpPreflight.Result r = SnpPreflight.check(tree.probe(), new SnpSettings(null, "EPYC-v4", 16, 1024, null, null, false),
                tree.guest(true));
        assertEquals(Set.of("memory", "vcpus"), failing(r), r.render());
        assertTrue(check(r, "vcpus").fix().contains("at most 8"), r.render());
        assertTrue(check(r, "memory").found().contains("976 MiB available"), r.render());
    }

    @Test
    void anIntelHostAndACpuWithoutSnpAreTold() throws Exception {
        SnpHostTree tree = SnpHostTree.ready(root).cpu("GenuineIntel", "Intel(R) Xeon(R) Platinum 8480+", "fpu vmx tdx_guest", 8)
                .cpuid(0, 0);
        SnpPreflight.Result r = SnpPreflight.check(tree.probe(), SnpSettings.defaults(), tree.guest(true));
        assertTrue(check(r, "cpu").found().contains("not an AMD CPU"), r.render());
        assertTrue(check(r, "cpuid").found().contains("SEV-SNP not reported"), r.render());
    }

    @Test
    void anOvmfGivenWithoutSevSupportOrMissingIsRefused() throws Exception {
        SnpHostTree tree = SnpHostTree.ready(root);
        Path notFirmware = tree.write("tmp/disk.img", "x".repeat(8192));
        SnpPreflight.Result r = SnpPreflight.check(tree.probe(), new SnpSettings(notFirmware, "EPYC-v4", 1, 1024, null, null, false),
                tree.guest(true));
        assertEquals(Set.of("ovmf", "ovmf kernel hashes"), failing(r), r.render());
        assertTrue(check(r, "ovmf").found().contains("footer table GUID"), r.render());
        r = SnpPreflight.check(tree.probe(), new SnpSettings(root.resolve("nope.fd"), "EPYC-v4", 1, 1024, null, null, false),
                tree.guest(true));
        assertTrue(check(r, "ovmf").found().contains("no such file"), r.render());
    }

    /** This machine, as it is: it has no SEV-SNP, so the preflight must say why, check by check. */
    @Test
    void thisHostIsExplained() {
        SnpPreflight.Result r = SnpPreflight.check(HostProbe.host(), SnpSettings.defaults(), null);
        System.out.println(r.render());
        if (r.ready()) return; // an SNP host running this suite: nothing to explain
        assertFalse(r.failing().isEmpty());
        if (!Files.exists(Path.of("/dev/sev"))) assertTrue(failing(r).contains("/dev/sev"), r.render());
        if (!Files.exists(Path.of("/sys/module/kvm_amd/parameters/sev_snp"))) {
            assertTrue(failing(r).contains("kvm_amd sev_snp") || failing(r).contains("kvm"), r.render());
        }
        String unwrapped = r.render().replaceAll("\n +", " ");
        for (Check c : r.failing()) {
            assertTrue(unwrapped.contains(c.name()) && unwrapped.contains(c.found()) && unwrapped.contains(c.fix()), c.name());
        }
        assertTrue(r.render().startsWith("SEV-SNP launch: NOT READY"), r.render());
    }
}

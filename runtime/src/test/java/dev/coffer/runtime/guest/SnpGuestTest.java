package dev.coffer.runtime.guest;

import dev.coffer.agent.AgentMain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guest side of an SEV-SNP launch: its launch disk, the agent's flags from it, the modules it loads. */
class SnpGuestTest {
    static final String POLICY = "package policy\n\ndefault allow := true\n";
    static final String HOST_DATA = java.util.HexFormat.of().formatHex(
            dev.coffer.attest.measure.HostData.ofPolicy(POLICY.getBytes(StandardCharsets.UTF_8)));

    @TempDir
    Path dir;

    @Test
    void anSnpLaunchDiskCarriesNoChipAndTheAgentIsToldToAskTheHardware() throws Exception {
        Path image = dir.resolve("launch.img");
        LaunchDisk.write(image, LaunchDisk.Content.of("web", POLICY, HOST_DATA, "crun").withSnp(8080)
                .withNetwork(GuestNetwork.Plan.of(List.of("https://vault.example:443"), List.of())));
        LaunchDisk.Content read = LaunchDisk.read(image);
        assertEquals("snp", read.tee());
        assertNull(read.launchContext());
        assertTrue(read.simTee().isEmpty());
        Path state = Files.createDirectories(dir.resolve("state"));
        Path chip = dir.resolve("chip");
        List<String> args = GuestAgent.launchArguments(read, state, chip);
        assertEquals("snp", args.get(args.indexOf("--tee") + 1));
        assertEquals(HOST_DATA, args.get(args.indexOf("--host-data") + 1));
        assertEquals("8080", args.get(args.indexOf("--skr-port") + 1));
        assertEquals("https://vault.example:443", args.get(args.indexOf("--skr-endpoint") + 1));
        assertFalse(args.contains("--launch-context") || args.contains("--sim-tee"), args.toString());
        assertFalse(Files.exists(chip), "no simulated chip is installed for a hardware launch");
    }

    @Test
    void aHostileDiskCannotPairTeeSnpWithASimulatedChipOrNameAnotherTee() throws Exception {
        IOException e = assertThrows(IOException.class, () -> LaunchDisk.read(image("""
                {"format": "coffer-launch/v1", "group": "web", "tee": "snp", "launchContext": "{}", "simTee": {"vcek.pem": "eA=="}}""")));
        assertTrue(e.getMessage().contains("no simulated chip") && e.getMessage().contains("tee snp"), e.getMessage());
        e = assertThrows(IOException.class, () -> LaunchDisk.read(image("""
                {"format": "coffer-launch/v1", "group": "web", "tee": "tdx"}""")));
        assertTrue(e.getMessage().contains("none, sim or snp, found tdx"), e.getMessage());
    }

    /**
     * The real agent, given an SNP launch on this machine (no SEV-SNP guest interface), refuses to
     * start rather than run unbound: the launch disk cannot make a host without the hardware look like one.
     */
    @Test
    void theAgentRefusesAnSnpLaunchWhereThereIsNoSecureProcessor() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(Path.of("/dev/sev-guest"))
                || Files.exists(Path.of("/sys/kernel/config/tsm/report")), "this machine is an SNP guest");
        LaunchDisk.Content launch = LaunchDisk.Content.of("web", POLICY, HOST_DATA, "crun").withSnp(null);
        Path state = Files.createDirectories(dir.resolve("agent-state"));
        List<String> argv = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), AgentMain.class.getName(),
                "--socket", dir.resolve("agent.sock").toString(), "--state", state.toString()));
        argv.addAll(GuestAgent.launchArguments(launch, state, dir.resolve("chip")));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertTrue(p.exitValue() != 0, out);
        assertTrue(out.toLowerCase(java.util.Locale.ROOT).contains("sev-guest") || out.contains("configfs"), out);
        assertFalse(Files.exists(dir.resolve("agent.sock")), "a refused launch serves nothing");
        assertFalse(Files.exists(state.resolve("containers")), "no container state for a refused launch");
    }

    /** The real kernel's modules: what an SNP guest loads beyond the common list, and nothing twice. */
    @Test
    void theSnpModulesOfTheHostKernelLoadAfterTheCommonOnesWithTheirDependencies() throws Exception {
        String version = GuestBuilder.kernelVersion();
        KernelModules km = KernelModules.load(Path.of("/lib/modules", version));
        List<String> common = km.loadOrder(GuestBuilder.MODULES);
        List<String> snp = GuestBuilder.snpLoadOrder(km);
        List<String> names = snp.stream().map(KernelModules::nameOf).toList();
        assertTrue(names.contains("sev_guest"), names.toString());
        assertTrue(names.contains("virtio_pci") || !km.exists("virtio_pci"), names.toString());
        assertTrue(names.indexOf("virtio_pci") < 0 || names.indexOf("virtio_pci_modern_dev") < names.indexOf("virtio_pci")
                || !names.contains("virtio_pci_modern_dev"), "dependencies first: " + names);
        for (String m : snp) assertFalse(common.contains(m), m + " is loaded by the common list already");
        if (km.exists("tsm")) assertTrue(names.indexOf("tsm") < names.indexOf("sev_guest"), names.toString());
    }

    @Test
    void optionalTsmModulesAreTakenWhereTheKernelHasThem() throws Exception {
        Path mods = Files.createDirectories(dir.resolve("modules"));
        StringBuilder dep = new StringBuilder();
        for (String m : List.of("crc32c_generic", "libcrc32c", "virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", "dm_mod",
                "dm_verity", "dm_crypt", "ext4", "erofs", "overlay", "loop", "dm_integrity", "authenc", "xts", "aesni_intel", "af_alg",
                "algif_skcipher", "algif_hash", "virtio_pci_modern_dev", "configfs")) {
            dep.append("kernel/").append(m).append(".ko:\n");
        }
        dep.append("kernel/virtio_pci.ko: kernel/virtio_pci_modern_dev.ko\n");
        dep.append("kernel/tsm.ko: kernel/configfs.ko\n");
        dep.append("kernel/sev-guest.ko: kernel/tsm.ko\n");
        Files.writeString(mods.resolve("modules.dep"), dep);
        List<String> withTsm = GuestBuilder.snpLoadOrder(KernelModules.load(mods));
        assertEquals(List.of("kernel/virtio_pci_modern_dev.ko", "kernel/virtio_pci.ko", "kernel/configfs.ko", "kernel/tsm.ko",
                "kernel/sev-guest.ko"), withTsm);
        Files.writeString(mods.resolve("modules.dep"), dep.toString().replace("kernel/tsm.ko: kernel/configfs.ko\n", "")
                .replace("kernel/sev-guest.ko: kernel/tsm.ko", "kernel/sev-guest.ko:"));
        assertEquals(List.of("kernel/virtio_pci_modern_dev.ko", "kernel/virtio_pci.ko", "kernel/sev-guest.ko", "kernel/configfs.ko"),
                GuestBuilder.snpLoadOrder(KernelModules.load(mods)));
    }

    private Path image(String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        byte[] disk = new byte[(bytes.length + 4095) / 4096 * 4096];
        System.arraycopy(bytes, 0, disk, 0, bytes.length);
        Path file = Files.createTempFile(dir, "launch", ".img");
        Files.write(file, disk);
        return file;
    }
}

package dev.coffer.runtime.microvm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AcceleratorTest {
    @TempDir
    Path tmp;

    @Test
    void pvmKvmFallsBackToTcg() throws Exception {
        Path kvm = Files.createFile(tmp.resolve("kvm"));
        Files.createDirectories(tmp.resolve("module/kvm_pvm"));
        Files.createDirectories(tmp.resolve("module/kvm_intel"));
        Accelerator.Choice c = Accelerator.choose("auto", kvm, tmp.resolve("module"));
        assertEquals(Accelerator.TCG, c.accelerator());
        assertTrue(c.reason().contains("PVM"), c.reason());
    }

    @Test
    void hardwareKvmIsUsed() throws Exception {
        Path kvm = Files.createFile(tmp.resolve("kvm"));
        Files.createDirectories(tmp.resolve("module/kvm_amd"));
        assertEquals(Accelerator.KVM, Accelerator.choose(null, kvm, tmp.resolve("module")).accelerator());
    }

    @Test
    void noKvmMeansTcgAndSettingsWin() throws Exception {
        assertEquals(Accelerator.TCG, Accelerator.choose("auto", tmp.resolve("none"), tmp).accelerator());
        assertEquals(Accelerator.KVM, Accelerator.choose("KVM", tmp.resolve("none"), tmp).accelerator());
        assertEquals(Accelerator.TCG, Accelerator.choose("tcg", tmp.resolve("none"), tmp).accelerator());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Accelerator.choose("hvf"));
        assertTrue(e.getMessage().contains("auto, kvm or tcg"), e.getMessage());
    }

    @Test
    void thisMachineChoosesTcg() {
        // measured fact for this machine kind: /dev/kvm is PVM
        Accelerator.Choice c = Accelerator.choose("auto");
        if (Files.isDirectory(Path.of("/sys/module/kvm_pvm"))) assertEquals(Accelerator.TCG, c.accelerator());
        assertTrue(!c.reason().isBlank());
    }
}

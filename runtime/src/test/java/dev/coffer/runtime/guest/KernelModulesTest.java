package dev.coffer.runtime.guest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelModulesTest {
    @TempDir
    Path dir;

    void write(String dep, String softdep, String builtin) throws Exception {
        Files.writeString(dir.resolve("modules.dep"), dep);
        Files.writeString(dir.resolve("modules.softdep"), softdep);
        Files.writeString(dir.resolve("modules.builtin"), builtin);
    }

    @Test
    void dependenciesLoadFirstAndEachOnce() throws Exception {
        write("""
                kernel/drivers/md/dm-verity.ko: kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko
                kernel/drivers/md/dm-bufio.ko:
                kernel/drivers/md/dm-mod.ko:
                kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko
                kernel/crypto/crc32c_generic.ko:
                kernel/lib/libcrc32c.ko:
                """, "softdep libcrc32c pre: crc32c_generic\n", "kernel/crypto/sha256_generic.ko\n");
        List<String> order = KernelModules.load(dir).loadOrder(List.of("libcrc32c", "dm_verity", "dm-crypt", "sha256_generic"));
        assertEquals(List.of("kernel/crypto/crc32c_generic.ko", "kernel/lib/libcrc32c.ko", "kernel/drivers/md/dm-bufio.ko",
                "kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-verity.ko", "kernel/drivers/md/dm-crypt.ko"), order);
    }

    @Test
    void aMissingModuleIsNamed() throws Exception {
        write("kernel/a.ko:\n", "", "");
        GuestBuildException e = assertThrows(GuestBuildException.class, () -> KernelModules.load(dir).loadOrder(List.of("virtio_blk")));
        assertTrue(e.getMessage().contains("virtio_blk"), e.getMessage());
    }

    @Test
    void aDependencyCycleIsRefused() throws Exception {
        write("kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\n", "", "");
        GuestBuildException e = assertThrows(GuestBuildException.class, () -> KernelModules.load(dir).loadOrder(List.of("a")));
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
    }

    @Test
    void noModulesDepSaysWhatToDo() {
        GuestBuildException e = assertThrows(GuestBuildException.class, () -> KernelModules.load(dir.resolve("nope")));
        assertTrue(e.getMessage().contains("linux-image-amd64"), e.getMessage());
    }
}

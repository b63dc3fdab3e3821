package dev.coffer.policy.gen;

import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An image's users and groups as containerd's CRI reads them to give a pod's process its groups:
 * parsed from /etc/passwd and /etc/group, and read from real layer tars as the overlay shows them.
 */
class ImageAccountsTest {
    static final String PASSWD = """
            root:x:0:0:root:/root:/bin/sh
            # a comment, then lines a parser must skip
            +nis
            broken:x:notanumber:1
            app:x:1000:1000:the app:/srv:/bin/sh
            twin:x:1000:1001::/:/bin/sh
            """;
    static final String GROUP = """
            root:x:0:
            app:x:1000:app
            web:x:5000:www,app
            logs:x:5001:app
            spaced:x:5002: app
            other:x:5003:root
            huge:x:99999999999:app
            """;

    @Test
    void parsesUsersAndGroupsAndSkipsWhatIsNotAnEntry() {
        ImageAccounts a = ImageAccounts.parse(PASSWD, GROUP);
        assertEquals(List.of("root", "app", "twin"), a.users().stream().map(ImageAccounts.User::name).toList());
        assertEquals("app", a.user(1000).orElseThrow().name(), "the first entry of a uid, as getpwuid finds it");
        assertEquals(1000, a.primaryGid(1000));
        assertEquals(0, a.primaryGid(4242), "a uid /etc/passwd does not list gets group 0");
        assertTrue(a.passwdFound() && a.groupFound());
        assertFalse(a.groups().stream().anyMatch(g -> g.name().equals("huge")), "a gid beyond 2^31-1 is not an entry");
    }

    @Test
    void memberGroupsAreThoseListingTheNameExactlyWithoutThePersonalGroup() {
        ImageAccounts a = ImageAccounts.parse(PASSWD, GROUP);
        // "app" is a member of app (its personal group: left out), web and logs; " app" is another name
        assertEquals(List.of(5000, 5001), a.memberGids("app"));
        assertEquals(List.of(5003), a.memberGids("root"));
        assertEquals(List.of(), a.memberGids("nobody"));
        assertEquals(List.of(), ImageAccounts.NONE.memberGids("app"));
    }

    @Test
    void filesAreReadAsTheOverlayShowsThem() throws IOException {
        TarLayer base = new TarLayer().dir("etc").file("etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644)
                .file("etc/group", "root:x:0:\n", 0644);
        TarLayer adds = new TarLayer().dir("etc").file("etc/passwd", PASSWD, 0644).file("etc/group", GROUP, 0644);
        assertEquals(PASSWD, read(base, adds).get("etc/passwd"), "the topmost layer with the file wins");
        assertEquals("root:x:0:0::/:/bin/sh\n", read(base, new TarLayer().dir("srv")).get("etc/passwd"));

        assertNull(read(base, new TarLayer().dir("etc").whiteout("etc/group")).get("etc/group"), "a whiteout deletes it");
        assertEquals("root:x:0:0::/:/bin/sh\n", read(base, new TarLayer().dir("etc").whiteout("etc/group")).get("etc/passwd"));
        Map<String, String> opaque = read(base, new TarLayer().dir("etc").opaque("etc").file("etc/passwd", PASSWD, 0644));
        assertEquals(PASSWD, opaque.get("etc/passwd"), "an opaque directory keeps its own layer's files");
        assertNull(opaque.get("etc/group"), "and hides the layers below");
        assertNull(read(base, new TarLayer().whiteout("etc")).get("etc/passwd"), "a deleted /etc hides both");

        // links are not followed: they could point anywhere, and the agent's own lookup refuses them too
        assertNull(read(base, new TarLayer().dir("etc").symlink("etc/passwd", "/proc/self/environ")).get("etc/passwd"));
        assertNull(read(base, new TarLayer().symlink("etc", "/host-etc")).get("etc/group"), "/etc replaced by a symlink");
        assertNull(read(new TarLayer().dir("etc").file("passwd-real", PASSWD, 0644).hardlink("etc/passwd", "passwd-real"))
                .get("etc/passwd"));
        Map<String, String> neither = read(new TarLayer().dir("bin"));
        assertNull(neither.get("etc/passwd"), "an image without either file");
        assertNull(neither.get("etc/group"));
    }

    @Test
    void anOversizedAccountFileIsRefused() {
        TarLayer big = new TarLayer().dir("etc").file("etc/passwd", "x".repeat(ImageAccounts.MAX_FILE_BYTES + 1), 0644);
        IOException e = assertThrows(IOException.class, () -> read(big));
        assertTrue(e.getMessage().contains("expected /etc/passwd of at most " + ImageAccounts.MAX_FILE_BYTES + " bytes"), e.getMessage());
    }

    @Test
    void storeImageSourceReadsAccountsAndRefusesATamperedLayer(@TempDir Path tmp) throws IOException {
        TarLayer base = new TarLayer().dir("etc").file("etc/passwd", PASSWD, 0644).file("etc/group", GROUP, 0644);
        Path layout = new ImageBuilder().layer(base).layer(new TarLayer().dir("srv"))
                .config(ImageConfig.of(List.of("/bin/app"))).writeLayout(tmp.resolve("layout"), "coffer.local/accounts:1");
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage image = store.importArchive(layout);
            ImageAccounts a = new StoreImageSource(store).accounts("coffer.local/accounts:1");
            assertEquals(List.of(5000, 5001), a.memberGids("app"));

            // the host flips a byte of the base layer's blob: the store's digest check fails the read
            Path blob = store.blobPath(image.layers().getFirst().digest());
            blob.toFile().setWritable(true);
            try (RandomAccessFile f = new RandomAccessFile(blob.toFile(), "rw")) {
                long at = f.length() / 2;
                f.seek(at);
                int b = f.read();
                f.seek(at);
                f.write(b ^ 1);
            }
            IOException e = assertThrows(IOException.class, () -> new StoreImageSource(store).accounts("coffer.local/accounts:1"));
            assertTrue(e.getMessage().contains("the users and groups of image coffer.local/accounts:1"), e.getMessage());
        }
    }

    @Test
    void aSourceThatCannotReadFilesFailsClosed() {
        ImageSource source = ref -> { throw new IOException("unused"); };
        IOException e = assertThrows(IOException.class, () -> source.accounts("x:1"));
        assertTrue(e.getMessage().contains("cannot be read from this image source"), e.getMessage());
    }

    /** The two account files of an image made of {@code layers}, bottom first. */
    static Map<String, String> read(TarLayer... layers) throws IOException {
        List<byte[]> tars = new java.util.ArrayList<>();
        for (TarLayer l : layers) tars.add(l.toTar());
        return ImageFiles.read(tars.size(), i -> new ByteArrayInputStream(tars.get(i)), ImageFiles.ACCOUNT_FILES,
                ImageAccounts.MAX_FILE_BYTES);
    }

}

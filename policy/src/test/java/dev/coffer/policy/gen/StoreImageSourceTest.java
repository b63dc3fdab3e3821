package dev.coffer.policy.gen;

import dev.coffer.layer.LayerHasher;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import dev.coffer.policy.model.GroupPolicyInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real images in a real store, real layer hashing: what `coffer policy gen` does. */
class StoreImageSourceTest {
    static final TarLayer BASE = new TarLayer().dir("bin").file("bin/app", "#!/bin/sh\necho hi\n", 0755)
            .dir("etc").file("etc/os-release", "ID=coffer-test\n", 0644);
    static final TarLayer TOP = new TarLayer().dir("srv").file("srv/index.html", "<h1>hello</h1>\n", 0644)
            .symlink("srv/latest", "index.html");

    static LocalImage importTestImage(ImageStore store, Path tmp) throws IOException {
        ImageConfig config = ImageConfig.of(List.of("/bin/app", "--serve"))
                .withEntrypoint(List.of("/bin/entry")).withWorkingDir("/srv").withUser("1000:1000")
                .withEnv(List.of("PATH=/bin", "LANG=C.UTF-8"));
        Path layout = new ImageBuilder().layer(BASE).layer(TOP).config(config)
                .writeLayout(tmp.resolve("layout"), "coffer.local/policy-test:1");
        return store.importArchive(layout);
    }

    @Test
    void generatesPolicyWithRealLayerRootHashesBaseFirst(@TempDir Path tmp) throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            importTestImage(store, tmp);
            GeneratedPolicy policy = new PolicyGenerator(new StoreImageSource(store)).generate(GroupPolicyInput.parse("""
                    name: g
                    containers:
                      - name: app
                        image: coffer.local/policy-test:1
                    """, "g.yaml"), false);
            String baseHash = new LayerHasher().rootHash(new ByteArrayInputStream(BASE.toTar())).rootHash();
            String topHash = new LayerHasher().rootHash(new ByteArrayInputStream(TOP.toTar())).rootHash();
            PolicyDocument doc = new PolicyGenerator(new StoreImageSource(store)).document(GroupPolicyInput.parse("""
                    name: g
                    containers:
                      - name: app
                        image: coffer.local/policy-test:1
                    """, "g.yaml"), false);
            PolicyDocument.Container c = doc.containers().getFirst();
            assertEquals(List.of(baseHash, topHash), c.layers());
            assertEquals(List.of("/bin/entry", "/bin/app", "--serve"), c.command());
            assertEquals("/srv", c.workingDir());
            assertEquals(List.of(new PolicyDocument.EnvRule("PATH=/bin", "string", true),
                    new PolicyDocument.EnvRule("LANG=C.UTF-8", "string", true)), c.envRules());
            assertTrue(policy.text().contains("\"" + baseHash + "\""));
            // a second run over the same store gives the same bytes
            GeneratedPolicy again = new PolicyGenerator(new StoreImageSource(store)).generate(GroupPolicyInput.parse("""
                    name: g
                    containers:
                      - name: app
                        image: coffer.local/policy-test:1
                    """, "g.yaml"), false);
            assertEquals(policy.sha256(), again.sha256());
        }
    }

    @Test
    void tamperedLayerBlobFailsGeneration(@TempDir Path tmp) throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            LocalImage image = importTestImage(store, tmp);
            Path blob = store.blobPath(image.layers().get(1).digest());
            byte[] bytes = Files.readAllBytes(blob);
            bytes[bytes.length / 2] ^= 0x55;
            blob.toFile().setWritable(true);
            Files.write(blob, bytes);
            LayerProcessingException e = assertThrows(LayerProcessingException.class,
                    () -> new StoreImageSource(store).resolve("coffer.local/policy-test:1"));
            assertTrue(e.getMessage().startsWith("layer 2/2 (" + image.layers().get(1).digest() + ") of image"), e.getMessage());
        }
    }

    @Test
    void unknownImageIsAnError(@TempDir Path tmp) throws IOException {
        try (ImageStore store = ImageStore.open(tmp.resolve("home"))) {
            IOException e = assertThrows(IOException.class, () -> new StoreImageSource(store).resolve("coffer.local/nope:1"));
            assertTrue(e.getMessage().contains("coffer image"), e.getMessage());
        }
    }
}

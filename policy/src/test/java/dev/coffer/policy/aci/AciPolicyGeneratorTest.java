package dev.coffer.policy.aci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.layer.LayerHasher;
import dev.coffer.oci.layout.ImageBuilder;
import dev.coffer.oci.layout.TarLayer;
import dev.coffer.oci.store.ImageConfig;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.gen.StoreImageSource;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every az confcom sample: its ARM template (and parameters file) through Coffer's reader and
 * generator gives the policy acipolicygen wrote for it, byte for byte once the layer hashes
 * (of Microsoft's images, unreachable here) are those of the images built offline under the
 * same names; and the containers compare field by field besides.
 */
class AciPolicyGeneratorTest {
    static final Path SAMPLES = Path.of(System.getProperty("coffer.shared", "../../shared")).resolve("testdata/aci/confcom-samples");

    /** The two images the samples name, rebuilt offline with the configs their policies imply. */
    static final String DISTROLESS = "mcr.microsoft.com/azurelinux/distroless/base";
    static final String HELLOWORLD = "mcr.microsoft.com/acc/samples/aci/helloworld";
    static final TarLayer DISTROLESS_LAYER = new TarLayer().dir("etc").file("etc/os-release", "ID=azurelinux-offline\n", 0644);
    static final TarLayer HELLO_BASE = new TarLayer().dir("usr").dir("usr/bin").file("usr/bin/python3", "#!/bin/sh\n", 0755);
    static final TarLayer HELLO_APP = new TarLayer().dir("app").file("app/main.py", "print('hello')\n", 0644);
    static final String ACI_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /**
     * The store, with both images under an offline tag; a sample's reference (a digest of
     * Microsoft's registry, which no offline build can reproduce) resolves to the image built
     * under its repository name, and keeps the sample's reference in the policy.
     */
    static ImageSource offlineImages(Path tmp) throws IOException {
        ImageStore store = ImageStore.open(tmp.resolve("home"));
        store.importArchive(new ImageBuilder().layer(DISTROLESS_LAYER).config(ImageConfig.of(List.of()).withEnv(List.of(ACI_PATH)))
                .writeLayout(tmp.resolve("distroless"), DISTROLESS + ":offline"));
        store.importArchive(new ImageBuilder().layer(HELLO_BASE).layer(HELLO_APP)
                .config(ImageConfig.of(List.of("python3", "main.py")).withWorkingDir("/app")
                        .withEnv(List.of(ACI_PATH, "PYTHONUNBUFFERED=1")))
                .writeLayout(tmp.resolve("hello"), HELLOWORLD + ":offline"));
        StoreImageSource source = new StoreImageSource(store);
        return ref -> {
            int at = ref.indexOf('@');
            String repo = at >= 0 ? ref.substring(0, at) : ref.contains(":") ? ref.substring(0, ref.lastIndexOf(':')) : ref;
            ResolvedImage built = source.resolve(repo + ":offline");
            return new ResolvedImage(ref, built.layerHashes(), built.entrypoint(), built.cmd(), built.env(), built.workingDir(), built.user());
        };
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> sampleDirs() {
        try (Stream<Path> s = Files.list(SAMPLES)) {
            return s.filter(d -> Files.exists(d.resolve("arm_template.json"))).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Each expected file and the switches acipolicygen was run with to write it. */
    static final Map<String, AciPolicyGenerator.Options> VARIANTS = new LinkedHashMap<>();

    static {
        VARIANTS.put("policy.rego", AciPolicyGenerator.Options.DEFAULT);
        VARIANTS.put("policy_debug.rego", new AciPolicyGenerator.Options(true, false, false, null));
        VARIANTS.put("policy_disable_stdio.rego", new AciPolicyGenerator.Options(false, true, false, null));
        VARIANTS.put("policy_exclude_default_fragment.rego", new AciPolicyGenerator.Options(false, false, true, null));
        VARIANTS.put("policy_infrastructure_svn.rego", new AciPolicyGenerator.Options(false, false, false, "99"));
    }

    static final Pattern CONTAINERS = Pattern.compile("^containers := (\\[.*])$", Pattern.MULTILINE);
    static final Pattern LAYERS = Pattern.compile("\"layers\":\\[[^]]*]");

    static JsonNode containers(String policy) throws IOException {
        Matcher m = CONTAINERS.matcher(policy);
        assertTrue(m.find(), "no containers line");
        return ArmTemplate.MAPPER.readTree(m.group(1));
    }

    /** The policy text with each container's layer list replaced by the other's, in order. */
    static String withLayersOf(String policy, String from) {
        Matcher theirs = LAYERS.matcher(from);
        List<String> lists = new ArrayList<>();
        while (theirs.find()) lists.add(theirs.group());
        Matcher ours = LAYERS.matcher(policy);
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (ours.find()) ours.appendReplacement(sb, Matcher.quoteReplacement(i < lists.size() ? lists.get(i++) : ours.group()));
        ours.appendTail(sb);
        return sb.toString();
    }

    @TestFactory
    Stream<DynamicTest> everySampleTemplateGivesAcipolicygensPolicy(@TempDir Path tmp) throws IOException {
        ImageSource images = offlineImages(tmp);
        List<DynamicTest> tests = new ArrayList<>();
        for (Path dir : sampleDirs()) {
            for (Map.Entry<String, AciPolicyGenerator.Options> v : VARIANTS.entrySet()) {
                tests.add(DynamicTest.dynamicTest(dir.getFileName() + "/" + v.getKey(), () -> {
                    Path params = dir.resolve("parameters.json");
                    List<AciGroup> groups = ArmTemplate.parse(read(dir.resolve("arm_template.json")),
                            Files.exists(params) ? read(params) : null, dir.getFileName() + "/arm_template.json");
                    assertEquals(1, groups.size());
                    GeneratedPolicy ours = new AciPolicyGenerator(images).generate(groups.getFirst(), v.getValue());
                    String expected = read(dir.resolve(v.getKey()));
                    compareContainers(containers(expected), containers(ours.text()), images);
                    assertEquals(expected.stripTrailing(), withLayersOf(ours.text(), expected).stripTrailing(),
                            "the policy differs from acipolicygen's beyond layer hashes");
                }));
            }
        }
        return tests.stream();
    }

    /** Field by field, every field but the layers (which must be the offline images' own). */
    static void compareContainers(JsonNode expected, JsonNode ours, ImageSource images) throws IOException {
        assertEquals(expected.size(), ours.size(), "containers");
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = expected.get(i);
            JsonNode o = ours.get(i);
            String name = e.path("name").asText();
            Set<String> fields = new HashSet<>();
            e.fieldNames().forEachRemaining(fields::add);
            o.fieldNames().forEachRemaining(fields::add);
            for (String f : fields) {
                if (f.equals("layers")) continue;
                assertEquals(e.get(f), o.get(f), name + "." + f);
            }
            if (!name.equals("pause-container")) {
                List<String> layers = new ArrayList<>();
                o.get("layers").forEach(l -> layers.add(l.asText()));
                assertEquals(images.resolve(o.get("id").asText()).layerHashes(), layers, name + ".layers");
            } else {
                assertEquals(e.get("layers"), o.get("layers"), "the pause container's layer is acipolicygen's constant");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void layerHashesAreTheOfflineImagesDmVerityRoots(@TempDir Path tmp) throws IOException {
        ImageSource images = offlineImages(tmp);
        String root = new LayerHasher().rootHash(new ByteArrayInputStream(DISTROLESS_LAYER.toTar())).rootHash();
        assertEquals(List.of(root), images.resolve(DISTROLESS + "@sha256:" + "0".repeat(64)).layerHashes());
    }
}

package dev.coffer.cli.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.coffer.cli.Main;
import dev.coffer.server.CofferServer;
import dev.coffer.server.ServerConfig;
import dev.coffer.server.client.ServerTrust;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.node.v1.RuntimeClass;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * deploy/kubernetes/ parsed with Kubernetes' model classes (fabric8), strictly (a misspelt field
 * fails), and cross-checked: selectors and labels, Services and ports, Secrets against the README's
 * commands that create them, the server's command line against the real {@code coffer server}
 * options, its probe paths against a real running server, and the node installer's command line
 * against the real {@code coffer k8s install}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeployManifestsTest {
    static final Path DIR = Path.of("../deploy/kubernetes");
    static final String NAMESPACE = "coffer-system";

    /** The kinds the manifests hold, and the model class each parses into. */
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "Namespace", Namespace.class, "RuntimeClass", RuntimeClass.class, "DaemonSet", DaemonSet.class,
            "Deployment", Deployment.class, "StatefulSet", StatefulSet.class, "Service", Service.class);

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    final List<HasMetadata> objects = new ArrayList<>();
    final Map<String, List<String>> kindsByFile = new LinkedHashMap<>();

    @BeforeAll
    void parseAll() throws Exception {
        List<Path> files;
        try (Stream<Path> s = Files.list(DIR)) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        for (Path f : files) {
            List<String> kinds = new ArrayList<>();
            try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                while (docs.hasNext()) {
                    JsonNode doc = docs.next();
                    if (doc == null || doc.isNull() || doc.isEmpty()) continue;
                    String kind = doc.path("kind").asText();
                    Class<? extends HasMetadata> type = KINDS.get(kind);
                    assertNotNull(type, f + ": unexpected kind '" + kind + "'");
                    HasMetadata o = strict(doc, type, f + " " + kind);
                    assertEquals(kindAnnotationOf(type), o.getApiVersion() + "/" + o.getKind(), f + ": apiVersion");
                    objects.add(o);
                    kinds.add(kind);
                }
            }
            kindsByFile.put(f.getFileName().toString(), kinds);
        }
    }

    /**
     * Parses strictly: fabric8 keeps a field its model does not know in additionalProperties (as the
     * API server would drop it or refuse it), so any such field anywhere fails the parse here.
     */
    private static <T> T strict(JsonNode doc, Class<T> type, String what) {
        T value;
        try {
            value = YAML.treeToValue(doc, type);
        } catch (Exception e) {
            return fail(what + " does not parse as " + type.getSimpleName() + ": " + e.getMessage());
        }
        List<String> unknown = new ArrayList<>();
        unknownFields(value, what, unknown);
        assertEquals(List.of(), unknown, "fields Kubernetes does not know");
        return value;
    }

    static void unknownFields(Object o, String path, List<String> found) {
        if (o == null) return;
        if (o instanceof java.util.Collection<?> c) {
            int i = 0;
            for (Object x : c) unknownFields(x, path + "[" + i++ + "]", found);
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) unknownFields(e.getValue(), path + "." + e.getKey(), found);
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) return;
        for (java.lang.reflect.Method g : o.getClass().getMethods()) {
            if (g.getParameterCount() != 0 || !g.getName().startsWith("get") || g.getDeclaringClass() == Object.class) continue;
            Object v;
            try {
                v = g.invoke(o);
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
            }
            if (g.getName().equals("getAdditionalProperties")) {
                if (v instanceof Map<?, ?> extra && !extra.isEmpty()) found.add(path + ": " + extra.keySet());
            } else {
                unknownFields(v, path + "." + g.getName().substring(3), found);
            }
        }
    }

    @Test
    void aMisspeltFieldIsCaught() throws Exception {
        JsonNode doc = YAML.readTree("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      containers: [{name: c, image: i, imagePulPolicy: Always}]
                """);
        Deployment d = YAML.treeToValue(doc, Deployment.class);
        List<String> unknown = new ArrayList<>();
        unknownFields(d, "Deployment", unknown);
        assertEquals(1, unknown.size(), unknown.toString());
        assertTrue(unknown.getFirst().endsWith("[imagePulPolicy]"), unknown.toString());
    }

    /** apiVersion/kind as the model class declares them (fabric8's @Group/@Version). */
    private static String kindAnnotationOf(Class<?> type) {
        io.fabric8.kubernetes.model.annotation.Version v = type.getAnnotation(io.fabric8.kubernetes.model.annotation.Version.class);
        io.fabric8.kubernetes.model.annotation.Group g = type.getAnnotation(io.fabric8.kubernetes.model.annotation.Group.class);
        String group = g == null || g.value().isEmpty() ? "" : g.value() + "/";
        return group + v.value() + "/" + type.getSimpleName();
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> type, String name) {
        List<T> found = all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).toList();
        assertEquals(1, found.size(), type.getSimpleName() + " " + name);
        return found.getFirst();
    }

    @Test
    void everyFileHoldsTheExpectedKinds() {
        assertEquals(Map.of(
                "namespace.yaml", List.of("Namespace"),
                "runtimeclass.yaml", List.of("RuntimeClass"),
                "node-installer.yaml", List.of("DaemonSet"),
                "postgres.yaml", List.of("Service", "StatefulSet"),
                "server.yaml", List.of("Service", "Deployment")), kindsByFile);
        String ns = one(Namespace.class, NAMESPACE).getMetadata().getName();
        for (HasMetadata o : objects) {
            if (o instanceof Namespace || o instanceof RuntimeClass) continue; // cluster-scoped
            assertEquals(ns, o.getMetadata().getNamespace(), o.getKind() + " " + o.getMetadata().getName());
        }
    }

    @Test
    void runtimeClassIsWhatTheCliPrintsAndSelectsTheInstalledNodes() throws Exception {
        assertEquals(RuntimeClassManifest.yaml(), Files.readString(DIR.resolve("runtimeclass.yaml")));
        RuntimeClass rc = one(RuntimeClass.class, RuntimeClassManifest.NAME);
        assertEquals(ContainerdConfig.RUNTIME_NAME, rc.getHandler(), "the handler is the containerd runtime install adds");
        DaemonSet installer = one(DaemonSet.class, "coffer-node-installer");
        Map<String, String> nodes = installer.getSpec().getTemplate().getSpec().getNodeSelector();
        assertEquals(Map.of(RuntimeClassManifest.NODE_LABEL, "true"), nodes);
        assertEquals(nodes, rc.getScheduling().getNodeSelector(), "pods land only where the installer ran");
    }

    @Test
    void selectorsMatchTemplatesAndServicesReachNamedPorts() {
        Map<String, PodTemplateSpec> templates = new LinkedHashMap<>();
        Map<String, Map<String, String>> selectors = new LinkedHashMap<>();
        for (Deployment d : all(Deployment.class)) {
            templates.put(d.getMetadata().getName(), d.getSpec().getTemplate());
            selectors.put(d.getMetadata().getName(), d.getSpec().getSelector().getMatchLabels());
        }
        for (StatefulSet s : all(StatefulSet.class)) {
            templates.put(s.getMetadata().getName(), s.getSpec().getTemplate());
            selectors.put(s.getMetadata().getName(), s.getSpec().getSelector().getMatchLabels());
            one(Service.class, s.getSpec().getServiceName()); // its governing Service exists
        }
        for (DaemonSet d : all(DaemonSet.class)) {
            templates.put(d.getMetadata().getName(), d.getSpec().getTemplate());
            selectors.put(d.getMetadata().getName(), d.getSpec().getSelector().getMatchLabels());
        }
        for (Map.Entry<String, PodTemplateSpec> t : templates.entrySet()) {
            Map<String, String> labels = t.getValue().getMetadata().getLabels();
            assertTrue(labels.entrySet().containsAll(selectors.get(t.getKey()).entrySet()), t.getKey() + ": selector matches its template");
        }
        for (Service svc : all(Service.class)) {
            Map<String, String> sel = svc.getSpec().getSelector();
            List<PodTemplateSpec> backing = templates.values().stream()
                    .filter(t -> t.getMetadata().getLabels().entrySet().containsAll(sel.entrySet())).toList();
            assertEquals(1, backing.size(), "Service " + svc.getMetadata().getName() + " selects one workload");
            Set<String> named = new HashSet<>();
            for (Container c : backing.getFirst().getSpec().getContainers()) {
                for (ContainerPort p : c.getPorts()) named.add(p.getName());
            }
            for (ServicePort p : svc.getSpec().getPorts()) {
                assertTrue(named.contains(p.getTargetPort().getStrVal()), svc.getMetadata().getName() + ": targetPort " + p.getTargetPort());
            }
        }
    }

    @Test
    void everySecretReferencedIsCreatedByTheReadmeWithThatKey() throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        Map<String, Set<String>> created = new LinkedHashMap<>();
        Matcher m = Pattern.compile("kubectl -n " + NAMESPACE + " create secret (generic|tls) ([a-z0-9-]+)((?:\\\\\\n|[^\\n])*)").matcher(readme);
        while (m.find()) {
            Set<String> keys = new HashSet<>();
            if (m.group(1).equals("tls")) keys.addAll(List.of("tls.crt", "tls.key"));
            Matcher k = Pattern.compile("--from-(?:file|literal)=([A-Za-z0-9._-]+)=").matcher(m.group(3));
            while (k.find()) keys.add(k.group(1));
            created.put(m.group(2), keys);
        }
        assertFalse(created.isEmpty(), "the README creates the secrets");
        int refs = 0;
        for (PodTemplateSpec t : templates()) {
            for (Container c : containers(t)) {
                for (EnvVar e : c.getEnv()) {
                    if (e.getValueFrom() == null || e.getValueFrom().getSecretKeyRef() == null) continue;
                    var ref = e.getValueFrom().getSecretKeyRef();
                    assertTrue(created.getOrDefault(ref.getName(), Set.of()).contains(ref.getKey()),
                            "secret " + ref.getName() + " key " + ref.getKey() + " (env " + e.getName() + ") is created in the README: " + created);
                    refs++;
                }
            }
            for (Volume v : t.getSpec().getVolumes()) {
                if (v.getSecret() == null) continue;
                Set<String> keys = created.get(v.getSecret().getSecretName());
                assertNotNull(keys, "secret " + v.getSecret().getSecretName() + " is created in the README");
                if (v.getSecret().getItems() != null) {
                    for (var item : v.getSecret().getItems()) assertTrue(keys.contains(item.getKey()), v.getSecret().getSecretName() + " key " + item.getKey());
                }
                refs++;
            }
        }
        assertEquals(4, refs, "db-url, postgres password, kek and tls volumes");
    }

    @Test
    void serverCommandLineIsRealAndItsProbesAnswerOnARealServer(@TempDir Path home) throws Exception {
        Deployment d = one(Deployment.class, "coffer-server");
        assertTrue(d.getSpec().getReplicas() >= 2, "several replicas");
        Container c = d.getSpec().getTemplate().getSpec().getContainers().getFirst();
        List<String> cmd = c.getCommand();
        assertEquals("/opt/coffer/bin/coffer", cmd.getFirst());
        // the arguments parse with the real `coffer server` (options exist, values well-formed)
        CommandLine.ParseResult parsed = Main.commandLine().parseArgs(cmd.subList(1, cmd.size()).toArray(String[]::new));
        CommandLine.ParseResult server = parsed.subcommand();
        assertEquals("server", server.commandSpec().name());
        String listen = server.matchedOptionValue("--listen", "");
        String[] hp = ServerConfig.parseListen(listen);
        assertEquals("0.0.0.0", hp[0], "reachable from the Service");
        int port = Integer.parseInt(hp[1]);
        ContainerPort https = c.getPorts().stream().filter(p -> p.getName().equals("https")).findFirst().orElseThrow();
        assertEquals(port, https.getContainerPort());
        assertEquals(port, one(Service.class, "coffer-server").getSpec().getPorts().getFirst().getPort());
        String issuer = server.matchedOptionValue("--issuer", "");
        assertEquals("https://coffer-server." + NAMESPACE + ".svc:" + port, issuer, "the issuer is the Service's URL");
        // files the options name lie in the Secret volumes' mounts
        for (String opt : List.of("--kek-file", "--tls-cert", "--tls-key")) {
            Path file = server.matchedOptionValue(opt, (Path) null);
            assertNotNull(file, opt);
            VolumeMount mount = c.getVolumeMounts().stream().filter(vm -> file.startsWith(vm.getMountPath())).findFirst()
                    .orElseThrow(() -> new AssertionError(opt + " " + file + " is under no volume mount"));
            assertTrue(mount.getReadOnly(), opt + " mount read-only");
            Volume v = d.getSpec().getTemplate().getSpec().getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
            assertNotNull(v.getSecret(), opt + " comes from a Secret");
        }
        assertTrue(c.getEnv().stream().anyMatch(e -> e.getName().equals("COFFER_DB_URL") && e.getValueFrom().getSecretKeyRef() != null),
                "$COFFER_DB_URL (the --db default) from a Secret");

        // a real server, HTTPS as the probes' scheme says: the probed paths answer 200, /metrics wants a token
        Probe live = c.getLivenessProbe();
        Probe ready = c.getReadinessProbe();
        try (CofferServer s = CofferServer.start(ServerConfig.defaults(home).withPort(0))) {
            HttpClient http = HttpClient.newBuilder().sslContext(new ServerTrust.PinnedCertificate(s.tls().fingerprint()).sslContext()).build();
            for (Probe p : List.of(live, ready)) {
                HTTPGetAction g = p.getHttpGet();
                assertEquals("HTTPS", g.getScheme());
                assertEquals("https", g.getPort().getStrVal());
                assertTrue(s.url().startsWith("https://"));
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(s.url() + g.getPath())).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), g.getPath() + ": " + r.body());
            }
            assertEquals("/healthz", live.getHttpGet().getPath(), "liveness must not depend on the database");
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(s.url() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, metrics.statusCode(), "/metrics needs the admin token the README mentions");
        }
        assertTrue(c.getSecurityContext().getReadOnlyRootFilesystem() && !c.getSecurityContext().getAllowPrivilegeEscalation());
        assertTrue(d.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot());
    }

    @Test
    void nodeInstallerRunsTheRealInstallOnTheHostsPaths() {
        DaemonSet ds = one(DaemonSet.class, "coffer-node-installer");
        var spec = ds.getSpec().getTemplate().getSpec();
        Container init = spec.getInitContainers().getFirst();
        assertTrue(init.getSecurityContext().getPrivileged(), "it edits the host");
        String script = init.getCommand().getLast();
        Matcher m = Pattern.compile("/opt/coffer/bin/coffer (k8s install(?:\\\\\\n|[^\\n])*?) >").matcher(script);
        assertTrue(m.find(), script);
        List<String> args = shellWords(m.group(1).replace("\\\n", " "));
        CommandLine.ParseResult install = Main.commandLine().parseArgs(args.toArray(String[]::new)).subcommand().subcommand();
        assertEquals("install", install.commandSpec().name());
        Path config = install.matchedOptionValue("--config", (Path) null);
        Path binDir = install.matchedOptionValue("--bin-dir", (Path) null);
        // each lies in a hostPath mount of the host's own directory (containerd's default config, a PATH directory)
        Map<String, String> hostPathOfMount = new LinkedHashMap<>();
        for (VolumeMount vm : init.getVolumeMounts()) {
            Volume v = spec.getVolumes().stream().filter(x -> x.getName().equals(vm.getName())).findFirst().orElseThrow();
            assertNotNull(v.getHostPath(), vm.getName());
            hostPathOfMount.put(vm.getMountPath(), v.getHostPath().getPath());
        }
        Path defaultConfig = Path.of(new CommandLine(new K8sCommand.Install()).getCommandSpec().findOption("--config").defaultValue());
        assertEquals(defaultConfig.getParent().toString(), hostPathOfMount.get(config.getParent().toString()), "--config is the host's " + defaultConfig);
        assertEquals(defaultConfig.getFileName(), config.getFileName());
        assertEquals("/usr/local/bin", hostPathOfMount.get(binDir.toString()));
        assertEquals("/opt/coffer", hostPathOfMount.get("/host/opt/coffer"), "Coffer is copied to the same path on the host");
        // the paths the launcher will run are /opt/coffer/..., the same on the host after the copy
        for (String opt : List.of("--java", "--shim-launcher")) {
            assertTrue(install.matchedOptionValue(opt, (Path) null).startsWith("/opt/coffer"), opt);
        }
        assertTrue(script.contains("grep -q '^now " + K8sCommand.NEXT_STEP.substring(0, "restart containerd".length()) + "'"),
                "the script restarts containerd on the line install prints after a change");
        assertTrue(spec.getHostPID(), "nsenter into the host's PID 1");
    }

    private List<PodTemplateSpec> templates() {
        List<PodTemplateSpec> t = new ArrayList<>();
        all(Deployment.class).forEach(d -> t.add(d.getSpec().getTemplate()));
        all(StatefulSet.class).forEach(d -> t.add(d.getSpec().getTemplate()));
        all(DaemonSet.class).forEach(d -> t.add(d.getSpec().getTemplate()));
        return t;
    }

    private static List<Container> containers(PodTemplateSpec t) {
        List<Container> c = new ArrayList<>(t.getSpec().getContainers());
        c.addAll(t.getSpec().getInitContainers());
        return c;
    }

    /** Words of a simple shell command line: whitespace-separated, single quotes kept literal. */
    static List<String> shellWords(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        boolean quoted = false;
        boolean inWord = false;
        for (char ch : line.toCharArray()) {
            if (ch == '\'') {
                quoted = !quoted;
                inWord = true;
            } else if (!quoted && Character.isWhitespace(ch)) {
                if (inWord) out.add(w.toString());
                w.setLength(0);
                inWord = false;
            } else {
                w.append(ch);
                inWord = true;
            }
        }
        if (inWord) out.add(w.toString());
        return out;
    }
}

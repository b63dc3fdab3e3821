package dev.coffer.policy.k8s;

import dev.coffer.policy.enforce.Decision;
import dev.coffer.policy.enforce.EnforcementRequest;
import dev.coffer.policy.enforce.EnforcementRequest.Capabilities;
import dev.coffer.policy.enforce.EnforcementRequest.CreateContainer;
import dev.coffer.policy.enforce.EnforcementRequest.IdName;
import dev.coffer.policy.enforce.EnforcementRequest.Mount;
import dev.coffer.policy.enforce.EnforcerOptions;
import dev.coffer.policy.enforce.FileDigest;
import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.gen.DefaultCapabilities;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.ImageAccounts;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.ResolvedImage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kubernetes manifests to policies, and those policies enforced: the generator and writer are the
 * real ones, and the policy is loaded by the real enforcer and asked the create_container
 * questions the pod's containers would ask. Layer hashes stand in for real root hashes (the
 * enforcer only compares them; StoreImageSourceTest hashes real layers).
 */
class PodPolicyGeneratorTest {
    static final String PAUSE_LAYER = "4".repeat(64);
    static final String BASE = "5".repeat(64);
    static final String APP = "6".repeat(64);
    static final String SANDBOX = EnforcerOptions.DEFAULT_SANDBOX_DIR;

    /** An image whose /etc/group lists its user "app" (uid 1000) in two groups besides its own. */
    static final String MEMBER_IMAGE = "registry.example/tools/member:1";

    static final ImageSource IMAGES = new ImageSource() {
        @Override
        public ResolvedImage resolve(String ref) throws IOException {
            return switch (ref) {
                case PodPolicyGenerator.DEFAULT_PAUSE_IMAGE -> new ResolvedImage(ref, List.of(PAUSE_LAYER), List.of("/pause"), List.of(),
                        List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), "/", "65535:65535");
                case "registry.example/shop/api:2.1" -> new ResolvedImage(ref, List.of(BASE, APP), List.of("/usr/bin/api"),
                        List.of("--serve"), List.of("PATH=/usr/bin:/bin"), "/srv", "");
                case "registry.example/tools/migrate:1" -> new ResolvedImage(ref, List.of(BASE), List.of(), List.of("/bin/migrate"),
                        List.of("PATH=/bin"), "", "");
                case MEMBER_IMAGE -> new ResolvedImage(ref, List.of(BASE), List.of(), List.of("/bin/migrate"), List.of("PATH=/bin"), "", "");
                default -> throw new IOException("no image " + ref + " in the store; import it");
            };
        }

        @Override
        public ImageAccounts accounts(String ref) throws IOException {
            resolve(ref);
            return ref.equals(MEMBER_IMAGE)
                    ? ImageAccounts.parse("root:x:0:0::/:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n",
                            "root:x:0:\napp:x:1000:app\nweb:x:5000:www,app\nlogs:x:5001:app\nother:x:5002:root\n")
                    // the other images list nobody as a member of a group
                    : ImageAccounts.parse("root:x:0:0::/:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n", "root:x:0:\napp:x:1000:\n");
        }
    };

    /** A Deployment with env from a Secret, a ConfigMap in the same file, the downward API, probes and volumes. */
    static final String DEPLOYMENT = """
            # the shop's API: two replicas behind a Service
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: api-config
              namespace: shop
            data:
              LOG_LEVEL: info
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: api
              namespace: shop
              labels: {app: api}
            spec:
              replicas: 2
              selector:
                matchLabels: {app: api}
              template:
                metadata:
                  labels:
                    app: api   # the Service selects this
                spec:
                  runtimeClassName: coffer
                  automountServiceAccountToken: false
                  securityContext:
                    runAsUser: 1000
                    runAsGroup: 1000
                  containers:
                    - name: api
                      image: registry.example/shop/api:2.1
                      args: ["--serve", "--port", "8080"]
                      ports:
                        - containerPort: 8080
                      env:
                        - name: DB_PASSWORD
                          valueFrom:
                            secretKeyRef: {name: db, key: password}
                        - name: LOG_LEVEL
                          valueFrom:
                            configMapKeyRef: {name: api-config, key: LOG_LEVEL}
                        - name: POD_IP
                          valueFrom:
                            fieldRef: {fieldPath: status.podIP}
                        - name: MODE
                          value: production
                      volumeMounts:
                        - {name: cache, mountPath: /cache}
                        - {name: tls, mountPath: /etc/tls}
                      livenessProbe:
                        exec:
                          command: ["/usr/bin/api", "health"]
                      securityContext:
                        allowPrivilegeEscalation: false
                        capabilities:
                          drop: ["ALL"]
                          add: ["NET_BIND_SERVICE"]
                  volumes:
                    - name: cache
                      emptyDir: {}
                    - name: tls
                      secret:
                        secretName: api-tls
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: shop}
            spec:
              selector: {app: api}
              ports: [{port: 443, targetPort: 8080}]
            """;

    static final String JOB = """
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: migrate
            spec:
              template:
                spec:
                  automountServiceAccountToken: false
                  restartPolicy: Never
                  initContainers:
                    - name: wait
                      image: registry.example/tools/migrate:1
                      command: ["/bin/migrate", "--wait"]
                  containers:
                    - name: migrate
                      image: registry.example/tools/migrate:1
                      resources:
                        limits: {memory: 256Mi, cpu: 500m}
            """;

    static PodPolicyGenerator.Result generate(String yaml, String id, PodPolicyGenerator.Options options) throws Exception {
        KubernetesManifest m = KubernetesManifest.parse(yaml, "test.yaml");
        Workload w = m.workloads().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
        return new PodPolicyGenerator(IMAGES).generate(m, w, options);
    }

    static Capabilities caps(List<String> c) {
        return new Capabilities(c, c, List.of(), c, List.of());
    }

    static CreateContainer apiCreate(String id, List<String> env, Capabilities caps) {
        return new CreateContainer(id, List.of("/usr/bin/api", "--serve", "--port", "8080"), env, "/srv",
                List.of(new Mount("/cache", SANDBOX + "/volumes/cache", "bind", List.of("rbind", "rshared", "rw")),
                        new Mount("/etc/tls", SANDBOX + "/containers/" + id + "/files/secret/tls", "bind", List.of("rbind", "rshared", "ro"),
                                List.of(new FileDigest("tls.crt", "a".repeat(64))))),
                false, true, new IdName("1000", "app"), List.of(new IdName("1000", "app")), "0022", caps, "", List.of(), null);
    }

    static List<String> honestEnv() {
        return List.of("PATH=/usr/bin:/bin", "DB_PASSWORD=s3cr3t", "LOG_LEVEL=info", "POD_IP=10.244.1.7", "MODE=production",
                "HOSTNAME=api-7c9d8f6b5-x2x9q", "KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443",
                "KUBERNETES_PORT=tcp://10.96.0.1:443");
    }

    static PolicyEnforcer readyForApi(String policy) {
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        for (String[] layer : List.of(new String[] {"base", BASE}, new String[] {"app", APP})) {
            commit(e, new EnforcementRequest.MountDevice("/run/coffer/layers/" + layer[0], layer[1]));
        }
        commit(e, new EnforcementRequest.MountOverlay("c-api", List.of("/run/coffer/layers/app", "/run/coffer/layers/base"),
                "/run/coffer/rootfs/c-api"));
        return e;
    }

    static void commit(PolicyEnforcer e, EnforcementRequest r) {
        Decision d = e.decide(r);
        assertTrue(d.allowed(), r.rule() + " denied: " + d.reason());
        e.commit(d);
    }

    @Test
    void deploymentPolicyAllowsThePodsOwnRequestAndRefusesTamperedOnes() throws Exception {
        PodPolicyGenerator.Result r = generate(DEPLOYMENT, "Deployment/api", PodPolicyGenerator.Options.DEFAULT);
        String policy = r.policy().text();
        assertTrue(policy.contains("\"name\": \"pause.sandbox\""), policy);
        assertFalse(policy.contains("s3cr3t"));
        Capabilities bind = caps(List.of("CAP_NET_BIND_SERVICE"));

        Decision ok = readyForApi(policy).decide(apiCreate("c-api", honestEnv(), bind));
        assertTrue(ok.allowed(), ok.reason());

        Map<String, CreateContainer> tampered = new java.util.LinkedHashMap<>();
        List<String> env = new ArrayList<>(honestEnv());
        env.set(4, "MODE=debug");
        tampered.put("literal env changed", apiCreate("c-api", env, bind));
        env = new ArrayList<>(honestEnv());
        env.set(2, "LOG_LEVEL=trace");
        tampered.put("ConfigMap value changed", apiCreate("c-api", env, bind));
        env = new ArrayList<>(honestEnv());
        env.set(3, "POD_IP=$(curl evil)");
        tampered.put("pod IP not an address", apiCreate("c-api", env, bind));
        env = new ArrayList<>(honestEnv());
        env.add("LD_PRELOAD=/tmp/x.so");
        tampered.put("env added", apiCreate("c-api", env, bind));
        env = new ArrayList<>(honestEnv());
        env.remove("MODE=production");
        tampered.put("env dropped", apiCreate("c-api", env, bind));
        tampered.put("capability added", apiCreate("c-api", honestEnv(), caps(List.of("CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"))));
        CreateContainer h = apiCreate("c-api", honestEnv(), bind);
        tampered.put("secret volume writable", new CreateContainer(h.containerID(), h.argList(), h.envList(), h.workingDir(),
                List.of(h.mounts().get(0), new Mount("/etc/tls", SANDBOX + "/containers/c-api/files/secret/tls", "bind",
                        List.of("rbind", "rshared", "rw"))),
                false, true, h.user(), h.groups(), h.umask(), h.capabilities(), "", List.of(), null));
        tampered.put("runs as root", new CreateContainer(h.containerID(), h.argList(), h.envList(), h.workingDir(), h.mounts(),
                false, true, new IdName("0", "root"), h.groups(), h.umask(), h.capabilities(), "", List.of(), null));
        tampered.put("privilege escalation allowed", new CreateContainer(h.containerID(), h.argList(), h.envList(), h.workingDir(),
                h.mounts(), false, false, h.user(), h.groups(), h.umask(), h.capabilities(), "", List.of(), null));
        tampered.put("other argv", new CreateContainer(h.containerID(), List.of("/bin/sh", "-c", "id"), h.envList(), h.workingDir(),
                h.mounts(), false, true, h.user(), h.groups(), h.umask(), h.capabilities(), "", List.of(), null));
        for (Map.Entry<String, CreateContainer> t : tampered.entrySet()) {
            Decision d = readyForApi(policy).decide(t.getValue());
            assertFalse(d.allowed(), t.getKey() + " was allowed");
        }
    }

    @Test
    void pauseContainerIsPinnedFromItsImage() throws Exception {
        String policy = generate(JOB, "Job/migrate", PodPolicyGenerator.Options.DEFAULT).policy().text();
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        commit(e, new EnforcementRequest.MountDevice("/run/coffer/layers/pause", PAUSE_LAYER));
        commit(e, new EnforcementRequest.MountOverlay("c-pause", List.of("/run/coffer/layers/pause"), "/run/coffer/rootfs/c-pause"));
        List<String> c = DefaultCapabilities.UNPRIVILEGED;
        Decision d = e.decide(new CreateContainer("c-pause", List.of("/pause"),
                List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), "/", List.of(), false, false,
                new IdName("65535", ""), List.of(new IdName("65535", "")), "0022", caps(c), "", List.of(), null));
        assertTrue(d.allowed(), d.reason());
    }

    /** A pod as the kubelet runs it as a user: runAsUser, runAsGroup, fsGroup and supplementalGroups. */
    static final String POD_AS_USER = """
            apiVersion: v1
            kind: Pod
            metadata: {name: asuser}
            spec:
              automountServiceAccountToken: false
              securityContext:
                runAsUser: 1000
                runAsGroup: 3000
                fsGroup: 2000
                supplementalGroups: [4000, 2000]
              containers:
                - name: migrate
                  image: registry.example/tools/migrate:1
                - name: other
                  image: registry.example/tools/migrate:1
                  command: ["/bin/migrate", "--other"]
                  securityContext: {runAsUser: 1001, runAsGroup: 3001}
            """;

    static CreateContainer migrateCreate(String id, List<String> argv, IdName user, List<IdName> groups) {
        return new CreateContainer(id, argv, List.of("PATH=/bin", "HOSTNAME=asuser"), "/", List.of(), false, false, user, groups,
                "0022", caps(DefaultCapabilities.UNPRIVILEGED), "", List.of(), null);
    }

    static List<IdName> gids(int... ids) {
        return java.util.Arrays.stream(ids).mapToObj(i -> new IdName(Integer.toString(i), "")).toList();
    }

    @Test
    void runAsUserGroupsFsGroupAndSupplementalGroupsArePinnedForEveryContainerAndThePause() throws Exception {
        PodPolicyGenerator.Result r = generate(POD_AS_USER, "Pod/asuser", PodPolicyGenerator.Options.DEFAULT);
        String policy = r.policy().text();
        // the primary group first, then fsGroup and supplementalGroups ascending, each once
        assertTrue(policy.contains("\"user\": {\"user_idname\": {\"pattern\": \"1000\", \"strategy\": \"id\"}, \"group_idnames\": "
                + "[{\"pattern\": \"3000\", \"strategy\": \"id\"}, {\"pattern\": \"2000\", \"strategy\": \"id\"}, "
                + "{\"pattern\": \"4000\", \"strategy\": \"id\"}], \"umask\": \"0022\"}"), policy);
        assertTrue(policy.contains("\"user\": {\"user_idname\": {\"pattern\": \"1001\", \"strategy\": \"id\"}, \"group_idnames\": "
                + "[{\"pattern\": \"3001\", \"strategy\": \"id\"}, {\"pattern\": \"2000\", \"strategy\": \"id\"}, "
                + "{\"pattern\": \"4000\", \"strategy\": \"id\"}], \"umask\": \"0022\"}"), "a container's own runAsUser wins: " + policy);
        assertEquals(List.of(), r.warnings(), "every group is pinned");
        assertEquals(policy, generate(POD_AS_USER, "Pod/asuser", PodPolicyGenerator.Options.DEFAULT).policy().text());

        // what containerd 1.6's CRI passes: the primary gid again in additionalGids, then the kubelet's groups
        Map<String, CreateContainer> allowed = new java.util.LinkedHashMap<>();
        allowed.put("containerd's ids", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", ""), gids(3000, 3000, 2000, 4000)));
        allowed.put("names from the image", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", "app"),
                List.of(new IdName("3000", "app"), new IdName("2000", "data"))));
        allowed.put("fewer groups", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", ""), gids(3000)));
        for (Map.Entry<String, CreateContainer> a : allowed.entrySet()) {
            Decision d = readyForMigrate(policy).decide(a.getValue());
            assertTrue(d.allowed(), a.getKey() + ": " + d.reason());
        }
        Map<String, CreateContainer> refused = new java.util.LinkedHashMap<>();
        refused.put("root", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("0", "root"), gids(3000, 2000, 4000)));
        refused.put("another uid", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1001", ""), gids(3000, 2000, 4000)));
        refused.put("root group added", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", ""), gids(3000, 2000, 4000, 0)));
        refused.put("another primary group", migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", ""), gids(0)));
        for (Map.Entry<String, CreateContainer> t : refused.entrySet()) {
            Decision d = readyForMigrate(policy).decide(t.getValue());
            assertFalse(d.allowed(), t.getKey() + " was allowed");
            assertTrue(d.reason().contains("invalid user"), t.getKey() + ": " + d.reason());
        }
        Decision swapped = readyForMigrate(policy).decide(migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1001", ""),
                gids(3001, 2000, 4000)));
        assertFalse(swapped.allowed(), "the other container's user for this one was allowed");
        Decision other = readyForMigrate(policy).decide(migrateCreate("c-m", List.of("/bin/migrate", "--other"), new IdName("1001", ""),
                gids(3001, 2000, 4000)));
        assertTrue(other.allowed(), other.reason());

        // the pause container runs as the pod-level user with the pod's groups, as containerd starts the sandbox
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        commit(e, new EnforcementRequest.MountDevice("/run/coffer/layers/pause", PAUSE_LAYER));
        commit(e, new EnforcementRequest.MountOverlay("c-pause", List.of("/run/coffer/layers/pause"), "/run/coffer/rootfs/c-pause"));
        List<String> pauseEnv = List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        Decision asImage = e.decide(new CreateContainer("c-pause", List.of("/pause"), pauseEnv, "/", List.of(), false, false,
                new IdName("65535", ""), gids(65535), "0022", caps(DefaultCapabilities.UNPRIVILEGED), "", List.of(), null));
        assertFalse(asImage.allowed(), "the pause image's own user is not the pod's");
        Decision asPod = e.decide(new CreateContainer("c-pause", List.of("/pause"), pauseEnv, "/", List.of(), false, false,
                new IdName("1000", ""), gids(3000, 2000, 4000), "0022", caps(DefaultCapabilities.UNPRIVILEGED), "", List.of(), null));
        assertTrue(asPod.allowed(), asPod.reason());
    }

    /**
     * containerd's CRI adds to a container's groups every group the image's /etc/group lists its
     * user in (by the name its /etc/passwd gives the uid): the policy allows exactly those too, or
     * the pod would be refused; a uid the image does not name gets none.
     */
    @Test
    void groupsTheImageListsTheUserInAreAllowedAsContainerdAddsThem() throws Exception {
        String yaml = POD_AS_USER.replace("registry.example/tools/migrate:1", MEMBER_IMAGE);
        String policy = generate(yaml, "Pod/asuser", PodPolicyGenerator.Options.DEFAULT).policy().text();
        assertTrue(policy.contains("\"user\": {\"user_idname\": {\"pattern\": \"1000\", \"strategy\": \"id\"}, \"group_idnames\": "
                + "[{\"pattern\": \"3000\", \"strategy\": \"id\"}, {\"pattern\": \"2000\", \"strategy\": \"id\"}, "
                + "{\"pattern\": \"4000\", \"strategy\": \"id\"}, {\"pattern\": \"5000\", \"strategy\": \"id\"}, "
                + "{\"pattern\": \"5001\", \"strategy\": \"id\"}], \"umask\": \"0022\"}"), policy);
        // uid 1001 (the other container) has no name in the image: the kubelet's groups only
        assertTrue(policy.contains("\"user\": {\"user_idname\": {\"pattern\": \"1001\", \"strategy\": \"id\"}, \"group_idnames\": "
                + "[{\"pattern\": \"3001\", \"strategy\": \"id\"}, {\"pattern\": \"2000\", \"strategy\": \"id\"}, "
                + "{\"pattern\": \"4000\", \"strategy\": \"id\"}], \"umask\": \"0022\"}"), policy);

        Decision asContainerd = readyForMigrate(policy).decide(migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", "app"),
                gids(3000, 3000, 2000, 4000, 5000, 5001)));
        assertTrue(asContainerd.allowed(), asContainerd.reason());
        Decision extra = readyForMigrate(policy).decide(migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", "app"),
                gids(3000, 2000, 4000, 5000, 5001, 5002)));
        assertFalse(extra.allowed(), "a group the image does not list the user in was allowed");
        assertTrue(extra.reason().contains("invalid user"), extra.reason());

        // groups not pinned (no runAsGroup): any group, as before, and the image's accounts are not read
        String unpinned = generate(yaml.replace("    runAsGroup: 3000\n", "").replace(", runAsGroup: 3001", ""), "Pod/asuser",
                PodPolicyGenerator.Options.DEFAULT).policy().text();
        assertFalse(unpinned.contains("\"5000\""), unpinned);

        // a source that cannot read the image's files fails the generation rather than leaving the groups out
        ImageSource noFiles = IMAGES::resolve;
        KubernetesManifest m = KubernetesManifest.parse(yaml, "test.yaml");
        IOException e = assertThrows(IOException.class, () -> new PodPolicyGenerator(noFiles).generate(m,
                m.workloads().getFirst(), PodPolicyGenerator.Options.DEFAULT));
        assertTrue(e.getMessage().contains("the users and groups of image"), e.getMessage());
    }

    @Test
    void runAsUserWithoutRunAsGroupAllowsAnyGroupAndSaysSo() throws Exception {
        String yaml = POD_AS_USER.replace("    runAsGroup: 3000\n", "").replace(", runAsGroup: 3001", "");
        PodPolicyGenerator.Result r = generate(yaml, "Pod/asuser", PodPolicyGenerator.Options.DEFAULT);
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("spec.containers[0]: runAsUser 1000 without runAsGroup")
                && w.contains("fsGroup and supplementalGroups are not pinned either") && w.contains("set runAsGroup")), r.warnings().toString());
        Decision d = readyForMigrate(r.policy().text()).decide(migrateCreate("c-m", List.of("/bin/migrate"), new IdName("1000", ""),
                gids(0, 2000, 4000)));
        assertTrue(d.allowed(), "the image's primary group (here 0) is not known to the generator: " + d.reason());
        d = readyForMigrate(r.policy().text()).decide(migrateCreate("c-m", List.of("/bin/migrate"), new IdName("0", ""), gids(0)));
        assertFalse(d.allowed(), "the uid stays pinned");
    }

    static PolicyEnforcer readyForMigrate(String policy) {
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        commit(e, new EnforcementRequest.MountDevice("/run/coffer/layers/base", BASE));
        commit(e, new EnforcementRequest.MountOverlay("c-m", List.of("/run/coffer/layers/base"), "/run/coffer/rootfs/c-m"));
        return e;
    }

    @Test
    void jobWithInitContainersPinsBothAndTheMemoryLimit() throws Exception {
        PodPolicyGenerator.Result r = generate(JOB, "Job/migrate", PodPolicyGenerator.Options.DEFAULT);
        String policy = r.policy().text();
        assertTrue(policy.contains("\"name\": \"wait\""));
        assertTrue(policy.contains("\"command\": [\"/bin/migrate\", \"--wait\"]"), policy);
        assertTrue(policy.contains("\"name\": \"migrate\""));
        assertTrue(policy.contains("\"memory_bytes\": 268435456"), policy);
        assertTrue(policy.indexOf("\"name\": \"wait\"") < policy.indexOf("\"name\": \"migrate\""), "init containers come first");
    }

    @Test
    void sameInputGivesTheSameBytesAndAnEditChangesThem() throws Exception {
        GeneratedPolicy a = generate(DEPLOYMENT, "Deployment/api", PodPolicyGenerator.Options.DEFAULT).policy();
        GeneratedPolicy b = generate(DEPLOYMENT, "Deployment/api", PodPolicyGenerator.Options.DEFAULT).policy();
        assertEquals(a.text(), b.text());
        assertEquals(a.sha256(), b.sha256());
        GeneratedPolicy c = generate(DEPLOYMENT.replace("value: production", "value: staging"), "Deployment/api",
                PodPolicyGenerator.Options.DEFAULT).policy();
        assertNotEquals(a.sha256(), c.sha256());
    }

    @Test
    void injectedAnnotationDecodesToThePolicyAndKeepsTheRestOfTheFile() throws Exception {
        KubernetesManifest m = KubernetesManifest.parse(DEPLOYMENT + "---\n" + JOB, "multi.yaml");
        Map<String, String> values = new java.util.LinkedHashMap<>();
        Map<String, GeneratedPolicy> policies = new java.util.LinkedHashMap<>();
        for (Workload w : m.workloads()) {
            GeneratedPolicy p = new PodPolicyGenerator(IMAGES).generate(m, w, PodPolicyGenerator.Options.DEFAULT).policy();
            policies.put(w.id(), p);
            values.put(w.id(), PodPolicyGenerator.annotationValue(p));
        }
        assertEquals(List.of("Deployment/api", "Job/migrate"), List.copyOf(values.keySet()));
        String injected = PolicyAnnotation.inject(m, values);
        assertTrue(injected.contains("# the shop's API: two replicas behind a Service"), "comments stay");
        assertTrue(injected.contains("app: api   # the Service selects this"), "comments stay");
        KubernetesManifest again = KubernetesManifest.parse(injected, "multi.yaml");
        Map<String, String> read = PolicyAnnotation.read(again);
        for (Map.Entry<String, GeneratedPolicy> e : policies.entrySet()) {
            String text = new String(Base64.getDecoder().decode(read.get(e.getKey())), StandardCharsets.UTF_8);
            assertEquals(e.getValue().text(), text);
            assertEquals(e.getValue().sha256(), GeneratedPolicy.sha256Hex(text), "HOST_DATA the shim would compute");
        }
        // the only change: the inserted lines, at the template's metadata (made for the Job, which had none)
        String key = PolicyAnnotation.KEY;
        String expected = (DEPLOYMENT + "---\n" + JOB)
                .replace("      labels:\n        app: api   #", "      annotations:\n        " + key + ": \"" + values.get("Deployment/api")
                        + "\"\n      labels:\n        app: api   #")
                .replace("  template:\n    spec:\n      automount", "  template:\n    metadata:\n      annotations:\n        " + key
                        + ": \"" + values.get("Job/migrate") + "\"\n    spec:\n      automount");
        assertEquals(expected, injected);
        // injecting again replaces the value in place: idempotent
        assertEquals(injected, PolicyAnnotation.inject(again, values));
        // a policy generated from the injected file is the same (the annotation is not an input)
        Workload w = again.workloads().getFirst();
        assertEquals(policies.get("Deployment/api").text(),
                new PodPolicyGenerator(IMAGES).generate(again, w, PodPolicyGenerator.Options.DEFAULT).policy().text());
    }

    /** The other workload kinds in one file: each gets its pod template's policy, at its template's metadata. */
    static final String STATEFUL_DAEMON_CRON = """
            apiVersion: apps/v1
            kind: StatefulSet
            metadata: {name: store}
            spec:
              serviceName: store
              selector: {matchLabels: {app: store}}
              template:
                metadata:
                  labels: {app: store}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - name: store
                      image: registry.example/tools/migrate:1
                      args: ["--store"]
            ---
            apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: agent}
            spec:
              selector: {matchLabels: {app: agent}}
              template:
                metadata: {labels: {app: agent}}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - {name: agent, image: "registry.example/tools/migrate:1", args: ["--agent"]}
            ---
            apiVersion: batch/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              schedule: "0 3 * * *"
              jobTemplate:
                spec:
                  template:
                    spec:
                      automountServiceAccountToken: false
                      restartPolicy: OnFailure
                      containers:
                        - name: nightly
                          image: registry.example/tools/migrate:1
                          args: ["--nightly"]
            """;

    @Test
    void statefulSetDaemonSetAndCronJobEachGetTheirOwnPolicy() throws Exception {
        KubernetesManifest m = KubernetesManifest.parse(STATEFUL_DAEMON_CRON, "more.yaml");
        assertEquals(List.of("StatefulSet/store", "DaemonSet/agent", "CronJob/nightly"), m.workloads().stream().map(Workload::id).toList());
        Map<String, String> values = new java.util.LinkedHashMap<>();
        Map<String, String> texts = new java.util.LinkedHashMap<>();
        for (Workload w : m.workloads()) {
            GeneratedPolicy p = new PodPolicyGenerator(IMAGES).generate(m, w, PodPolicyGenerator.Options.DEFAULT).policy();
            String arg = "--" + w.id().substring(w.id().indexOf('/') + 1);
            // the image has no ENTRYPOINT, so args replace its CMD whole (Kubernetes' rule)
            assertTrue(p.text().contains("\"command\": [\"" + arg + "\"]"), w.id() + ": " + p.text());
            PolicyEnforcer.load(p.text());
            texts.put(w.id(), p.text());
            values.put(w.id(), PodPolicyGenerator.annotationValue(p));
        }
        assertEquals(3, new java.util.HashSet<>(texts.values()).size(), "three different pods, three policies");
        String injected = PolicyAnnotation.inject(m, values);
        KubernetesManifest again = KubernetesManifest.parse(injected, "more.yaml");
        assertEquals(values, PolicyAnnotation.read(again));
        // the CronJob's annotation is on the pod template inside its job template, where the pod gets it
        assertTrue(injected.contains("          annotations:\n            " + PolicyAnnotation.KEY + ": \"" + values.get("CronJob/nightly")),
                injected);
        assertEquals(injected, PolicyAnnotation.inject(again, values), "idempotent");
    }

    @Test
    void flowStyleMetadataIsEditedToo() throws Exception {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: one, labels: {app: one}}
                spec:
                  automountServiceAccountToken: false
                  containers: [{name: c, image: "registry.example/tools/migrate:1"}]
                """;
        KubernetesManifest m = KubernetesManifest.parse(pod, "pod.yaml");
        String out = PolicyAnnotation.inject(m, Map.of("Pod/one", "QUJD"));
        assertEquals("QUJD", PolicyAnnotation.read(KubernetesManifest.parse(out, "pod.yaml")).get("Pod/one"));
    }

    @Test
    void whatThePolicyCannotPinIsRefusedByName() {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  automountServiceAccountToken: false
                  %s
                  containers:
                    - name: c
                      image: registry.example/tools/migrate:1
                      %s
                """;
        Map<String, String[]> cases = new java.util.LinkedHashMap<>();
        cases.put("spec.hostNetwork", new String[] {"hostNetwork: true", ""});
        cases.put("spec.hostPID", new String[] {"hostPID: true", ""});
        cases.put("spec.hostIPC", new String[] {"hostIPC: true", ""});
        cases.put("spec.shareProcessNamespace", new String[] {"shareProcessNamespace: true", ""});
        cases.put("spec.volumes[0].hostPath", new String[] {"volumes: [{name: h, hostPath: {path: /etc}}]", ""});
        cases.put("spec.volumes[0].persistentVolumeClaim", new String[] {"volumes: [{name: h, persistentVolumeClaim: {claimName: x}}]", ""});
        cases.put("spec.ephemeralContainers", new String[] {"ephemeralContainers: []", ""});
        cases.put("spec.securityContext.fsGroupChangePolicy", new String[] {"securityContext: {fsGroup: 2000, fsGroupChangePolicy: Always}", ""});
        cases.put("spec.securityContext.fsGroup", new String[] {"securityContext: {fsGroup: -1}", ""});
        cases.put("spec.securityContext.supplementalGroups[1]", new String[] {"securityContext: {supplementalGroups: [4000, \"5000\"]}", ""});
        cases.put("spec.securityContext.supplementalGroups", new String[] {"securityContext: {supplementalGroups: 4000}", ""});
        cases.put("spec.securityContext.supplementalGroupsPolicy", new String[] {"securityContext: {supplementalGroupsPolicy: Strict}", ""});
        cases.put("runAsUser/runAsGroup at most", new String[] {"", "securityContext: {runAsUser: 4294967296, runAsGroup: 1}"});
        cases.put("securityContext.privileged", new String[] {"", "securityContext: {privileged: true}"});
        cases.put("ports[0].hostPort", new String[] {"", "ports: [{containerPort: 80, hostPort: 80}]"});
        cases.put("seccompProfile.type", new String[] {"", "securityContext: {seccompProfile: {type: Unconfined}}"});
        cases.put("capabilities.add", new String[] {"", "securityContext: {capabilities: {add: [ALL]}}"});
        cases.put("capabilities.drop", new String[] {"", "securityContext: {capabilities: {drop: [NOT_A_CAP]}}"});
        cases.put("envFrom[0]", new String[] {"", "envFrom: [{secretRef: {name: absent}}]"});
        cases.put("env[0].value", new String[] {"", "env: [{name: N, value: 5}]"});
        cases.put("volumeDevices", new String[] {"", "volumeDevices: []"});
        cases.put("volumeMounts[0].subPath", new String[] {"volumes: [{name: v, emptyDir: {}}]", "volumeMounts: [{name: v, mountPath: /v, subPath: x}]"});
        cases.put("runAsNonRoot", new String[] {"securityContext: {runAsNonRoot: true}", ""});
        cases.put("resources.limits.memory", new String[] {"", "resources: {limits: {memory: lots}}"});
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            String yaml = String.format(pod, c.getValue()[0], c.getValue()[1]);
            ManifestException e = assertThrows(ManifestException.class, () -> generate(yaml, "Pod/p", PodPolicyGenerator.Options.DEFAULT),
                    c.getKey() + " was accepted");
            assertTrue(e.getMessage().contains(c.getKey()), c.getKey() + ": " + e.getMessage());
            assertTrue(e.getMessage().startsWith("test.yaml Pod/p: "), e.getMessage());
        }
    }

    @Test
    void privilegedOnlyWithTheExplicitOption() throws Exception {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - {name: c, image: "registry.example/tools/migrate:1", securityContext: {privileged: true}}
                """;
        String policy = generate(pod, "Pod/p", new PodPolicyGenerator.Options(false, true, null, false)).policy().text();
        assertTrue(policy.contains("\"allow_elevated\": true"));
    }

    @Test
    void unencryptedScratchOnlyWithTheExplicitOption() throws Exception {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  automountServiceAccountToken: false
                  containers:
                    - {name: c, image: "registry.example/tools/migrate:1"}
                """;
        String strict = generate(pod, "Pod/p", PodPolicyGenerator.Options.DEFAULT).policy().text();
        assertTrue(strict.contains("allow_unencrypted_scratch := false\n"), strict);
        String allowing = generate(pod, "Pod/p", new PodPolicyGenerator.Options(false, false, null, true)).policy().text();
        assertTrue(allowing.contains("allow_unencrypted_scratch := true\n"), allowing);
        assertEquals(strict.replace("allow_unencrypted_scratch := false", "allow_unencrypted_scratch := true"), allowing,
                "the option changes the scratch flag and nothing else");
    }

    @Test
    void serviceAccountTokenMountIsPinnedReadOnlyUnlessTheePodOptsOut() throws Exception {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  containers:
                    - {name: c, image: "registry.example/tools/migrate:1"}
                """;
        PodPolicyGenerator.Result r = generate(pod, "Pod/p", PodPolicyGenerator.Options.DEFAULT);
        assertTrue(r.policy().text().contains(PodPolicyGenerator.SERVICE_ACCOUNT_PATH));
        assertEquals(1, r.warnings().size());
    }

    /** A pod with a ConfigMap volume (items), a Secret volume, a projected token and a ConfigMap the file does not give. */
    static final String CONTENT_POD = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: app-config}
            data:
              app.yaml: "level: info\\n"
              ignored: "not mounted"
            binaryData:
              logo.png: iVBORw0K
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: p}
            spec:
              automountServiceAccountToken: false
              containers:
                - name: c
                  image: "registry.example/tools/migrate:1"
                  volumeMounts:
                    - {name: config, mountPath: /etc/app}
                    - {name: creds, mountPath: /etc/creds}
                    - {name: other, mountPath: /etc/other}
                    - {name: token, mountPath: /var/run/token}
              volumes:
                - name: config
                  configMap:
                    name: app-config
                    items:
                      - {key: app.yaml, path: conf/app.yaml}
                      - {key: logo.png, path: logo.png}
                - name: creds
                  secret: {secretName: db}
                - name: other
                  configMap: {name: not-given}
                - name: token
                  projected:
                    sources:
                      - serviceAccountToken: {path: token}
            """;

    static final String SECRETS_FILE = """
            apiVersion: v1
            kind: Secret
            metadata: {name: db}
            data:
              password: czNjcjN0
            stringData:
              user: admin
            """;

    static String sha256(String text) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.ISO_8859_1)));
    }

    static Mount content(String destination, String kind, String volume, List<FileDigest> files) {
        return new Mount(destination, SANDBOX + "/containers/c1/files/" + kind + "/" + volume, "bind",
                List.of("rbind", "rshared", "ro"), files);
    }

    static CreateContainer contentCreate(List<Mount> mounts) {
        return new CreateContainer("c1", List.of("/bin/migrate"), List.of("PATH=/bin"), "/", mounts, false, false,
                new IdName("0", "root"), List.of(new IdName("0", "root")), "0022", caps(DefaultCapabilities.UNPRIVILEGED), "",
                List.of(), null);
    }

    static Decision decideContent(String policy, List<Mount> mounts) {
        PolicyEnforcer e = PolicyEnforcer.load(policy);
        commit(e, new EnforcementRequest.MountDevice("/run/coffer/layers/base", BASE));
        commit(e, new EnforcementRequest.MountOverlay("c1", List.of("/run/coffer/layers/base"), "/run/coffer/rootfs/c1"));
        return e.decide(contentCreate(mounts));
    }

    @Test
    void configMapAndSecretVolumesArePinnedByFileDigestAndTheRestSaidUnpinned() throws Exception {
        KubernetesManifest secrets = KubernetesManifest.parse(SECRETS_FILE, "secrets.yaml").requireOnly("Secret");
        PodPolicyGenerator.Options options = new PodPolicyGenerator.Options(false, false, null, false, List.of(secrets), true, false);
        PodPolicyGenerator.Result r = generate(CONTENT_POD, "Pod/p", options);
        String policy = r.policy().text();
        assertEquals(policy, generate(CONTENT_POD, "Pod/p", options).policy().text(), "the same pod gives the same bytes");
        assertFalse(policy.contains("s3cr3t") || policy.contains("czNjcjN0"), "a Secret's value never goes into the policy");
        // what the kubelet writes: the items' paths, the binary data decoded, the Secret's data decoded and stringData as is
        List<FileDigest> config = List.of(new FileDigest("conf/app.yaml", sha256("level: info\n")),
                new FileDigest("logo.png", sha256(new String(Base64.getDecoder().decode("iVBORw0K"), StandardCharsets.ISO_8859_1))));
        List<FileDigest> creds = List.of(new FileDigest("password", sha256("s3cr3t")), new FileDigest("user", sha256("admin")));
        List<Mount> honest = List.of(content("/etc/app", "configmap", "config", config), content("/etc/creds", "secret", "creds", creds),
                content("/etc/other", "configmap", "other", List.of(new FileDigest("anything", sha256("the host's")))),
                content("/var/run/token", "projected", "token", List.of(new FileDigest("token", sha256("eyJhbGciOi...")))));
        Decision ok = decideContent(policy, honest);
        assertTrue(ok.allowed(), ok.reason());

        // one line per volume the policy does not pin, naming it and why; a pinned Secret is said to be guessable
        List<String> unpinned = r.warnings().stream().filter(w -> w.contains("is not pinned")).toList();
        assertEquals(2, unpinned.size(), r.warnings().toString());
        assertTrue(unpinned.get(0).contains("volume other (configMap)") && unpinned.get(0).contains("'not-given' is not in this file"),
                unpinned.get(0));
        assertTrue(unpinned.get(1).contains("volume token (projected)"), unpinned.get(1));
        assertTrue(r.warnings().stream().anyMatch(w -> w.contains("volume creds pins its Secret files")), r.warnings().toString());

        // without pinSecrets (the default) the same Secret is not pinned: no digest of it in the policy, one line saying so
        PodPolicyGenerator.Result unpinnedSecret = generate(CONTENT_POD, "Pod/p",
                new PodPolicyGenerator.Options(false, false, null, false, List.of(secrets), false, false));
        assertFalse(unpinnedSecret.policy().text().contains(creds.get(0).sha256()), "a Secret's digest only with pinSecrets");
        assertTrue(unpinnedSecret.policy().text().contains(config.get(0).sha256()), "ConfigMaps are still pinned");
        assertTrue(unpinnedSecret.warnings().stream().anyMatch(w -> w.contains("volume creds (secret) is not pinned: its files come from a Secret")),
                unpinnedSecret.warnings().toString());
        assertTrue(decideContent(unpinnedSecret.policy().text(), honest).allowed());

        // one byte changed in a pinned file: refused, naming the file
        List<Mount> changed = new ArrayList<>(honest);
        changed.set(0, content("/etc/app", "configmap", "config", List.of(new FileDigest("conf/app.yaml", sha256("level: debug\n")),
                config.get(1))));
        Decision d = decideContent(policy, changed);
        assertFalse(d.allowed());
        assertTrue(d.reason().contains("conf/app.yaml") && d.reason().contains(config.get(0).sha256()), d.reason());

        Map<String, List<FileDigest>> tampered = new java.util.LinkedHashMap<>();
        tampered.put("file added", List.of(config.get(0), config.get(1), new FileDigest("extra", sha256("x"))));
        tampered.put("file missing", List.of(config.get(0)));
        tampered.put("file renamed", List.of(new FileDigest("app.yaml", config.get(0).sha256()), config.get(1)));
        for (Map.Entry<String, List<FileDigest>> t : tampered.entrySet()) {
            List<Mount> m = new ArrayList<>(honest);
            m.set(0, content("/etc/app", "configmap", "config", t.getValue()));
            Decision td = decideContent(policy, m);
            assertFalse(td.allowed(), t.getKey() + " was allowed");
            assertTrue(td.reason().contains("/etc/app"), t.getKey() + ": " + td.reason());
        }
        // the Secret's content changed; the volume passed off as an emptyDir of the sandbox; mounted writable
        List<Mount> m = new ArrayList<>(honest);
        m.set(1, content("/etc/creds", "secret", "creds", List.of(creds.get(0), new FileDigest("user", sha256("root")))));
        assertFalse(decideContent(policy, m).allowed(), "Secret content changed");
        m = new ArrayList<>(honest);
        m.set(0, new Mount("/etc/app", SANDBOX + "/volumes/config", "bind", List.of("rbind", "rshared", "ro")));
        assertFalse(decideContent(policy, m).allowed(), "ConfigMap volume as a sandbox volume");
        m = new ArrayList<>(honest);
        m.set(2, new Mount("/etc/other", SANDBOX + "/containers/c1/files/configmap/other", "bind", List.of("rbind", "rshared", "rw")));
        assertFalse(decideContent(policy, m).allowed(), "unpinned ConfigMap volume writable");
        m = new ArrayList<>(honest);
        m.set(2, content("/etc/other", "secret", "other", List.of()));
        assertFalse(decideContent(policy, m).allowed(), "volume of another kind");
    }

    @Test
    void contentVolumesRefuseWhatTheKubeletWouldNotWrite() throws Exception {
        // a ConfigMap item whose key the ConfigMap lacks; an item path escaping the volume; a Secret value that is not base64
        String missingKey = CONTENT_POD.replace("{key: logo.png, path: logo.png}", "{key: nope, path: nope}");
        ManifestException e = assertThrows(ManifestException.class, () -> generate(missingKey, "Pod/p", PodPolicyGenerator.Options.DEFAULT));
        assertTrue(e.getMessage().contains("'nope' is not in ConfigMap 'app-config'"), e.getMessage());
        String escaping = CONTENT_POD.replace("path: conf/app.yaml", "path: ../../etc/passwd");
        e = assertThrows(ManifestException.class, () -> generate(escaping, "Pod/p", PodPolicyGenerator.Options.DEFAULT));
        assertTrue(e.getMessage().contains("../../etc/passwd"), e.getMessage());
        KubernetesManifest bad = KubernetesManifest.parse(SECRETS_FILE.replace("czNjcjN0", "not base64!"), "s.yaml");
        e = assertThrows(ManifestException.class, () -> generate(CONTENT_POD, "Pod/p",
                new PodPolicyGenerator.Options(false, false, null, false, List.of(bad), true, false)));
        assertTrue(e.getMessage().contains("data.password is not base64"), e.getMessage());
        // a --secret file that holds something else
        e = assertThrows(ManifestException.class, () -> KubernetesManifest.parse(CONTENT_POD, "c.yaml").requireOnly("Secret"));
        assertTrue(e.getMessage().contains("expected a Secret with metadata.name, found a ConfigMap"), e.getMessage());
    }

    @Test
    void hostileYamlIsRefused() {
        Map<String, String> cases = Map.of(
                "duplicate key", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: false\n  hostNetwork: true\n  containers: []\n",
                "merge key", "apiVersion: v1\nkind: Pod\nbase: &b {hostNetwork: true}\nmetadata: {name: p}\nspec:\n  <<: *b\n",
                "alias bomb", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                        + "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
                "not YAML", "kind: Pod\n  bad: [\n",
                "not an object", "- just a list\n");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertThrows(ManifestException.class, () -> KubernetesManifest.parse(c.getValue(), "x.yaml").workloads(), c.getKey());
        }
    }

    @Test
    void memoryQuantities() {
        assertEquals(268435456L, Quantity.bytes("256Mi"));
        assertEquals(1_000_000_000L, Quantity.bytes("1G"));
        assertEquals(1_000_000_000L, Quantity.bytes("1e9"));
        assertEquals(1610612736L, Quantity.bytes("1.5Gi"));
        assertThrows(IllegalArgumentException.class, () -> Quantity.bytes("100m"));
        assertThrows(IllegalArgumentException.class, () -> Quantity.bytes("-1"));
    }
}

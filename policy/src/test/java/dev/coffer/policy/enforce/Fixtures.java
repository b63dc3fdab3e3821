package dev.coffer.policy.enforce;

import dev.coffer.policy.enforce.EnforcementRequest.Capabilities;
import dev.coffer.policy.enforce.EnforcementRequest.CreateContainer;
import dev.coffer.policy.enforce.EnforcementRequest.IdName;
import dev.coffer.policy.enforce.EnforcementRequest.Mount;
import dev.coffer.policy.gen.DefaultCapabilities;
import dev.coffer.policy.gen.ImageSource;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.ResolvedImage;
import dev.coffer.policy.model.GroupPolicyInput;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A generated policy for a two-container group and the requests an honest host sends for it.
 * Layer hashes stand in for real root hashes (the enforcer only compares them); the
 * generator and writer are the real ones.
 */
final class Fixtures {
    static final String BASE = "1".repeat(64);
    static final String WEB = "2".repeat(64);
    static final String SIDE = "3".repeat(64);
    static final String LAYERS = "/run/coffer/layers/";
    static final String SANDBOX = EnforcerOptions.DEFAULT_SANDBOX_DIR;

    static final String SPEC = """
            name: shop
            containers:
              - name: web
                image: registry.example/web:1.0
                args: ["httpd", "-f", "-p", "8080"]
                env:
                  - {name: MODE, value: prod}
                  - {name: TENANT, value: "[a-z]{3,10}", variable: true}
                volumeMounts:
                  - {name: cache, mountPath: /cache}
                  - {name: conf, mountPath: /etc/app, readOnly: true}
                execProcesses:
                  - command: ["/bin/health", "--quick"]
                    signals: [15]
                signals: [15, 9]
              - name: side
                image: registry.example/side:2
            volumes:
              - {name: cache, emptyDir: {}}
              - {name: conf, emptyDir: {}}
            """;

    static final ImageSource IMAGES = ref -> switch (ref) {
        case "registry.example/web:1.0" -> new ResolvedImage(ref, List.of(BASE, WEB),
                List.of("/docker-entrypoint.sh"), List.of("httpd"), List.of("PATH=/usr/bin:/bin"), "/srv", "1000:1000");
        case "registry.example/side:2" -> new ResolvedImage(ref, List.of(BASE, SIDE),
                List.of(), List.of("/bin/sleep", "3600"), List.of("PATH=/bin"), "", "");
        default -> throw new IOException("no image " + ref);
    };

    static String policy(boolean debug) {
        try {
            return new PolicyGenerator(IMAGES).generate(GroupPolicyInput.parse(SPEC, "shop.yaml"), debug).text();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final String POLICY = policy(false);

    static Capabilities defaultCaps() {
        List<String> c = DefaultCapabilities.UNPRIVILEGED;
        return new Capabilities(c, c, List.of(), c, List.of());
    }

    static List<String> webEnv() {
        return List.of("PATH=/usr/bin:/bin", "MODE=prod", "TENANT=contoso");
    }

    static List<Mount> webMounts() {
        return List.of(new Mount("/cache", SANDBOX + "/volumes/cache", "bind", List.of("rbind", "rshared", "rw")),
                new Mount("/etc/app", SANDBOX + "/volumes/conf", "bind", List.of("rbind", "rshared", "ro")),
                new Mount("/dev/shm", "shm", "tmpfs", List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
    }

    static CreateContainer webCreate(String id) {
        return new CreateContainer(id, List.of("/docker-entrypoint.sh", "httpd", "-f", "-p", "8080"), webEnv(), "/srv",
                webMounts(), false, false, new IdName("1000", "www"), List.of(new IdName("1000", "www")), "0022",
                defaultCaps(), "", List.of());
    }

    static CreateContainer sideCreate(String id) {
        return new CreateContainer(id, List.of("/bin/sleep", "3600"), List.of("PATH=/bin"), "/", List.of(), false, false,
                new IdName("0", "root"), List.of(new IdName("0", "root")), "0022", defaultCaps(), "", List.of());
    }

    /** A copy of {@code c} with some fields replaced, for hostile variants. */
    static CreateContainer with(CreateContainer c, Map<String, Object> changes) {
        return new CreateContainer(
                (String) changes.getOrDefault("containerID", c.containerID()),
                cast(changes.getOrDefault("argList", c.argList())),
                cast(changes.getOrDefault("envList", c.envList())),
                (String) changes.getOrDefault("workingDir", c.workingDir()),
                cast(changes.getOrDefault("mounts", c.mounts())),
                (Boolean) changes.getOrDefault("privileged", c.privileged()),
                (Boolean) changes.getOrDefault("noNewPrivileges", c.noNewPrivileges()),
                (IdName) changes.getOrDefault("user", c.user()),
                cast(changes.getOrDefault("groups", c.groups())),
                (String) changes.getOrDefault("umask", c.umask()),
                (Capabilities) changes.getOrDefault("capabilities", c.capabilities()),
                (String) changes.getOrDefault("seccompProfileSHA256", c.seccompProfileSHA256()),
                cast(changes.getOrDefault("devices", c.devices())));
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> cast(Object o) {
        return (List<T>) o;
    }

    static <T> List<T> plus(List<T> list, T extra) {
        List<T> out = new ArrayList<>(list);
        out.add(extra);
        return out;
    }

    static Decision commit(PolicyEnforcer enforcer, EnforcementRequest request) {
        Decision d = enforcer.decide(request);
        if (!d.allowed()) {
            throw new AssertionError("setup request " + request.rule() + " was denied: " + d.reason());
        }
        enforcer.commit(d);
        return d;
    }

    /** How far an honest host got before the hostile request arrives. */
    enum Stage { FRESH, WEB_LAYERS, ALL_LAYERS, WEB_OVERLAY, WEB_CREATED, WEB_SHUTDOWN }

    static PolicyEnforcer at(Stage stage) {
        return at(stage, POLICY);
    }

    /** As {@link #at(Stage)}, under {@code policyText} (POLICY with a setting changed). */
    static PolicyEnforcer at(Stage stage, String policyText) {
        PolicyEnforcer e = PolicyEnforcer.load(policyText);
        if (stage == Stage.FRESH) return e;
        commit(e, new EnforcementRequest.MountDevice(LAYERS + "base", BASE));
        commit(e, new EnforcementRequest.MountDevice(LAYERS + "web", WEB));
        if (stage == Stage.WEB_LAYERS) return e;
        commit(e, new EnforcementRequest.MountDevice(LAYERS + "side", SIDE));
        if (stage == Stage.ALL_LAYERS) return e;
        commit(e, new EnforcementRequest.MountOverlay("c-web", List.of(LAYERS + "web", LAYERS + "base"), "/run/coffer/rootfs/c-web"));
        if (stage == Stage.WEB_OVERLAY) return e;
        commit(e, webCreate("c-web"));
        if (stage == Stage.WEB_CREATED) return e;
        commit(e, new EnforcementRequest.ShutdownContainer("c-web"));
        return e;
    }

    private Fixtures() {}
}

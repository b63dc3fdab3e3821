package dev.coffer.runtime.group;

import dev.coffer.oci.store.ImageConfig;
import dev.coffer.policy.spec.GroupSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The process of one container: the image config overlaid with the spec, with Kubernetes'
 * rules: {@code command} replaces the Entrypoint (and drops the image's Cmd), {@code args}
 * replaces the Cmd; spec env overrides image env by name; the spec's workingDir and user replace
 * the image's; the spec's supplementalGroups are the process's additionalGids (null: none). The
 * policy generator applies the same rules (PolicyGenerator), so what this plans is what the
 * policy pins.
 */
record ContainerPlan(List<String> argList, List<String> envList, String workingDir, String user,
                     List<Integer> additionalGids) {
    static ContainerPlan of(GroupSpec.ContainerSpec spec, ImageConfig image) {
        List<String> argv = new ArrayList<>();
        if (!spec.command().isEmpty()) {
            argv.addAll(spec.command());
            argv.addAll(spec.args());
        } else {
            argv.addAll(image.entrypoint());
            argv.addAll(spec.args().isEmpty() ? image.cmd() : spec.args());
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : image.env()) {
            int eq = kv.indexOf('=');
            if (eq > 0) env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        env.putIfAbsent("PATH", GroupSpec.DEFAULT_PATH);
        for (GroupSpec.EnvVar e : spec.env()) env.put(e.name(), e.value());
        List<String> envList = new ArrayList<>();
        env.forEach((k, v) -> envList.add(k + "=" + v));
        String cwd = spec.workingDir() != null ? spec.workingDir()
                : image.workingDir().isEmpty() ? "/" : image.workingDir();
        // none is sent as absent, so a request without groups reads as before to an agent of an earlier build
        return new ContainerPlan(List.copyOf(argv), List.copyOf(envList), cwd, spec.user() != null ? spec.user() : image.user(),
                spec.supplementalGroups().isEmpty() ? null : spec.supplementalGroups());
    }
}

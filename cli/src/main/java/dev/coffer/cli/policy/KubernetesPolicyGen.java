package dev.coffer.cli.policy;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.gen.StoreImageSource;
import dev.coffer.policy.k8s.KubernetesManifest;
import dev.coffer.policy.k8s.ManifestException;
import dev.coffer.policy.k8s.PodPolicyGenerator;
import dev.coffer.policy.k8s.PolicyAnnotation;
import dev.coffer.policy.k8s.Workload;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code coffer policy gen} for a Kubernetes manifest: one policy per pod template; with
 * {@code --inject}, the manifest with each policy as its pod template's annotation (in place, or
 * to {@code -o}), as {@code az confcom katapolicygen} does. Nothing is written unless every
 * workload's policy was generated.
 */
final class KubernetesPolicyGen {
    /** The options that apply to Kubernetes manifests only: {@code @Mixin} in {@link PolicyGenCommand}. */
    static final class Options {
        @Option(names = "--inject", description = {"Kubernetes only: write each pod template's policy into the manifest as the",
                "annotation " + PolicyAnnotation.KEY + " (base64), in place or to -o FILE;",
                "every other line of the file stays as it was."})
        boolean inject;

        @Option(names = "--workload", paramLabel = "KIND/NAME",
                description = "Kubernetes only: the workload to write the policy for (e.g. Deployment/api), when the file has several.")
        String workload;

        @Option(names = "--allow-privileged", description = "Kubernetes only: accept containers with securityContext.privileged: true "
                + "(they can take over the sandbox's kernel interfaces; refused otherwise).")
        boolean allowPrivileged;

        @Option(names = "--pause-image", paramLabel = "REF", description = "Kubernetes only: the pod sandbox (pause) image, as in "
                + "containerd's sandbox_image (default: " + PodPolicyGenerator.DEFAULT_PAUSE_IMAGE + "); it must be in the image store.")
        String pauseImage;

        @Option(names = "--config-map", paramLabel = "FILE", description = {"Kubernetes only: a file of ConfigMaps the pod uses",
                "(besides those in the manifest): their files are pinned by SHA-256; repeatable."})
        List<Path> configMaps = new ArrayList<>();

        @Option(names = "--secret", paramLabel = "FILE", description = {"Kubernetes only: a file of Secrets the pod uses (besides",
                "those in the manifest), for --pin-secrets; repeatable."})
        List<Path> secrets = new ArrayList<>();

        @Option(names = "--pin-secrets", description = {"Kubernetes only: pin the files of Secret volumes by SHA-256 too. Off by",
                "default: the policy travels in the pod's annotation, and a digest lets anyone who reads it test guesses",
                "of a Secret; unpinned, the host may mount any content there (a warning says so)."})
        boolean pinSecrets;

        List<String> given() {
            List<String> g = new ArrayList<>();
            if (inject) g.add("--inject");
            if (workload != null) g.add("--workload");
            if (allowPrivileged) g.add("--allow-privileged");
            if (pauseImage != null) g.add("--pause-image");
            if (!configMaps.isEmpty()) g.add("--config-map");
            if (!secrets.isEmpty()) g.add("--secret");
            if (pinSecrets) g.add("--pin-secrets");
            return g;
        }
    }

    private KubernetesPolicyGen() {}

    /** True when the first YAML document is a Kubernetes object (apiVersion and kind), not a group spec. */
    static boolean isManifest(String text, Path file) {
        try {
            KubernetesManifest m = KubernetesManifest.parse(text, file.toString());
            return m.isKubernetes();
        } catch (ManifestException e) {
            return false;
        }
    }

    static void run(PolicyGenCommand cmd, String text) {
        Options o = cmd.k8s;
        KubernetesManifest manifest;
        List<Workload> workloads;
        try {
            manifest = KubernetesManifest.parse(text, cmd.groupFile.toString());
            workloads = manifest.workloads();
        } catch (ManifestException e) {
            throw new CofferException(e.getMessage());
        }
        List<String> ids = workloads.stream().map(Workload::id).toList();
        if (workloads.isEmpty()) {
            throw new CofferException(cmd.groupFile + ": no workload with a pod (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, "
                    + "Job, CronJob) in the file; nothing to write a policy for");
        }
        if (o.workload != null) {
            workloads = workloads.stream().filter(w -> w.id().equals(o.workload)).toList();
            if (workloads.isEmpty()) throw new CofferException(cmd.groupFile + ": no workload " + o.workload + "; the file has " + ids);
        } else if (!o.inject && workloads.size() > 1) {
            throw new CofferException(cmd.groupFile + ": the file has " + workloads.size() + " workloads " + ids
                    + "; choose one with --workload KIND/NAME, or write all into the file with --inject");
        }
        if (!o.secrets.isEmpty() && !o.pinSecrets) {
            throw new CofferException("expected --pin-secrets with --secret " + o.secrets.getFirst() + ": Secrets are given only to pin"
                    + " their files by SHA-256, which puts those digests in the pod's annotation; add --pin-secrets to accept that,"
                    + " or leave out --secret (the Secret volumes are then not pinned)");
        }
        List<KubernetesManifest> objectFiles = new ArrayList<>();
        for (Map.Entry<String, List<Path>> kind : List.of(Map.entry("ConfigMap", o.configMaps), Map.entry("Secret", o.secrets))) {
            for (Path f : kind.getValue()) {
                try {
                    objectFiles.add(KubernetesManifest.parse(java.nio.file.Files.readString(f), f.toString()).requireOnly(kind.getKey()));
                } catch (ManifestException e) {
                    throw new CofferException(e.getMessage());
                } catch (IOException e) {
                    throw new CofferException("expected a file of " + kind.getKey() + "s at " + f + ", found it unreadable: " + e.getMessage());
                }
            }
        }
        PodPolicyGenerator.Options options = new PodPolicyGenerator.Options(cmd.debugMode, o.allowPrivileged, o.pauseImage,
                cmd.allowUnencryptedScratch, objectFiles, o.pinSecrets, cmd.allowStdin);
        List<PodPolicyGenerator.Result> results = new ArrayList<>();
        try (ImageStore store = ImageStore.open(CofferHome.resolve())) {
            PodPolicyGenerator generator = new PodPolicyGenerator(new StoreImageSource(store));
            for (Workload w : workloads) results.add(generator.generate(manifest, w, options));
        } catch (ManifestException e) {
            throw new CofferException("policy not generated: " + e.getMessage());
        } catch (IOException | IllegalArgumentException e) {
            throw new CofferException("policy not generated: " + e.getMessage(), e);
        }
        PrintWriter err = cmd.spec.commandLine().getErr();
        for (PodPolicyGenerator.Result r : results) {
            for (String warning : r.warnings()) err.println("note: " + warning);
        }
        err.flush();
        if (!o.inject) {
            PodPolicyGenerator.Result r = results.getFirst();
            int containers = r.workload().podSpec().path("containers").size() + r.workload().podSpec().path("initContainers").size();
            cmd.emit(r.policy(), r.workload().id() + " (and its pause container)", containers);
            return;
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (PodPolicyGenerator.Result r : results) values.put(r.workload().id(), PodPolicyGenerator.annotationValue(r.policy()));
        String injected;
        try {
            injected = PolicyAnnotation.inject(manifest, values);
        } catch (ManifestException e) {
            throw new CofferException("annotation not written: " + e.getMessage());
        } catch (IllegalStateException e) {
            throw new CofferException("annotation not written, " + cmd.groupFile + " unchanged: " + e.getMessage());
        }
        Path target = cmd.outputFile != null ? cmd.outputFile : cmd.groupFile;
        PolicyGenCommand.write(target, injected.getBytes(StandardCharsets.UTF_8));
        PrintWriter out = cmd.spec.commandLine().getOut();
        for (PodPolicyGenerator.Result r : results) {
            out.println(r.workload().id() + ": policy written to " + target + " as " + PolicyAnnotation.KEY);
            out.println("  HOST_DATA (sha256 of the policy): " + r.policy().sha256());
        }
        if (cmd.debugMode) out.println("warning: debug-mode policy: the sandbox will be debuggable; do not release secrets to it");
        out.flush();
    }
}

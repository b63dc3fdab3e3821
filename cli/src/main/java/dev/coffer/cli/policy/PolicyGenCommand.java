package dev.coffer.cli.policy;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.policy.aci.AciGroup;
import dev.coffer.policy.aci.AciPolicyGenerator;
import dev.coffer.policy.aci.ArmTemplate;
import dev.coffer.policy.gen.GeneratedPolicy;
import dev.coffer.policy.gen.PolicyGenerator;
import dev.coffer.policy.gen.StoreImageSource;
import dev.coffer.policy.model.GroupPolicyInput;
import dev.coffer.policy.spec.GroupSpecParser;
import dev.coffer.policy.spec.SpecException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/** {@code coffer policy gen GROUP.yaml|TEMPLATE.json|MANIFEST.yaml [-o policy.rego] [--debug-mode]}. */
@Command(name = "gen",
        description = {"Generate the Rego policy (ACI schema) for a group spec: resolves each image in the",
                "local store, hashes every layer (dm-verity root hash), and pins argv, env, working",
                "directory, mounts, user, capabilities and what may be exec'd. Prints the policy's",
                "SHA-256, the HOST_DATA the sandbox must be launched with. Nothing is written if any",
                "image or layer cannot be processed. Given an ACI ARM template (the",
                "Microsoft.ContainerInstance/containerGroups resources) instead, writes the policy",
                "`az confcom acipolicygen -a` writes for it, layers hashed from the local store.",
                "Given a Kubernetes manifest (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob;",
                "several documents allowed), writes the policy of its pod template: the pause container, init",
                "containers and containers, env (valueFrom matched by pattern; secret values never pinned), volumes",
                "(emptyDir; configMap, secret, projected, downwardAPI read-only), securityContext and exec probes.",
                "What a policy cannot pin (hostNetwork, hostPath, privileged, ...) is refused by field."},
        footer = {"", "Examples:", "  coffer policy gen group.yaml -o policy.rego",
                "  coffer policy gen group.yaml --debug-mode -o debug.rego   # allows /bin/sh exec; never for production",
                "  coffer policy gen group.yaml --allow-unencrypted-scratch -o dev.rego   # process sandbox without device-mapper",
                "  coffer policy gen template.json -p parameters.json -o policy.rego   # an ACI ARM template",
                "  coffer policy gen deployment.yaml -o policy.rego                 # a Kubernetes workload",
                "  coffer policy gen app.yaml --inject                              # annotate every pod template in place",
                "  coffer policy gen app.yaml --workload Job/migrate"})
public final class PolicyGenCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP.yaml|TEMPLATE.json",
            description = "The group spec (the file `coffer run` takes), or an ACI ARM template.")
    Path groupFile;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the policy to FILE (atomically) instead of standard output.")
    Path outputFile;

    @Option(names = "--debug-mode",
            description = "Allow exec of /bin/sh in every container, stack dumps and runtime logging. The policy says so in a comment and in debug_mode := true.")
    boolean debugMode;

    @Option(names = "--allow-unencrypted-scratch",
            description = {"Let the host ask for unencrypted scratch (allow_unencrypted_scratch := true): the group's",
                    "writable layers and emptyDir volumes may then be plain files the host can read and change.",
                    "Needed only where the sandbox cannot encrypt them: the process sandbox on a host without",
                    "device-mapper (a microVM, or a host with dm-crypt, always encrypts). Same as the spec's",
                    "scratch: {allowUnencrypted: true}. Default: refused, so such a run stops before any container."})
    boolean allowUnencryptedScratch;

    @Option(names = "--allow-stdin",
            description = {"Let the host write into the stdin of the group's exec processes (allow_stdin := true):",
                    "interactive exec (kubectl exec -i). What the host writes there is host input to a confidential",
                    "process, so it is refused by default. Same as the spec's stdin: {allow: true}. Group specs and",
                    "Kubernetes manifests."})
    boolean allowStdin;

    @Option(names = {"-p", "--parameters"}, paramLabel = "PARAMETERS.json",
            description = "ARM template only: the deployment parameters file whose values override the template's defaults (as `az confcom acipolicygen -p`).")
    Path parametersFile;

    @Option(names = "--group", paramLabel = "NAME",
            description = "ARM template only: the container group to write the policy for, when the template has several.")
    String groupName;

    @Option(names = "--disable-stdio", description = "ARM template only: allow_stdio_access false for every container (as acipolicygen).")
    boolean disableStdio;

    @Option(names = "--exclude-default-fragments", description = "ARM template only: list no infrastructure fragment (as acipolicygen).")
    boolean excludeDefaultFragments;

    @Option(names = "--infrastructure-svn", paramLabel = "N",
            description = "ARM template only: the infrastructure fragment's minimum SVN (default: 1).")
    String infrastructureSvn;

    @Mixin
    KubernetesPolicyGen.Options k8s;

    @Override
    public void run() {
        String text = readIfPossible(groupFile);
        if (text != null && !isArmTemplate(text) && KubernetesPolicyGen.isManifest(text, groupFile)) {
            List<String> armOnly = armOnlyOptionsGiven();
            if (!armOnly.isEmpty()) throw new CofferException(String.join(", ", armOnly) + " applies to ARM templates only; "
                    + groupFile + " is a Kubernetes manifest");
            KubernetesPolicyGen.run(this, text);
            return;
        }
        if (!k8s.given().isEmpty()) {
            throw new CofferException(String.join(", ", k8s.given()) + " applies to Kubernetes manifests only; " + groupFile
                    + " is not one (a Kubernetes object has apiVersion and kind)");
        }
        if (text != null && isArmTemplate(text)) {
            runArm(text);
            return;
        }
        List<String> armOnly = armOnlyOptionsGiven();
        if (!armOnly.isEmpty()) {
            throw new CofferException(String.join(", ", armOnly) + " applies to ARM templates only; " + groupFile
                    + " is a group spec (an ARM template is a JSON object with a \"resources\" array)");
        }
        GroupPolicyInput group;
        try {
            group = GroupPolicyInput.of(GroupSpecParser.parse(groupFile));
            if (allowUnencryptedScratch) group = group.allowingUnencryptedScratch();
            if (allowStdin) group = group.allowingStdin();
        } catch (SpecException e) {
            throw new CofferException(e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new CofferException(groupFile + ": " + e.getMessage());
        }
        GeneratedPolicy policy;
        Path home = CofferHome.resolve();
        try (ImageStore store = ImageStore.open(home)) {
            policy = new PolicyGenerator(new StoreImageSource(store)).generate(group, debugMode);
        } catch (IOException e) {
            throw new CofferException("policy not generated: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new CofferException("policy not generated: " + e.getMessage(), e);
        }
        plaintextScratch = group.allowUnencryptedScratch();
        emit(policy, "group '" + group.name() + "'", group.containers().size());
    }

    /** The generated policy lets the host ask for unencrypted scratch (flag or spec): said when it is written. */
    private boolean plaintextScratch;

    private static final String PLAINTEXT_SCRATCH_NOTE = "note: this policy allows unencrypted scratch (allow_unencrypted_scratch"
            + " := true): where the sandbox cannot encrypt them, the group's writable layers and emptyDir volumes are plain files"
            + " on the host";

    /** The file's text, or null when it cannot be read (the group spec parser then says why). */
    private static String readIfPossible(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return null;
        }
    }

    private static String readInput(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new CofferException("cannot read " + file + ": " + e.getMessage() + "; give the group spec or ARM template to generate for");
        }
    }

    /** An ARM template is a JSON object with a "resources" array; anything else is taken for a group spec. */
    static boolean isArmTemplate(String text) {
        String t = text.stripLeading();
        if (!t.startsWith("{")) return false;
        try {
            JsonNode n = new ObjectMapper().readTree(t);
            return n != null && n.isObject() && n.path("resources").isArray();
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> armOnlyOptionsGiven() {
        List<String> given = new ArrayList<>();
        if (parametersFile != null) given.add("--parameters");
        if (groupName != null) given.add("--group");
        if (disableStdio) given.add("--disable-stdio");
        if (excludeDefaultFragments) given.add("--exclude-default-fragments");
        if (infrastructureSvn != null) given.add("--infrastructure-svn");
        return given;
    }

    /** The policy `az confcom acipolicygen -a` writes for the template's container group, layers hashed from the store. */
    private void runArm(String templateText) {
        if (allowStdin) {
            throw new CofferException("--allow-stdin applies to group specs and Kubernetes manifests only; " + groupFile
                    + " is an ARM template, whose policy (as acipolicygen writes it) has no allow_stdin");
        }
        if (allowUnencryptedScratch) {
            // acipolicygen always writes allow_unencrypted_scratch := false; ACI encrypts its scratch itself
            throw new CofferException("--allow-unencrypted-scratch applies to group specs and Kubernetes manifests only; " + groupFile
                    + " is an ARM template, whose policy (as acipolicygen writes it) never allows unencrypted scratch");
        }
        AciGroup group;
        AciPolicyGenerator.Options options;
        try {
            List<AciGroup> groups = ArmTemplate.parse(templateText, parametersFile == null ? null : readInput(parametersFile),
                    groupFile.toString());
            List<String> names = groups.stream().map(AciGroup::name).toList();
            if (groupName != null) {
                group = groups.stream().filter(g -> g.name().equals(groupName)).findFirst().orElseThrow(() -> new CofferException(
                        groupFile + ": no container group named '" + groupName + "'; the template has " + names));
            } else if (groups.size() > 1) {
                throw new CofferException(groupFile + ": the template has " + groups.size() + " container groups " + names
                        + "; choose one with --group NAME");
            } else {
                group = groups.getFirst();
            }
            options = new AciPolicyGenerator.Options(debugMode, disableStdio, excludeDefaultFragments, infrastructureSvn);
        } catch (IllegalArgumentException e) {
            throw new CofferException(e.getMessage());
        }
        GeneratedPolicy policy;
        try (ImageStore store = ImageStore.open(CofferHome.resolve())) {
            policy = new AciPolicyGenerator(new StoreImageSource(store)).generate(group, options);
        } catch (IOException | IllegalArgumentException e) {
            throw new CofferException("policy not generated: " + e.getMessage(), e);
        }
        emit(policy, "ACI container group '" + group.name() + "'", group.containers().size());
    }

    void emit(GeneratedPolicy policy, String what, int containers) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (outputFile == null) {
            out.print(policy.text());
            out.flush();
            err.println("HOST_DATA (sha256 of the policy): " + policy.sha256());
            if (debugMode) err.println("warning: debug-mode policy: the sandbox will be debuggable; do not release secrets to it");
            if (plaintextScratch) err.println(PLAINTEXT_SCRATCH_NOTE);
            err.flush();
            return;
        }
        write(outputFile, policy.bytes());
        out.println("policy for " + what + " (" + containers + " container" + (containers == 1 ? "" : "s") + ") written to " + outputFile);
        out.println("HOST_DATA (sha256 of the policy): " + policy.sha256());
        if (debugMode) out.println("warning: debug-mode policy: the sandbox will be debuggable; do not release secrets to it");
        if (plaintextScratch) out.println(PLAINTEXT_SCRATCH_NOTE);
        out.flush();
    }

    /** Temp file + rename: a reader never sees half a policy, and a failure leaves no file. */
    static void write(Path target, byte[] bytes) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new CofferException("cannot write policy to " + target + ": " + e.getMessage()
                    + "; choose a writable path with -o");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the temp file name starts with '.', and the real file is already in place or absent
                }
            }
        }
    }
}

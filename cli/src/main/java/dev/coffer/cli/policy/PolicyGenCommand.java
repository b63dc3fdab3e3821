package dev.coffer.cli.policy;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.oci.store.ImageStore;
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

/** {@code coffer policy gen GROUP.yaml [-o policy.rego] [--debug-mode]}. */
@Command(name = "gen",
        description = {"Generate the Rego policy (ACI schema) for a group spec: resolves each image in the",
                "local store, hashes every layer (dm-verity root hash), and pins argv, env, working",
                "directory, mounts, user, capabilities and what may be exec'd. Prints the policy's",
                "SHA-256, the HOST_DATA the sandbox must be launched with. Nothing is written if any",
                "image or layer cannot be processed."},
        footer = {"", "Examples:", "  coffer policy gen group.yaml -o policy.rego",
                "  coffer policy gen group.yaml --debug-mode -o debug.rego   # allows /bin/sh exec; never for production"})
public final class PolicyGenCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "GROUP.yaml", description = "The group spec (the file `coffer run` takes).")
    Path groupFile;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE",
            description = "Write the policy to FILE (atomically) instead of standard output.")
    Path outputFile;

    @Option(names = "--debug-mode",
            description = "Allow exec of /bin/sh in every container, stack dumps and runtime logging. The policy says so in a comment and in debug_mode := true.")
    boolean debugMode;

    @Override
    public void run() {
        GroupPolicyInput group;
        try {
            group = GroupPolicyInput.of(GroupSpecParser.parse(groupFile));
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
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (outputFile == null) {
            out.print(policy.text());
            out.flush();
            err.println("HOST_DATA (sha256 of the policy): " + policy.sha256());
            if (debugMode) err.println("warning: debug-mode policy: the sandbox will be debuggable; do not release secrets to it");
            err.flush();
            return;
        }
        write(outputFile, policy.bytes());
        out.println("policy for group '" + group.name() + "' (" + group.containers().size() + " container"
                + (group.containers().size() == 1 ? "" : "s") + ") written to " + outputFile);
        out.println("HOST_DATA (sha256 of the policy): " + policy.sha256());
        if (debugMode) out.println("warning: debug-mode policy: the sandbox will be debuggable; do not release secrets to it");
        out.flush();
    }

    /** Temp file + rename: a reader never sees half a policy, and a failure leaves no file. */
    private static void write(Path target, byte[] bytes) {
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

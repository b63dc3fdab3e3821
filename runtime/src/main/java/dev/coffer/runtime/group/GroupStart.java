package dev.coffer.runtime.group;

import dev.coffer.agent.protocol.AgentClient;
import dev.coffer.agent.protocol.Request;
import dev.coffer.agent.protocol.Result;
import dev.coffer.policy.spec.GroupSpec;
import dev.coffer.runtime.sandbox.Sandbox;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The third step of a group's life: in a launched sandbox, the group's state is recorded
 * (starting), the layers, encrypted volumes and scratch are mounted, every container is created
 * and then started in spec order, and the state says running. It owns state.json and the startup
 * times from here on; a failure leaves the launch to be abandoned by the caller.
 */
final class GroupStart {
    private GroupStart() {}

    static GroupHandle start(GroupManager manager, LaunchedGroup launched) throws IOException {
        PreparedGroup prepared = launched.prepared();
        GroupSpec spec = prepared.spec();
        Sandbox sandbox = launched.sandbox();
        Path dir = launched.dir();
        try (AgentClient agent = sandbox.connect()) {
            Result.Properties props = agent.call(new Request.GetProperties(), Result.Properties.class);
            GroupState state = new GroupState(spec.name(), GroupState.STARTING, prepared.backend().name(), props.enforcer(),
                    props.ociRuntime(), prepared.options().specFile(), Instant.now().toString(), null, sandbox.record(), List.of(),
                    props.policySha256(), props.debuggable(), props.layerVerification(), sandbox.record().tee(),
                    sandbox.record().measurement(), sandbox.record().hostData(), props.skrPort());
            state.write(dir.resolve("state.json"));

            long t = System.nanoTime();
            ContainerSetup setup = new ContainerSetup(sandbox, agent);
            setup.mountLayers(prepared.disks());
            // encrypted volumes before any container: the agent releases each key with this sandbox's evidence
            List<PreparedGroup.EncryptedMount> encrypted = prepared.encrypted();
            for (int i = 0; i < encrypted.size(); i++) {
                PreparedGroup.EncryptedMount v = encrypted.get(i);
                try {
                    agent.call(new Request.MountEncryptedVolume(v.name(), v.source(), v.key(), v.authority(), v.vault(),
                            v.readOnly(), v.headerDigest(), v.integrity(), sandbox.volumeSource(prepared.volumeDisks().get(i))),
                            Result.Done.class);
                } catch (AgentClient.AgentCallException e) {
                    throw new GroupException("encrypted volume " + v.name() + " was not opened: " + e.failure().reason(), e);
                }
            }
            scratchMount(spec, sandbox, agent, Path.of(sandbox.record().agentStateDir()).resolve("scratch"), dir);
            long mounted = System.nanoTime();
            List<ContainerRecord> records = new ArrayList<>();
            java.util.Set<String> encryptedNames = new java.util.HashSet<>();
            for (PreparedGroup.EncryptedMount v : encrypted) encryptedNames.add(v.name());
            for (GroupSpec.ContainerSpec c : spec.containers()) {
                records.add(setup.create(spec.name(), c, prepared.images().get(c.name()), ContainerSetup.mounts(c, encryptedNames)));
            }
            long created = System.nanoTime();
            for (int i = 0; i < records.size(); i++) {
                ContainerRecord r = records.get(i);
                try {
                    Result.ContainerStatus started = agent.call(new Request.StartContainer(r.name()), Result.ContainerStatus.class);
                    records.set(i, r.with(started.state(), started.pid(), started.exitCode()));
                } catch (AgentClient.AgentCallException e) {
                    throw new GroupException("container " + r.name() + " did not start: " + e.failure().reason(), e);
                }
            }
            long started = System.nanoTime();
            state = state.withStatus(GroupState.RUNNING, null, records);
            state.write(dir.resolve("state.json"));
            new StartupTimes(prepared.backend().name(), prepared.prepareMs(), launched.sandboxMs(), ms(mounted - t),
                    ms(created - mounted), ms(started - created), sandbox.bootMarks(), sandbox.bootNotes()).write(dir);
            return new GroupHandle(manager, spec.name(), prepared.backend().isolationNotice(), props.ociRuntime(), props.enforcer());
        }
    }

    /**
     * Sets up the group's scratch, before any writable layer (the agent refuses them until it
     * exists, in every sandbox): encrypted where the sandbox can, else unencrypted, which the
     * policy allows or refuses (allow_unencrypted_scratch). What was made is recorded in the
     * group's directory ({@link ScratchRecord}), so reports say it and never claim encryption
     * that did not happen.
     */
    private static void scratchMount(GroupSpec spec, Sandbox sandbox, AgentClient agent, Path target, Path dir)
            throws IOException {
        String cannotEncrypt = sandbox.encryptedScratchUnavailable();
        try {
            agent.call(new Request.ScratchMount(target.toString(), cannotEncrypt == null), Result.Done.class);
        } catch (AgentClient.AgentCallException e) {
            if (cannotEncrypt == null) {
                throw new GroupException("the group's encrypted scratch was not set up: " + e.failure().reason(), e);
            }
            throw new GroupException("expected the policy to allow unencrypted scratch (allow_unencrypted_scratch := true), found it"
                    + " refused: " + e.failure().reason() + ". This sandbox cannot encrypt the group's writable layers and emptyDir"
                    + " volumes (" + cannotEncrypt + "), so they would be plain files on the host. Run on a host with"
                    + " device-mapper or with --isolation microvm; or, to accept plaintext scratch, set scratch: {allowUnencrypted:"
                    + " true} in the spec of group " + spec.name() + " (or `coffer policy gen --allow-unencrypted-scratch`)", e);
        }
        new ScratchRecord(cannotEncrypt == null, cannotEncrypt).write(dir);
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}

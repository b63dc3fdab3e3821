package dev.coffer.cli;

import java.util.List;
import java.util.Optional;

/**
 * The subcommands of {@code coffer}, in the order {@code coffer --help} lists them. Each is named by
 * its class, not built: picocli's model of a command (every option, mixin and nested subcommand, read
 * by reflection) costs most of a short command's start, so {@link Main#run} builds only the one the
 * arguments invoke.
 */
final class Subcommands {
    private Subcommands() {}

    /**
     * A subcommand: the word that invokes it and its {@code @Command} class. The name repeats the
     * class's {@code @Command(name = ...)} so that choosing one needs no reflection; {@link Main}
     * refuses to start a command whose annotation says otherwise, and SubcommandsTest checks every one.
     */
    record Entry(String name, Class<?> type) {}

    static final List<Entry> ALL = List.of(
            new Entry("demo", dev.coffer.cli.demo.DemoCommand.class),
            new Entry("run", dev.coffer.cli.group.RunCommand.class),
            new Entry("ps", dev.coffer.cli.group.PsCommand.class),
            new Entry("logs", dev.coffer.cli.group.LogsCommand.class),
            new Entry("exec", dev.coffer.cli.group.ExecCommand.class),
            new Entry("stop", dev.coffer.cli.group.StopCommand.class),
            new Entry("rm", dev.coffer.cli.group.RmCommand.class),
            new Entry("image", dev.coffer.cli.image.ImageCommand.class),
            new Entry("layer", dev.coffer.cli.layer.LayerCommand.class),
            new Entry("policy", dev.coffer.cli.policy.PolicyCommand.class),
            new Entry("rego", dev.coffer.cli.rego.RegoCommand.class),
            new Entry("attest", dev.coffer.cli.attest.AttestCommand.class),
            new Entry("server", dev.coffer.cli.server.ServerCommand.class),
            new Entry("key", dev.coffer.cli.key.KeyCommand.class),
            new Entry("volume", dev.coffer.cli.volume.VolumeCommand.class),
            new Entry("guest", dev.coffer.cli.guest.GuestCommand.class),
            new Entry("k8s", dev.coffer.cli.k8s.K8sCommand.class),
            new Entry("doctor", dev.coffer.cli.doctor.DoctorCommand.class));

    static Optional<Entry> named(String name) {
        for (Entry e : ALL) {
            if (e.name().equals(name)) return Optional.of(e);
        }
        return Optional.empty();
    }
}

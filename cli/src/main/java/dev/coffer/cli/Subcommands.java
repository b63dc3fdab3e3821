package dev.coffer.cli;

import java.util.List;

/** The subcommands of {@code coffer}, in the order {@code coffer --help} lists them. */
final class Subcommands {
    private Subcommands() {}

    static List<Object> all() {
        return List.of(
                new dev.coffer.cli.demo.DemoCommand(),
                new dev.coffer.cli.group.RunCommand(),
                new dev.coffer.cli.group.PsCommand(),
                new dev.coffer.cli.group.LogsCommand(),
                new dev.coffer.cli.group.ExecCommand(),
                new dev.coffer.cli.group.StopCommand(),
                new dev.coffer.cli.group.RmCommand(),
                new dev.coffer.cli.image.ImageCommand(),
                new dev.coffer.cli.layer.LayerCommand(),
                new dev.coffer.cli.policy.PolicyCommand(),
                new dev.coffer.cli.rego.RegoCommand(),
                new dev.coffer.cli.attest.AttestCommand(),
                new dev.coffer.cli.server.ServerCommand(),
                new dev.coffer.cli.key.KeyCommand(),
                new dev.coffer.cli.volume.VolumeCommand(),
                new dev.coffer.cli.guest.GuestCommand(),
                new dev.coffer.cli.k8s.K8sCommand(),
                new dev.coffer.cli.doctor.DoctorCommand());
    }
}

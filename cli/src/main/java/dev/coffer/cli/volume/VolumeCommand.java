package dev.coffer.cli.volume;

import dev.coffer.cli.CommonOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code coffer volume}: encrypted volumes keyed by vault keys. */
@Command(name = "volume", mixinStandardHelpOptions = true,
        description = {"Encrypted volumes: LUKS2 (aes-xts-plain64, 4 KiB sectors) holding ext4, keyed by a vault key",
                "that only groups satisfying its release policy can release."},
        subcommands = {VolumeCreateCommand.class},
        footer = {"", "Example:", "  coffer volume create data.img --size 64M --key data-key --policy release-policy.json"})
public final class VolumeCommand implements Runnable {
    @Mixin
    CommonOptions common;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}

package dev.coffer.cli.layer;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.layer.InvalidLayerException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Supplier;

/** {@code coffer layer}: layer tar to dm-verity root hash and layer disk. */
@Command(name = "layer", mixinStandardHelpOptions = true,
        description = {"Turn a layer tar (plain, gzip or zstd) into the read-only ext4 disk a sandbox mounts with",
                "dm-verity, and compute its root hash: the value policies pin. Hashes match Azure's",
                "confidential-container tooling (dmverity-vhd) for the same tar."},
        subcommands = {HashCommand.class, BuildCommand.class, BenchCommand.class},
        footer = {"", "Examples:",
                "  coffer layer hash layer.tar.gz",
                "  coffer layer build layer.tar -o layer.disk",
                "  coffer layer bench --size-mb 512"})
public final class LayerCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    private final Supplier<Path> home;

    public LayerCommand() {
        this(CofferHome::resolve);
    }

    /** With another Coffer home (tests). */
    public LayerCommand(Supplier<Path> home) {
        this.home = home;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Built disks live here, named by diffID. */
    Path cacheDir() {
        return home.get().resolve("layers");
    }

    /** Layer errors already say what, found and what to do: pass them on. */
    static CofferException failure(Path input, IOException e) {
        if (e instanceof InvalidLayerException) {
            return new CofferException(input + ": " + e.getMessage(), e);
        }
        if (e instanceof NoSuchFileException) {
            return new CofferException("no such file: " + e.getMessage() + "; give the path of a layer tar", e);
        }
        return new CofferException("I/O error on " + input + ": " + e.getMessage()
                + "; check the path, disk space and permissions", e);
    }
}

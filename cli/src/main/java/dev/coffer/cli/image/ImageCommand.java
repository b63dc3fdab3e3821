package dev.coffer.cli.image;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.UsageException;
import dev.coffer.oci.OciException;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.ImageStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/** {@code coffer image}: the local image store (import, pull, ls, inspect, rm). */
@Command(name = "image",
        description = {"Manage OCI images in the local store ($COFFER_HOME/oci): import archives, pull from",
                "registries, list, inspect and remove. Every blob is verified against its digest when",
                "stored and again when used."},
        subcommands = {ImportCommand.class, PullCommand.class, ListCommand.class, InspectCommand.class,
                RemoveCommand.class},
        footer = {"", "Examples:",
                "  coffer image import busybox.tar",
                "  coffer image pull 127.0.0.1:5000/team/app:1",
                "  coffer image ls -o json"})
public final class ImageCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    private final Supplier<Path> home;

    public ImageCommand() {
        this(CofferHome::resolve);
    }

    /** With another Coffer home (tests). */
    public ImageCommand(Supplier<Path> home) {
        this.home = home;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    ImageStore openStore() {
        Path h = home.get();
        try {
            return ImageStore.open(h);
        } catch (IOException e) {
            throw new CofferException("cannot open the image store under " + h + "/oci (" + e.getMessage()
                    + "); check that COFFER_HOME is a writable directory", e);
        }
    }

    static ImageReference parseReference(String text) {
        try {
            return ImageReference.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** OCI errors already say what, found and what to do: pass the message on as is. */
    static CofferException failure(IOException e) {
        if (e instanceof OciException) {
            return new CofferException(e.getMessage(), e);
        }
        return new CofferException("I/O error in the image store: " + e.getMessage()
                + "; check disk space and permissions of COFFER_HOME", e);
    }
}

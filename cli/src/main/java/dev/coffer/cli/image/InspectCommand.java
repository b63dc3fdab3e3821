package dev.coffer.cli.image;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.Progress;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LayerBlob;
import dev.coffer.oci.store.LocalImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;

@Command(name = "inspect",
        description = "Show an image's digests, layers and run configuration.",
        footer = {"", "Examples:", "  coffer image inspect busybox:1.36", "  coffer image inspect 3f2a9c1b -o json"})
final class InspectCommand implements Runnable {
    @ParentCommand
    ImageCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Mixin
    OutputOption output;

    @Parameters(index = "0", paramLabel = "REF|ID", description = "Image reference or id prefix (4+ hex digits).")
    String image;

    @Override
    public void run() {
        LocalImage img;
        try (ImageStore store = parent.openStore()) {
            img = store.resolve(image);
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, ImageViews.detail(img));
            return;
        }
        out.printf("Reference:    %s%n", img.reference());
        out.printf("Id:           %s%n", img.id());
        out.printf("Manifest:     %s%n", img.manifestDigest());
        out.printf("Config:       %s%n", img.configDigest());
        out.printf("Platform:     %s/%s%n", img.config().os(), img.config().architecture());
        out.printf("Size:         %s%n", Progress.humanBytes(img.size()));
        out.printf("Created:      %s%n", img.created());
        out.printf("Entrypoint:   %s%n", img.config().entrypoint());
        out.printf("Cmd:          %s%n", img.config().cmd());
        out.printf("WorkingDir:   %s%n", img.config().workingDir().isEmpty() ? "/" : img.config().workingDir());
        out.printf("User:         %s%n", img.config().user().isEmpty() ? "(image default: root)" : img.config().user());
        out.printf("Env:          %s%n", img.config().env());
        if (!img.config().exposedPorts().isEmpty()) out.printf("Ports:        %s%n", img.config().exposedPorts());
        if (!img.config().labels().isEmpty()) out.printf("Labels:       %s%n", img.config().labels());
        out.printf("Layers:       %d (base first)%n", img.layers().size());
        for (LayerBlob l : img.layers()) {
            out.printf("  %s  %10s  %s%n", l.digest(), Progress.humanBytes(l.size()), l.mediaType());
        }
        out.flush();
    }
}

package dev.coffer.cli.image;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.Progress;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.ImageStore;
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
import java.nio.file.Path;
import java.util.List;

@Command(name = "import",
        description = {"Import an OCI image layout (directory or tar) or a 'docker save' archive.",
                "A multi-platform index imports its linux/amd64 image. Every blob is checked against",
                "its digest; if anything is wrong nothing is imported."},
        footer = {"", "Examples:",
                "  docker save busybox:1.36 -o busybox.tar && coffer image import busybox.tar",
                "  coffer image import ./layout-dir --name coffer.local/demo:1"})
final class ImportCommand implements Runnable {
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

    @Parameters(index = "0", paramLabel = "FILE", description = "OCI layout directory or tar, or docker save tar (may be gzipped).")
    Path file;

    @Option(names = "--name", paramLabel = "REF",
            description = "Name to store the image under (needed when the archive carries only a tag or no name).")
    String name;

    @Override
    public void run() {
        ImageReference ref = name == null ? null : ImageCommand.parseReference(name);
        List<LocalImage> images;
        try (ImageStore store = parent.openStore(); ImageViews.Bar bar = new ImageViews.Bar()) {
            images = store.importAll(file, ref, bar);
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, images.stream().map(ImageViews::summary).toList());
            return;
        }
        for (LocalImage img : images) {
            out.printf("Imported %s (id %s, %d layers, %s)%n", img.reference(), img.id(), img.layers().size(),
                    Progress.humanBytes(img.size()));
        }
        out.flush();
    }
}

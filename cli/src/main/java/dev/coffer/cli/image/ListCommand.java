package dev.coffer.cli.image;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.Progress;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;

@Command(name = "ls", mixinStandardHelpOptions = true, aliases = "list",
        description = "List the images in the local store.",
        footer = {"", "Examples:", "  coffer image ls", "  coffer image ls -o json"})
final class ListCommand implements Runnable {
    @ParentCommand
    ImageCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    OutputOption output;

    @Override
    public void run() {
        List<LocalImage> images;
        try (ImageStore store = parent.openStore()) {
            images = store.list();
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, images.stream().map(ImageViews::summary).toList());
            return;
        }
        if (images.isEmpty()) {
            out.println("No images. Add one with 'coffer image import FILE' or 'coffer image pull REF'.");
            out.flush();
            return;
        }
        int width = Math.max("REFERENCE".length(), images.stream().mapToInt(i -> i.reference().toString().length()).max().orElse(0));
        String format = "%-" + width + "s  %-12s  %6s  %10s  %s%n";
        out.printf(format, "REFERENCE", "ID", "LAYERS", "SIZE", "CREATED");
        for (LocalImage img : images) {
            out.printf(format, img.reference(), img.id(), img.layers().size(), Progress.humanBytes(img.size()),
                    img.created().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        }
        out.flush();
    }
}

package dev.coffer.cli.image;

import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.Progress;
import dev.coffer.oci.store.ImageStore;
import dev.coffer.oci.store.LocalImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;

@Command(name = "ls", aliases = "list",
        description = "List the images in the local store.",
        footer = {"", "Examples:", "  coffer image ls", "  coffer image ls -o json"})
final class ListCommand implements Runnable {
    private static java.util.Map<String, Object> json(ImageStore.Listing l) {
        if (l.ok()) return ImageViews.summary(l.image());
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("reference", l.reference().toString());
        m.put("id", l.manifestDigest().shortHex());
        m.put("manifestDigest", l.manifestDigest().toString());
        m.put("created", l.created().toString());
        m.put("problem", l.problem());
        return m;
    }

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

    @Override
    public void run() {
        List<ImageStore.Listing> images;
        try (ImageStore store = parent.openStore()) {
            images = store.listAll();
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, images.stream().map(ListCommand::json).toList());
            return;
        }
        if (images.isEmpty()) {
            out.println("No images. Add one with 'coffer image import FILE' or 'coffer image pull REF'.");
            out.flush();
            return;
        }
        int width = Math.max("REFERENCE".length(),
                images.stream().mapToInt(i -> i.reference().toString().length()).max().orElse(0));
        String format = "%-" + width + "s  %-12s  %6s  %10s  %s%n";
        out.printf(format, "REFERENCE", "ID", "LAYERS", "SIZE", "CREATED");
        for (ImageStore.Listing l : images) {
            String created = l.created().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString();
            if (l.ok()) {
                LocalImage img = l.image();
                out.printf(format, img.reference(), img.id(), img.layers().size(), Progress.humanBytes(img.size()), created);
            } else {
                out.printf(format, l.reference(), l.manifestDigest().shortHex(), "-", "BROKEN", created);
                out.printf("  ! %s%n", l.problem());
            }
        }
        out.flush();
    }
}

package dev.coffer.cli.image;

import dev.coffer.cli.CommonOptions;
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
import java.util.List;

@Command(name = "rm", aliases = "remove",
        description = {"Remove images from the local store.",
                "A reference removes that name; an id removes every name of the image.",
                "Blobs that no remaining image uses are deleted."},
        footer = {"", "Examples:", "  coffer image rm busybox:1.36", "  coffer image rm 3f2a9c1b"})
final class RemoveCommand implements Runnable {
    @ParentCommand
    ImageCommand parent;

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Parameters(arity = "1..*", paramLabel = "REF|ID", description = "Image references or id prefixes.")
    List<String> images;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        try (ImageStore store = parent.openStore()) {
            for (String image : images) {
                for (LocalImage removed : store.remove(image)) {
                    out.printf("Removed %s (id %s)%n", removed.reference(), removed.id());
                }
            }
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        } finally {
            out.flush();
        }
    }
}

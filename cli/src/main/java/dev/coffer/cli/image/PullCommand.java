package dev.coffer.cli.image;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.cli.Progress;
import dev.coffer.oci.OciException;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.registry.RegistryClient;
import dev.coffer.oci.registry.RegistryCredentials;
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
import java.util.Map;

@Command(name = "pull",
        description = {"Pull an image from an OCI distribution registry (Docker Hub, GHCR, a private one).",
                "An index resolves to linux/amd64. Transient failures are retried with backoff and",
                "interrupted downloads resume; on failure nothing is left in the store.",
                "",
                "Credentials (never printed): --credentials FILE or $COFFER_REGISTRY_AUTH_FILE (docker",
                "config.json 'auths' format), else COFFER_REGISTRY_USER and COFFER_REGISTRY_PASSWORD,",
                "else anonymous. Registries on 127.0.0.1/localhost are spoken to over plain http."},
        footer = {"", "Examples:",
                "  coffer image pull 127.0.0.1:5000/team/app:1",
                "  coffer image pull registry.example:5000/app@sha256:<digest> --credentials ~/.docker/config.json",
                "  COFFER_REGISTRY_USER=me COFFER_REGISTRY_PASSWORD=... coffer image pull ghcr.io/me/app:2"})
final class PullCommand implements Runnable {
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

    @Parameters(index = "0", paramLabel = "REF", description = "Image reference: [registry/]repository[:tag][@sha256:...].")
    String reference;

    @Option(names = "--credentials", paramLabel = "FILE",
            description = "Credentials file in docker config.json format ({\"auths\": {\"host:port\": {\"auth\": ...}}}).")
    Path credentials;

    @Option(names = "--insecure", description = "Use plain http even for a registry that is not on this machine.")
    boolean insecure;

    @Option(names = "--retries", paramLabel = "N", defaultValue = "5",
            description = "Attempts per request on transient errors (default: ${DEFAULT-VALUE}).")
    int retries;

    /** The environment, read once; tests give their own. */
    Map<String, String> environment = System.getenv();

    @Override
    public void run() {
        ImageReference ref = ImageCommand.parseReference(reference);
        if (retries < 1 || retries > 20) {
            throw new dev.coffer.cli.UsageException("--retries expects 1 to 20 attempts, found " + retries);
        }
        RegistryCredentials creds;
        try {
            creds = RegistryCredentials.resolve(ref.registry(), credentials, environment);
        } catch (OciException e) {
            throw new CofferException(e.getMessage(), e);
        }
        RegistryClient.Options options = RegistryClient.Options.defaults().withInsecure(insecure)
                .withRetries(retries, RegistryClient.Options.defaults().initialBackoff());
        LocalImage img;
        try (ImageStore store = parent.openStore(); RegistryClient client = new RegistryClient(options);
             ImageViews.Bar bar = new ImageViews.Bar()) {
            img = store.pull(ref, creds, bar, client);
        } catch (IOException e) {
            throw ImageCommand.failure(e);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Json.print(out, ImageViews.summary(img));
            return;
        }
        out.printf("Pulled %s (id %s, manifest %s, %d layers, %s)%n", img.reference(), img.id(),
                img.manifestDigest(), img.layers().size(), Progress.humanBytes(img.size()));
        out.flush();
    }
}

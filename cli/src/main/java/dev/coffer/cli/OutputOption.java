package dev.coffer.cli;

import picocli.CommandLine.Option;

/** {@code -o text|json} for every listing and inspect command: {@code @Mixin OutputOption output;}. */
public final class OutputOption {
    public enum Format { text, json }

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
            description = "Output format: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    public Format format = Format.text;

    public boolean json() {
        return format == Format.json;
    }
}

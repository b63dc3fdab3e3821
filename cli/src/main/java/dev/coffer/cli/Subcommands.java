package dev.coffer.cli;

import java.util.List;

/** The subcommands of {@code coffer}, in the order {@code coffer --help} lists them. */
final class Subcommands {
    private Subcommands() {}

    static List<Object> all() {
        return List.of();
    }
}

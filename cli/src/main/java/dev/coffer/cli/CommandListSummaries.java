package dev.coffer.cli;

import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;

import java.util.Map;

/**
 * The "Commands:" list of every help page shows each subcommand's first sentence, wrapped. Picocli's
 * own list shows the first line of the description as the source breaks it, which cuts most of our
 * descriptions mid-sentence ("Start the container group described by GROUP.yaml in a sandbox: the
 * agent starts as"). The first sentence is what each description is written to lead with.
 */
final class CommandListSummaries {
    private CommandListSummaries() {}

    /** Installs the summary list on this command and every command below it. */
    static void installEverywhere(CommandLine cmd) {
        if (!cmd.getSubcommands().isEmpty()) {
            cmd.getHelpSectionMap().put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST,
                    CommandListSummaries::render);
        }
        for (CommandLine sub : cmd.getSubcommands().values()) {
            installEverywhere(sub);
        }
    }

    private static String render(Help help) {
        Map<String, Help> subcommands = help.subcommands();
        if (subcommands.isEmpty()) return "";
        int nameWidth = 0;
        for (var e : subcommands.entrySet()) {
            if (!e.getValue().commandSpec().usageMessage().hidden()) {
                nameWidth = Math.max(nameWidth, names(e.getValue()).length());
            }
        }
        int width = help.commandSpec().usageMessage().width();
        nameWidth = Math.min(nameWidth + 4, width / 3);
        TextTable table = TextTable.forColumns(help.colorScheme(),
                new Column(nameWidth, 2, Column.Overflow.SPAN),
                new Column(width - nameWidth, 0, Column.Overflow.WRAP));
        for (var e : subcommands.entrySet()) {
            Help sub = e.getValue();
            if (sub.commandSpec().usageMessage().hidden()) continue;
            table.addRowValues(names(sub), summary(sub.commandSpec().usageMessage()));
        }
        return table.toString();
    }

    /** A command's header where it declares one (picocli's own help command does), else its first sentence. */
    private static String summary(CommandLine.Model.UsageMessageSpec usage) {
        String[] header = usage.header();
        return firstSentence(String.join(" ", header.length > 0 ? header : usage.description()));
    }

    private static String names(Help sub) {
        return String.join(", ", sub.commandSpec().names());
    }

    /**
     * The text up to the first full stop that ends a sentence: one followed by white space and a
     * capital letter, or by nothing ("e.g. the" and "v1.2" do not end one). Line breaks count as
     * spaces.
     */
    static String firstSentence(String description) {
        String text = description.replace("%n", " ").replaceAll("\\s+", " ").strip();
        for (int i = text.indexOf('.'); i >= 0; i = text.indexOf('.', i + 1)) {
            boolean last = i == text.length() - 1;
            boolean beforeSentence = i + 2 < text.length() && text.charAt(i + 1) == ' '
                    && Character.isUpperCase(text.charAt(i + 2));
            if (last || beforeSentence) return text.substring(0, i + 1);
        }
        return text;
    }
}

package dev.coffer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every help page lists its subcommands by a whole first sentence, never a line cut mid-sentence. */
class CommandListSummariesTest {

    @Test
    void firstSentenceEndsAtAFullStopBeforeACapitalOrTheEnd() {
        assertEquals("List groups.", CommandListSummaries.firstSentence("List groups. Asks each agent."));
        assertEquals("Verify it, e.g. the chain.", CommandListSummaries.firstSentence("Verify it, e.g. the chain."));
        assertEquals("Uses v1.2 of it.", CommandListSummaries.firstSentence("Uses v1.2 of it.%nMore here."));
        assertEquals("Spans two lines.", CommandListSummaries.firstSentence("Spans\n   two lines. Then more."));
        assertEquals("no full stop", CommandListSummaries.firstSentence("no full stop"));
    }

    @Test
    void everyCommandListShowsEachSubcommandsWholeFirstSentence() {
        List<String> checked = new ArrayList<>();
        check(Main.commandLine(), checked);
        assertTrue(checked.size() > 30, "command lists checked: " + checked);
    }

    private static void check(CommandLine cmd, List<String> checked) {
        if (cmd.getSubcommands().isEmpty()) return;
        StringWriter out = new StringWriter();
        cmd.usage(new PrintWriter(out));
        // picocli may wrap a word after a '.' or '/' too: compare with white space left out
        String help = out.toString().replaceAll("\\s+", "");
        cmd.getSubcommands().forEach((name, sub) -> {
            if (!sub.getCommandSpec().name().equals(name)) return; // an alias, listed with its command
            CommandLine.Model.UsageMessageSpec usage = sub.getCommandSpec().usageMessage();
            String source = String.join(" ", usage.header().length > 0 ? usage.header() : usage.description());
            String summary = CommandListSummaries.firstSentence(source);
            String where = cmd.getCommandSpec().qualifiedName() + " --help, entry " + name;
            assertTrue(summary.endsWith("."), where + ": the summary does not end a sentence: " + summary);
            assertTrue(help.contains((String.join(",", sub.getCommandSpec().names()) + summary).replaceAll("\\s+", "")), where + " should read: " + summary + "\nbut the help was:\n" + out);
            checked.add(cmd.getCommandSpec().qualifiedName() + " " + name);
            check(sub, checked);
        });
    }
}

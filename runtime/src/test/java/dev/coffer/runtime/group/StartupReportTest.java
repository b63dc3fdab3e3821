package dev.coffer.runtime.group;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The `coffer run --startup-report` split: phases that add up, beside the bare boot. */
class StartupReportTest {
    private static final StartupTimes MICROVM = new StartupTimes("microvm", 300, 29_500, 1_100, 1_500, 900,
            Map.of("started", 2_400L, "agent-starting", 5_200L, "agent-jvm-started", 9_100L, "agent-listening", 25_400L),
            "tee=3687ms policy=4496ms oci-runtime=597ms netns=223ms skr=11ms");

    @Test
    void topLevelPhasesAddUpToTheTimeToFirstOutputAndTheBareBootIsSubtracted() {
        StartupReport r = new StartupReport(MICROVM, 700, 2_300L, 400L);
        assertEquals(700 + 300 + 29_500 + 1_100 + 1_500 + 900 + 400, r.totalMs());
        assertEquals(r.totalMs(), r.rows().stream().filter(x -> x.depth() == 1).mapToLong(StartupReport.Row::ms).sum());
        assertEquals(r.totalMs() - 2_300, r.cofferOwnMs());
        List<String> phases = r.rows().stream().map(StartupReport.Row::phase).toList();
        // the split: VM boot, agent start, policy load, layer mount, container start
        for (String p : List.of("VM boot: kernel to init", "agent start: JVM", "policy load (parse, compile, HOST_DATA check)",
                "layer mount", "container start", "until the first container output")) {
            assertTrue(phases.contains(p), p + " in " + phases);
        }
        // the sandbox's depth-2 rows cover it: guest marks plus what QEMU and the first answer took
        long sandboxSplit = r.rows().stream().filter(x -> x.depth() == 2).mapToLong(StartupReport.Row::ms).sum();
        assertEquals(29_500, sandboxSplit);
        // the agent's init: its phases plus the rest, which is never negative
        long init = 25_400 - 9_100;
        long agent = r.rows().stream().filter(x -> x.depth() == 3).mapToLong(StartupReport.Row::ms).sum();
        assertEquals(init, agent);

        String text = r.render("web");
        assertTrue(text.startsWith("startup of group web (microvm), from `coffer run` to the first container output: 34.4 s"), text);
        assertTrue(text.contains("bare boot of the same kernel and initramfs to init") && text.contains("2.3 s"), text);
        assertTrue(text.contains("Coffer's own on top of the bare boot") && text.contains("32.1 s"), text);
        Map<String, Object> json = r.toJson("web");
        assertEquals(2_300L, json.get("bareBootToInitMs"));
        assertEquals(true, json.get("toFirstOutput"));
        assertEquals(r.totalMs(), json.get("totalMs"));
    }

    /** The launch disk's step (guest mark launch-read) gets its own row; the agent's rows still add up to its init. */
    @Test
    void theLaunchDiskStepIsShownOnItsOwnAndTheRowsStillAddUp() {
        StartupTimes t = new StartupTimes("microvm", 300, 29_500, 1_100, 1_500, 900,
                Map.of("started", 2_400L, "agent-starting", 5_200L, "agent-jvm-started", 9_100L, "launch-read", 17_300L,
                        "agent-listening", 25_400L),
                "tee=1900ms policy=2200ms oci-runtime=0ms netns=200ms skr=4ms");
        List<StartupReport.Row> rows = new StartupReport(t, 700, 2_300L, 400L).rows();
        StartupReport.Row launch = rows.stream().filter(r -> r.phase().startsWith("launch disk:")).findFirst().orElseThrow();
        assertEquals(new StartupReport.Row(3, "launch disk: read, simulated chip's seal checked", 8_200), launch);
        assertEquals(25_400 - 9_100, rows.stream().filter(x -> x.depth() == 3).mapToLong(StartupReport.Row::ms).sum());
        // every label fits the rendered column (58 characters, indented two per depth level)
        for (StartupReport.Row r : rows) assertTrue(2 * r.depth() + r.phase().length() <= 58, "too long for the report: " + r.phase());
        StartupReport.Row rest = rows.stream().filter(r -> r.phase().startsWith("the rest")).findFirst().orElseThrow();
        assertEquals(new StartupReport.Row(3, "the rest (class loading, linking)", 25_400 - 17_300 - 4_304), rest);
        // with the guest's launch-parsed mark the step is split in two that add up to it
        StartupTimes split = new StartupTimes("microvm", 300, 29_500, 1_100, 1_500, 900,
                Map.of("started", 2_400L, "agent-starting", 5_200L, "agent-jvm-started", 9_100L, "launch-parsed", 12_000L,
                        "launch-read", 17_300L, "agent-listening", 25_400L),
                "tee=1900ms policy=2200ms oci-runtime=0ms netns=200ms skr=4ms");
        List<StartupReport.Row> splitRows = new StartupReport(split, 700, 2_300L, 400L).rows();
        assertTrue(splitRows.contains(new StartupReport.Row(3, "launch disk: read and parsed", 2_900)), splitRows.toString());
        assertTrue(splitRows.contains(new StartupReport.Row(3, "launch disk: simulated chip's seal checked", 5_300)), splitRows.toString());
        assertEquals(25_400 - 9_100, splitRows.stream().filter(x -> x.depth() == 3).mapToLong(StartupReport.Row::ms).sum());
        for (StartupReport.Row r : splitRows) assertTrue(2 * r.depth() + r.phase().length() <= 58, "too long for the report: " + r.phase());
        // a mark outside the agent's start (a garbled console) is not trusted for a row
        StartupTimes odd = new StartupTimes("microvm", 300, 29_500, 1_100, 1_500, 900,
                Map.of("started", 2_400L, "agent-starting", 5_200L, "agent-jvm-started", 9_100L, "launch-read", 99_000L,
                        "agent-listening", 25_400L), "tee=1900ms");
        List<StartupReport.Row> oddRows = new StartupReport(odd, 0, null, null).rows();
        assertTrue(oddRows.stream().noneMatch(r -> r.phase().startsWith("launch disk:")), oddRows.toString());
        assertTrue(oddRows.stream().anyMatch(r -> r.phase().equals("the rest (launch disk, class loading, linking)")), oddRows.toString());
    }

    @Test
    void withoutFollowedOutputOrAVmTheReportSaysSo() {
        StartupTimes process = new StartupTimes("process", 400, 3_200, 100, 250, 90, null, "tee=500ms policy=100ms");
        StartupReport r = new StartupReport(process, 600, null, null);
        assertNull(r.cofferOwnMs());
        String text = r.render("web");
        assertTrue(text.contains("to the group running (output not followed)"), text);
        assertTrue(text.contains("no bare boot to compare with: the process sandbox boots no VM"), text);
        assertFalse(text.contains("until the first container output"), text);
        assertEquals(List.of("tee", "policy"), List.copyOf(r.agentPhases().keySet()));
    }

    @Test
    void oddAgentPhasesAreLeftOutNotGuessed() {
        StartupTimes t = new StartupTimes("process", 0, 0, 0, 0, 0, null, "tee=12ms policy=abcms =5ms netns=7 skr=1ms");
        assertEquals(Map.of("tee", 12L, "skr", 1L), new StartupReport(t, 0, null, null).agentPhases());
    }
}

package dev.coffer.runtime.group;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the time from {@code coffer run} to the group's first container output went, beside a
 * bare boot of the same guest kernel and initramfs to init measured in the same run: the floor
 * any microVM pays on this host, so what lies above it is Coffer's own.
 *
 * @param times          the group's start as {@link GroupManager} measured it
 * @param cliMs          from the CLI process's start to the group's launch (JVM, spec, isolation choice),
 *                       the bare boot excluded
 * @param bareBootMs     the bare boot to init, or null when there is none (process sandbox)
 * @param firstOutputMs  from the group running to its first container output, or null when not followed
 */
public record StartupReport(StartupTimes times, long cliMs, Long bareBootMs, Long firstOutputMs) {
    /** One row: a phase and its milliseconds; {@code depth} 1 rows add up to the total. */
    public record Row(int depth, String phase, long ms) {}

    /** From the CLI's start to the first container output, or to the group running when output was not followed. */
    public long totalMs() {
        return cliMs + times.totalMs() + (firstOutputMs == null ? 0 : firstOutputMs);
    }

    /** Coffer's own time on top of the bare boot, or null without one. */
    public Long cofferOwnMs() {
        return bareBootMs == null ? null : totalMs() - bareBootMs;
    }

    /**
     * The phases in order. Depth 1 rows add up to {@link #totalMs()}; depth 2 rows split the
     * microVM's sandbox phase by the guest's own clock, and depth 3 rows the agent's start by its
     * own phases (policy load among them).
     */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        rows.add(new Row(1, "CLI (JVM start, spec, state, locks)", cliMs));
        rows.add(new Row(1, "prepare (images, layer disks, policy)", times.prepareMs()));
        rows.add(new Row(1, times.isolation().equals("microvm") ? "sandbox (VM boot, agent start, policy load)"
                : "sandbox (agent start, policy load)", times.sandboxMs()));
        Map<String, Long> m = times.guestMarks();
        Long init = m.get("started");
        Long agentStarting = m.get("agent-starting");
        Long jvm = m.get("agent-jvm-started");
        Long listening = m.get("agent-listening");
        if (init != null && agentStarting != null && jvm != null && listening != null) {
            rows.add(new Row(2, "VM boot: kernel to init", init));
            rows.add(new Row(2, "VM boot: init (modules, agent disk by dm-verity)", agentStarting - init));
            rows.add(new Row(2, "agent start: JVM", jvm - agentStarting));
            long phases = 0;
            List<Row> agentRows = new ArrayList<>();
            for (Map.Entry<String, Long> p : agentPhases().entrySet()) {
                agentRows.add(new Row(3, phaseName(p.getKey()), p.getValue()));
                phases += p.getValue();
            }
            rows.add(new Row(2, "agent start: init", listening - jvm));
            // the guest's entry point reads the launch disk and checks the simulated chip's seal
            // before the agent's own clock starts: the first JSON and crypto use, seconds under TCG,
            // shown on its own rather than hidden in the rest
            Long launchRead = m.get("launch-read");
            long beforeAgent = 0;
            boolean launchShown = launchRead != null && launchRead >= jvm && launchRead <= listening && !agentRows.isEmpty();
            if (launchShown) {
                beforeAgent = launchRead - jvm;
                // split where the guest marks it (launch-parsed): the JSON, then the simulated chip's seal check
                Long parsed = m.get("launch-parsed");
                if (parsed != null && parsed >= jvm && parsed <= launchRead) {
                    rows.add(new Row(3, "launch disk: read and parsed", parsed - jvm));
                    rows.add(new Row(3, "launch disk: simulated chip's seal checked", launchRead - parsed));
                } else {
                    rows.add(new Row(3, "launch disk: read, simulated chip's seal checked", beforeAgent));
                }
            }
            rows.addAll(agentRows);
            if (!agentRows.isEmpty()) {
                rows.add(new Row(3, launchShown ? "the rest (class loading, linking)"
                        : "the rest (launch disk, class loading, linking)", Math.max(0, listening - jvm - beforeAgent - phases)));
            }
            rows.add(new Row(2, "QEMU start and the agent's first answer", Math.max(0, times.sandboxMs() - listening)));
        } else {
            for (Map.Entry<String, Long> p : agentPhases().entrySet()) rows.add(new Row(2, phaseName(p.getKey()), p.getValue()));
        }
        rows.add(new Row(1, "layer mount", times.layersMs()));
        rows.add(new Row(1, "container create", times.createMs()));
        rows.add(new Row(1, "container start", times.startMs()));
        if (firstOutputMs != null) rows.add(new Row(1, "until the first container output", firstOutputMs));
        return rows;
    }

    /** The agent's own phases ("tee=12ms policy=34ms ...") in order. */
    Map<String, Long> agentPhases() {
        Map<String, Long> phases = new LinkedHashMap<>();
        for (String word : times.agentPhases().split(" ")) {
            int eq = word.indexOf('=');
            if (eq <= 0 || !word.endsWith("ms")) continue;
            try {
                phases.put(word.substring(0, eq), Long.parseLong(word.substring(eq + 1, word.length() - 2)));
            } catch (NumberFormatException ignored) {
                // a phase the agent printed oddly is left out of the split, not guessed
            }
        }
        return phases;
    }

    private static String phaseName(String agentPhase) {
        return switch (agentPhase) {
            // a hardware TEE answers with a fresh report; the simulated one from its sealed launch, signing nothing
            case "tee" -> "TEE: opened, HOST_DATA read";
            case "policy" -> "policy load (parse, compile, HOST_DATA check)";
            case "oci-runtime" -> "OCI runtime probe";
            case "netns" -> "group network namespace";
            case "skr" -> "SKR API";
            default -> agentPhase;
        };
    }

    /** The report for people. */
    public String render(String group) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "startup of group %s (%s), from `coffer run` to %s: %.1f s%n", group,
                times.isolation(), firstOutputMs == null ? "the group running (output not followed)" : "the first container output",
                totalMs() / 1e3));
        for (Row r : rows()) {
            String label = "  ".repeat(r.depth()) + r.phase();
            sb.append(String.format(Locale.ROOT, "%-58s %7.1f s%n", label, r.ms() / 1e3));
        }
        if (bareBootMs != null) {
            sb.append(String.format(Locale.ROOT, "%-58s %7.1f s%n", "bare boot of the same kernel and initramfs to init",
                    bareBootMs / 1e3));
            sb.append(String.format(Locale.ROOT, "%-58s %7.1f s%n", "Coffer's own on top of the bare boot", cofferOwnMs() / 1e3));
        } else {
            sb.append("no bare boot to compare with: the ").append(times.isolation()).append(" sandbox boots no VM").append(System.lineSeparator());
        }
        return sb.toString();
    }

    /** The report for scripts. */
    public Map<String, Object> toJson(String group) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("group", group);
        m.put("isolation", times.isolation());
        m.put("totalMs", totalMs());
        m.put("toFirstOutput", firstOutputMs != null);
        m.put("bareBootToInitMs", bareBootMs);
        m.put("cofferOwnMs", cofferOwnMs());
        List<Map<String, Object>> phases = new ArrayList<>();
        for (Row r : rows()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("depth", r.depth());
            p.put("phase", r.phase());
            p.put("ms", r.ms());
            phases.add(p);
        }
        m.put("phases", phases);
        return m;
    }
}

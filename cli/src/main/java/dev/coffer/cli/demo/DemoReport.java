package dev.coffer.cli.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@code coffer demo -o json} prints: the sandbox kinds used and one entry per step.
 * Step names are stable: scripts and later issues key on them.
 */
record DemoReport(String isolation, String tee, List<Step> steps) {
    record Step(String name, boolean ok, String detail) {}

    DemoReport {
        steps = new ArrayList<>(steps);
    }

    boolean ok() {
        return !steps.isEmpty() && steps.stream().allMatch(Step::ok);
    }
}

package dev.coffer.cli.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@code coffer demo -o json} prints: the sandbox kinds used, what the group's scratch was
 * (null when the group did not start), and one entry per step.
 * Step names are stable: scripts and later issues key on them.
 */
record DemoReport(String isolation, String tee, dev.coffer.runtime.group.ScratchRecord scratch, List<Step> steps) {
    /** {@code skipped}: the step could not run here (its detail says why); it is then not {@code ok} either, and not a failure. */
    record Step(String name, boolean ok, boolean skipped, String detail) {
        boolean failed() {
            return !ok && !skipped;
        }
    }

    /** Thrown by a step that cannot run in this environment: reported as skipped with the reason, never as succeeded. */
    static final class Skipped extends Exception {
        Skipped(String reason) {
            super(reason);
        }
    }

    DemoReport {
        steps = new ArrayList<>(steps);
    }

    /** No step failed (skipped ones did not run, and are listed by {@link #skippedSteps()}). */
    boolean ok() {
        return !steps.isEmpty() && steps.stream().noneMatch(Step::failed);
    }

    List<String> skippedSteps() {
        return steps.stream().filter(Step::skipped).map(Step::name).toList();
    }
}

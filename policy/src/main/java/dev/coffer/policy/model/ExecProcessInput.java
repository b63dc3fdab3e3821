package dev.coffer.policy.model;

import java.util.List;

/** A command the host may later exec inside a running container, and the signals it may send to it. */
public record ExecProcessInput(List<String> command, List<Integer> signals) {
    public ExecProcessInput {
        command = List.copyOf(command);
        signals = signals == null ? List.of() : List.copyOf(signals);
        if (command.isEmpty()) {
            throw new IllegalArgumentException("exec process command must not be empty; list the argv, e.g. [\"/bin/ls\", \"/data\"]");
        }
    }
}

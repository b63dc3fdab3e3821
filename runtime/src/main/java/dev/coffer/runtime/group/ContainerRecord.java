package dev.coffer.runtime.group;

import java.util.List;

/**
 * One container of a group as the group state records it.
 *
 * @param state created | running | exited | unknown (the agent died before reporting)
 * @param exitCode null until exited; 128+n when killed by signal n
 */
public record ContainerRecord(String name, String image, String imageId, List<String> argList, String state, Long pid,
                              Integer exitCode, String logPath) {
    public ContainerRecord {
        argList = argList == null ? List.of() : List.copyOf(argList);
    }

    ContainerRecord with(String newState, Long newPid, Integer newExitCode) {
        return new ContainerRecord(name, image, imageId, argList, newState, newPid, newExitCode, logPath);
    }
}

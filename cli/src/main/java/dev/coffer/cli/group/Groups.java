package dev.coffer.cli.group;

import dev.coffer.cli.CofferException;
import dev.coffer.cli.CofferHome;
import dev.coffer.runtime.group.ContainerRecord;
import dev.coffer.runtime.group.GroupManager;

import java.io.IOException;

/** Shared plumbing of the group commands: the manager for $COFFER_HOME and error translation. */
final class Groups {
    private Groups() {}

    static GroupManager manager() {
        return new GroupManager(CofferHome.resolve());
    }

    /** Runtime errors already read "expected ..., found ...; do ..."; the CLI prints them as is. */
    static CofferException failure(IOException e) {
        return new CofferException(e.getMessage(), e);
    }

    static String exit(ContainerRecord c) {
        if (c.exitCode() != null) {
            int code = c.exitCode();
            return code > 128 && code < 128 + 65 ? code + " (signal " + (code - 128) + ")" : Integer.toString(code);
        }
        return "-";
    }
}

package dev.coffer.runtime.preflight;

/**
 * One declared host check and its outcome: what was looked at, what was found there, and what
 * to do when it is not as needed.
 *
 * @param name   short, stable name (scripts read it from {@code coffer doctor -o json})
 * @param status the outcome
 * @param found  what the check found, in words ("/dev/sev missing", "QEMU 7.2.22")
 * @param fix    what to do when it is not {@link Status#OK}; "" when nothing is to be done
 */
public record Check(String name, Status status, String found, String fix) {
    public enum Status {
        /** As needed. */
        OK,
        /** Not as needed: the feature cannot run on this host until it is fixed. */
        MISSING,
        /** Not looked at, because a check it depends on failed (its found text says which). */
        SKIPPED
    }

    public Check {
        fix = fix == null ? "" : fix;
    }

    static Check ok(String name, String found) {
        return new Check(name, Status.OK, found, "");
    }

    static Check missing(String name, String found, String fix) {
        return new Check(name, Status.MISSING, found, fix);
    }

    static Check skipped(String name, String because) {
        return new Check(name, Status.SKIPPED, "not checked: " + because, "");
    }

    public boolean ok() {
        return status == Status.OK;
    }
}

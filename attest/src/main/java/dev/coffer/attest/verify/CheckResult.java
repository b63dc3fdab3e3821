package dev.coffer.attest.verify;

/**
 * One check of a verification. {@code name} is stable (callers and policies match on it);
 * {@code detail} explains the outcome in one line.
 */
public record CheckResult(String name, Status status, String detail) {
    public enum Status { PASS, FAIL, SKIP }

    static CheckResult pass(String name, String detail) { return new CheckResult(name, Status.PASS, detail); }
    static CheckResult fail(String name, String detail) { return new CheckResult(name, Status.FAIL, detail); }
    static CheckResult skip(String name, String detail) { return new CheckResult(name, Status.SKIP, detail); }

    public boolean failed() {
        return status == Status.FAIL;
    }
}

package dev.coffer.attest.verify;

/** What produced the evidence, decided by the root its chain ends at. */
public enum TeeKind {
    /** AMD hardware: the chain ends at a pinned AMD ARK. */
    REAL,
    /** Coffer's simulated secure processor: the chain ends at an explicitly trusted sim root. */
    SIM,
    /** The chain does not end at any trusted root. */
    UNKNOWN;

    /** "real", "sim" or "unknown", as tokens and JSON output spell it. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

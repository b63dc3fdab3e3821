package dev.coffer.attest.dcap;

/** What a quote attests: an SGX enclave's report or a TD's report. */
public sealed interface QuoteBody permits EnclaveReport, TdReport {
    /** The 64 bytes the enclave or TD chose to bind (REPORTDATA). */
    byte[] reportData();

    /** Whether the enclave or TD can be debugged, so its memory is readable by the host. */
    boolean debug();
}

package dev.coffer.agent.tee;

import dev.coffer.agent.skr.Evidence;
import dev.coffer.attest.evidence.EvidenceKind;
import dev.coffer.attest.sim.SimLaunch;

/**
 * The simulated secure processor as the guest's TEE: the launch fixes MEASUREMENT and
 * HOST_DATA, every call signs a new report with the caller's REPORT_DATA. Its evidence is the
 * {@link EvidenceKind#SIMULATED} member of the evidence model, which no verifier accepts unless
 * its caller asked for the simulated TEE.
 */
public final class SimEvidenceSource implements GuestTee {
    private final SimLaunch launch;

    public SimEvidenceSource(SimLaunch launch) {
        this.launch = launch;
    }

    @Override
    public EvidenceKind kind() {
        return EvidenceKind.SIMULATED;
    }

    /**
     * HOST_DATA as this launch fixed it, without a fresh report: the simulated chip is this
     * process's own code and key, and the launch took HOST_DATA from the launch context whose seal
     * {@link SimLaunchContext#open} checked, so a report signed here and parsed back could only
     * repeat this value. Signing one cost the agent's start a P-384 signature (seconds on an
     * emulated guest CPU); a real TEE's value still comes from a fresh report
     * ({@link GuestTee#launchBoundData()}).
     */
    @Override
    public byte[] launchBoundData() {
        return launch.hostData();
    }

    @Override
    public Evidence evidence(byte[] reportData) {
        // VCEK first, then ASK and ARK: the order a KDS-backed guest would send too.
        return new Evidence(launch.report(reportData), launch.vcekPem() + launch.chainPem());
    }
}

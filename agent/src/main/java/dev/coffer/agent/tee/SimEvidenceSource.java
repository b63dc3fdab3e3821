package dev.coffer.agent.skr;

import dev.coffer.attest.sim.SimLaunch;

/**
 * Evidence from the simulated secure processor: the launch fixes MEASUREMENT and HOST_DATA,
 * every call signs a new report with the caller's REPORT_DATA.
 */
public final class SimEvidenceSource implements EvidenceSource {
    private final SimLaunch launch;

    public SimEvidenceSource(SimLaunch launch) {
        this.launch = launch;
    }

    @Override
    public Evidence evidence(byte[] reportData) {
        // VCEK first, then ASK and ARK: the order a KDS-backed guest would send too.
        return new Evidence(launch.report(reportData), launch.vcekPem() + launch.chainPem());
    }

    @Override
    public String tee() {
        return "sim";
    }
}

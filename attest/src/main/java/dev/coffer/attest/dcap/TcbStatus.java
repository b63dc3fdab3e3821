package dev.coffer.attest.dcap;

import java.util.Arrays;

/** The TCB statuses of Intel's PCS collateral, with the names PCS and QVL use. */
public enum TcbStatus {
    UP_TO_DATE("UpToDate"),
    SW_HARDENING_NEEDED("SWHardeningNeeded"),
    CONFIGURATION_NEEDED("ConfigurationNeeded"),
    CONFIGURATION_AND_SW_HARDENING_NEEDED("ConfigurationAndSWHardeningNeeded"),
    OUT_OF_DATE("OutOfDate"),
    OUT_OF_DATE_CONFIGURATION_NEEDED("OutOfDateConfigurationNeeded"),
    REVOKED("Revoked");

    private final String pcsName;

    TcbStatus(String pcsName) {
        this.pcsName = pcsName;
    }

    public String pcsName() {
        return pcsName;
    }

    public static TcbStatus fromPcs(String name) {
        return Arrays.stream(values()).filter(s -> s.pcsName.equals(name)).findFirst()
                .orElseThrow(() -> new QuoteFormatException("unknown tcbStatus '" + name + "'; expected one of "
                        + Arrays.stream(values()).map(TcbStatus::pcsName).toList()));
    }

    /** Platform status degraded by an out-of-date component (QE or TDX module), as QVL converges them. */
    TcbStatus withOutOfDateComponent() {
        return switch (this) {
            case UP_TO_DATE, SW_HARDENING_NEEDED -> OUT_OF_DATE;
            case CONFIGURATION_NEEDED, CONFIGURATION_AND_SW_HARDENING_NEEDED -> OUT_OF_DATE_CONFIGURATION_NEEDED;
            default -> this;
        };
    }

    @Override
    public String toString() {
        return pcsName;
    }
}

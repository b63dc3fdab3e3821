package dev.coffer.attest.measure.snp;

/**
 * The firmware image is not an OVMF build this calculator can measure, or lacks what the launch
 * needs; the message says what was expected, what was found, and what to do.
 */
public final class FirmwareFormatException extends IllegalArgumentException {
    public FirmwareFormatException(String message) {
        super(message);
    }
}

package dev.coffer.attest.dcap;

/**
 * The bytes are not an Intel DCAP quote (or collateral) this parser accepts; the message says
 * what was expected, what was found, and at which offset.
 */
public final class QuoteFormatException extends IllegalArgumentException {
    public QuoteFormatException(String message) {
        super(message);
    }
}

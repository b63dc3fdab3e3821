package dev.coffer.attest.cert;

/** The place a certificate takes in an AMD SEV-SNP endorsement chain. */
public enum CertRole {
    /** AMD Root Key: self-signed, one per product, pinned. */
    ARK,
    /** AMD SEV Key: signs VCEKs. */
    ASK,
    /** AMD SEV VLEK Key: signs VLEKs. */
    ASVK,
    /** Versioned Chip Endorsement Key (EC P-384), per chip and TCB. */
    VCEK,
    /** Versioned Loaded Endorsement Key (EC P-384), per cloud provider and TCB. */
    VLEK,
    /** Not recognisably part of an AMD chain. */
    OTHER;

    public boolean isEndorsementKey() {
        return this == VCEK || this == VLEK;
    }
}

package dev.coffer.attest.measure.snp;

import java.util.HexFormat;

/** One step of a launch digest's computation, for showing how a MEASUREMENT came about. */
public sealed interface MeasuredStep {

    /**
     * One SNP_LAUNCH_UPDATE page: its type and guest-physical address, the SHA-384 of its contents
     * (48 zero bytes for pages whose contents are not measured) and the launch digest after it.
     */
    record Page(PageType type, long gpa, byte[] contentsSha384, byte[] digestAfter) implements MeasuredStep {
        public Page {
            contentsSha384 = contentsSha384.clone();
            digestAfter = digestAfter.clone();
        }

        @Override
        public byte[] contentsSha384() {
            return contentsSha384.clone();
        }

        @Override
        public byte[] digestAfter() {
            return digestAfter.clone();
        }

        @Override
        public String toString() {
            HexFormat h = HexFormat.of();
            return String.format("%-10s gpa 0x%012x contents %s -> %s", type, gpa, h.formatHex(contentsSha384), h.formatHex(digestAfter));
        }
    }

    /** One blob of an SEV or SEV-ES launch (firmware, hashes table, a VMSA), hashed in order into the SHA-256. */
    record Blob(String what, int length, byte[] sha256) implements MeasuredStep {
        public Blob {
            sha256 = sha256.clone();
        }

        @Override
        public byte[] sha256() {
            return sha256.clone();
        }

        @Override
        public String toString() {
            return String.format("%-16s %8d bytes sha256 %s", what, length, HexFormat.of().formatHex(sha256));
        }
    }
}

package dev.coffer.server.store;

import java.time.Instant;

/**
 * One key release decision. {@code verdict} is {@code released} or {@code denied}; {@code code}
 * is the error code for denials; {@code claimsDigest} is SHA-256 of the token payload.
 */
public record AuditEntry(long id, Instant at, String keyName, String keyVersion, String jti, String issuer,
                         String claimsDigest, String verdict, String code, String reason) {}

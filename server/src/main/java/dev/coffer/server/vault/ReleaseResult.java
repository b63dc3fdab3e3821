package dev.coffer.server.vault;

/** A released key: {@code value} is the signed JWS (Azure's response shape) carrying the wrapped key. */
public record ReleaseResult(String value, String keyName, String keyVersion) {}

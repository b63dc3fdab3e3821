package dev.coffer.server.token;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A token whose signature, issuer and validity period have been checked; claims as JSON. */
public record VerifiedToken(String issuer, String jti, ObjectNode claims, String rawPayloadDigest) {}

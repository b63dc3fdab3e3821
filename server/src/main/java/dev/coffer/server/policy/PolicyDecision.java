package dev.coffer.server.policy;

/** The outcome of evaluating a release policy; {@code reason} says which rule decided it. */
public record PolicyDecision(boolean allowed, String reason) {}

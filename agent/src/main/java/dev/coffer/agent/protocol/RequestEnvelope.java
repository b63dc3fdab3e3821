package dev.coffer.agent.protocol;

/** One request on the wire: {@code {"version":1,"id":7,"request":{"type":"ping"}}}. */
public record RequestEnvelope(int version, long id, Request request) {}

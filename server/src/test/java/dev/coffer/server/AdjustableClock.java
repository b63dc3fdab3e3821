package dev.coffer.server;

import java.time.Clock;
import java.time.Duration;

/** A clock tests can move forward; otherwise the system clock. */
final class AdjustableClock extends Clock {
    private volatile Duration offset = Duration.ZERO;

    void advance(Duration d) {
        offset = offset.plus(d);
    }

    @Override
    public java.time.ZoneId getZone() {
        return java.time.ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
        return this;
    }

    @Override
    public java.time.Instant instant() {
        return java.time.Instant.now().plus(offset);
    }
}

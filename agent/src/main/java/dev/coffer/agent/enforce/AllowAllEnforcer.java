package dev.coffer.agent.enforce;

import dev.coffer.agent.protocol.Request;

/**
 * Allows every request: no policy is enforced. Selected only by {@code --policy allow-all}, and
 * reported as such, so an unenforced sandbox is never mistaken for an enforced one.
 */
public final class AllowAllEnforcer implements Enforcer {
    public static final String NAME = "allow-all";
    private static final Decision ALLOW = new Decision.Allow();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Decision decide(Request request) {
        return ALLOW;
    }
}

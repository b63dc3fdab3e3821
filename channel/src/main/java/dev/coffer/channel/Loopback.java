package dev.coffer.channel;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Whether a host names this machine's loopback, the one place plain HTTP is allowed on the key
 * channel (the server's test listener, the process sandbox's development endpoints). Only
 * {@code localhost} and literal addresses count: any other name is resolved by a resolver the
 * host may answer.
 */
public final class Loopback {
    private Loopback() {}

    public static boolean isLoopback(String host) {
        if (host == null || host.isEmpty()) return false;
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) return true;
        if (!h.matches("[0-9.]+") && !h.contains(":")) return false;
        try {
            return InetAddress.getByName(h).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}

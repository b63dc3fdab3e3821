package dev.coffer.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * Resolves an image's {@code User} ("uid", "uid:gid", "name", "name:group") to numeric ids using
 * the container's own /etc/passwd and /etc/group.
 */
final class UserLookup {
    private UserLookup() {}

    static int[] resolve(Path rootfs, String user) {
        if (user == null || user.isBlank()) return new int[] {0, 0};
        String[] parts = user.split(":", -1);
        if (parts.length > 2 || parts[0].isEmpty() || (parts.length == 2 && parts[1].isEmpty())) {
            throw AgentException.invalid("expected user as uid[:gid] or name[:group], found \"" + user + "\"");
        }
        int uid;
        int gid;
        if (isNumber(parts[0])) {
            uid = Integer.parseInt(parts[0]);
            gid = uid == 0 ? 0 : lookupPrimaryGid(rootfs, parts[0]);
        } else {
            String[] entry = find(rootfs, "passwd", parts[0], 0);
            if (entry == null || entry.length < 4 || !isNumber(entry[2]) || !isNumber(entry[3])) {
                throw AgentException.invalid("expected user \"" + parts[0] + "\" in the image's /etc/passwd, found no such entry;"
                        + " use a numeric uid");
            }
            uid = Integer.parseInt(entry[2]);
            gid = Integer.parseInt(entry[3]);
        }
        if (parts.length == 2) {
            if (isNumber(parts[1])) {
                gid = Integer.parseInt(parts[1]);
            } else {
                String[] entry = find(rootfs, "group", parts[1], 0);
                if (entry == null || entry.length < 3 || !isNumber(entry[2])) {
                    throw AgentException.invalid("expected group \"" + parts[1] + "\" in the image's /etc/group, found no such entry;"
                            + " use a numeric gid");
                }
                gid = Integer.parseInt(entry[2]);
            }
        }
        return new int[] {uid, gid};
    }

    /** The most supplementary groups a request may give a process: Linux's NGROUPS_MAX is 65536, real pods have a few. */
    static final int MAX_ADDITIONAL_GIDS = 256;

    /**
     * The request's supplementary groups, each once and in their order; null is none. A negative
     * id (the JSON a hostile host could send) or more than {@link #MAX_ADDITIONAL_GIDS} is refused.
     */
    static List<Integer> additionalGids(List<Integer> requested) {
        if (requested == null) return List.of();
        if (requested.size() > MAX_ADDITIONAL_GIDS) {
            throw AgentException.invalid("expected at most " + MAX_ADDITIONAL_GIDS + " additionalGids, found " + requested.size());
        }
        java.util.LinkedHashSet<Integer> out = new java.util.LinkedHashSet<>();
        for (Integer gid : requested) {
            if (gid == null || gid < 0) {
                throw AgentException.invalid("expected additionalGids as group ids 0.." + Integer.MAX_VALUE + ", found " + gid);
            }
            out.add(gid);
        }
        return List.copyOf(out);
    }

    /** The name /etc/passwd gives {@code uid}, or "" when the image lists none. */
    static String userName(Path rootfs, int uid) {
        String[] entry = find(rootfs, "passwd", Integer.toString(uid), 2);
        return entry == null ? "" : entry[0];
    }

    /** The name /etc/group gives {@code gid}, or "" when the image lists none. */
    static String groupName(Path rootfs, int gid) {
        String[] entry = find(rootfs, "group", Integer.toString(gid), 2);
        return entry == null ? "" : entry[0];
    }

    /** The primary gid of a numeric uid if /etc/passwd lists it, else the uid itself. */
    private static int lookupPrimaryGid(Path rootfs, String uid) {
        String[] entry = find(rootfs, "passwd", uid, 2);
        if (entry != null && entry.length >= 4 && isNumber(entry[3])) return Integer.parseInt(entry[3]);
        return Integer.parseInt(uid);
    }

    private static String[] find(Path rootfs, String file, String key, int column) {
        Path etc = rootfs.resolve("etc");
        Path path = etc.resolve(file);
        // A symlink in the image could point the lookup at a host file; only plain files count.
        if (Files.isSymbolicLink(etc) || !Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) return null;
        try {
            List<String> lines = Files.readAllLines(path);
            for (String line : lines) {
                String[] f = line.split(":", -1);
                if (f.length > column && f[column].equals(key)) return f;
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty() || s.length() > 9) return false;
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) return false;
        }
        return true;
    }
}

package dev.coffer.policy.gen;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * The users and groups an image's own {@code /etc/passwd} and {@code /etc/group} list: what a
 * container runtime reads to turn a numeric user into the process's groups. containerd's CRI
 * gives a container the primary group of its uid from /etc/passwd (0 when the uid is not listed)
 * unless the pod sets runAsGroup, and adds every group whose member list names the user; a policy
 * that pins the process's groups must allow exactly those, or the pod is refused.
 *
 * @param passwdFound whether the image has a regular /etc/passwd (false: no user has a name)
 * @param groupFound  whether the image has a regular /etc/group (false: no user is a member of anything)
 */
public record ImageAccounts(List<User> users, List<Group> groups, boolean passwdFound, boolean groupFound) {
    /** An /etc/passwd line's name, uid and primary gid. */
    public record User(String name, int uid, int gid) {}

    /** An /etc/group line's name, gid and member names. */
    public record Group(String name, int gid, List<String> members) {
        public Group {
            members = List.copyOf(members);
        }
    }

    /** The most bytes of /etc/passwd or /etc/group read: real ones are a few KiB, a hostile image's could be anything. */
    public static final int MAX_FILE_BYTES = 1 << 20;

    /** An image with neither file. */
    public static final ImageAccounts NONE = new ImageAccounts(List.of(), List.of(), false, false);

    public ImageAccounts {
        users = List.copyOf(users);
        groups = List.copyOf(groups);
    }

    /**
     * Parses the two files' text (null: the file is absent). Lines that are not name:x:id:... with
     * numeric ids (comments, NIS "+" lines, damaged entries) are skipped, as the C library and
     * containerd's parser skip them.
     */
    public static ImageAccounts parse(String passwd, String group) {
        List<User> users = new ArrayList<>();
        if (passwd != null) {
            for (String line : passwd.split("\n", -1)) {
                String[] f = line.split(":", -1);
                if (f.length < 4 || f[0].isEmpty()) continue;
                Integer uid = id(f[2]);
                Integer gid = id(f[3]);
                if (uid != null && gid != null) users.add(new User(f[0], uid, gid));
            }
        }
        List<Group> groups = new ArrayList<>();
        if (group != null) {
            for (String line : group.split("\n", -1)) {
                String[] f = line.split(":", -1);
                if (f.length < 3 || f[0].isEmpty()) continue;
                Integer gid = id(f[2]);
                if (gid == null) continue;
                List<String> members = new ArrayList<>();
                if (f.length > 3) {
                    // compared exactly, as containerd's parser splits the list (no trimming)
                    for (String m : f[3].split(",")) {
                        if (!m.isEmpty()) members.add(m);
                    }
                }
                groups.add(new Group(f[0], gid, members));
            }
        }
        return new ImageAccounts(users, groups, passwd != null, group != null);
    }

    /** The first /etc/passwd entry with {@code uid}, as the C library's getpwuid finds it. */
    public Optional<User> user(int uid) {
        return users.stream().filter(u -> u.uid() == uid).findFirst();
    }

    /** The primary group a runtime gives {@code uid} when nothing else names one: its /etc/passwd gid, else 0. */
    public int primaryGid(int uid) {
        return user(uid).map(User::gid).orElse(0);
    }

    /**
     * The groups that list {@code userName} as a member, in /etc/group order, each once:
     * containerd's CRI adds them to the process's additionalGids. A group named as the user
     * itself is its personal group, which containerd leaves out here (it is the primary group
     * when it applies).
     */
    public List<Integer> memberGids(String userName) {
        LinkedHashSet<Integer> out = new LinkedHashSet<>();
        for (Group g : groups) {
            if (!g.name().equals(userName) && g.members().contains(userName)) out.add(g.gid());
        }
        return List.copyOf(out);
    }

    private static Integer id(String s) {
        if (s.isEmpty() || s.length() > 10) return null;
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) return null;
        }
        long v = Long.parseLong(s);
        return v <= Integer.MAX_VALUE ? (int) v : null;
    }
}

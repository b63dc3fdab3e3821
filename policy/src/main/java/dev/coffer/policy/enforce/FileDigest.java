package dev.coffer.policy.enforce;

import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One file of a volume whose content the host supplies (a Kubernetes ConfigMap, Secret,
 * projected or downwardAPI volume): its path inside the volume and the SHA-256 of its bytes.
 *
 * <p>How a policy pins such content, the one rule for every kind: a mount constraint may carry
 * {@code "files": [{"path": P, "sha256": HEX}, ...]}, sorted by path. The agent copies the files
 * the host sends into the sandbox and puts {@code files} into the create_container input, computed
 * by the agent itself from those very bytes (never a digest the host states), sorted the same way.
 * A constraint with {@code files} allows exactly that list (same paths, same digests, nothing more
 * or less); a constraint without it allows any content (the generator writes that where it did
 * not know the content, and says so). Mounts of other sources carry an empty list.
 */
public record FileDigest(String path, String sha256) {
    /** A relative path of non-empty segments, none of them "." or "..", as Kubernetes validates a key or an item's path. */
    private static final Pattern SEGMENT = Pattern.compile("[-._a-zA-Z0-9]{1,253}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** The longest path a volume file may have (Kubernetes: 4096 for an item's path; keys are at most 253). */
    public static final int MAX_PATH = 4096;

    /** Files sorted as the policy and the input list them. */
    public static final Comparator<FileDigest> ORDER = Comparator.comparing(FileDigest::path);

    public FileDigest {
        Fields.require(path, "path");
        Fields.require(sha256, "sha256");
        String problem = pathProblem(path);
        if (problem != null) throw new IllegalArgumentException(problem);
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("expected the SHA-256 of file '" + path + "' as 64 lowercase hex digits, found '"
                    + sha256 + "'");
        }
    }

    /** {@code files} sorted by path, refusing a path listed twice. */
    public static List<FileDigest> sorted(List<FileDigest> files) {
        List<FileDigest> out = files.stream().sorted(ORDER).toList();
        for (int i = 1; i < out.size(); i++) {
            if (out.get(i).path().equals(out.get(i - 1).path())) {
                throw new IllegalArgumentException("expected each file of a volume once, found '" + out.get(i).path() + "' twice");
            }
        }
        return out;
    }

    /**
     * Why {@code path} cannot name a file inside a volume, or null when it can: relative, segments
     * of letters, digits, '-', '.', '_', none "." or "..", and not starting with ".." (the kubelet's
     * own {@code ..data} and timestamped directories, never a key).
     */
    public static String pathProblem(String path) {
        if (path.isEmpty() || path.length() > MAX_PATH) {
            return "expected a file path of 1.." + MAX_PATH + " characters, found " + path.length();
        }
        if (path.startsWith("..")) {
            return "expected a file path not starting with '..' (the kubelet's own entries), found '" + path + "'";
        }
        for (String segment : path.split("/", -1)) {
            if (!SEGMENT.matcher(segment).matches() || segment.equals(".") || segment.equals("..")) {
                return "expected a relative file path of segments of letters, digits, '-', '.' and '_' (no '.', '..' or empty"
                        + " segment), found '" + path + "'";
            }
        }
        return null;
    }
}

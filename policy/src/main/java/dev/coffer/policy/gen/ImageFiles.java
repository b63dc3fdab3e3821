package dev.coffer.policy.gen;

import dev.coffer.layer.tar.LayerInput;
import dev.coffer.layer.tar.TarEntry;
import dev.coffer.layer.tar.TarReader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small files of an image's root file system read from its layer tars, as the overlay the
 * container sees would show them: the topmost layer that has the path wins, and a whiteout
 * ({@code .wh.NAME}) or an opaque directory ({@code .wh..wh..opq}) in a layer hides what the
 * layers below hold. Only regular files count: a symlink or hard link at the path is not followed
 * (it could point anywhere; the agent's own user lookup refuses them too), so the file reads as
 * absent.
 */
final class ImageFiles {
    private ImageFiles() {}

    /** How a layer opens: its uncompressed (or compressed, sniffed) tar. */
    @FunctionalInterface
    interface LayerOpener {
        InputStream open(int index) throws IOException;
    }

    /** What one path turned out to be: the content of a regular file, or absent (null). */
    private record Found(byte[] content) {}

    /**
     * The content of each of {@code paths} (relative, e.g. "etc/passwd"), or null where the image
     * has no regular file there.
     *
     * @param layers how many layers, bottom first, as the manifest lists them
     * @throws IOException when a layer cannot be read, or a file is larger than {@code maxBytes}
     */
    static Map<String, String> read(int layers, LayerOpener opener, List<String> paths, int maxBytes) throws IOException {
        Map<String, Found> decided = new HashMap<>();
        for (int i = layers - 1; i >= 0 && decided.size() < paths.size(); i--) {
            Map<String, Found> inLayer = new HashMap<>();
            try (InputStream raw = opener.open(i)) {
                TarReader tar = new TarReader(LayerInput.open(raw));
                for (TarEntry e; (e = tar.next()) != null; ) {
                    String name = normalize(e.name());
                    for (String path : paths) {
                        if (decided.containsKey(path)) continue;
                        int slash = path.lastIndexOf('/');
                        String dir = slash < 0 ? "" : path.substring(0, slash + 1);
                        String base = path.substring(slash + 1);
                        if (name.equals(path)) {
                            // a later entry of the same path in one tar replaces an earlier one
                            inLayer.put(path, new Found(e.typeflag() == TarEntry.TYPE_REG ? content(tar, e, path, maxBytes) : null));
                        } else if (name.equals(dir + ".wh." + base) || name.equals(dir + ".wh..wh..opq")) {
                            inLayer.putIfAbsent(path, new Found(null)); // hidden below this layer; this layer's own entry still counts
                        } else if (isAncestorReplaced(name, e, path)) {
                            inLayer.putIfAbsent(path, new Found(null));
                        }
                    }
                }
            }
            decided.putAll(inLayer);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String path : paths) {
            Found f = decided.get(path);
            out.put(path, f == null || f.content() == null ? null : new String(f.content(), StandardCharsets.UTF_8));
        }
        return out;
    }

    /**
     * Whether {@code e} hides {@code path} for the layers below: a whiteout of one of its parent
     * directories, or a parent replaced by something that is not a directory.
     */
    private static boolean isAncestorReplaced(String name, TarEntry e, String path) {
        String[] parts = path.split("/");
        StringBuilder prefix = new StringBuilder();
        for (int i = 0; i < parts.length - 1; i++) {
            String parentDir = prefix.toString();
            if (name.equals(parentDir + ".wh." + parts[i])) return true;
            prefix.append(parts[i]);
            if (name.equals(prefix.toString()) && e.typeflag() != TarEntry.TYPE_DIR) return true;
            prefix.append('/');
        }
        return false;
    }

    private static byte[] content(TarReader tar, TarEntry e, String path, int maxBytes) throws IOException {
        if (e.size() > maxBytes) {
            throw new IOException("expected /" + path + " of at most " + maxBytes + " bytes, found " + e.size()
                    + "; the image's account files are read to pin the container's groups");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) e.size());
        byte[] buf = new byte[8192];
        for (int n; (n = tar.read(buf, 0, buf.length)) > 0; ) out.write(buf, 0, n);
        return out.toByteArray();
    }

    /** A tar entry's name as a path relative to the root: no leading "./" or "/", no trailing "/". */
    static String normalize(String name) {
        String n = name;
        while (n.startsWith("./")) n = n.substring(2);
        while (n.startsWith("/")) n = n.substring(1);
        while (n.endsWith("/")) n = n.substring(0, n.length() - 1);
        return n;
    }

    /** The paths {@link ImageAccounts} is made from. */
    static final List<String> ACCOUNT_FILES = List.of("etc/passwd", "etc/group");
}

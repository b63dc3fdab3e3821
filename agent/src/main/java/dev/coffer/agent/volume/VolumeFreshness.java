package dev.coffer.agent.volume;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Freshness of an encrypted volume: telling the newest image of it from a replayed older copy.
 * dm-integrity authenticates each sector, but a whole image (or sector) rolled back to an older
 * authentic version of itself still verifies; only a counter the host cannot roll back tells
 * them apart. That counter is the vault's monotonic generation of the volume's key, which the
 * vault signs into the release and moves only by compare-and-set under the release's attested
 * authorisation; its copy in the image is the file {@value #FILE} at the root of the volume's
 * file system, inside the encrypted, authenticated device (the host can neither read nor forge
 * it, only present an older image holding an older value). No file means generation 0 (a
 * volume never opened since {@code coffer volume create} made it).
 *
 * <p>The protocol, for vault generation V and image generation F:
 * <ol>
 *   <li>Open: F &lt; V is a replayed older image: refused. F &gt; V + 1 cannot come from this
 *       agent (the vault's store was rolled back, or the key deleted and made again): refused.
 *       F = V + 1 means the previous session wrote its last generation into the image but its
 *       advance never reached the vault (a crash, or the host dropped the request): the vault
 *       is first brought up to V + 1 (compare-and-set V → V + 1, nothing written). Then, F = V:
 *       the image gets V + 1 (written and synced) and the vault is moved V → V + 1, before any
 *       container sees the volume. A failed advance closes the volume again: nothing mounted.</li>
 *   <li>Clean close (containers gone): the image gets S + 1 (S the session's generation),
 *       synced, then the vault moves S → S + 1, then the volume is unmounted.</li>
 * </ol>
 * The image is always written before the vault is moved, so the image is never behind the vault
 * through anything the agent does, and at most one ahead (which the next open repairs).
 *
 * <p>What is detected: any image from before the current session's open (once the open's
 * advance landed) and, after a clean close, any image but the final one (every earlier one holds
 * a smaller generation). Also two groups opening the same volume at once: one compare-and-set
 * loses ({@code generation_conflict}) and that group is refused.
 *
 * <p>What a crash leaves undetectable, exactly: when a session does not end with a clean close
 * whose advance reached the vault (the VM is killed, the agent or kernel crashes, power is lost,
 * or the host drops the close's request, which it can always do), the vault stays at the
 * session's generation, which every state of the image during that session carries. The host
 * can then present any snapshot taken during that session, from the open's write onwards, and it
 * opens: the writes after the snapshot are silently lost. Snapshots from before that session are
 * still refused. Within one session there is no order between image states (the generation moves
 * only at open and close, not per write). A read-only open writes and advances nothing: it
 * accepts F = V or V + 1. A rolled-back vault store lowers V and lets older images in (refused
 * only when the image is two or more ahead). The file is visible to the group's containers: one
 * that changes or removes it makes the next open fail closed (refused), never open a stale image.
 */
final class VolumeFreshness {
    /** Where the image holds its generation: the root of the volume's file system. */
    static final String FILE = ".coffer-generation";
    private static final String TEMP = FILE + ".new";
    private static final Pattern CONTENT = Pattern.compile("coffer-volume-generation (0|[1-9][0-9]{0,17})\n");
    private static final int MAX_BYTES = 64;

    private VolumeFreshness() {}

    /** The vault's compare-and-set, as the agent reaches it (attested, the answer checked against the pin). */
    @FunctionalInterface
    interface Vault {
        /** Moves the generation from {@code expected} to {@code next}, or throws a {@link VolumeException} saying why not. */
        void advance(long expected, long next);
    }

    /**
     * Checks the mounted image at {@code root} against the vault's generation {@code vault} and,
     * unless {@code readOnly}, advances both; returns the session's generation. Throws
     * {@link VolumeException} ({@link VolumeException.Reason#STALE} for a replayed or out-of-step
     * image) and then the caller must close the volume.
     */
    static long open(String name, Path root, long vault, boolean readOnly, Vault v) {
        long image = read(root);
        if (image < vault) {
            throw new VolumeException(VolumeException.Reason.STALE, "its image is older than the vault's record: expected volume"
                    + " generation " + vault + " (or " + (vault + 1) + ") in the image, found " + image
                    + (image == 0 ? " (no " + FILE + ": an image from before its first use, or the file was removed)" : "")
                    + "; this is a replayed copy of volume " + name + " (a snapshot from before its last session), so nothing was"
                    + " mounted; give the group the newest image, the one its last clean stop left");
        }
        if (image > vault + 1) {
            throw new VolumeException(VolumeException.Reason.STALE, "its image is ahead of the vault's record: expected volume generation "
                    + vault + " or " + (vault + 1) + " in the image, found " + image + "; the vault's store was rolled back (restored"
                    + " from an older backup) or the key was deleted and made again, so nothing was mounted; restore the vault's store");
        }
        if (readOnly) return image;
        if (image == vault + 1) {
            // the last session's final advance never reached the vault: the image is the newest; catch the vault up
            v.advance(vault, image);
            vault = image;
        }
        long session = vault + 1;
        write(root, session);
        v.advance(vault, session);
        return session;
    }

    /** Clean close of a read-write session at generation {@code session}: image first, then the vault. */
    static void close(Path root, long session, Vault v) {
        write(root, session + 1);
        v.advance(session, session + 1);
    }

    /** The generation the image at {@code root} holds: 0 without the file. */
    static long read(Path root) {
        Path file = root.resolve(FILE);
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot read " + FILE + " in the volume: " + e.getMessage());
        }
        if (!a.isRegularFile() || a.size() > MAX_BYTES) {
            throw new VolumeException(VolumeException.Reason.STALE, "expected " + FILE + " in the volume to be a regular file of at most "
                    + MAX_BYTES + " bytes, found " + (a.isSymbolicLink() ? "a symbolic link" : a.isDirectory() ? "a directory"
                    : a.isRegularFile() ? a.size() + " bytes" : "something else") + "; the volume's generation is unreadable, so it is refused");
        }
        String text;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer b = ByteBuffer.allocate(MAX_BYTES + 1);
            while (b.hasRemaining() && ch.read(b) > 0) { }
            text = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot read " + FILE + " in the volume: " + e.getMessage());
        }
        Matcher m = CONTENT.matcher(text);
        if (!m.matches()) {
            throw new VolumeException(VolumeException.Reason.STALE, "expected " + FILE + " in the volume to read \"coffer-volume-generation N\","
                    + " found " + text.length() + " other bytes; the volume's generation is unreadable, so it is refused");
        }
        return Long.parseLong(m.group(1));
    }

    /** Writes {@code generation} durably: a new file synced, renamed over the old one, the directory synced. */
    static void write(Path root, long generation) {
        Path temp = root.resolve(TEMP);
        try {
            Files.deleteIfExists(temp);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                ch.write(ByteBuffer.wrap(("coffer-volume-generation " + generation + "\n").getBytes(StandardCharsets.US_ASCII)));
                ch.force(true);
            }
            Files.move(temp, root.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel dir = FileChannel.open(root, StandardOpenOption.READ)) {
                dir.force(true);
            }
        } catch (IOException e) {
            throw new VolumeException(VolumeException.Reason.FAILED, "cannot write the volume's generation " + generation + " to " + FILE
                    + ": " + e.getMessage());
        }
    }
}

package dev.coffer.oci.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.Json;
import dev.coffer.oci.reference.ImageReference;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code images.json}: which name points at which manifest. Every change happens under an
 * exclusive lock on {@code images.lock} (other CLI processes) plus a JVM lock (other threads:
 * a JVM may not hold two locks on one file), and is written to a temporary file then renamed,
 * so readers see the old or the new index, never half of one.
 */
final class ImageIndexFile {
    record Entry(ImageReference reference, Digest manifest, Instant created) {}

    private static final ReentrantLock JVM_LOCK = new ReentrantLock();
    private static final int VERSION = 1;

    private final Path file;
    private final Path lockFile;

    ImageIndexFile(Path ociDir) {
        this.file = ociDir.resolve("images.json");
        this.lockFile = ociDir.resolve("images.lock");
    }

    interface Action<T> {
        T run(List<Entry> entries) throws IOException;
    }

    /** Runs {@code action} on the current entries under the lock; if it changes them, saves them. */
    <T> T update(Action<T> action) throws IOException {
        JVM_LOCK.lock();
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = ch.lock()) {
            assert lock.isValid();
            List<Entry> entries = readUnlocked();
            List<Entry> before = List.copyOf(entries);
            T result = action.run(entries);
            if (!entries.equals(before)) {
                write(entries);
            }
            return result;
        } finally {
            JVM_LOCK.unlock();
        }
    }

    /** A consistent snapshot; the rename-on-write makes a lock unnecessary for reading. */
    List<Entry> read() throws IOException {
        return readUnlocked();
    }

    private List<Entry> readUnlocked() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new ArrayList<>();
        }
        JsonNode root = Json.read(bytes, "image index " + file);
        if (root.path("version").asInt() != VERSION) {
            throw new OciException("image index " + file + " has version " + root.path("version")
                    + ", expected " + VERSION + "; it was written by another Coffer version");
        }
        List<Entry> out = new ArrayList<>();
        for (JsonNode e : root.path("images")) {
            try {
                out.add(new Entry(ImageReference.parse(e.path("reference").asText()),
                        Digest.parse(e.path("manifest").asText()), Instant.parse(e.path("created").asText())));
            } catch (RuntimeException bad) {
                throw new OciException("image index " + file + " has a malformed entry " + e
                        + " (" + bad.getMessage() + "); fix or delete the file", bad);
            }
        }
        return out;
    }

    private void write(List<Entry> entries) throws IOException {
        ObjectNode root = Json.object();
        root.put("version", VERSION);
        ArrayNode images = root.putArray("images");
        for (Entry e : entries) {
            ObjectNode n = images.addObject();
            n.put("reference", e.reference().toString());
            n.put("manifest", e.manifest().toString());
            n.put("created", e.created().toString());
        }
        Path temp = file.resolveSibling(".images.json.tmp-" + UUID.randomUUID());
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(Json.write(root)));
                ch.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}

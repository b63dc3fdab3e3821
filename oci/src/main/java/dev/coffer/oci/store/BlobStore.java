package dev.coffer.oci.store;

import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Content-addressed blobs under {@code <root>/sha256/<hex>}. A blob only ever appears under its
 * name after its bytes were hashed and matched (written to a temporary file in the same
 * directory, then renamed atomically), and every read hashes again, so a blob altered on disk
 * is refused rather than used.
 */
public final class BlobStore {
    static final String TEMP_PREFIX = ".tmp-";
    private static final int BUFFER = 64 * 1024;

    private final Path dir;

    public BlobStore(Path root) throws IOException {
        this.dir = root.resolve(Digest.SHA256);
        Files.createDirectories(dir);
    }

    public Path path(Digest digest) {
        return dir.resolve(digest.hex());
    }

    public boolean has(Digest digest) {
        return Files.isRegularFile(path(digest));
    }

    /** Size of a stored blob (as on disk; not a verification). */
    public long size(Digest digest) throws IOException {
        return Files.size(path(digest));
    }

    /**
     * Opens a stored blob. The stream hashes what it returns and throws
     * {@link BlobTamperedException} at end of stream if the content does not match.
     */
    public VerifyingInputStream open(Digest digest) throws IOException {
        Path p = path(digest);
        InputStream in;
        try {
            in = Files.newInputStream(p);
        } catch (NoSuchFileException e) {
            throw new OciException("blob " + digest + " is missing from the store (" + p
                    + "); remove the image with 'coffer image rm' and import or pull it again");
        }
        return new VerifyingInputStream(in, digest, -1, "stored blob " + p);
    }

    /** Reads a small blob (manifest, config) completely and verifies it. */
    public byte[] readVerified(Digest digest, int maxBytes) throws IOException {
        long size;
        try {
            size = Files.size(path(digest));
        } catch (NoSuchFileException e) {
            throw new OciException("blob " + digest + " is missing from the store (" + path(digest)
                    + "); remove the image with 'coffer image rm' and import or pull it again");
        }
        if (size > maxBytes) {
            throw new OciException("blob " + digest + " is " + size + " bytes; expected a JSON document of at most "
                    + maxBytes + " bytes: the store holds something else under this name");
        }
        try (VerifyingInputStream in = open(digest)) {
            return in.readAllBytes();
        }
    }

    /** Hashes a stored blob completely; true if its content matches its name. */
    public boolean verify(Digest digest) throws IOException {
        try (VerifyingInputStream in = open(digest)) {
            in.transferTo(OutputStreamNull.INSTANCE);
            return true;
        } catch (BlobTamperedException e) {
            return false;
        }
    }

    /**
     * Stores {@code in} completely. If {@code expected} is given the content must hash to it
     * (else {@link BlobTamperedException} and nothing is stored); {@code expectedSize} &lt; 0
     * means unknown.
     *
     * @return the digest of what was stored
     */
    public Digest put(InputStream in, Digest expected, long expectedSize, String source) throws IOException {
        if (expected != null && has(expected) && (expectedSize < 0 || size(expected) == expectedSize)
                && verify(expected)) {
            in.transferTo(OutputStreamNull.INSTANCE);
            return expected;
        }
        try (Pending pending = begin(source)) {
            byte[] buf = new byte[BUFFER];
            int n;
            while ((n = in.read(buf)) > 0) {
                pending.append(buf, 0, n);
            }
            return pending.commit(expected, expectedSize);
        }
    }

    public Digest put(byte[] bytes, Digest expected, String source) throws IOException {
        return put(new java.io.ByteArrayInputStream(bytes), expected, bytes.length, source);
    }

    /** Starts a blob whose bytes arrive in pieces (a download that may resume). */
    public Pending begin(String source) throws IOException {
        return new Pending(dir.resolve(TEMP_PREFIX + UUID.randomUUID()), source);
    }

    public void delete(Digest digest) throws IOException {
        Files.deleteIfExists(path(digest));
    }

    /** Every stored blob (names that are valid digests; temp files excluded). */
    public List<Digest> all() throws IOException {
        List<Digest> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String name = p.getFileName().toString();
                if (name.length() == 64 && !name.startsWith(".")) {
                    try {
                        out.add(new Digest(Digest.SHA256, name));
                    } catch (IllegalArgumentException ignored) {
                        // not ours: a file someone put in the store; leave it alone
                    }
                }
            }
        }
        return out;
    }

    /** Temporary files present now (for tests and for cleaning after a crash). */
    public List<Path> temporaryFiles() throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
            ds.forEach(out::add);
        }
        return out;
    }

    /**
     * A blob being written: bytes are appended to a temporary file and hashed on the way; the
     * file is renamed to its digest only by {@link #commit}. Closing without commit deletes it.
     */
    public final class Pending implements AutoCloseable {
        private final Path temp;
        private final String source;
        private final FileChannel channel;
        private MessageDigest md = Digest.newSha256();
        private long length;
        private boolean done;

        private Pending(Path temp, String source) throws IOException {
            this.temp = temp;
            this.source = source;
            this.channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }

        public void append(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            md.update(b, off, len);
            length += len;
        }

        /** Bytes received so far: where a resumed download continues. */
        public long length() {
            return length;
        }

        /** Discards what was received (a server that ignored a Range request sends it all again). */
        public void reset() throws IOException {
            channel.truncate(0);
            channel.position(0);
            md = Digest.newSha256();
            length = 0;
        }

        /** Verifies and publishes the blob under its digest. */
        public Digest commit(Digest expected, long expectedSize) throws IOException {
            Digest actual = Digest.of(md);
            if (expectedSize >= 0 && length != expectedSize) {
                throw new BlobTamperedException(source + ": expected " + expectedSize + " bytes for blob "
                        + (expected == null ? actual : expected) + ", received " + length
                        + "; the content is truncated or padded, nothing was stored");
            }
            if (expected != null && !expected.equals(actual)) {
                throw new BlobTamperedException(source + ": expected content with digest " + expected
                        + ", received content with digest " + actual
                        + "; the source serves wrong or corrupted data, nothing was stored");
            }
            channel.force(true);
            channel.close();
            try {
                Files.move(temp, path(actual), StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot rename " + temp + " atomically in the blob store", e);
            }
            done = true;
            return actual;
        }

        @Override
        public void close() throws IOException {
            if (!done) {
                done = true;
                channel.close();
                Files.deleteIfExists(temp);
            }
        }
    }

    private static final class OutputStreamNull extends java.io.OutputStream {
        static final OutputStreamNull INSTANCE = new OutputStreamNull();

        @Override
        public void write(int b) {
        }

        @Override
        public void write(byte[] b, int off, int len) {
        }
    }
}

package dev.coffer.oci.store;

import dev.coffer.oci.digest.Digest;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;

/**
 * Hashes everything read through it and, at end of stream, compares with the expected digest
 * (and size, if known): a mismatch throws {@link BlobTamperedException} instead of reporting
 * end of stream, so a consumer can never mistake altered content for the real thing.
 */
public final class VerifyingInputStream extends FilterInputStream {
    private final Digest expected;
    private final long expectedSize;
    private final String what;
    private final MessageDigest md = Digest.newSha256();
    private long count;
    private boolean verified;

    public VerifyingInputStream(InputStream in, Digest expected, long expectedSize, String what) {
        super(in);
        this.expected = expected;
        this.expectedSize = expectedSize;
        this.what = what;
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b < 0) {
            atEnd();
        } else {
            md.update((byte) b);
            count++;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n < 0) {
            atEnd();
        } else {
            md.update(b, off, n);
            count += n;
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        // Skipped bytes must still be hashed.
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        long skipped = 0;
        while (skipped < n) {
            int r = read(buf, 0, (int) Math.min(buf.length, n - skipped));
            if (r < 0) break;
            skipped += r;
        }
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public synchronized void mark(int readlimit) {
    }

    @Override
    public synchronized void reset() throws IOException {
        throw new IOException("mark/reset not supported while verifying a blob");
    }

    /** Reads the rest of the stream, so the digest is checked even if the consumer stopped early. */
    public void drainAndVerify() throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (read(buf, 0, buf.length) >= 0) {
            // hashing happens in read
        }
    }

    public boolean verified() {
        return verified;
    }

    private void atEnd() throws IOException {
        if (verified) return;
        Digest actual = Digest.of(md);
        if (expectedSize >= 0 && count != expectedSize) {
            throw new BlobTamperedException("blob " + expected + " is tampered: " + what + " has " + count
                    + " bytes, expected " + expectedSize + "; refusing to use it: remove the image with"
                    + " 'coffer image rm' and import or pull it again");
        }
        if (!actual.equals(expected)) {
            throw new BlobTamperedException("blob " + expected + " is tampered: " + what + " hashes to " + actual
                    + "; refusing to use it: remove the image with 'coffer image rm' and import or pull it again");
        }
        verified = true;
    }
}

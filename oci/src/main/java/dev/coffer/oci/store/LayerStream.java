package dev.coffer.oci.store;

import dev.coffer.oci.digest.Digest;
import io.airlift.compress.zstd.ZstdInputStream;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * The uncompressed tar of a stored layer. Two checks guard it: the stored (compressed) bytes
 * must hash to the layer digest and the uncompressed bytes to the diff id. Both are checked at
 * end of stream, and {@link #close} reads to the end first, so a consumer that stops at the tar
 * end-of-archive marker still gets the verdict before it trusts what it unpacked.
 */
final class LayerStream extends InputStream {
    private final LayerBlob layer;
    private final Path blob;
    private final VerifyingInputStream raw;
    private final VerifyingInputStream uncompressed;
    private boolean failed;
    private boolean closed;

    LayerStream(LayerBlob layer, Path blob) throws IOException {
        this.layer = layer;
        this.blob = blob;
        long onDisk = Files.size(blob);
        if (onDisk != layer.size()) {
            throw new BlobTamperedException("blob " + layer.digest() + " is tampered: " + blob + " has " + onDisk
                    + " bytes, the manifest says " + layer.size() + "; refusing to use it: remove the image with"
                    + " 'coffer image rm' and import or pull it again");
        }
        this.raw = new VerifyingInputStream(Files.newInputStream(blob), layer.digest(), layer.size(),
                "stored layer " + blob);
        InputStream decompressed;
        try {
            decompressed = decompress(new BufferedInputStream(raw, 64 * 1024));
        } catch (IOException e) {
            raw.close();
            throw translate(e);
        }
        this.uncompressed = new VerifyingInputStream(decompressed, layer.diffId(), -1,
                "the uncompressed content of layer " + layer.digest() + " (diff id)");
    }

    /** Picks the decompressor by the content's magic bytes: media types of old archives lie. */
    private static InputStream decompress(BufferedInputStream in) throws IOException {
        in.mark(4);
        byte[] magic = in.readNBytes(4);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
            return new GZIPInputStream(in, 64 * 1024);
        }
        if (magic.length == 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) {
            return new ZstdInputStream(in);
        }
        return in;
    }

    @Override
    public int read() throws IOException {
        try {
            return uncompressed.read();
        } catch (IOException e) {
            throw translate(e);
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            return uncompressed.read(b, off, len);
        } catch (IOException e) {
            throw translate(e);
        }
    }

    /**
     * A decompression error on a blob whose digest does not match is tampering, and should say
     * so rather than "invalid block type".
     */
    private IOException translate(IOException e) {
        failed = true;
        if (e instanceof BlobTamperedException) return e;
        try (VerifyingInputStream check = new VerifyingInputStream(Files.newInputStream(blob), layer.digest(),
                layer.size(), "stored layer " + blob)) {
            check.drainAndVerify();
        } catch (BlobTamperedException tampered) {
            tampered.addSuppressed(e);
            return tampered;
        } catch (IOException ignored) {
            // the original error says more
        }
        return new IOException("cannot decompress layer " + layer.digest() + " (" + layer.mediaType() + "): "
                + e.getMessage() + "; the blob matches its digest, so the image itself is malformed", e);
    }

    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        try {
            if (!failed) {
                byte[] buf = new byte[64 * 1024];
                while (read(buf, 0, buf.length) >= 0) {
                    // draining verifies the diff id
                }
                raw.drainAndVerify();
            }
        } finally {
            raw.close();
        }
    }
}

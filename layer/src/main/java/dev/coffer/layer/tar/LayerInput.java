package dev.coffer.layer.tar;

import dev.coffer.layer.InvalidLayerException;
import io.airlift.compress.zstd.ZstdInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Opens a layer blob whatever its compression, told apart by magic bytes rather than by media
 * type or file name (registries and archives get those wrong): gzip, zstd, or a plain tar.
 */
public final class LayerInput {
    /** The compression a layer blob was found to use. */
    public enum Compression { NONE, GZIP, ZSTD }

    private LayerInput() {}

    /** The compression of a stream positioned at its start; the stream must support mark/reset. */
    public static Compression sniff(InputStream in) throws IOException {
        if (!in.markSupported()) throw new IllegalArgumentException("sniff needs a stream that supports mark/reset");
        in.mark(8);
        byte[] magic = in.readNBytes(6);
        in.reset();
        if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) return Compression.GZIP;
        if (magic.length >= 4 && (magic[0] & 0xff) == 0x28 && (magic[1] & 0xff) == 0xb5
                && (magic[2] & 0xff) == 0x2f && (magic[3] & 0xff) == 0xfd) return Compression.ZSTD;
        if (magic.length >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') {
            throw new InvalidLayerException("the layer is bzip2-compressed; expected a plain, gzip or zstd tar");
        }
        if (magic.length >= 6 && (magic[0] & 0xff) == 0xfd && magic[1] == '7' && magic[2] == 'z' && magic[3] == 'X') {
            throw new InvalidLayerException("the layer is xz-compressed; expected a plain, gzip or zstd tar");
        }
        return Compression.NONE;
    }

    /** The uncompressed tar stream of a layer blob. */
    public static InputStream open(InputStream raw) throws IOException {
        // A stream that can mark already buffers (or maps) its bytes; wrapping it again would add
        // a copy of every byte of the layer.
        InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw, 1 << 16);
        return switch (sniff(in)) {
            case NONE -> in;
            case GZIP -> new Decompressing(new GzipCompressorInputStream(in, true), "gzip");
            case ZSTD -> new Decompressing(new ZstdInputStream(in), "zstd");
        };
    }

    /** Turns decoder failures into a clear verdict on the layer instead of a bare codec error. */
    private static final class Decompressing extends FilterInputStream {
        private final String codec;

        Decompressing(InputStream in, String codec) {
            super(in);
            this.codec = codec;
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException | RuntimeException e) {
                throw corrupt(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                throw corrupt(e);
            }
        }

        private InvalidLayerException corrupt(Exception e) {
            return new InvalidLayerException("the " + codec + " stream of the layer is corrupt or truncated ("
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage())
                    + "); re-download the layer", e);
        }
    }
}

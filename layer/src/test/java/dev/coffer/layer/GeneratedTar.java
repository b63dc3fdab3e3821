package dev.coffer.layer;

import java.io.InputStream;

/**
 * A tar produced on the fly, never held in memory or on disk: {@code files} regular files of
 * {@code fileSize} bytes each (pseudo-random content, or zeros), then the end-of-archive blocks.
 */
final class GeneratedTar extends InputStream {
    private final int files;
    private final long fileSize;
    private final boolean zeros;
    private int index = -1;
    private byte[] current = new byte[0];
    private int currentPos;
    private long dataLeft;
    private long padLeft;
    private long rng = 0x9E3779B97F4A7C15L;
    private boolean trailerDone;

    GeneratedTar(int files, long fileSize, boolean zeros) {
        this.files = files;
        this.fileSize = fileSize;
        this.zeros = zeros;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        while (true) {
            if (currentPos < current.length) {
                int n = Math.min(len, current.length - currentPos);
                System.arraycopy(current, currentPos, b, off, n);
                currentPos += n;
                return n;
            }
            if (dataLeft > 0) {
                int n = (int) Math.min(len, dataLeft);
                if (zeros) {
                    java.util.Arrays.fill(b, off, off + n, (byte) 0);
                } else {
                    for (int i = 0; i < n; i++) {
                        rng ^= rng << 13;
                        rng ^= rng >>> 7;
                        rng ^= rng << 17;
                        b[off + i] = (byte) rng;
                    }
                }
                dataLeft -= n;
                return n;
            }
            if (padLeft > 0) {
                int n = (int) Math.min(len, padLeft);
                java.util.Arrays.fill(b, off, off + n, (byte) 0);
                padLeft -= n;
                return n;
            }
            index++;
            if (index < files) {
                byte[] h = TarBuilder.header("data/dir" + (index % 50) + "/file" + index, '0', 0644,
                        1700000000L, 0, 0, "", fileSize);
                if (index < 50) {
                    // parents first, like real layers
                    byte[] d = TarBuilder.header("data/dir" + index + "/", '5', 0755, 1700000000L, 0, 0, "", 0);
                    TarBuilder.checksum(d);
                    TarBuilder.checksum(h);
                    current = new byte[1024];
                    System.arraycopy(d, 0, current, 0, 512);
                    System.arraycopy(h, 0, current, 512, 512);
                } else {
                    TarBuilder.checksum(h);
                    current = h;
                }
                currentPos = 0;
                dataLeft = fileSize;
                padLeft = -fileSize & 511;
                continue;
            }
            if (!trailerDone) {
                trailerDone = true;
                current = new byte[1024];
                currentPos = 0;
                continue;
            }
            return -1;
        }
    }
}

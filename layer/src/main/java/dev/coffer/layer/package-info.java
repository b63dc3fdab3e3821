/**
 * Layer disks: a layer tar (plain, gzip or zstd) becomes a deterministic, read-only ext4 image
 * followed by a dm-verity hash tree, and its root hash is what policies pin.
 *
 * <p>Entry points: {@link dev.coffer.layer.LayerHasher} ({@code rootHash}, {@code buildDisk},
 * {@code verifyDisk}, {@code diffId}) and {@link dev.coffer.layer.LayerDiskCache} ({@code getOrBuild},
 * {@code lookup}, {@code build}). Disk layout ({@link dev.coffer.layer.LayerDisk}):
 * <pre>
 *   [0, dataSize)                  ext4 image (Azure's compact layout, 4 KiB blocks)
 *   [dataSize, dataSize + 4096)    dm-verity superblock (sha256, 4096/4096, 32 zero-byte salt)
 *   [dataSize + 4096, end)         hash tree, top level first
 * </pre>
 * {@code veritysetup open DISK NAME DISK ROOT --hash-offset=dataSize} maps it.
 *
 * <p>Packages: {@code tar} reads tars as Go's archive/tar does, {@code ext4} lays out the image
 * as Azure's compactext4 does, {@code verity} hashes it while it is written, {@code bench}
 * measures it against veritysetup.
 *
 * <p>Speed: hashing (SHA-256 of every 4 KiB block) is most of the work, and it runs at SHA-NI
 * speed only through HotSpot's C2 intrinsic. A JVM started with {@code -XX:TieredStopAtLevel=1}
 * (C1 only) or {@code -Xint} hashes in plain Java, about ten times slower;
 * {@link dev.coffer.layer.bench.LayerBenchmark#jitWarning()} says so.
 */
package dev.coffer.layer;

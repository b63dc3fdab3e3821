package dev.coffer.agent.container;

import java.nio.file.Path;

/**
 * One mounted layer disk.
 *
 * @param method     how the disk's integrity is enforced: {@link LayerDevices#DM_VERITY} or
 *                   {@link LayerDevices#VERIFIED_LOOP}
 * @param mapperName the device-mapper name when opened with veritysetup, else null
 */
record LayerDevice(Path source, Path target, String rootHash, String method, String mapperName) {}

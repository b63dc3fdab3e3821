/**
 * The AMD SEV / SEV-ES / SEV-SNP launch digest of a QEMU (or EC2, GCE) direct-boot launch,
 * computed from its inputs as the secure processor computes it: the MEASUREMENT a real report of
 * that launch carries, known before the guest runs.
 *
 * <pre>{@code
 * OvmfFirmware fw = OvmfFirmware.read(Path.of("OVMF.fd"));                 // AmdSev build for direct boot
 * DirectBoot boot = DirectBoot.ofFiles(kernel, initrd, "console=ttyS0");     // what -kernel/-initrd/-append pass
 * LaunchInputs in = LaunchInputs.snp(fw, Optional.of(boot), 4, VcpuSignature.ofType("EPYC-Milan"));
 * byte[] measurement = LaunchDigestCalculator.compute(in).measurement();    // 48 bytes
 * }</pre>
 *
 * The full {@link dev.coffer.attest.measure.snp.LaunchInputs} constructor adds the mode, the VMM,
 * the guest features (SEV_FEATURES) and a precomputed firmware digest
 * ({@link dev.coffer.attest.measure.snp.LaunchDigestCalculator#firmwareDigest}; the firmware's
 * metadata is still read from the image). {@code compute(in, true)} also returns the page-by-page
 * log. Malformed firmware raises {@link dev.coffer.attest.measure.snp.FirmwareFormatException}
 * with what was expected and found.
 */
package dev.coffer.attest.measure.snp;

/**
 * The AMD SEV / SEV-ES / SEV-SNP launch digest of a QEMU direct-boot launch, computed from its
 * inputs as the secure processor computes it: {@link dev.coffer.attest.measure.snp.LaunchDigestCalculator}
 * over {@link dev.coffer.attest.measure.snp.LaunchInputs} (an {@link dev.coffer.attest.measure.snp.OvmfFirmware},
 * the {@link dev.coffer.attest.measure.snp.DirectBoot} kernel/initrd/command line, vCPU count and
 * {@link dev.coffer.attest.measure.snp.VcpuSignature}, {@link dev.coffer.attest.measure.snp.VmmType},
 * guest features). The result is the MEASUREMENT a real report of that launch carries.
 */
package dev.coffer.attest.measure.snp;

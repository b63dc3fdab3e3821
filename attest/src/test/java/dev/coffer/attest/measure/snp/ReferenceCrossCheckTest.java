package dev.coffer.attest.measure.snp;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Launches the vectors do not cover (EC2, GCE, many vCPUs, other CPU models, guest features,
 * non-empty kernel and initrd), on the AmdSev fixture. The expected values were computed here
 * with virtee/sev-snp-measure at commit 8f2b337 (the vectors' source), on the deterministic
 * kernel and initrd below:
 * {@code sev-snp-measure.py --ovmf ovmf_AmdSev_suffix.bin --mode ... --kernel k --initrd i --append ...}.
 */
class ReferenceCrossCheckTest {
    /** 200000 bytes, byte i = 31 i mod 256. */
    static final byte[] KERNEL = pattern(200_000, 31, 0);
    /** 5000 bytes, byte i = 7 i + 3 mod 256. */
    static final byte[] INITRD = pattern(5_000, 7, 3);

    static byte[] pattern(int n, int mul, int add) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) (i * mul + add);
        return b;
    }

    static Stream<Arguments> launches() {
        DirectBoot full = DirectBoot.of(KERNEL, INITRD, null);
        return Stream.of(
                Arguments.of("snp 8 vCPU EPYC-Genoa, kernel+initrd+append", SevMode.SNP, 8, "EPYC-Genoa", VmmType.QEMU, 0x1L,
                        Optional.of(DirectBoot.of(KERNEL, INITRD, "root=/dev/vda")),
                        "1860a8338774ef359a7aa7b4336a3e6819b6f78b5a7537df134efd31d9f7366fcc42c501a49e5cfbec1d93eafbc19f54"),
                Arguments.of("snp 3 vCPU EPYC-Milan, features 0x5, kernel only", SevMode.SNP, 3, "EPYC-Milan", VmmType.QEMU, 0x5L,
                        Optional.of(DirectBoot.of(KERNEL, null, null)),
                        "2595d68002d54700a9490d8bcd7d0dd571220baf9ed8e94b303c2c4433fb2792aa851e7a904f92bb89b151ae44413608"),
                Arguments.of("snp 5 vCPU ec2, kernel+initrd", SevMode.SNP, 5, null, VmmType.EC2, 0x1L, Optional.of(full),
                        "56d48a9059ef5ad0f9ffa1f7ae22958d26c360aa9c1aca44e7041782f65b9bed89e0224ee57cc40c78460e8f9411bc44"),
                Arguments.of("snp 5 vCPU gce, kernel+initrd", SevMode.SNP, 5, null, VmmType.GCE, 0x1L, Optional.of(full),
                        "4675c9771c9a3cf27a656a0f865bb3fb5755124e8b2be87d37d4d3a178e6c004b7126faeed851c50d7e4fcc59795e097"),
                Arguments.of("snp 2 vCPU gce, no kernel", SevMode.SNP, 2, null, VmmType.GCE, 0x1L, Optional.empty(),
                        "79dfaeda92b99cdb2ae455e964b5b8c867a1756ca4b12080ef461e207f68d738deb06eb11567a374090eea9b9731d6be"),
                Arguments.of("seves 4 vCPU EPYC-Rome, kernel+initrd+append", SevMode.SEV_ES, 4, "EPYC-Rome", VmmType.QEMU, 0x1L,
                        Optional.of(DirectBoot.of(KERNEL, INITRD, "a")),
                        "1fb1ed234da97b7fbfd95134d26bcbf63fc9f14c37bff7a965daf1fc3e4137b7"),
                Arguments.of("seves 2 vCPU ec2", SevMode.SEV_ES, 2, "EPYC", VmmType.EC2, 0x1L, Optional.empty(),
                        "07098e83424ff68d330b4f84b52b5def1c74d7e147586c731266eacfb9ae74cb"),
                Arguments.of("sev kernel+append", SevMode.SEV, 1, null, VmmType.QEMU, 0x1L, Optional.of(DirectBoot.of(KERNEL, null, "hello")),
                        "ae8352f0881bc3130e9d459bcb7e10352e6bca8e227d925cd40dea3f8dea1099"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("launches")
    void matchesTheReferenceImplementation(String name, SevMode mode, int vcpus, String vcpuType, VmmType vmm, long features,
                                           Optional<DirectBoot> boot, String expected) {
        OvmfFirmware fw = SnpMeasureVectors.firmware("ovmf_AmdSev_suffix.bin");
        VcpuSignature sig = vcpuType == null ? null : VcpuSignature.ofType(vcpuType);
        LaunchInputs in = new LaunchInputs(mode, fw, Optional.empty(), boot, vcpus, sig, vmm, features);
        assertEquals(expected, LaunchDigestCalculator.compute(in).hex(), name);
    }
}

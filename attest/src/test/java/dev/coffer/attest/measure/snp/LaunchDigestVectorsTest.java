package dev.coffer.attest.measure.snp;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every vector of virtee/sev-snp-measure's test suite (written out in vectors.json with its
 * firmware fixtures) gives the same MEASUREMENT here, and the one that must fail fails.
 */
class LaunchDigestVectorsTest {
    static final HexFormat HEX = HexFormat.of();
    static final byte[] EMPTY_FILE = new byte[0];

    static Stream<Arguments> vectors() {
        List<JsonNode> all = SnpMeasureVectors.vectors();
        assertEquals(9, all.size(), "vectors.json changed; update this count after checking the new vectors");
        return all.stream().map(v -> Arguments.of(v.get("id").asText(), v));
    }

    /** The vector's inputs as the calculator takes them. */
    static LaunchInputs inputs(JsonNode v) {
        SevMode mode = switch (v.get("mode").asText().split(" ")[0]) {
            case "SEV_SNP" -> SevMode.SNP;
            case "SEV_ES" -> SevMode.SEV_ES;
            case "SEV" -> SevMode.SEV;
            default -> throw new AssertionError("unknown mode in vector: " + v.get("mode"));
        };
        OvmfFirmware fw = SnpMeasureVectors.firmware(v.get("ovmf").asText());
        Optional<byte[]> seed = v.hasNonNull("snp_ovmf_hash") ? Optional.of(HEX.parseHex(v.get("snp_ovmf_hash").asText())) : Optional.empty();
        Optional<DirectBoot> boot = Optional.empty();
        if (v.hasNonNull("kernel")) {
            assertEquals("empty file", v.get("kernel").asText());
            byte[] initrd = v.hasNonNull("initrd") ? EMPTY_FILE : null;
            String cmdline = v.hasNonNull("cmdline") ? v.get("cmdline").asText() : null;
            boot = Optional.of(DirectBoot.of(EMPTY_FILE, initrd, cmdline));
        }
        int vcpus = v.has("vcpus") ? v.get("vcpus").asInt() : 1;
        VcpuSignature sig = VcpuSignature.ofType(v.has("vcpu_type") ? v.get("vcpu_type").asText() : "EPYC-v4");
        VmmType vmm = v.has("vmm") ? VmmType.parse(v.get("vmm").asText()) : VmmType.QEMU;
        long features = v.has("guest_features") && v.get("guest_features").asText().startsWith("0x")
                ? Long.decode(v.get("guest_features").asText()) : LaunchInputs.DEFAULT_GUEST_FEATURES;
        return new LaunchInputs(mode, fw, seed, boot, vcpus, sig, vmm, features);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vectors")
    void everyVectorMatches(String id, JsonNode v) {
        if (v.has("fn")) {
            assertEquals("calc_snp_ovmf_hash", v.get("fn").asText());
            byte[] d = LaunchDigestCalculator.firmwareDigest(SnpMeasureVectors.firmware(v.get("ovmf").asText()));
            assertEquals(v.get("expected").asText(), HEX.formatHex(d), id);
            return;
        }
        if (v.has("expected_error")) {
            LaunchInputs in = inputs(v);
            FirmwareFormatException e = assertThrows(FirmwareFormatException.class, () -> LaunchDigestCalculator.compute(in), id);
            assertTrue(e.getMessage().contains("no SNP_KERNEL_HASHES section"), e.getMessage());
            assertTrue(e.getMessage().contains("AmdSevX64.dsc"), "the error says what to do: " + e.getMessage());
            return;
        }
        LaunchInputs in = inputs(v);
        LaunchDigest d = LaunchDigestCalculator.compute(in);
        assertEquals(v.get("expected").asText(), d.hex(), id);
        assertEquals(in.mode().digestLength(), d.measurement().length);
        assertTrue(d.steps().isEmpty(), "no log unless asked for");

        // The log, when asked for, ends in the same digest and does not change it.
        LaunchDigest logged = LaunchDigestCalculator.compute(in, true);
        assertEquals(d.hex(), logged.hex());
        assertFalse(logged.steps().isEmpty());
        if (logged.steps().getLast() instanceof MeasuredStep.Page last) {
            assertArrayEquals(d.measurement(), last.digestAfter());
            assertEquals(PageType.VMSA, last.type());
            long vmsaPages = logged.steps().stream().filter(s -> s instanceof MeasuredStep.Page p && p.type() == PageType.VMSA).count();
            assertEquals(in.vcpus(), vmsaPages);
        }
    }

    @Test
    void aPrecomputedFirmwareDigestGivesTheSameMeasurementAsTheImage() {
        OvmfFirmware fw = SnpMeasureVectors.firmware("ovmf_AmdSev_suffix.bin");
        DirectBoot boot = DirectBoot.of(new byte[] {1, 2, 3}, new byte[] {4}, "console=ttyS0");
        LaunchInputs fromImage = LaunchInputs.snp(fw, Optional.of(boot), 2, VcpuSignature.ofType("EPYC-Milan"));
        LaunchInputs seeded = new LaunchInputs(SevMode.SNP, fw, Optional.of(LaunchDigestCalculator.firmwareDigest(fw)), Optional.of(boot),
                2, VcpuSignature.ofType("EPYC-Milan"), VmmType.QEMU, 1);
        assertEquals(LaunchDigestCalculator.compute(fromImage).hex(), LaunchDigestCalculator.compute(seeded).hex());
    }

    @Test
    void intermediatesMatch() {
        JsonNode im = SnpMeasureVectors.intermediates();
        assertEquals(im.get("vcpu_sig EPYC-v4 (family 23 model 1 stepping 2)").asText(), VcpuSignature.ofType("EPYC-v4").toString());
        String table = im.get("sev_hashes_table(kernel=empty file, initrd=empty file, cmdline='console=ttyS0 loglevel=7') 176 bytes").asText();
        assertEquals(table, HEX.formatHex(DirectBoot.of(EMPTY_FILE, EMPTY_FILE, "console=ttyS0 loglevel=7").table()));
        VcpuSignature sig = VcpuSignature.ofType("EPYC-v4");
        assertEquals(im.get("sha384(VMSA page) BSP, QEMU, guest_features 0x21, EPYC-v4").asText(),
                HEX.formatHex(PageInfoChain.sha384().digest(Vmsa.page(Vmsa.BSP_EIP, 0x21, sig, VmmType.QEMU))));
        assertEquals(im.get("sha384(VMSA page) AP (eip 0x80b004), QEMU, 0x21, EPYC-v4").asText(),
                HEX.formatHex(PageInfoChain.sha384().digest(Vmsa.page(0x80b004, 0x21, sig, VmmType.QEMU))));
    }
}

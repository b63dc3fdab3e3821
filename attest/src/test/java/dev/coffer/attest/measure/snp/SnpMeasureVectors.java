package dev.coffer.attest.measure.snp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.attest.TestData;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The launch-digest vectors and firmware fixtures under ../shared/testdata/attestation/snp-measure. */
final class SnpMeasureVectors {
    private SnpMeasureVectors() {}

    static final String DIR = "snp-measure/";

    static Path dir() {
        return TestData.shared().resolve(DIR);
    }

    static JsonNode root() {
        try {
            return new ObjectMapper().readTree(dir().resolve("vectors.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> vectors() {
        List<JsonNode> all = new ArrayList<>();
        root().get("vectors").forEach(all::add);
        return all;
    }

    static OvmfFirmware firmware(String name) {
        return OvmfFirmware.parse(TestData.read(DIR + name));
    }

    static JsonNode intermediates() {
        return root().get("intermediates");
    }
}

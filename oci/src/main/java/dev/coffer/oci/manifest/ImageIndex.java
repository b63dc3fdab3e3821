package dev.coffer.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.OciException;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** An image index / Docker manifest list: one manifest per platform (or, in a layout, per tag). */
public record ImageIndex(String mediaType, List<Descriptor> manifests) implements ManifestDocument {
    public ImageIndex {
        manifests = List.copyOf(manifests);
    }

    static ImageIndex fromJson(JsonNode root, String mediaType, String what) throws OciException {
        JsonNode m = root.get("manifests");
        if (m == null || !m.isArray()) {
            throw new OciException(what + " has no 'manifests' array; the index is malformed");
        }
        List<Descriptor> out = new ArrayList<>();
        for (JsonNode d : m) {
            out.add(Json.descriptor(d, what + " entry " + out.size()));
        }
        return new ImageIndex(mediaType, out);
    }

    /**
     * The entry for {@code platform}. Entries without a platform are not candidates: in a
     * multi-arch index each manifest names its platform.
     */
    public Descriptor select(Platform platform, String what) throws OciException {
        for (Descriptor d : manifests) {
            Platform p = d.platform();
            if (p != null && p.os().equals(platform.os()) && p.architecture().equals(platform.architecture())
                    && (platform.variant().isEmpty() || platform.variant().equals(p.variant()))) {
                return d;
            }
        }
        String offered = manifests.stream().map(d -> d.platform() == null ? "?" : d.platform().toString())
                .collect(Collectors.joining(", "));
        throw new OciException(what + " has no manifest for " + platform + " (it offers: "
                + (offered.isEmpty() ? "nothing" : offered) + "); use an image built for " + platform);
    }

    public byte[] toJson() {
        ObjectNode n = Json.object();
        n.put("schemaVersion", 2);
        n.put("mediaType", mediaType);
        ArrayNode a = n.putArray("manifests");
        manifests.forEach(d -> a.add(Json.descriptorJson(d)));
        return Json.write(n);
    }
}

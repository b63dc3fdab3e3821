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
     * The entry for {@code platform}, chosen as containerd chooses it (so the manifest Coffer
     * checks is the one containerd runs): entries are ranked by {@link Platform#preference()},
     * and the best rank must hold exactly one entry. containerd would silently take the first
     * of two equally good entries; an index offering two different images for one platform is
     * ambiguous, and which of them a container gets must not depend on entry order a registry
     * controls, so it is refused. Entries without a platform are not candidates: in a
     * multi-platform index each manifest names its platform.
     */
    public Descriptor select(Platform platform, String what) throws OciException {
        for (Platform wanted : platform.preference()) {
            List<Descriptor> matching = manifests.stream().filter(d -> d.platform() != null && wanted.matches(d.platform())).toList();
            if (matching.size() == 1) return matching.getFirst();
            if (matching.size() > 1) {
                String which = matching.stream().map(d -> d.digest() + " (" + d.platform() + ")").collect(Collectors.joining(", "));
                throw new OciException(what + " is ambiguous: " + matching.size() + " entries are for " + wanted + ": " + which
                        + "; neither variant nor os.version tells them apart on " + platform + " (os.version counts only for"
                        + " Windows), so which image runs would depend on entry order; name one of them by its digest");
            }
        }
        String offered = manifests.stream().map(d -> d.platform() == null ? "no platform" : d.platform().toString())
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

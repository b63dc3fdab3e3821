package dev.coffer.oci.manifest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.store.ImageConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The image configuration blob: run settings plus the digests of the uncompressed layers. */
public record ConfigFile(ImageConfig config, List<Digest> diffIds) {
    public ConfigFile {
        diffIds = List.copyOf(diffIds);
    }

    public static ConfigFile parse(byte[] json, String what) throws OciException {
        JsonNode root = Json.read(json, what);
        JsonNode c = root.path("config");
        List<String> ports = new ArrayList<>();
        c.path("ExposedPorts").fieldNames().forEachRemaining(ports::add);
        ImageConfig config = new ImageConfig(Json.strings(c.get("Entrypoint")), Json.strings(c.get("Cmd")),
                Json.strings(c.get("Env")), Json.text(c, "WorkingDir"), Json.text(c, "User"), ports,
                Json.stringMap(c.get("Labels")), Json.text(root, "os"), Json.text(root, "architecture"));
        JsonNode rootfs = root.get("rootfs");
        if (rootfs == null || !rootfs.path("diff_ids").isArray()) {
            throw new OciException(what + " has no rootfs.diff_ids; expected an image configuration"
                    + " (is this an artifact rather than a container image?)");
        }
        List<Digest> diffIds = new ArrayList<>();
        for (JsonNode d : rootfs.get("diff_ids")) {
            try {
                diffIds.add(Digest.parse(d.asText()));
            } catch (IllegalArgumentException e) {
                throw new OciException(what + " rootfs.diff_ids[" + diffIds.size() + "]: " + e.getMessage(), e);
            }
        }
        return new ConfigFile(config, diffIds);
    }

    /** The config JSON as the OCI image spec lays it out; deterministic for equal input. */
    public byte[] toJson() {
        ObjectNode root = Json.object();
        root.put("architecture", config.architecture());
        root.put("os", config.os());
        ObjectNode c = root.putObject("config");
        if (!config.user().isEmpty()) c.put("User", config.user());
        if (!config.exposedPorts().isEmpty()) {
            ObjectNode p = c.putObject("ExposedPorts");
            config.exposedPorts().forEach(port -> p.putObject(port));
        }
        if (!config.env().isEmpty()) c.set("Env", Json.array(config.env()));
        if (!config.entrypoint().isEmpty()) c.set("Entrypoint", Json.array(config.entrypoint()));
        if (!config.cmd().isEmpty()) c.set("Cmd", Json.array(config.cmd()));
        if (!config.workingDir().isEmpty()) c.put("WorkingDir", config.workingDir());
        if (!config.labels().isEmpty()) {
            ObjectNode l = c.putObject("Labels");
            config.labels().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> l.put(e.getKey(), e.getValue()));
        }
        ObjectNode rootfs = root.putObject("rootfs");
        rootfs.put("type", "layers");
        ArrayNode ids = rootfs.putArray("diff_ids");
        diffIds.forEach(d -> ids.add(d.toString()));
        return Json.write(root);
    }
}

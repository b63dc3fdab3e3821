package dev.coffer.policy.aci;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One ACI container group of an ARM template, with every expression resolved: what
 * {@link AciPolicyGenerator} needs, nothing more.
 *
 * @param volumes each volume's name and its kind (azureFile, secret, emptyDir, gitRepo)
 */
public record AciGroup(String name, List<Container> containers, Map<String, String> volumes) {
    public AciGroup {
        containers = List.copyOf(containers);
        volumes = Map.copyOf(volumes);
    }

    /**
     * @param command     the template's command (it replaces the image's entrypoint and cmd), or null
     * @param execProbes  the commands of the container's exec liveness/readiness probes
     */
    public record Container(String name, String image, List<String> command, List<EnvVar> env, List<VolumeMount> volumeMounts,
                            SecurityContext security, List<List<String>> execProbes) {
        public Container {
            command = command == null ? null : List.copyOf(command);
            env = List.copyOf(env);
            volumeMounts = List.copyOf(volumeMounts);
            execProbes = List.copyOf(execProbes);
        }
    }

    /** {@code pattern}: the value is a pattern (secureValue, or a parameter with no value), not a literal. */
    public record EnvVar(String name, String value, boolean pattern) {}

    public record VolumeMount(String volume, String mountPath, boolean readOnly) {}

    /**
     * The container's securityContext. {@code runAsUser}/{@code runAsGroup} are null when unset;
     * {@code seccompProfile} is the base64 profile as the template gives it, or null.
     */
    public record SecurityContext(boolean privileged, boolean allowPrivilegeEscalation, Long runAsUser, Long runAsGroup,
                                  List<String> capabilitiesAdd, List<String> capabilitiesDrop, String seccompProfile) {
        public static final SecurityContext DEFAULT = new SecurityContext(false, true, null, null, List.of(), List.of(), null);

        public SecurityContext {
            capabilitiesAdd = List.copyOf(capabilitiesAdd);
            capabilitiesDrop = List.copyOf(capabilitiesDrop);
        }
    }

    /** The volume kinds acipolicygen maps to sandbox mount sources. */
    static final List<String> VOLUME_KINDS = List.of("azureFile", "secret", "emptyDir", "gitRepo");

    static AciGroup fromResource(JsonNode r, ArmTemplate t, String at) {
        String name = t.text(r.path("name"), at + ".name");
        JsonNode props = r.path("properties");
        if (!props.isObject()) {
            throw new ArmTemplateException(at + ".properties: expected an object, found " + ArmTemplate.kind(props));
        }
        Map<String, String> volumes = new LinkedHashMap<>();
        JsonNode vs = props.path("volumes");
        for (int i = 0; i < vs.size(); i++) {
            String vat = at + ".properties.volumes[" + i + "]";
            JsonNode v = vs.get(i);
            String vname = t.text(v.path("name"), vat + ".name");
            String kind = VOLUME_KINDS.stream().filter(v::has).findFirst().orElseThrow(() -> new ArmTemplateException(vat
                    + ": expected one of " + VOLUME_KINDS + " in volume '" + vname + "', found fields " + fields(v)));
            volumes.put(vname, kind);
        }
        JsonNode cs = props.path("containers");
        if (!cs.isArray() || cs.isEmpty()) {
            throw new ArmTemplateException(at + ".properties.containers: expected a non-empty array, found " + ArmTemplate.kind(cs));
        }
        List<Container> containers = new ArrayList<>();
        for (int i = 0; i < cs.size(); i++) {
            containers.add(container(cs.get(i), t, at + ".properties.containers[" + i + "]", volumes));
        }
        return new AciGroup(name, containers, volumes);
    }

    private static List<String> fields(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static Container container(JsonNode c, ArmTemplate t, String at, Map<String, String> volumes) {
        String name = t.text(c.path("name"), at + ".name");
        JsonNode p = c.path("properties");
        String image = t.text(p.path("image"), at + ".properties.image");
        List<String> command = p.has("command") ? strings(t.resolve(p.get("command"), at + ".properties.command"),
                at + ".properties.command") : null;
        List<EnvVar> env = new ArrayList<>();
        JsonNode envs = p.path("environmentVariables");
        for (int i = 0; i < envs.size(); i++) {
            String eat = at + ".properties.environmentVariables[" + i + "]";
            JsonNode e = envs.get(i);
            String ename = t.text(e.path("name"), eat + ".name");
            if (e.has("secureValue")) {
                // a secret's value never goes into the policy: any value is allowed, as acipolicygen does
                env.add(new EnvVar(ename, ".*", true));
                continue;
            }
            Object v = t.resolveMaybeUnset(e.path("value"), eat + ".value");
            if (v instanceof ArmTemplate.Unset) {
                env.add(new EnvVar(ename, ".*", true));
            } else if (v instanceof JsonNode n && n.isValueNode() && !n.isNull()) {
                env.add(new EnvVar(ename, n.asText(), false));
            } else {
                throw new ArmTemplateException(eat + ".value: expected a string (or secureValue), found "
                        + ArmTemplate.kind(v instanceof JsonNode n ? n : null));
            }
        }
        List<VolumeMount> mounts = new ArrayList<>();
        JsonNode vms = p.path("volumeMounts");
        for (int i = 0; i < vms.size(); i++) {
            String mat = at + ".properties.volumeMounts[" + i + "]";
            JsonNode m = vms.get(i);
            String volume = t.text(m.path("name"), mat + ".name");
            if (!volumes.containsKey(volume)) {
                throw new ArmTemplateException(mat + ".name: volume '" + volume + "' is not among the group's volumes "
                        + volumes.keySet() + "; declare it under properties.volumes");
            }
            String path = t.text(m.path("mountPath"), mat + ".mountPath");
            if (!path.startsWith("/")) {
                throw new ArmTemplateException(mat + ".mountPath: expected an absolute path, found '" + path + "'");
            }
            JsonNode ro = t.resolve(m.path("readOnly"), mat + ".readOnly");
            mounts.add(new VolumeMount(volume, path, ro != null && ro.asBoolean(false)));
        }
        List<List<String>> probes = new ArrayList<>();
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            JsonNode exec = p.path(probe).path("exec");
            if (exec.has("command")) {
                probes.add(strings(t.resolve(exec.get("command"), at + ".properties." + probe + ".exec.command"),
                        at + ".properties." + probe + ".exec.command"));
            }
        }
        return new Container(name, image, command, env, mounts, security(p.path("securityContext"), t,
                at + ".properties.securityContext"), probes);
    }

    private static SecurityContext security(JsonNode s, ArmTemplate t, String at) {
        if (s.isMissingNode() || s.isNull()) return SecurityContext.DEFAULT;
        JsonNode sc = t.resolve(s, at);
        if (!sc.isObject()) throw new ArmTemplateException(at + ": expected an object, found " + ArmTemplate.kind(sc));
        return new SecurityContext(bool(sc, "privileged", false, at), bool(sc, "allowPrivilegeEscalation", true, at),
                id(sc, "runAsUser", at), id(sc, "runAsGroup", at),
                sc.path("capabilities").has("add") ? strings(sc.path("capabilities").get("add"), at + ".capabilities.add") : List.of(),
                sc.path("capabilities").has("drop") ? strings(sc.path("capabilities").get("drop"), at + ".capabilities.drop") : List.of(),
                sc.has("seccompProfile") ? sc.get("seccompProfile").asText() : null);
    }

    private static boolean bool(JsonNode sc, String field, boolean dflt, String at) {
        JsonNode v = sc.path(field);
        if (v.isMissingNode() || v.isNull()) return dflt;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isTextual() && (v.asText().equalsIgnoreCase("true") || v.asText().equalsIgnoreCase("false"))) {
            return Boolean.parseBoolean(v.asText());
        }
        throw new ArmTemplateException(at + "." + field + ": expected true or false, found " + v);
    }

    private static Long id(JsonNode sc, String field, String at) {
        JsonNode v = sc.path(field);
        if (v.isMissingNode() || v.isNull()) return null;
        if (v.canConvertToLong() && v.asLong() >= 0 || v.isTextual() && v.asText().matches("[0-9]{1,10}")) {
            return v.isTextual() ? Long.parseLong(v.asText()) : v.asLong();
        }
        throw new ArmTemplateException(at + "." + field + ": expected a non-negative integer id, found " + v);
    }

    private static List<String> strings(JsonNode v, String at) {
        if (v == null || !v.isArray()) throw new ArmTemplateException(at + ": expected an array of strings, found " + ArmTemplate.kind(v));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) {
                throw new ArmTemplateException(at + "[" + i + "]: expected a string, found " + ArmTemplate.kind(v.get(i)));
            }
            out.add(v.get(i).asText());
        }
        return out;
    }
}

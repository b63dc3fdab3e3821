package dev.coffer.policy.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the guest agent may set up at launch besides containers, pinned by the policy (and so by
 * HOST_DATA) rather than taken from the host: the group's TCP ports relayed from outside its
 * network, the SKR API's port inside the group, and the attestation services and key vaults the
 * SKR API may call. The policy's {@code launch} object:
 *
 * <pre>launch := {"forwarded_ports": [8080], "skr_port": 8081, "skr_endpoints": ["http://127.0.0.1:8400"]}</pre>
 *
 * A policy without it (an ACI policy, or a group that declares none of these) relays no port and
 * serves no SKR API: the host can ask for less than the policy allows, never for more.
 *
 * @param forwardedPorts the containers' declared TCP ports, each once, in spec order
 * @param skrPort        the SKR API's port, or null for no SKR API
 * @param skrEndpoints   origins {@code scheme://host:port} the SKR API may call; empty with an SKR API means any
 */
public record LaunchSettings(List<Integer> forwardedPorts, Integer skrPort, List<String> skrEndpoints) {
    public static final LaunchSettings NONE = new LaunchSettings(List.of(), null, List.of());
    /** The Rego name of the object in the policy. */
    public static final String POLICY_FIELD = "launch";
    static final int MAX_PORTS = 64;
    static final int MAX_ENDPOINTS = 16;
    private static final Set<String> FIELDS = Set.of("forwarded_ports", "skr_port", "skr_endpoints");
    private static final Pattern ORIGIN = Pattern.compile("(http|https)://[A-Za-z0-9.\\[\\]:-]{1,260}:\\d{1,5}");

    public LaunchSettings {
        forwardedPorts = forwardedPorts == null ? List.of() : List.copyOf(forwardedPorts);
        skrEndpoints = skrEndpoints == null ? List.of() : List.copyOf(skrEndpoints);
        if (forwardedPorts.size() > MAX_PORTS || skrEndpoints.size() > MAX_ENDPOINTS) {
            throw new IllegalArgumentException("expected at most " + MAX_PORTS + " forwarded ports and " + MAX_ENDPOINTS
                    + " SKR endpoints, found " + forwardedPorts.size() + " and " + skrEndpoints.size());
        }
        for (int p : forwardedPorts) requirePort(p, "launch.forwarded_ports");
        if (forwardedPorts.stream().distinct().count() != forwardedPorts.size()) {
            throw new IllegalArgumentException("expected distinct launch.forwarded_ports, found " + forwardedPorts);
        }
        if (skrPort != null) {
            requirePort(skrPort, "launch.skr_port");
            if (forwardedPorts.contains(skrPort)) {
                throw new IllegalArgumentException("expected launch.skr_port " + skrPort + " not to be forwarded (only the group"
                        + " may reach its SKR API), found it in launch.forwarded_ports");
            }
        }
        for (String e : skrEndpoints) {
            if (e == null || !ORIGIN.matcher(e).matches()) {
                throw new IllegalArgumentException("expected launch.skr_endpoints as origins scheme://host:port, found \"" + e + "\"");
            }
        }
        if (skrPort == null && !skrEndpoints.isEmpty()) {
            throw new IllegalArgumentException("expected launch.skr_endpoints only with launch.skr_port, found endpoints without an SKR API");
        }
    }

    /** True when the policy has nothing to say: then its text carries no {@code launch} object. */
    public boolean isNone() {
        return forwardedPorts.isEmpty() && skrPort == null && skrEndpoints.isEmpty();
    }

    /**
     * The settings of a loaded policy from the value of its {@code launch} (null or missing:
     * {@link #NONE}).
     *
     * @throws IllegalArgumentException naming the field that is not of the documented shape
     */
    public static LaunchSettings fromPolicyValue(JsonNode value) {
        if (value == null || value.isMissingNode() || value.isNull()) return NONE;
        if (!value.isObject()) {
            throw new IllegalArgumentException("expected the policy's launch to be an object {forwarded_ports, skr_port,"
                    + " skr_endpoints}, found " + value.getNodeType());
        }
        for (Iterator<String> names = value.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new IllegalArgumentException("expected the policy's launch to have only " + FIELDS + ", found \"" + name + "\"");
            }
        }
        List<Integer> ports = new ArrayList<>();
        for (JsonNode p : array(value, "forwarded_ports")) {
            if (!integral(p)) throw new IllegalArgumentException("expected launch.forwarded_ports of integers, found " + p);
            ports.add(p.asInt());
        }
        JsonNode skr = value.get("skr_port");
        if (skr != null && !skr.isNull() && !integral(skr)) {
            throw new IllegalArgumentException("expected launch.skr_port as an integer, found " + skr);
        }
        List<String> endpoints = new ArrayList<>();
        for (JsonNode e : array(value, "skr_endpoints")) {
            if (!e.isTextual()) throw new IllegalArgumentException("expected launch.skr_endpoints of strings, found " + e);
            endpoints.add(e.asText());
        }
        return new LaunchSettings(ports, skr == null || skr.isNull() ? null : skr.asInt(), endpoints);
    }

    /** A whole number in int range, however the evaluator represents it (Rego numbers may come back as decimals). */
    private static boolean integral(JsonNode n) {
        if (!n.isNumber() || !n.canConvertToInt()) return false;
        return n.isIntegralNumber() || n.decimalValue().stripTrailingZeros().scale() <= 0;
    }

    private static Iterable<JsonNode> array(JsonNode object, String field) {
        JsonNode a = object.get(field);
        if (a == null || a.isNull()) return List.of();
        if (!a.isArray()) throw new IllegalArgumentException("expected launch." + field + " as an array, found " + a.getNodeType());
        return a;
    }

    private static void requirePort(int p, String field) {
        if (p < 1 || p > 65535) throw new IllegalArgumentException("expected " + field + " in 1..65535, found " + p);
    }
}

package dev.coffer.agent.container;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.coffer.policy.enforce.SeccompDefault;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders Coffer's runtime-default seccomp profile ({@link SeccompDefault}, whose hash the policy
 * judged) as the OCI runtime spec's {@code linux.seccomp} for one container: the rules that depend
 * on a capability are kept or left out by the container's bounding set, as the common runtimes do.
 */
final class SeccompRender {
    private static final JsonNode PROFILE = parse();

    private SeccompRender() {}

    static Map<String, Object> forCapabilities(List<String> bounding) {
        Map<String, Object> seccomp = new LinkedHashMap<>();
        seccomp.put("defaultAction", "SCMP_ACT_ERRNO");
        seccomp.put("defaultErrnoRet", PROFILE.get("defaultErrno").asInt());
        List<String> arches = new ArrayList<>();
        PROFILE.path("architectures").path(hostArch()).forEach(a -> arches.add(a.asText()));
        if (arches.isEmpty()) {
            throw AgentException.failed("expected the runtime-default seccomp profile to cover this machine's architecture, found none for "
                    + System.getProperty("os.arch") + "; containers cannot be confined here");
        }
        seccomp.put("architectures", arches);
        List<Object> syscalls = new ArrayList<>();
        for (JsonNode rule : PROFILE.get("rules")) {
            if (rule.has("ifCapability") && !bounding.contains(rule.get("ifCapability").asText())) continue;
            if (rule.has("unlessCapability") && bounding.contains(rule.get("unlessCapability").asText())) continue;
            Map<String, Object> s = new LinkedHashMap<>();
            List<String> names = new ArrayList<>();
            rule.get("names").forEach(n -> names.add(n.asText()));
            s.put("names", names);
            switch (rule.get("action").asText()) {
                case "allow" -> s.put("action", "SCMP_ACT_ALLOW");
                case "errno" -> {
                    s.put("action", "SCMP_ACT_ERRNO");
                    s.put("errnoRet", rule.get("errno").asInt());
                }
                default -> throw new IllegalStateException("unknown seccomp action " + rule.get("action"));
            }
            if (rule.has("args")) {
                List<Object> args = new ArrayList<>();
                for (JsonNode a : rule.get("args")) {
                    Map<String, Object> arg = new LinkedHashMap<>();
                    arg.put("index", a.get("index").asInt());
                    String op = a.get("op").asText();
                    if (op.equals("masked_eq")) {
                        // the OCI form carries the mask as value and the expected result as valueTwo
                        arg.put("value", a.get("mask").asLong());
                        arg.put("valueTwo", a.get("value").asLong());
                    } else {
                        arg.put("value", a.get("value").asLong());
                    }
                    arg.put("op", "SCMP_CMP_" + op.toUpperCase(Locale.ROOT));
                    args.add(arg);
                }
                s.put("args", args);
            }
            syscalls.add(s);
        }
        seccomp.put("syscalls", syscalls);
        return seccomp;
    }

    private static String hostArch() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static JsonNode parse() {
        try {
            return new ObjectMapper().readTree(SeccompDefault.text());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("the runtime-default seccomp profile is not JSON: " + e.getOriginalMessage(), e);
        }
    }
}

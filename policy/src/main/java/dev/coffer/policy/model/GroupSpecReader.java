package dev.coffer.policy.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a group spec YAML file (the same file {@code coffer run} takes) into the policy
 * generator's input model. Only the fields that shape the policy are read; the rest of the
 * spec (ports, resources, ...) is the runtime's business and is ignored here.
 */
public final class GroupSpecReader {
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private GroupSpecReader() {}

    public static GroupPolicyInput read(Path file) throws IOException {
        return parse(Files.readString(file), file.toString());
    }

    /** Parses spec text; {@code source} names it in error messages. */
    public static GroupPolicyInput parse(String yaml, String source) {
        GroupDoc doc;
        try {
            doc = YAML.readValue(yaml, GroupDoc.class);
        } catch (JacksonException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? source : source + ":" + loc.getLineNr() + ":" + loc.getColumnNr();
            throw new GroupSpecException(where + ": invalid group spec: " + e.getOriginalMessage()
                    + "; expected name, containers[] {name, image, command, args, env, workingDir, volumeMounts}, volumes[]");
        }
        if (doc == null) {
            throw new GroupSpecException(source + ": the group spec is empty; expected a mapping with name and containers");
        }
        try {
            return doc.toInput();
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new GroupSpecException(source + ": " + e.getMessage());
        }
    }

    /** A group spec that cannot be turned into a policy; the message names the file and what to fix. */
    public static final class GroupSpecException extends IllegalArgumentException {
        GroupSpecException(String message) {
            super(message);
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record GroupDoc(String name, List<ContainerDoc> containers, List<VolumeDoc> volumes) {
        GroupPolicyInput toInput() {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("field 'name' is missing; give the group a name");
            }
            if (containers == null) {
                throw new IllegalArgumentException("field 'containers' is missing; list at least one container");
            }
            List<String> volumeNames = new ArrayList<>();
            if (volumes != null) {
                for (int i = 0; i < volumes.size(); i++) {
                    VolumeDoc v = volumes.get(i);
                    if (v == null || v.name() == null) {
                        throw new IllegalArgumentException("volumes[" + i + "].name is missing");
                    }
                    volumeNames.add(v.name());
                }
            }
            List<ContainerPolicyInput> cs = new ArrayList<>();
            for (int i = 0; i < containers.size(); i++) {
                ContainerDoc c = containers.get(i);
                if (c == null) {
                    throw new IllegalArgumentException("containers[" + i + "] is empty");
                }
                try {
                    cs.add(c.toInput());
                } catch (IllegalArgumentException | NullPointerException e) {
                    throw new IllegalArgumentException("containers[" + i + "]: " + e.getMessage(), e);
                }
            }
            return new GroupPolicyInput(name, cs, volumeNames);
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record VolumeDoc(String name) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record EnvDoc(String name, String value, Boolean variable) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record VolumeMountDoc(String name, String mountPath, Boolean readOnly) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record ExecDoc(List<String> command, List<Integer> signals) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record SecurityDoc(Boolean privileged, Boolean allowStdioAccess, Boolean noNewPrivileges,
                       String seccompProfileSha256) {}

    @JsonIgnoreProperties(ignoreUnknown = true)
    record ContainerDoc(String name, String image, List<String> command, List<String> args, List<EnvDoc> env,
                        String workingDir, String user, List<VolumeMountDoc> volumeMounts,
                        List<ExecDoc> execProcesses, List<Integer> signals, SecurityDoc securityContext) {
        ContainerPolicyInput toInput() {
            if (name == null) {
                throw new IllegalArgumentException("field 'name' is missing");
            }
            if (image == null) {
                throw new IllegalArgumentException("container '" + name + "': field 'image' is missing");
            }
            List<EnvVarInput> envs = new ArrayList<>();
            if (env != null) {
                for (int i = 0; i < env.size(); i++) {
                    EnvDoc e = env.get(i);
                    if (e == null || e.name() == null) {
                        throw new IllegalArgumentException("env[" + i + "].name is missing");
                    }
                    envs.add(new EnvVarInput(e.name(), e.value(), Boolean.TRUE.equals(e.variable())));
                }
            }
            List<MountInput> mounts = new ArrayList<>();
            if (volumeMounts != null) {
                for (int i = 0; i < volumeMounts.size(); i++) {
                    VolumeMountDoc m = volumeMounts.get(i);
                    if (m == null || m.name() == null || m.mountPath() == null) {
                        throw new IllegalArgumentException("volumeMounts[" + i + "] needs name and mountPath");
                    }
                    mounts.add(new MountInput(m.name(), m.mountPath(), Boolean.TRUE.equals(m.readOnly())));
                }
            }
            List<ExecProcessInput> execs = new ArrayList<>();
            if (execProcesses != null) {
                for (int i = 0; i < execProcesses.size(); i++) {
                    ExecDoc x = execProcesses.get(i);
                    if (x == null || x.command() == null) {
                        throw new IllegalArgumentException("execProcesses[" + i + "].command is missing");
                    }
                    execs.add(new ExecProcessInput(x.command(), x.signals()));
                }
            }
            SecurityInput sec = securityContext == null ? SecurityInput.DEFAULT : new SecurityInput(
                    Boolean.TRUE.equals(securityContext.privileged()),
                    securityContext.allowStdioAccess() == null || securityContext.allowStdioAccess(),
                    Boolean.TRUE.equals(securityContext.noNewPrivileges()),
                    securityContext.seccompProfileSha256());
            return new ContainerPolicyInput(name, image, command, args, envs, workingDir, user, mounts, execs,
                    signals, sec);
        }
    }
}

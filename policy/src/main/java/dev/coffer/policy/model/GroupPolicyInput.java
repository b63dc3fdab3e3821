package dev.coffer.policy.model;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** A container group as the policy generator sees it: its containers and the names of its volumes. */
public record GroupPolicyInput(String name, List<ContainerPolicyInput> containers, List<String> volumes) {
    public GroupPolicyInput {
        Objects.requireNonNull(name, "name");
        containers = List.copyOf(containers);
        volumes = volumes == null ? List.of() : List.copyOf(volumes);
        if (containers.isEmpty()) {
            throw new IllegalArgumentException("group '" + name + "' has no containers; add at least one entry under containers:");
        }
        Set<String> seen = new HashSet<>();
        for (ContainerPolicyInput c : containers) {
            if (!seen.add(c.name())) {
                throw new IllegalArgumentException("group '" + name + "' has two containers named '" + c.name()
                        + "'; container names must be unique");
            }
            for (MountInput m : c.volumeMounts()) {
                if (!volumes.contains(m.volume())) {
                    throw new IllegalArgumentException("container '" + c.name() + "' mounts volume '" + m.volume()
                            + "' but the group declares volumes " + volumes + "; add it under volumes:");
                }
            }
        }
    }
}

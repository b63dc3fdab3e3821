package dev.coffer.shim.task;

import dev.coffer.policy.enforce.PolicyEnforcer;
import dev.coffer.policy.model.LaunchSettings;
import dev.coffer.policy.spec.GroupSpec;

import java.io.IOException;

/**
 * A pod's SKR API, as its policy pins it. CRI says nothing of key release, but the pod's policy
 * (the annotation, HOST_DATA) may: its {@code launch} object names the SKR API's port and the
 * attestation services and vaults it may call, as {@code coffer policy gen} writes it for a group
 * spec with an {@code skr} section. The shim launches the pod's group with exactly those settings:
 * the agent checks its launch flags against the same object and refuses more than it allows, and
 * with {@code --tee sim} they are measured, so a host that asks for other endpoints gets another
 * MEASUREMENT and no key. A policy that pins no SKR port gets no SKR API.
 */
final class PodSkr {
    private PodSkr() {}

    /**
     * {@code spec} with the SKR API the policy text pins, or {@code spec} itself when it pins none
     * (or is not Rego: allow-all and generate pods get no SKR API).
     *
     * @throws IOException when the policy does not compile or its {@code launch} object is malformed
     */
    static GroupSpec withPolicySkr(GroupSpec spec, String policyText) throws IOException {
        // cheap first: compiling the policy costs a pod's start time, and a policy without the
        // field cannot pin an SKR API (it would then get none: less than asked, never more)
        if (policyText == null || !policyText.contains("skr_port")) return spec;
        LaunchSettings launch;
        try {
            launch = PolicyEnforcer.load(policyText).launchSettings().orElse(LaunchSettings.NONE);
        } catch (IllegalArgumentException e) { // PolicyLoadException, or a malformed launch object
            throw new IOException("the pod's policy does not load: " + e.getMessage(), e);
        }
        if (launch.skrPort() == null) return spec;
        return new GroupSpec(spec.name(), spec.containers(), spec.volumes(),
                new GroupSpec.Skr(true, launch.skrPort(), true, launch.skrEndpoints()), spec.scratch());
    }
}

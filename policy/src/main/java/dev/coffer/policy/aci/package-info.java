/**
 * Azure Container Instances deployment files: {@link dev.coffer.policy.aci.ArmTemplate} reads
 * an ARM template's container groups as {@code az confcom acipolicygen -a} does, and
 * {@link dev.coffer.policy.aci.AciPolicyGenerator} writes the policy acipolicygen writes for
 * them (api 0.10.0, framework 0.2.3), with layer hashes of the images in Coffer's store.
 */
package dev.coffer.policy.aci;

/**
 * What the policy generator needs to know about a container group
 * ({@link dev.coffer.policy.model.GroupPolicyInput}, {@link dev.coffer.policy.model.ContainerPolicyInput}):
 * the generator's normalized view of the group spec ({@link dev.coffer.policy.spec.GroupSpec}),
 * made with {@link dev.coffer.policy.model.GroupPolicyInput#of}. The runtime runs the same spec,
 * so there is one reading of every field.
 */
package dev.coffer.policy.model;

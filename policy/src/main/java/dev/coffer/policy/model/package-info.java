/**
 * What the policy generator needs to know about a container group
 * ({@link dev.coffer.policy.model.GroupPolicyInput}, {@link dev.coffer.policy.model.ContainerPolicyInput}),
 * independent of the runtime that launches it. {@link dev.coffer.policy.model.GroupSpecReader} reads the
 * group spec YAML (the file {@code coffer run} takes; same field names) into it. Policy-only fields
 * the spec may carry: {@code env[].variable: true} (the value is an RE2 pattern), {@code execProcesses},
 * {@code signals}, {@code user}, {@code securityContext{privileged, allowStdioAccess, noNewPrivileges,
 * seccompProfileSha256}}.
 */
package dev.coffer.policy.model;

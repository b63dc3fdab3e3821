/**
 * The group spec (GROUP.yaml): {@link dev.coffer.policy.spec.GroupSpec} and its validating
 * parser {@link dev.coffer.policy.spec.GroupSpecParser}, whose errors name file, line, column
 * and field. Fields beyond what `coffer run` needs to launch containers shape the policy:
 * {@code env[].variable: true} (the value is an RE2 pattern), {@code execProcesses},
 * {@code signals}, {@code user}, {@code securityContext{allowStdioAccess, noNewPrivileges,
 * seccompProfileSha256}}, {@code resources.limits{memory, pids}} (pinned in the policy
 * container's {@code limits}; the agent applies them and refuses a container it cannot confine so).
 */
package dev.coffer.policy.spec;

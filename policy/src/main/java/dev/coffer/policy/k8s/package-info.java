/**
 * Kubernetes workloads as policy input: {@link dev.coffer.policy.k8s.KubernetesManifest} reads a
 * (multi-document) YAML file into its pod templates ({@link dev.coffer.policy.k8s.Workload});
 * {@link dev.coffer.policy.k8s.PodPolicyGenerator} turns a pod spec into a Coffer policy with the
 * same generator and writer as group specs; {@link dev.coffer.policy.k8s.PolicyAnnotation} writes
 * the policy into the pod template as {@code io.katacontainers.config.agent.policy} (base64), the
 * annotation the shim reads, leaving every other byte of the file as it was.
 */
package dev.coffer.policy.k8s;

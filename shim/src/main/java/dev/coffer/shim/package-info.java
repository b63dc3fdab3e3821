/**
 * containerd-shim-coffer-v2: containerd's runtime v2 shim for Coffer. containerd finds the
 * launcher ({@code shim/src/main/sh/containerd-shim-coffer-v2}) on its PATH for
 * {@code --runtime io.containerd.coffer.v2} (or a CRI runtime with
 * {@code runtime_type = "io.containerd.coffer.v2"}); it runs {@link dev.coffer.shim.ShimMain}.
 *
 * <p>What it does today (verified against Debian 12's containerd 1.6.20 with {@code ctr}): each
 * task is a Coffer group of one container (process sandbox, simulated TEE by default) whose image
 * is named by the annotation {@code io.kubernetes.cri.image-name} or {@code dev.coffer.image} and
 * must be imported into the shim's Coffer home ({@code COFFER_HOME}); the pod policy comes from
 * {@code io.katacontainers.config.agent.policy} (base64 Rego) or {@code COFFER_SHIM_POLICY}. The
 * agent enforces it, so a refused container fails Start with the agent's reason. Output reaches
 * the stdout FIFO (stdout and stderr interleaved); there is no stdin, TTY, exec or pod (sandbox
 * plus containers) support yet, and each task gets a shim of its own.
 *
 * <p>Packages: {@code ttrpc} (the framing protocol, server and a small client), {@code task}
 * (the Task service, its events, the bundle's translation to a group spec), {@code kubelet} (the
 * kubelet's ConfigMap, Secret, projected and downwardAPI volume directories, read as its atomic
 * writer lays them out, whose files the agent copies into the sandbox), {@code cri} (a CRI
 * client and a private containerd, for {@code coffer demo --kubernetes} and the tests); the protobuf
 * classes are generated from {@code src/main/proto} (containerd 1.6's API).
 */
package dev.coffer.shim;

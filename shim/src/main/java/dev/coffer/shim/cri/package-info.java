/**
 * Kubernetes' side of the shim, as the kubelet sees it: {@link dev.coffer.shim.cri.CriClient}, a
 * CRI v1 client (gRPC over containerd's unix socket; the messages generated from
 * {@code src/main/proto/k8s/cri/api.proto}, containerd 1.6's CRI API), and
 * {@link dev.coffer.shim.cri.PrivateContainerd}, a containerd of its own (root, state, sockets and
 * config under one directory, the {@code coffer} runtime handler with Coffer's shim on its PATH)
 * for {@code coffer demo --kubernetes} and the tests. No kubelet or API server is involved: the
 * caller makes the CRI calls the kubelet would make.
 */
package dev.coffer.shim.cri;

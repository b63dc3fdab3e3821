/**
 * What the shim reads of the kubelet's own files: the volumes whose content the kubelet writes
 * for a pod (ConfigMaps, Secrets, projected and downwardAPI volumes), read as the kubelet's
 * atomic writer lays them out and nothing else, so their bytes can be copied into the sandbox
 * (where the policy checks them) instead of the host directory being mounted.
 */
package dev.coffer.shim.kubelet;

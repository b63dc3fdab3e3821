# Coffer's policy framework: the rules behind every enforcement point.
#
# A policy (package policy, ACI's schema) lists what may run; it binds each enforcement point
# to a rule here (`mount_device := data.framework.mount_device`). The agent evaluates
# data.policy.<point> with the host's request as input, BEFORE acting on it. Each rule returns
#   {"allowed": bool, "metadata": [action...], ...}
# where an action {"name", "action": add|update|remove, "key", "value"} describes how
# data.metadata changes if the host operation then succeeds. The agent commits the actions
# only after the operation succeeded, so a failed host operation leaves no trace.
#
# State in data.metadata:
#   devices[target]        = deviceHash   read-only layer disks mounted (dm-verity root hash)
#   overlayTargets[target] = true         rootfs overlays mounted
#   matches[containerID]   = [container]  policy containers this container may still become
#                                         (narrowed at every request: mount_overlay, create, exec, signal)
#   started[containerID]   = {privileged, allow_stdio_access}  containers created (create committed);
#                                         never removed, so an ID is never reused
#   running[containerID]   = true         containers start_container ran
#   scratch_mounts[target] = {encrypted}
#   encrypted_volumes[name] = {key, readOnly}  encrypted volumes opened (mount_encrypted_volume)
#
# Input fields are Azure's (mount_device{target, deviceHash}, mount_overlay{containerID,
# layerPaths, target}, create_container{containerID, argList, envList, workingDir, mounts, ...}).
# Fields the agent itself supplies, never the host: input.rule, input.mountPathRegex,
# input.sandboxDir, and each create_container mount's files ([{path, sha256}], the digests of
# the bytes the host sent for a ConfigMap's, a Secret's, ... files; see mount_files_ok).

package framework

import rego.v1

version := "0.1.0"

# ---------------------------------------------------------------------------------------------
# policy flags, with safe defaults for policies that omit them

default allow_properties_access := false

allow_properties_access := data.policy.allow_properties_access

default allow_dump_stacks := false

allow_dump_stacks := data.policy.allow_dump_stacks

default allow_runtime_logging := false

allow_runtime_logging := data.policy.allow_runtime_logging

default allow_unencrypted_scratch := false

allow_unencrypted_scratch := data.policy.allow_unencrypted_scratch

# stdin: what the host writes into a confidential process's stdin is host input (Kata's
# genpolicy refuses WriteStreamRequest by default for the same reason)
default allow_stdin := false

allow_stdin := data.policy.allow_stdin

default policy_containers := []

policy_containers := data.policy.containers

default policy_external_processes := []

policy_external_processes := data.policy.external_processes

default policy_encrypted_volumes := []

policy_encrypted_volumes := data.policy.encrypted_volumes

default policy_fragments := []

policy_fragments := data.policy.fragments

# ---------------------------------------------------------------------------------------------
# helpers

# Patterns match the whole string unless the policy says otherwise with ^/$ of its own.
anchor_pattern(p) := p if {
	startswith(p, "^")
	endswith(p, "$")
} else := concat("", ["^", p]) if {
	endswith(p, "$")
} else := concat("", [p, "$"]) if {
	startswith(p, "^")
} else := concat("", ["^", p, "$"])

device_mounted(target) if data.metadata.devices[target]

overlay_mounted(target) if data.metadata.overlayTargets[target]

default container_started := false

container_started if data.metadata.started[input.containerID]

default overlay_exists := false

overlay_exists if data.metadata.matches[input.containerID]

# the containers a given container ID may still be; empty before mount_overlay
default current_matches := []

current_matches := data.metadata.matches[input.containerID]

# ---------------------------------------------------------------------------------------------
# mount_device / unmount_device: read-only layer disks, identified by dm-verity root hash

default deviceHash_ok := false

deviceHash_ok if {
	some container in policy_containers
	some layer in container.layers
	input.deviceHash == layer
}

default mount_target_ok := false

mount_target_ok if regex.match(anchor_pattern(input.mountPathRegex), input.target)

default mount_device := {"allowed": false}

mount_device := {"allowed": true, "metadata": [add_device]} if {
	not device_mounted(input.target)
	deviceHash_ok
	mount_target_ok
	add_device := {"name": "devices", "action": "add", "key": input.target, "value": input.deviceHash}
}

default device_in_use := false

# a layer under a mounted overlay must stay: unmounting it would change the container's rootfs
device_in_use if {
	some paths in data.metadata.overlayLayers
	input.unmountTarget in paths
}

default unmount_device := {"allowed": false}

unmount_device := {"allowed": true, "metadata": [remove_device]} if {
	data.metadata.devices[input.unmountTarget]
	not device_in_use
	remove_device := {"name": "devices", "action": "remove", "key": input.unmountTarget}
}

# ---------------------------------------------------------------------------------------------
# mount_overlay / unmount_overlay: a container's rootfs from mounted layers

# input.layerPaths lists the mounted layer disks top-most first (overlayfs lowerdir order);
# policy layers are base first. Each path must hold a device with exactly the expected hash.
layerPaths_ok(layers) if {
	length := count(layers)
	count(input.layerPaths) == length
	every i, path in input.layerPaths {
		layers[(length - i) - 1] == data.metadata.devices[path]
	}
}

overlay_candidates := [container |
	some container in policy_containers
	layerPaths_ok(container.layers)
]

default mount_overlay := {"allowed": false}

mount_overlay := {"allowed": true, "metadata": [add_matches, add_overlay_target, add_overlay_layers]} if {
	not overlay_exists
	not container_started
	not overlay_mounted(input.target)
	count(overlay_candidates) > 0
	add_matches := {"name": "matches", "action": "add", "key": input.containerID, "value": overlay_candidates}
	add_overlay_target := {"name": "overlayTargets", "action": "add", "key": input.target, "value": true}
	add_overlay_layers := {"name": "overlayLayers", "action": "add", "key": input.target, "value": input.layerPaths}
}

default unmount_overlay := {"allowed": false}

unmount_overlay := {"allowed": true, "metadata": [remove_target, remove_layers]} if {
	overlay_mounted(input.unmountTarget)
	remove_target := {"name": "overlayTargets", "action": "remove", "key": input.unmountTarget}
	remove_layers := {"name": "overlayLayers", "action": "remove", "key": input.unmountTarget}
}

# ---------------------------------------------------------------------------------------------
# create_container

command_ok(command) if {
	count(input.argList) == count(command)
	every i, arg in input.argList {
		command[i] == arg
	}
}

env_pattern_ok(pattern, "string", value) if pattern == value

env_pattern_ok(pattern, "re2", value) if regex.match(anchor_pattern(pattern), value)

env_rule_ok(rule, env) if env_pattern_ok(rule.pattern, rule.strategy, env)

# Every variable must match a rule, and every required rule must match a variable. Exact rules
# are looked up in a set, so only variables no exact rule covers are tried against the re2
# rules: with typical policies (mostly exact rules) this is linear, not rules x variables.
envList_ok(env_rules, env_list) if {
	env_present_if_ruled(env_rules, env_list)
	exact := {rule.pattern | some rule in env_rules; rule.strategy == "string"}
	patterns := [rule.pattern | some rule in env_rules; rule.strategy == "re2"]
	present := {env | some env in env_list}
	inexact := [env | some env in env_list; not env in exact]
	every env in inexact {
		some pattern in patterns
		regex.match(anchor_pattern(pattern), env)
	}
	every rule in env_rules {
		env_required_ok(rule, present, inexact, env_list)
	}
}

# Azure's framework asks every rule, required or not, for some variable in the list, so a
# container with env rules is refused an empty environment (after dropping, too)
env_present_if_ruled(env_rules, _) if count(env_rules) == 0

env_present_if_ruled(_, env_list) if count(env_list) > 0

env_required_ok(rule, _, _, _) if object.get(rule, "required", false) == false

env_required_ok(rule, present, _, _) if {
	rule.required == true
	rule.strategy == "string"
	rule.pattern in present
}

# a variable matching a required re2 rule is almost always one no exact rule covers: try those first
env_required_ok(rule, _, inexact, env_list) if {
	rule.required == true
	rule.strategy == "re2"
	re2_env_present(rule.pattern, inexact, env_list)
}

re2_env_present(pattern, inexact, _) if re2_env_present_in(pattern, inexact)

re2_env_present(pattern, inexact, env_list) if {
	not re2_env_present_in(pattern, inexact)
	some env in env_list
	regex.match(anchor_pattern(pattern), env)
}

re2_env_present_in(pattern, envs) if {
	some env in envs
	regex.match(anchor_pattern(pattern), env)
}

workingDirectory_ok(working_dir) if input.workingDir == working_dir

privileged_ok(_) if not input.privileged

privileged_ok(allow_elevated) if {
	input.privileged
	allow_elevated
}

noNewPrivileges_ok(no_new_privileges) if {
	no_new_privileges
	input.noNewPrivileges
}

noNewPrivileges_ok(no_new_privileges) if not no_new_privileges

idName_ok(_, "any", _) := true

idName_ok(pattern, "id", value) if pattern == value.id

idName_ok(pattern, "name", value) if pattern == value.name

idName_ok(pattern, "re2", value) if regex.match(anchor_pattern(pattern), value.name)

# a policy without a user rule (older ACI policies) gets Azure's default rule: any user and
# group, umask 0022
user_ok(user) if {
	user == null
	input.umask == "0022"
}

user_ok(user) if {
	user != null
	user.umask == input.umask
	idName_ok(user.user_idname.pattern, user.user_idname.strategy, input.user)
	every group in input.groups {
		some group_idname in user.group_idnames
		idName_ok(group_idname.pattern, group_idname.strategy, group)
	}
}

seccomp_ok(seccomp_profile_sha256) if input.seccompProfileSHA256 == seccomp_profile_sha256

# an empty policy hash means "the runtime default", which the agent reports as ""
seccomp_ok(seccomp_profile_sha256) if {
	seccomp_profile_sha256 == ""
	object.get(input, "seccompProfileSHA256", "") == ""
}

default_unprivileged_capabilities := [
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

# policies that leave capabilities null get the default unprivileged sets
container_capabilities(container) := container.capabilities if container.capabilities != null

container_capabilities(container) := caps if {
	container.capabilities == null
	caps := {
		"bounding": default_unprivileged_capabilities,
		"effective": default_unprivileged_capabilities,
		"inheritable": [],
		"permitted": default_unprivileged_capabilities,
		"ambient": [],
	}
}

# same members, no duplicates, any order; the same list in the same order (what an honest agent
# sends) is decided by one comparison
capsList_ok(allowed, requested) if {
	allowed == requested
	count({c | some c in requested}) == count(requested)
}

capsList_ok(allowed, requested) if {
	allowed != requested
	count(allowed) == count(requested)
	{c | some c in allowed} == {c | some c in requested}
	count({c | some c in requested}) == count(requested)
}

caps_ok(allowed_caps) if {
	not allow_capability_dropping
	requested := input.capabilities
	capsList_ok(allowed_caps.bounding, requested.bounding)
	capsList_ok(allowed_caps.effective, requested.effective)
	capsList_ok(allowed_caps.inheritable, requested.inheritable)
	capsList_ok(allowed_caps.permitted, requested.permitted)
	capsList_ok(allowed_caps.ambient, requested.ambient)
}

# With allow_capability_dropping (ACI's flag), capabilities the policy does not grant are dropped
# (the agent runs with caps_list); every granted one must still be requested.
default allow_capability_dropping := false

allow_capability_dropping := data.policy.allow_capability_dropping

caps_ok(allowed_caps) if {
	allow_capability_dropping
	every set in ["bounding", "effective", "inheritable", "permitted", "ambient"] {
		every cap in allowed_caps[set] {
			cap in input.capabilities[set]
		}
	}
}

caps_list(_) := input.capabilities if not allow_capability_dropping

caps_list(containers) := container_capabilities(containers[0]) if allow_capability_dropping

# mount sources: "sandbox://" is the sandbox directory the agent chose; anything else is exact
mountSource_ok(constraint, source) if {
	startswith(constraint, "sandbox://")
	pattern := replace(constraint, "sandbox://", input.sandboxDir)
	regex.match(anchor_pattern(pattern), source)
}

mountSource_ok(constraint, source) if {
	not startswith(constraint, "sandbox://")
	constraint == source
}

mountConstraint_ok(constraint, mount) if {
	mount.type == constraint.type
	mount.destination != ""
	mount.destination == constraint.destination
	mountSource_ok(constraint.source, mount.source)
	mount_options_ok(constraint.options, mount.options)
	mount_files_ok(constraint, mount)
}

# Content the host supplies (a ConfigMap's, a Secret's files): a constraint with "files" pins
# every file's path and SHA-256 (the agent computes the input's from the bytes it copies, sorted
# by path), so exactly those files; one without "files" allows any content.
mount_files_ok(constraint, _) if object.get(constraint, "files", null) == null

mount_files_ok(constraint, mount) if constraint.files == object.get(mount, "files", [])

mount_options_ok(allowed, requested) if allowed == requested

mount_options_ok(allowed, requested) if {
	allowed != requested
	count(requested) == count(allowed)
	every option in requested {
		option in allowed
	}
	every option in allowed {
		option in requested
	}
}

# The mounts every CRI container gets, as Azure's guest allows them whatever the policy says
# (hcsshim's defaultMounts): a policy written by `az confcom` relies on them. No other mount is
# implicit (Azure's framework admits none): the agent adds the container's /etc/hosts itself,
# after the decision, and a host asking for any other file must find it in the policy.
cri_default_mounts := [
	{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
	{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
	{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
	{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
	{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
	{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
	{"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
	{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
]

# ...and, for a container the policy lets run elevated, their writable variants (hcsshim's privilegedMounts)
cri_privileged_mounts := [
	{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "rw"]},
	{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "rw"]},
]

# the destination is compared first: it singles out the constraints that can match
mount_ok(mounts, _, mount) if {
	some constraint in mounts
	constraint.destination == mount.destination
	mountConstraint_ok(constraint, mount)
}

mount_ok(_, _, mount) if {
	some constraint in cri_default_mounts
	constraint.destination == mount.destination
	mountConstraint_ok(constraint, mount)
}

mount_ok(_, allow_elevated, mount) if {
	allow_elevated == true
	some constraint in cri_privileged_mounts
	constraint.destination == mount.destination
	mountConstraint_ok(constraint, mount)
}

mountList_ok(mounts, allow_elevated) if {
	every mount in input.mounts {
		mount_ok(mounts, allow_elevated, mount)
	}
}

# devices cannot be granted by a policy yet: any requested device node is refused
devices_ok if count(object.get(input, "devices", [])) == 0

# A mount from the sandbox's encrypted/ directory needs its volume opened by mount_encrypted_volume
# first: otherwise the container would write to a plain directory the host can read.
encrypted_prefix := concat("", [input.sandboxDir, "/encrypted/"])

default encrypted_mounts_ok := false

encrypted_mounts_ok if {
	every mount in input.mounts {
		encrypted_mount_opened(mount)
	}
}

encrypted_mount_opened(mount) if not startswith(mount.source, encrypted_prefix)

encrypted_mount_opened(mount) if {
	startswith(mount.source, encrypted_prefix)
	data.metadata.encrypted_volumes[substring(mount.source, count(encrypted_prefix), -1)]
}

# every check but the environment, which may drop variables, and the capabilities (below)
create_base_candidates := [container |
	some container in current_matches
	command_ok(container.command)
	workingDirectory_ok(container.working_dir)
	mountList_ok(container.mounts, container.allow_elevated)
	privileged_ok(container.allow_elevated)
	noNewPrivileges_ok(container.no_new_privileges)
	user_ok(object.get(container, "user", null))
	seccomp_ok(object.get(container, "seccomp_profile_sha256", ""))
	encrypted_mounts_ok
]

# With allow_environment_variable_dropping (ACI's flag), variables are dropped instead of
# refusing the request; the agent starts the process with env_list. As in Azure's framework
# (valid_envs_for_all), each remaining candidate keeps the variables its own rules allow, the
# candidate that keeps the most decides, and candidates that keep as many must keep the same
# ones: otherwise the request is ambiguous and refused.
default allow_environment_variable_dropping := false

allow_environment_variable_dropping := data.policy.allow_environment_variable_dropping

env_allowed_by(container, env) if {
	some rule in container.env_rules
	env_rule_ok(rule, env)
}

allowed_env_list(_) := input.envList if not allow_environment_variable_dropping

allowed_env_list(containers) := [env | some env in input.envList; env in chosen] if {
	allow_environment_variable_dropping
	kept := [{env | some env in input.envList; env_allowed_by(c, env)} | some c in containers]
	largest := max([count(k) | some k in kept])
	equally_large := {k | some k in kept; count(k) == largest}
	count(equally_large) == 1
	some chosen in equally_large
}

create_env_list := allowed_env_list(create_base_candidates)

# capabilities come after the environment, as in Azure's framework, so a candidate refused for
# its capabilities still takes part in choosing which variables are dropped
create_candidates := [container |
	some container in create_base_candidates
	envList_ok(container.env_rules, create_env_list)
	caps_ok(container_capabilities(container))
]

default create_container := {"allowed": false}

create_container := {
	"allowed": true,
	"metadata": [update_matches, add_started],
	"env_list": create_env_list,
	"caps_list": caps_list(create_candidates),
	"allow_stdio_access": allow_stdio_access,
} if {
	not container_started
	devices_ok
	count(create_candidates) > 0

	# stdio access and dropped capabilities cannot narrow further, so all remaining candidates must agree
	allow_stdio_access := create_candidates[0].allow_stdio_access
	every c in create_candidates {
		c.allow_stdio_access == allow_stdio_access
		caps_list([c]) == caps_list(create_candidates)
	}
	update_matches := {"name": "matches", "action": "update", "key": input.containerID, "value": create_candidates}
	add_started := {"name": "started", "action": "add", "key": input.containerID, "value": {"privileged": input.privileged, "allow_stdio_access": allow_stdio_access}}
}

# ---------------------------------------------------------------------------------------------
# exec_in_container / exec_external

exec_command_ok(container) if {
	some process in container.exec_processes
	command_ok(process.command)
}

# Azure's exec input carries the process's noNewPrivileges, user, groups, umask and capabilities,
# checked as at create. Coffer's agent runs an exec with the settings its container was created
# with (checked then) and sends none of them: each is checked when present.
exec_noNewPrivileges_ok(_) if object.get(input, "noNewPrivileges", null) == null

exec_noNewPrivileges_ok(container) if {
	object.get(input, "noNewPrivileges", null) != null
	noNewPrivileges_ok(container.no_new_privileges)
}

exec_user_ok(_) if object.get(input, "user", null) == null

exec_user_ok(container) if {
	object.get(input, "user", null) != null
	user_ok(object.get(container, "user", null))
}

exec_caps_ok(_) if object.get(input, "capabilities", null) == null

exec_caps_ok(container) if {
	object.get(input, "capabilities", null) != null
	caps_ok(container_capabilities(container))
}

exec_base_candidates := [container |
	some container in current_matches
	exec_command_ok(container)
	workingDirectory_ok(container.working_dir)
	exec_noNewPrivileges_ok(container)
	exec_user_ok(container)
]

exec_env_list := allowed_env_list(exec_base_candidates)

exec_candidates := [container |
	some container in exec_base_candidates
	envList_ok(container.env_rules, exec_env_list)
	exec_caps_ok(container)
]

default exec_in_container := {"allowed": false}

exec_stdin_requested if input.stdin == true

exec_stdin_ok if not exec_stdin_requested

exec_stdin_ok if allow_stdin

exec_in_container := {"allowed": true, "metadata": [update_matches], "env_list": exec_env_list} if {
	container_started
	overlay_exists
	exec_stdin_ok
	count(exec_candidates) > 0
	update_matches := {"name": "matches", "action": "update", "key": input.containerID, "value": exec_candidates}
}

external_base_candidates := [process |
	some process in policy_external_processes
	command_ok(process.command)
	workingDirectory_ok(process.working_dir)
]

external_env_list := allowed_env_list(external_base_candidates)

external_candidates := [process |
	some process in external_base_candidates
	envList_ok(process.env_rules, external_env_list)
]

default exec_external := {"allowed": false}

exec_external := {"allowed": true, "env_list": external_env_list, "allow_stdio_access": allow_stdio_access} if {
	count(external_candidates) > 0
	allow_stdio_access := external_candidates[0].allow_stdio_access
	every p in external_candidates {
		p.allow_stdio_access == allow_stdio_access
	}
}

# ---------------------------------------------------------------------------------------------
# signal_container_process / shutdown_container

signal_ok(signals) if {
	some signal in signals
	input.signal == signal
}

signal_candidates := [container |
	some container in current_matches
	signal_ok(container.signals)
] if input.isInitProcess

signal_candidates := [container |
	some container in current_matches
	some process in container.exec_processes
	command_ok(process.command)
	signal_ok(process.signals)
] if not input.isInitProcess

default signal_container_process := {"allowed": false}

signal_container_process := {"allowed": true, "metadata": [update_matches]} if {
	container_started
	overlay_exists
	count(signal_candidates) > 0
	update_matches := {"name": "matches", "action": "update", "key": input.containerID, "value": signal_candidates}
}

default shutdown_container := {"allowed": false}

# matches go, "started" stays: a container ID is never reused in a sandbox's life
shutdown_container := {"allowed": true, "metadata": [remove_matches]} if {
	container_started
	overlay_exists
	remove_matches := {"name": "matches", "action": "remove", "key": input.containerID}
}

# ---------------------------------------------------------------------------------------------
# host diagnostics

default get_properties := {"allowed": false}

get_properties := {"allowed": true} if allow_properties_access

default dump_stacks := {"allowed": false}

dump_stacks := {"allowed": true} if allow_dump_stacks

default runtime_logging := {"allowed": false}

runtime_logging := {"allowed": true} if allow_runtime_logging

# ---------------------------------------------------------------------------------------------
# load_fragment: only issuers and feeds the policy names may be offered

fragment_issuer_feed_ok(fragment) if {
	input.issuer == fragment.issuer
	input.feed == fragment.feed
}

default load_fragment := {"allowed": false}

load_fragment := {"allowed": true} if {
	not input.fragment_loaded
	some fragment in policy_fragments
	fragment_issuer_feed_ok(fragment)
}

# ---------------------------------------------------------------------------------------------
# scratch_mount / scratch_unmount: writable space, encrypted unless the policy allows otherwise

scratch_mounted(target) if data.metadata.scratch_mounts[target]

scratch_encryption_ok if input.encrypted == true

scratch_encryption_ok if allow_unencrypted_scratch

default scratch_mount := {"allowed": false}

scratch_mount := {"allowed": true, "metadata": [add_scratch]} if {
	not scratch_mounted(input.target)
	scratch_encryption_ok
	add_scratch := {"name": "scratch_mounts", "action": "add", "key": input.target, "value": {"encrypted": input.encrypted == true}}
}

default scratch_unmount := {"allowed": false}

scratch_unmount := {"allowed": true, "metadata": [remove_scratch]} if {
	scratch_mounted(input.unmountTarget)
	remove_scratch := {"name": "scratch_mounts", "action": "remove", "key": input.unmountTarget}
}

# ---------------------------------------------------------------------------------------------
# mount_encrypted_volume: open a LUKS2 volume the policy lists, with its key from its vault

encrypted_volume_opened(name) if data.metadata.encrypted_volumes[name]

# Endpoints are always pinned (no "" wildcard: a host-chosen vault hands out a key it knows), and
# so are the LUKS2 header (SHA-256 of its primary header area) and the volume's integrity mode:
# the agent refuses any other header before the key is used.
endpoint_ok(pinned, requested) if {
	pinned != ""
	pinned == requested
}

encrypted_volume_ok(v) if {
	v.name == input.name
	v.source == input.source
	v.key == input.key
	endpoint_ok(v.authority, input.authority)
	endpoint_ok(v.vault, input.vault)
	v.read_only == input.readOnly
	v.header_digest != ""
	v.header_digest == input.headerDigest
	v.integrity == input.integrity
}

encrypted_volume_named(name) if {
	some v in policy_encrypted_volumes
	v.name == name
}

default mount_encrypted_volume := {"allowed": false}

mount_encrypted_volume := {"allowed": true, "metadata": [add_volume]} if {
	not encrypted_volume_opened(input.name)
	some v in policy_encrypted_volumes
	encrypted_volume_ok(v)
	add_volume := {"name": "encrypted_volumes", "action": "add", "key": input.name, "value": {"key": input.key, "readOnly": input.readOnly}}
}

# ---------------------------------------------------------------------------------------------
# format_encrypted_volume: make a new LUKS2 volume on the disk attached for creation (serial
# coffer-newvol). Never allowed by the framework, and coffer policy gen never binds it: a group's
# sandbox formats nothing. Only a sandbox launched to create a volume (coffer volume create, whose
# own policy binds the rule) may; the key comes from the host there, which chose it anyway.

default format_encrypted_volume := {"allowed": false}

# ---------------------------------------------------------------------------------------------
# reasons: why a request was refused, one message per failed condition

reason := {"errors": errors}

errors contains "deviceHash not found in any policy container" if {
	input.rule == "mount_device"
	not deviceHash_ok
}

errors contains "a device is already mounted at target" if {
	input.rule == "mount_device"
	device_mounted(input.target)
}

errors contains "mount target does not match the agent's layer mount path" if {
	input.rule == "mount_device"
	not mount_target_ok
}

errors contains "no device mounted at path to unmount" if {
	input.rule == "unmount_device"
	not data.metadata.devices[input.unmountTarget]
}

errors contains "device is a layer of a running container's overlay" if {
	input.rule == "unmount_device"
	device_in_use
}

errors contains "overlay already mounted for this container" if {
	input.rule == "mount_overlay"
	overlay_exists
}

errors contains "overlay target already in use" if {
	input.rule == "mount_overlay"
	overlay_mounted(input.target)
}

errors contains "a layer path has no mounted device" if {
	input.rule == "mount_overlay"
	some path in input.layerPaths
	not data.metadata.devices[path]
}

errors contains "mounted layers match no policy container" if {
	input.rule == "mount_overlay"
	count(overlay_candidates) == 0
}

errors contains "no overlay at path to unmount" if {
	input.rule == "unmount_overlay"
	not overlay_mounted(input.unmountTarget)
}

errors contains "container already started" if {
	input.rule in {"create_container", "mount_overlay"}
	container_started
}

errors contains "container not started" if {
	input.rule in {"exec_in_container", "shutdown_container", "signal_container_process"}
	not container_started
}

errors contains "container has been shut down" if {
	input.rule in {"exec_in_container", "shutdown_container", "signal_container_process"}
	container_started
	not overlay_exists
}

errors contains "no overlay mounted for container: mount its layers first" if {
	input.rule == "create_container"
	not overlay_exists
	not container_started
}

errors contains "device nodes are not allowed" if {
	input.rule == "create_container"
	not devices_ok
}

errors contains "invalid command" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; command_ok(c.command)]) == 0
}

errors contains "invalid env list" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; envList_ok(c.env_rules, allowed_env_list(current_matches))]) == 0
}

errors contains "invalid working directory" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; workingDirectory_ok(c.working_dir)]) == 0
}

errors contains "invalid mount list" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; mountList_ok(c.mounts, c.allow_elevated)]) == 0
}

errors contains "privileged escalation not allowed" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; privileged_ok(c.allow_elevated)]) == 0
}

errors contains "invalid noNewPrivileges" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; noNewPrivileges_ok(c.no_new_privileges)]) == 0
}

errors contains "invalid user" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; user_ok(object.get(c, "user", null))]) == 0
}

errors contains "invalid capabilities" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; caps_ok(container_capabilities(c))]) == 0
}

errors contains "invalid seccomp profile" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	count([c | some c in current_matches; seccomp_ok(object.get(c, "seccomp_profile_sha256", ""))]) == 0
}

errors contains "invalid command" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; exec_command_ok(c)]) == 0
}

errors contains "invalid env list" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; envList_ok(c.env_rules, allowed_env_list(current_matches))]) == 0
}

errors contains "invalid working directory" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; workingDirectory_ok(c.working_dir)]) == 0
}

errors contains "invalid noNewPrivileges" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; exec_noNewPrivileges_ok(c)]) == 0
}

errors contains "invalid user" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; exec_user_ok(c)]) == 0
}

errors contains "invalid capabilities" if {
	input.rule == "exec_in_container"
	container_started
	overlay_exists
	count([c | some c in current_matches; exec_caps_ok(c)]) == 0
}

errors contains "invalid signal" if {
	input.rule == "signal_container_process"
	container_started
	overlay_exists
	count(signal_candidates) == 0
}

errors contains "invalid external process" if {
	input.rule == "exec_external"
	count(external_candidates) == 0
}

errors contains "properties access is not allowed by the policy" if {
	input.rule == "get_properties"
	not allow_properties_access
}

errors contains "stack dumps are not allowed by the policy" if {
	input.rule == "dump_stacks"
	not allow_dump_stacks
}

errors contains "runtime logging is not allowed by the policy" if {
	input.rule == "runtime_logging"
	not allow_runtime_logging
}

errors contains "fragment issuer and feed are not listed in the policy" if {
	input.rule == "load_fragment"
	count([f | some f in policy_fragments; fragment_issuer_feed_ok(f)]) == 0
}

errors contains "loading fragment modules is not supported" if {
	input.rule == "load_fragment"
	input.fragment_loaded
}

errors contains "scratch already mounted at target" if {
	input.rule == "scratch_mount"
	scratch_mounted(input.target)
}

errors contains "unencrypted scratch is not allowed by the policy" if {
	input.rule == "scratch_mount"
	not scratch_encryption_ok
}

errors contains "no scratch at path to unmount" if {
	input.rule == "scratch_unmount"
	not scratch_mounted(input.unmountTarget)
}

errors contains "encrypted volume is not listed in the policy" if {
	input.rule == "mount_encrypted_volume"
	not encrypted_volume_named(input.name)
}

errors contains "encrypted volume source, key, endpoints, header digest, integrity or read-only setting differ from the policy" if {
	input.rule == "mount_encrypted_volume"
	encrypted_volume_named(input.name)
	count([v | some v in policy_encrypted_volumes; encrypted_volume_ok(v)]) == 0
}

errors contains "formatting a volume is only for a sandbox launched to create one (coffer volume create), never a group's" if {
	input.rule == "format_encrypted_volume"
}

errors contains "encrypted volume is already open" if {
	input.rule == "mount_encrypted_volume"
	encrypted_volume_opened(input.name)
}

errors contains "a mount uses an encrypted volume that is not open: send mount_encrypted_volume first" if {
	input.rule == "create_container"
	overlay_exists
	not container_started
	not encrypted_mounts_ok
}

# ---------------------------------------------------------------------------------------------
# "" in the policy also accepts the runtime default profile the agent applies, which it reports
# by its SHA-256 (input.runtimeDefaultSeccompProfileSHA256 is supplied by the agent, never the host);
# a policy pins that exact profile by writing the hash itself.

seccomp_ok(seccomp_profile_sha256) if {
	seccomp_profile_sha256 == ""
	input.seccompProfileSHA256 == input.runtimeDefaultSeccompProfileSHA256
}

# ---------------------------------------------------------------------------------------------
# Coffer's own enforcement points (hcsshim has none of these requests). A policy that does not
# bind one gets the rule here; a policy that binds its own rule changes the result.

# start_container: only a container whose create_container decision is committed, once
container_running if data.metadata.running[input.containerID]

default start_container := {"allowed": false}

start_container := {"allowed": true, "metadata": [add_running]} if {
	container_started
	overlay_exists
	not container_running
	add_running := {"name": "running", "action": "add", "key": input.containerID, "value": true}
}

# wait_container: the status of a container that was created
default wait_container := {"allowed": false}

wait_container := {"allowed": true} if container_started

# read_logs: the container's stdio, only where the committed create allowed stdio access
default container_stdio_access := false

container_stdio_access if data.metadata.started[input.containerID].allow_stdio_access == true

default read_logs := {"allowed": false}

read_logs := {"allowed": true} if {
	container_started
	container_stdio_access
}

# write_exec_stdin: host bytes into a process's stdin, only where the policy allows stdin
default write_exec_stdin := {"allowed": false}

write_exec_stdin := {"allowed": true} if {
	container_started
	allow_stdin
}

# read_exec_output: an exec'd process's output and exit status (the agent discards the output of
# a process whose container has no stdio access, as it does for exec_in_container, and returns its exit)
default read_exec_output := {"allowed": false}

read_exec_output := {"allowed": true} if container_started

# read_decision_log: the agent's log of decisions is runtime logging (ACI's allow_runtime_logging)
default read_decision_log := {"allowed": false}

read_decision_log := {"allowed": true} if allow_runtime_logging

# get_report: a report for the host's nonce binds no key (a fixed tag precedes the nonce in
# REPORT_DATA), so it is allowed unless the policy binds a rule of its own
default get_report := {"allowed": true}

# shutdown_sandbox: the host can stop the sandbox from outside anyway; allowed unless the policy says otherwise
default shutdown_sandbox := {"allowed": true}

# set_policy: never (the enforcer refuses it before any rule runs; the policy is HOST_DATA)
default set_policy := {"allowed": false}

errors contains "container not created: its create_container decision is not committed" if {
	input.rule in {"start_container", "wait_container", "read_logs", "write_exec_stdin", "read_exec_output"}
	not container_started
}

errors contains "stdin is not allowed by the policy (allow_stdin is false): what the host writes into a process's stdin is host input" if {
	input.rule == "exec_in_container"
	exec_stdin_requested
	not allow_stdin
}

errors contains "stdin is not allowed by the policy (allow_stdin is false): what the host writes into a process's stdin is host input" if {
	input.rule == "write_exec_stdin"
	not allow_stdin
}

errors contains "container already started" if {
	input.rule == "start_container"
	container_running
}

errors contains "container has been shut down" if {
	input.rule == "start_container"
	container_started
	not overlay_exists
}

errors contains "stdio access is not allowed for this container (allow_stdio_access is false)" if {
	input.rule == "read_logs"
	container_started
	not container_stdio_access
}

errors contains "runtime logging is not allowed by the policy (allow_runtime_logging is false)" if {
	input.rule == "read_decision_log"
	not allow_runtime_logging
}

# candidates that survive every check but disagree on what the container gets cannot be told apart
errors contains "the policy containers this request matches disagree on allow_stdio_access or dropped capabilities; make their command, env or mounts differ" if {
	input.rule == "create_container"
	count(create_candidates) > 1
	some c in create_candidates
	not candidates_agree(c)
}

candidates_agree(c) if {
	c.allow_stdio_access == create_candidates[0].allow_stdio_access
	caps_list([c]) == caps_list(create_candidates)
}

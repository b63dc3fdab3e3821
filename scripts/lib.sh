# Shared by ./coffer and ./run-tests: find a JDK >= 25, install missing system packages, build.
# Sourced, not run. Everything it prints goes to stderr so command output stays clean.

COFFER_ROOT=${COFFER_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
COFFER_MIN_JAVA=25

log() { printf 'coffer: %s\n' "$*" >&2; }

java_major() { # prints the feature version of the java binary $1, or nothing
  # the JDK's release file says it without starting a JVM (a tenth of a second or more per call)
  local release line
  release="$(dirname "$(dirname "$1")")/release"
  if [ -r "$release" ]; then
    while IFS= read -r line; do
      case "$line" in
        JAVA_VERSION=*) line=${line#JAVA_VERSION=}; line=${line//\"/}; echo "${line%%[.+-]*}"; return 0 ;;
      esac
    done <"$release"
  fi
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n1
}

find_jdk() { # sets JAVA_HOME to a JDK >= 25 (JAVA_HOME first, then /usr/lib/jvm/*)
  local c v
  for c in "${JAVA_HOME:-}" /usr/lib/jvm/*; do
    [ -n "$c" ] && [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$(java_major "$c/bin/java")
    if [ -n "$v" ] && [ "$v" -ge "$COFFER_MIN_JAVA" ]; then
      export JAVA_HOME=$c
      return 0
    fi
  done
  log "no JDK ${COFFER_MIN_JAVA} or newer found (looked at \$JAVA_HOME and /usr/lib/jvm/*)."
  log "install one, e.g. Eclipse Temurin 25 (package temurin-25-jdk from Adoptium's apt repository),"
  log "or set JAVA_HOME to a JDK >= ${COFFER_MIN_JAVA}, then run this again."
  return 1
}

# ensure_packages PKG...: installs the Debian packages that are missing, saying so first.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}; install them as root: apt-get install --no-install-recommends ${missing[*]}"
    return 1
  fi
  log "installing Debian packages: ${missing[*]} (apt-get, --no-install-recommends)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/coffer-apt.log 2>&1; then
    apt-get update -q >/tmp/coffer-apt.log 2>&1 || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/coffer-apt.log 2>&1 || {
      log "apt-get failed; see /tmp/coffer-apt.log"; return 1; }
  fi
}

# What the demo and the runtime need on the host.
COFFER_RUNTIME_PACKAGES=(maven crun runc busybox-static e2fsprogs cryptsetup-bin dmsetup uidmap attr iproute2 util-linux)
# What `coffer demo --kubernetes` needs in addition: containerd with its CRI plugin (its pod runs with
# hostNetwork, so no CNI plugins).
COFFER_KUBERNETES_PACKAGES=(containerd)
# What the test suite needs in addition: a real registry, a real PostgreSQL, and containerd with
# the CNI plugins (/usr/lib/cni: bridge, host-local, loopback) its CRI gives pods networks with.
COFFER_TEST_PACKAGES=(docker-registry postgresql apache2-utils containerd containernetworking-plugins)

mvn_cmd() {
  mvn -B -q -Dstyle.color=never -f "$COFFER_ROOT/pom.xml" "$@"
}

# build_if_stale: (re)builds the CLI and its libraries when any source or pom is newer than the jar.
# In a git checkout the source tree is walked only when git's index or HEAD moved since the last
# build (a checkout, pull, commit or `git add`), so a call on a built tree costs no walk; set
# COFFER_REBUILD=1 to have it look after editing files without telling git.
# One build at a time per checkout: two commands started together after a pull would otherwise run
# two Maven builds over the same target directories, and one could start its JVM on jars the other
# is rewriting. The second waits for the first's build (flock), then finds the tree current.
build_if_stale() {
  build_is_current "${COFFER_REBUILD:-}" && return 0
  local fd
  exec {fd}>>"$(build_lock)"
  if ! flock -n "$fd"; then
    log "waiting for another coffer command's build of $COFFER_ROOT..."
    flock "$fd"
    if build_is_current "${COFFER_REBUILD:-}"; then exec {fd}>&-; return 0; fi
  elif build_is_current "${COFFER_REBUILD:-}"; then # built by another command between the check and the lock
    exec {fd}>&-
    return 0
  fi
  log "building Coffer (Maven, tests skipped; this takes a minute the first time)..."
  # quiet on success (Maven writes stray terminal codes even with -q); the whole output on failure
  local build_log
  build_log=$(mktemp /tmp/coffer-build.XXXXXX.log)
  if ! mvn_cmd -Dmaven.test.skip=true install >"$build_log" 2>&1; then
    exec {fd}>&-
    cat "$build_log" >&2
    log "the build failed (output above, kept in $build_log); fix it and run again"
    return 1
  fi
  # Bouncy Castle's jars unsigned, the very bytes the guest's agent disk carries (UnsignedJars): a
  # signed jar costs the CLI and the process sandbox's agent (which runs on this class path) a
  # check of its signature when they first load a class from it. A jar that does not match its
  # signature fails the build here.
  local runtime_jar=("$COFFER_ROOT"/cli/target/lib/coffer-runtime-*.jar)
  if ! "$JAVA_HOME/bin/java" -cp "${runtime_jar[0]}" dev.coffer.runtime.guest.UnsignedJars "$COFFER_ROOT/cli/target/lib" \
        >"$build_log" 2>&1; then
    exec {fd}>&-
    cat "$build_log" >&2
    log "the build's libraries could not be prepared (output above, kept in $build_log)"
    return 1
  fi
  rm -f "$build_log"
  touch "$COFFER_ROOT/cli/target/lib/.complete"
  exec {fd}>&- # never inherited by the CLI's JVM: a long-running command would hold every later build
}

# build_lock: the lock file of this checkout's build and start-up cache.
build_lock() { printf '%s' "${TMPDIR:-/tmp}/coffer-build-$(printf '%s' "$COFFER_ROOT" | sha256sum | cut -c1-16).lock"; }

# build_is_current WALK: true when the CLI's jars are at least as new as every source and pom
# (WALK non-empty: walk the source tree even when git's index and HEAD have not moved).
build_is_current() {
  local jar="$COFFER_ROOT/cli/target/coffer-cli.jar" stamp="$COFFER_ROOT/cli/target/lib/.complete" git="$COFFER_ROOT/.git" line
  [ -f "$jar" ] && [ -f "$stamp" ] || return 1
  if [ -f "$git" ]; then # a linked worktree: .git is a file naming its git directory, which has its own index and HEAD
    IFS= read -r line <"$git" || true
    case "$line" in gitdir:\ *) git=${line#gitdir: }; [ "${git#/}" != "$git" ] || git="$COFFER_ROOT/$git" ;; esac
  fi
  if [ -z "$1" ] && [ -d "$git" ] && ! [ "$git/index" -nt "$stamp" ] && ! [ "$git/HEAD" -nt "$stamp" ] && ! [ "$COFFER_ROOT/pom.xml" -nt "$stamp" ]; then
    return 0
  fi
  if [ -z "$(cd "$COFFER_ROOT" && find . -path ./.git -prune -o \
        \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -newer "$stamp" -print -quit)" ]; then
    touch "$stamp" # nothing newer: the walk need not run again until git's index or HEAD moves
    return 0
  fi
  return 1
}

# The CLI's JVM options and class path.
# (no -Xshare option: the JDK default uses its CDS archive, and AOTCacheOutput refuses any -Xshare)
COFFER_CLI_JVM_OPTS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -XX:+UseSerialGC)
cli_classpath() { printf '%s' "$COFFER_ROOT/cli/target/coffer-cli.jar:$COFFER_ROOT/cli/target/lib/*"; }

# cli_aot_opts: sets COFFER_CLI_AOT_OPTS to the JVM options that start the CLI from its ahead-of-time
# cache (JDK 25, JEPs 483/514/515: classes loaded and linked, and method profiles, from a training run),
# making the cache first when there is none for this build. The training run is `coffer --version`,
# what every command pays before its own work: every class in the cache is loaded at each start, so a
# cache trained on every command's --help made `coffer --version` slower than no cache at all (cpu
# 0.97 s against 0.66 s, median of 7, loaded machine) where this one makes it faster (0.39 s), and it
# speeds the other commands too (`coffer ps`: cpu 0.53 s against 0.80 s). The JVM does
# not notice a jar that changed after the cache was made (measured on 25.0.3: it went on running the
# old classes), so a cache is named by a digest of what it was made from: every jar's path, size and
# modification time, the JDK's module image and the options; any rebuild or JDK update names another.
# Without a usable cache (say the training run failed) the CLI starts as before, just slower.
cli_aot_opts() {
  COFFER_CLI_AOT_OPTS=()
  COFFER_BUILD_DIGEST=
  [ -z "${COFFER_NO_AOT_CACHE:-}" ] || return 0
  local dir="$COFFER_ROOT/cli/target" digest cache
  digest=$( { stat -c '%n %s %y' "$dir/coffer-cli.jar" "$dir"/lib/*.jar "$JAVA_HOME/lib/modules"
              printf '%s\n' "${COFFER_CLI_JVM_OPTS[@]}"; } 2>/dev/null | sha256sum) || return 0
  COFFER_BUILD_DIGEST=${digest:0:16}
  cache="$dir/coffer-cli-${digest:0:16}.aot"
  if [ ! -f "$cache" ] && [ ! -f "$cache.failed" ]; then
    # one training run at a time: a second command waits for the first's cache
    local fd
    exec {fd}>>"$(build_lock)"
    flock "$fd"
    if [ -f "$cache" ] || [ -f "$cache.failed" ]; then exec {fd}>&-; else cli_aot_train "$dir" "$cache"; exec {fd}>&-; fi
  fi
  # the JVM's own warnings (a cache it cannot map, for one) go to stderr, never into a command's output
  [ -f "$cache" ] && COFFER_CLI_AOT_OPTS=(-XX:AOTCache="$cache" -Xlog:disable -Xlog:all=warning:stderr)
  return 0
}

# agent_aot_opts COMMAND: exports COFFER_AGENT_AOT_CACHE, the process sandbox agent's ahead-of-time
# cache for this build (named by the digest cli_aot_opts computed: the agent's JVM options are
# constants in the jars), making it first when there is none and COMMAND starts groups (run, demo)
# or endorses the process sandbox's MEASUREMENT (guest), which the cache's digest is part of.
# The training run is a real agent start (dev.coffer.runtime.sandbox.AgentAotTraining: a launch on a
# simulated secure processor of its own, a generated policy, the first requests of a group's start),
# so the cache holds what an agent loads, links and profiles before its first container. The runtime
# uses the cache only while the seal written beside it still matches the JDK, the class path and every
# jar (the JVM itself does not notice a changed jar), and with --tee sim measures its SHA-384 into the
# launch. Without a usable cache (say the training failed: no runc, not root) agents start as before.
# The same training JVM, which runs the host's side of a launch with the CLI's class path and options
# (the spec, the policy generator, the simulated chip's measurement and seal, the agent protocol),
# also writes the CLI's cache for `coffer run` (coffer-cli-run-*.aot), used by `run` alone: other
# commands keep the --version one, which a cache of the run path would slow (0.45 s cpu against
# 0.34 s for --version, median of 7). Measured on a shared 2-core machine, `coffer run` of one busybox
# echo container to its first output, median of 6 alternating pairs at load 2.3-2.8: 3.6 s with the
# --version cache, 3.1 s with the run cache (cpu 4.3 s against 3.8 s); of 5 at load 3: 3.0 s and 2.9 s.
agent_aot_opts() {
  [ -n "${COFFER_BUILD_DIGEST:-}" ] || { unset COFFER_AGENT_AOT_CACHE; return 0; }
  local dir="$COFFER_ROOT/cli/target" cache
  cache="$dir/coffer-agent-$COFFER_BUILD_DIGEST.aot"
  if [ ! -f "$cache" ] && [ ! -f "$cache.failed" ] && { [ "${1:-}" = run ] || [ "${1:-}" = demo ] || [ "${1:-}" = guest ]; }; then
    local fd
    exec {fd}>>"$(build_lock)"
    flock "$fd"
    if [ ! -f "$cache" ] && [ ! -f "$cache.failed" ]; then agent_aot_train "$dir" "$cache"; fi
    exec {fd}>&-
  fi
  if [ -f "$cache" ]; then export COFFER_AGENT_AOT_CACHE="$cache"; else unset COFFER_AGENT_AOT_CACHE; fi
  local run_cache="$dir/coffer-cli-run-$COFFER_BUILD_DIGEST.aot"
  if [ "${1:-}" = run ] && [ -f "$run_cache" ]; then
    COFFER_CLI_AOT_OPTS=(-XX:AOTCache="$run_cache" -Xlog:disable -Xlog:all=warning:stderr)
  fi
  return 0
}

# agent_aot_train DIR CACHE: the training run that makes CACHE (see agent_aot_opts).
agent_aot_train() {
  local dir=$1 cache=$2
  log "preparing the agent's start-up cache (once after each build; about 15 seconds)..."
  local run_cache="$dir/coffer-cli-run-$COFFER_BUILD_DIGEST.aot"
  rm -f "$dir"/coffer-agent-*.aot "$dir"/coffer-agent-*.aot.seal "$dir"/coffer-agent-*.aot.failed "$dir"/coffer-cli-run-*.aot
  # the training JVM is the CLI's (its options and class path), so it records the CLI's run cache too;
  # written at its exit, to a temporary name, renamed into place only when whole
  if "$JAVA_HOME/bin/java" "${COFFER_CLI_JVM_OPTS[@]}" -XX:AOTCacheOutput="$run_cache.$$.tmp" -cp "$(cli_classpath)" \
        dev.coffer.runtime.sandbox.AgentAotTraining "$cache" >"$cache.log" 2>&1 && [ -s "$cache" ]; then
    rm -f "$cache.log"
    if [ -s "$run_cache.$$.tmp" ]; then mv -f "$run_cache.$$.tmp" "$run_cache"; fi
  else
    mv -f "$cache.log" "$cache.failed"
    rm -f "$cache" "$cache.seal"
    log "could not make the agent's start-up cache (see $cache.failed); agents start without it"
  fi
  rm -f "$run_cache.$$.tmp" "$run_cache.$$.tmp.config"
}

# cli_aot_train DIR CACHE: the training run that makes CACHE (see cli_aot_opts).
cli_aot_train() {
  local dir=$1 cache=$2 tmp
  log "preparing the CLI's start-up cache (once after each build; a few seconds)..."
  rm -f "$dir"/coffer-cli-*.aot "$dir"/coffer-cli-*.aot.failed
  tmp="$cache.$$.tmp"
  # the JVM writes the cache at the training run's exit; renamed into place only when whole
  if "$JAVA_HOME/bin/java" "${COFFER_CLI_JVM_OPTS[@]}" -XX:AOTCacheOutput="$tmp" -cp "$(cli_classpath)" \
        dev.coffer.cli.Main --version >"$tmp.log" 2>&1 && [ -s "$tmp" ]; then
    mv -f "$tmp" "$cache"
    rm -f "$tmp.log"
  else
    mv -f "$tmp.log" "$cache.failed"
    rm -f "$tmp" "$tmp.config"
    log "could not make the start-up cache (see $cache.failed); starting without it"
  fi
}

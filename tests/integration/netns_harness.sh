# shellcheck shell=bash
# netns_harness.sh: a network-namespace test harness; source it from a bash test.
#
# The hosts are deploy/local-cluster.sh's nodes (one network namespace each, veth cables
# on a bridge, a spark-agent per node with its own --root); the harness adds what tests
# need around them: a real sshd in a node's namespace, SSH keys and trust under the
# nodes' roots, one-off agent calls (agent_call), background processes, and cleanup of
# everything on every exit path (EXIT, INT, TERM).
#
#   nh_require_netns                 exit 77 unless root with iproute2 and namespaces
#   nh_require_programs PROG...      exit 77 naming the first program missing
#   nh_up N [--sshd]                 N nodes spark-001..; sets NH_WORK (scratch), NH_DIR (the
#                                    cluster's directory) and NH_CONFIG (its cluster.yaml); the
#                                    nodes run no sshd (start one with nh_start_sshd) unless
#                                    --sshd: then each runs local-cluster.sh's own
#   nh_ip NODE / nh_root NODE        the node's address / its --root directory
#   nh_sparkctl ARGS...              sparkctl -c $NH_CONFIG ARGS...
#   nh_agent_call NODE METHOD [JSON] one NodeAgent call; prints the reply JSON
#   nh_bg NODE CMD...                CMD in NODE's namespace, in the background, its output in
#                                    $NH_WORK/NODE-PROGRAM.log; sets NH_BG_PID
#   nh_start_sshd NODE               sshd on NODE's address, port 22, host key under its root
#   nh_ssh_key NODE                  root's ed25519 key pair under NODE's root
#   nh_known_host FROM TO            TO's host key in FROM's known_hosts
#   nh_trust FROM TO                 FROM's key authorized on TO, and nh_known_host FROM TO
#   nh_strays NODE                   programs running in NODE's namespace besides spark-agent and sshd
#   nh_fail MSG / nh_skip MSG        exit 1 / exit 77
#
# Binaries: $SPARKCTL, $SPARK_AGENT (read by local-cluster.sh) and $AGENT_CALL.
# Everything lives under one mktemp directory; namespaces are named spark-NNN, so only one
# harness (or local cluster) runs at a time: ctest's RESOURCE_LOCK sparkfleet_netns.

NH_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NH_LOCAL_CLUSTER="$NH_REPO/deploy/local-cluster.sh"
NH_WORK=""   # the harness's temporary directory
NH_DIR=""    # the local cluster's directory inside it
NH_CONFIG=""
NH_PIDS=()

nh_fail() {
  echo "FAIL: $*" >&2
  exit 1
}
nh_skip() {
  echo "SKIP: $*"
  exit 77
}

nh_require_netns() {
  ((EUID == 0)) || nh_skip "network namespaces need root"
  command -v ip >/dev/null || nh_skip "iproute2's ip is not installed"
  local probe="sfnh$$"
  ip netns add "$probe" 2>/dev/null || nh_skip "cannot create network namespaces here (ip netns add failed)"
  ip netns delete "$probe"
}

nh_require_programs() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null || nh_skip "$p is not installed"
  done
}

nh_cleanup() {
  local pid
  for pid in "${NH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${NH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n $NH_WORK ]]; then
    "$NH_LOCAL_CLUSTER" down --dir "$NH_DIR" >/dev/null 2>&1 || true
    rm -rf "$NH_WORK"
  fi
}

nh_up() {
  local nodes=$1 i ns
  local -a up_args=(--no-sshd)
  [[ ${2:-} != --sshd ]] || up_args=()
  for ((i = 1; i <= nodes; i++)); do
    ns=$(printf 'spark-%03d' "$i")
    if ip netns list | awk -v n="$ns" '$1 == n { found = 1 } END { exit !found }'; then
      nh_skip "network namespace $ns exists already (another local cluster is up)"
    fi
  done
  NH_WORK="$(mktemp -d "${TMPDIR:-/tmp}/sf-netns-harness.XXXXXX")"
  NH_DIR="$NH_WORK/cluster"
  NH_CONFIG="$NH_DIR/cluster.yaml"
  trap nh_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  "$NH_LOCAL_CLUSTER" up --netns --nodes "$nodes" --dir "$NH_DIR" "${up_args[@]}" >"$NH_WORK/up.log" 2>&1 ||
    nh_fail "local-cluster.sh up failed: $(tail -n 20 "$NH_WORK/up.log")"
}

nh_ip() { awk -v n="$1" '$2 == "hostname:" && $3 == n { getline; print $2 }' "$NH_CONFIG"; }
nh_root() { echo "$NH_DIR/$1/root"; }

nh_sparkctl() { "${SPARKCTL:?}" -c "$NH_CONFIG" "$@"; }
nh_agent_call() { "${AGENT_CALL:?}" -c "$NH_CONFIG" "$@"; }

nh_bg() {
  local node=$1
  shift
  ip netns exec "$node" "$@" >>"$NH_WORK/$node-$(basename "$1").log" 2>&1 &
  NH_BG_PID=$!
  NH_PIDS+=("$NH_BG_PID")
}

nh_start_sshd() {
  local node=$1 root ip conf i
  root=$(nh_root "$node")
  ip=$(nh_ip "$node")
  mkdir -p "$root/etc/ssh" "$root/root/.ssh"
  [[ -e $root/etc/ssh/ssh_host_ed25519_key ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "$node" -f "$root/etc/ssh/ssh_host_ed25519_key"
  touch "$root/root/.ssh/authorized_keys"
  # The privilege separation directory the openssh-server package makes at boot.
  mkdir -p /run/sshd
  conf="$NH_WORK/$node-sshd_config"
  cat >"$conf" <<CONF
ListenAddress $ip
Port 22
HostKey $root/etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile $root/root/.ssh/authorized_keys
# The node's files live in a temporary directory, which sshd's ownership checks refuse.
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
PidFile $NH_WORK/$node-sshd.pid
CONF
  nh_bg "$node" /usr/sbin/sshd -D -e -f "$conf"
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$node" ss -Htln "sport = :22" | grep -q LISTEN && return 0
    sleep 0.05
  done
  nh_fail "sshd in $node is not listening on $ip:22"
}

nh_ssh_key() {
  local root
  root=$(nh_root "$1")
  mkdir -p "$root/root/.ssh"
  [[ -e $root/root/.ssh/id_ed25519 ]] ||
    ssh-keygen -q -t ed25519 -N '' -C "root@$1" -f "$root/root/.ssh/id_ed25519"
}

nh_known_host() {
  local from_root to_root
  from_root=$(nh_root "$1")
  to_root=$(nh_root "$2")
  mkdir -p "$from_root/root/.ssh"
  echo "$(nh_ip "$2") $(cut -d' ' -f1,2 "$to_root/etc/ssh/ssh_host_ed25519_key.pub")" \
    >>"$from_root/root/.ssh/known_hosts"
}

nh_trust() {
  nh_ssh_key "$1"
  cat "$(nh_root "$1")/root/.ssh/id_ed25519.pub" >>"$(nh_root "$2")/root/.ssh/authorized_keys"
  nh_known_host "$1" "$2"
}

nh_strays() {
  local pid comm
  for pid in $(ip netns pids "$1"); do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == spark-agent || $comm == sshd ]] || echo "$comm"
  done
}

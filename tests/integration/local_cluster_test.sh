#!/usr/bin/env bash
# local_cluster_test.sh --loopback|--netns: deploy/local-cluster.sh brings up a 3-node cluster
# that `sparkctl status` sees whole, and `down` leaves nothing behind: no agent alive, no
# namespace, no link, `ip netns list` and the host's links as they were. Twice in a row, then
# once with an agent that cannot start (that `up` fails and leaves nothing either).
#
# Exit 0 pass, 1 fail, 77 skip (the netns variant without root or network namespaces).
# Binaries: $SPARKCTL and $SPARK_AGENT (set by ctest), else local-cluster.sh's defaults.
set -euo pipefail

readonly NODES=3
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly LOCAL_CLUSTER="$SCRIPT_DIR/../../deploy/local-cluster.sh"

mode=${1:-}
case $mode in
  --loopback | --netns) ;;
  *) echo "usage: local_cluster_test.sh --loopback|--netns" >&2; exit 1 ;;
esac

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

if [[ $mode == --netns ]]; then
  ((EUID == 0)) || skip "network namespaces need root"
  command -v ip >/dev/null || skip "iproute2's ip is not installed"
  probe="sftest$$"
  ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here (ip netns add failed)"
  ip netns delete "$probe"
  for ((i = 1; i <= NODES; i++)); do
    ns=$(printf 'spark-%03d' "$i")
    if ip netns list | awk -v n="$ns" '$1 == n { found = 1 } END { exit !found }'; then
      skip "network namespace $ns exists already (another local cluster is up)"
    fi
  done
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/sf-local-cluster-test.XXXXXX")"
cleanup() {
  "$LOCAL_CLUSTER" down --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

netns_names() { if command -v ip >/dev/null; then ip netns list | awk '{ print $1 }' | sort; fi; }
link_names() { if command -v ip >/dev/null; then ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; fi; }

# alive PID: the process exists and is not a zombie (init may reap late).
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ ${stat%% *} != Z ]]
}

netns_before="$(netns_names)"
links_before="$(link_names)"

# What up recorded as made, for the after-down checks (the state file is gone by then).
recorded() { awk -v kind="$1" '$1 == kind { print $2 }' "$dir/state"; }

# assert_nothing_left PIDS LINKS NAMESPACES (newline-separated lists).
assert_nothing_left() {
  local pids=$1 links=$2 namespaces=$3 pid link ns deadline
  [[ ! -e $dir/state ]] || fail "down left $dir/state behind"
  for pid in $pids; do
    deadline=$((SECONDS + 5)) # down waited already; this is for the kernel's bookkeeping
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.05; done
    if alive "$pid"; then fail "agent pid $pid still alive after down"; fi
  done
  for link in $links; do
    if ip link show dev "$link" >/dev/null 2>&1; then fail "link $link still exists after down"; fi
  done
  for ns in $namespaces; do
    [[ ! -e /run/netns/$ns ]] || fail "namespace $ns still exists after down"
  done
  # Whole-host comparisons only where we own the network for the test's length (ctest's
  # RESOURCE_LOCK keeps netns tests apart); loopback tests run beside anything.
  if [[ $mode == --netns ]]; then
    [[ "$(netns_names)" == "$netns_before" ]] ||
      fail "ip netns list changed: before [$netns_before] after [$(netns_names)]"
    [[ "$(link_names)" == "$links_before" ]] ||
      fail "the host's links changed: before [$links_before] after [$(link_names)]"
  fi
  if pgrep -f -- "--root $dir/" >/dev/null; then
    fail "a process with --root under $dir still runs: $(pgrep -a -f -- "--root $dir/")"
  fi
  return 0
}

sparkctl=${SPARKCTL:-$SCRIPT_DIR/../../build/coordinator/sparkctl}

for cycle in 1 2; do
  echo "--- cycle $cycle: up --nodes $NODES $mode"
  "$LOCAL_CLUSTER" up --nodes "$NODES" --dir "$dir" "$mode" || fail "up failed (cycle $cycle)"
  "$LOCAL_CLUSTER" status --dir "$dir" || fail "status does not show everything running"

  out="$("$sparkctl" -c "$dir/cluster.yaml" --json status)" || fail "sparkctl status exited $?: $out"
  ok_nodes=$(grep -o '"ok":[[:space:]]*true' <<<"$out" | wc -l)
  ((ok_nodes == NODES)) || fail "sparkctl status: $ok_nodes of $NODES nodes ok: $out"
  grep -q "\"summary\":[[:space:]]*{[[:space:]]*\"ok\":[[:space:]]*${NODES}[[:space:]]*,[[:space:]]*\"failed\":[[:space:]]*0" <<<"$out" ||
    fail "sparkctl status summary is not $NODES ok, 0 failed: $out"
  "$sparkctl" -c "$dir/cluster.yaml" status

  pids="$(cat "$dir"/spark-*/agent.pid)"
  [[ $(wc -w <<<"$pids") -eq $NODES ]] || fail "expected $NODES agent pid files, got: $pids"
  links="$(recorded bridge; recorded link)"
  namespaces="$(recorded netns)"
  if [[ $mode == --netns ]]; then
    [[ $(wc -w <<<"$namespaces") -eq $NODES ]] || fail "expected $NODES namespaces, got: $namespaces"
    [[ -n $links ]] || fail "no bridge or veth recorded"
  fi

  "$LOCAL_CLUSTER" down --dir "$dir" || fail "down failed (cycle $cycle)"
  assert_nothing_left "$pids" "$links" "$namespaces"
  "$LOCAL_CLUSTER" down --dir "$dir" || fail "a second down is not a no-op"
done

echo "--- an agent that cannot start: up fails and leaves nothing behind"
if SPARK_AGENT=/bin/false "$LOCAL_CLUSTER" up --nodes "$NODES" --dir "$dir" "$mode"; then
  fail "up succeeded with SPARK_AGENT=/bin/false"
fi
assert_nothing_left "" "" "$namespaces"

echo "PASS: local cluster ($mode) up/down x2 and a failed up leave nothing behind"

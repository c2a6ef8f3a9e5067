#!/usr/bin/env bash
# demo.sh: brings a local sparkfleet cluster up, shows what sparkctl sees, and takes it down
# again (also when something fails). Installs nothing: it needs built binaries, found like
# local-cluster.sh finds them ($SPARKCTL / $SPARK_AGENT, else build/, else PATH).
#
#   demo.sh [--nodes N] [--dir DIR] [--netns|--loopback] [--fixture TREE | --no-fixture]
#
# Network namespaces when run as root with iproute2, loopback otherwise (local-cluster.sh's
# default). Each node's root is seeded with the DGX Spark sysfs tree from
# tests/testdata/sysfs unless another --fixture or --no-fixture is given. Then one
# `sparkctl deploy` sets the cluster up (SSH trust, /etc/hosts, nccl.conf; Tailscale and NCCL
# installation are off in the local cluster's cluster.yaml) and validates it; `validate` and
# `status` show the result, and a second deploy shows that nothing changes. In namespaces every
# node runs a real sshd; on loopback there is none, so deploy leaves out its SSH steps.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
readonly SCRIPT_DIR REPO_ROOT
readonly LOCAL_CLUSTER="$SCRIPT_DIR/local-cluster.sh"

dir="${TMPDIR:-/tmp}/sparkfleet-demo"
nodes=2
up_args=()
fixture="$REPO_ROOT/tests/testdata/sysfs/dgx-spark"
while (($#)); do
  case $1 in
    --dir) dir=${2:?--dir needs a directory}; shift 2 ;;
    --nodes) nodes=${2:?--nodes needs a number}; shift 2 ;;
    --netns | --loopback) up_args+=("$1"); shift ;;
    --fixture) fixture=${2:?--fixture needs a directory}; shift 2 ;;
    --no-fixture) fixture=""; shift ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument \"$1\" (see --help)" >&2; exit 1 ;;
  esac
done

# The same binaries for the cluster and for the commands shown.
if [[ -z ${SPARKCTL:-} ]]; then
  if [[ -x $REPO_ROOT/build/coordinator/sparkctl ]]; then
    SPARKCTL=$REPO_ROOT/build/coordinator/sparkctl
  else
    SPARKCTL=$(command -v sparkctl) || {
      echo "demo.sh: sparkctl not found: build it (cmake --build build) or set \$SPARKCTL" >&2
      exit 1
    }
  fi
fi
export SPARKCTL
[[ -z ${SPARK_AGENT:-} ]] || export SPARK_AGENT

heading() { printf '\n==== %s\n' "$*"; }

# show TITLE ARGS...: one sparkctl command, under a heading; a failing node does not stop the demo.
status=0
show() {
  local title=$1
  shift
  heading "$title: sparkctl -c $dir/cluster.yaml $*"
  "$SPARKCTL" -c "$dir/cluster.yaml" "$@" || {
    local rc=$?
    echo "(sparkctl exited with status $rc)"
    status=$rc
  }
}

# Down in every case; the files go too unless something failed (then its logs are kept).
# shellcheck disable=SC2317  # run by the EXIT trap
teardown() {
  local rc=$1
  trap - EXIT
  heading "Tearing the cluster down"
  if ((rc == 0)); then
    "$LOCAL_CLUSTER" down --dir "$dir" --purge || rc=1
  else
    "$LOCAL_CLUSTER" down --dir "$dir" || true
    echo "demo.sh: failed (status $rc); logs and certificates kept in $dir" >&2
  fi
  exit "$rc"
}
trap 'teardown $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

heading "Bringing up a $nodes-node local cluster"
# Each node's root is seeded with the DGX Spark hardware tree, so probe and topo show what
# they would on a Spark; the network between the nodes is real.
[[ -z $fixture ]] || up_args+=(--fixture "$fixture")
"$LOCAL_CLUSTER" up --nodes "$nodes" --dir "$dir" "${up_args[@]}"
show "Who answers" status
show "What each agent reports" info
show "How to reach every agent" get endpoints
show "What hardware each node has (from its root's sysfs tree)" probe
show "GPU/NIC topology, as nvidia-smi topo -m prints it" --limit spark-001 topo

# The whole set-up in one command. In namespaces, SSH is real: an sshd per node, keys and
# known_hosts in the nodes' roots, set up by the agents through the production code path (sshd -t
# and systemctl reload ssh reach the node's own sshd through local-cluster.sh's tool shims).
skip_steps=()
skip_why=()
validate_args=()
cluster_status=$("$LOCAL_CLUSTER" status --dir "$dir" || true)
if grep -qE '^ +spark-[0-9]+ +sshd +pid [0-9]+ +running' <<<"$cluster_status"; then
  validate_args=(--require-ssh)
else
  # No sshd (loopback, or --no-sshd): those steps could only fail on every node.
  skip_steps+=(single-node multi-node)
  skip_why+=("single-node and multi-node: no sshd in the nodes ($(sed -n 's/^ *sshd not started: //p' <<<"$cluster_status"))")
fi
if [[ -z $fixture ]]; then
  # Without a hardware tree the agents see no NIC in their roots to name in nccl.conf.
  skip_steps+=(nccl)
  skip_why+=("nccl: no hardware fixture, so no interface to name in nccl.conf")
fi
deploy_args=()
((${#skip_steps[@]} == 0)) || deploy_args=(--skip "$(IFS=,; echo "${skip_steps[*]}")")
show "Deploy: the whole set-up in one command, then a check of the ring" deploy "${deploy_args[@]}"
for why in "${skip_why[@]}"; do echo "(this deploy left out $why)"; done
show "Validate: what the nodes measure of each other, every pair" validate "${validate_args[@]}"
show "Who answers now" status
show "Deploy again: nothing changes" deploy "${deploy_args[@]}"
exit "$status"

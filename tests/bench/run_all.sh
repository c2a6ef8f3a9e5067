#!/usr/bin/env bash
# run_all.sh: every benchmark in tests/bench at the sizes the README's performance section
# quotes, one after the other (they would skew each other if run at once):
#   status_bench          sparkctl status over 10, 100, 1000 agents (mTLS), and 1000 plaintext;
#   compare_status.sh     sparkctl status vs pdsh over SSH vs Ansible ping at 10, 50, 200 hosts;
#   compare_bandwidth.sh  validate's bandwidth vs the iperf3 command line (root + namespaces);
#   agent_bench           spark-agent start-to-ready time and idle RSS;
#   probe_bench           one full Probe, p50/p99.
# A benchmark that skips (77: a tool missing, not root) is reported and the rest still run.
#
#   run_all.sh            (or: cmake --build build --target run_benchmarks)
# Binaries: $STATUS_BENCH, $PROBE_BENCH, $AGENT_BENCH, $SPARKCTL, $SPARK_AGENT, else build/.
# Exit 0 when none failed, 1 otherwise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$(cd "$here/../.." && pwd)/build"
export STATUS_BENCH="${STATUS_BENCH:-$build/tests/bench/status_bench}"
export PROBE_BENCH="${PROBE_BENCH:-$build/tests/bench/probe_bench}"
export AGENT_BENCH="${AGENT_BENCH:-$build/tests/bench/agent_bench}"
export SPARKCTL="${SPARKCTL:-$build/coordinator/sparkctl}"
export SPARK_AGENT="${SPARK_AGENT:-$build/node_agent/spark-agent}"

failed=()
skipped=()
# bench NAME COMMAND...: runs one benchmark, noting a skip or a failure.
bench() {
  local name=$1 rc=0
  shift
  echo
  echo "=== $name: $* ($(date -u +%FT%TZ))"
  "$@" || rc=$?
  case $rc in
    0) ;;
    77) skipped+=("$name") ;;
    *) failed+=("$name (exit $rc)") ;;
  esac
}

echo "run_all: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
bench status_bench "$STATUS_BENCH" --nodes 10,100,1000 --runs 3
bench status_bench_plaintext "$STATUS_BENCH" --nodes 1000 --runs 3 --insecure
bench compare_status bash "$here/compare_status.sh" --nodes 10,50,200 --runs 3
bench compare_bandwidth bash "$here/compare_bandwidth.sh" --runs 3 --duration 5 --streams 1
bench agent_bench "$AGENT_BENCH" --starts 10 --calls 100
bench probe_bench "$PROBE_BENCH" --iterations 2000

echo
echo "run_all: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
((${#skipped[@]} == 0)) || echo "skipped: ${skipped[*]}"
((${#failed[@]} == 0)) || { echo "FAILED: ${failed[*]}"; exit 1; }
echo "run_all: done"

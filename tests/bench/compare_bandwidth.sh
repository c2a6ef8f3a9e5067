#!/usr/bin/env bash
# compare_bandwidth.sh: `sparkctl validate --tests bandwidth` side by side with the iperf3
# command line over the same pair of nodes, same duration and streams, in the same run.
# Two nodes spark-001 and spark-002 come up in network namespaces (deploy/local-cluster.sh
# --netns, through tests/integration/netns_harness.sh); each run measures, one after the other,
#   sparkctl  validate --limit spark-001,spark-002 --tests bandwidth --pairs ring
#             --duration D --parallel-streams P: the figure of the check spark-001 -> spark-002
#             (iperf3 through libiperf inside the agents, started over gRPC);
#   iperf3    ip netns exec spark-002 iperf3 -s -1 -B IP2 -p PORT, then
#             ip netns exec spark-001 iperf3 -c IP2 -p PORT -t D -P P -J: end.sum_received;
# and prints both figures in Gb/s and their ratio, then the medians.
#
#   compare_bandwidth.sh [--runs 3] [--duration 5] [--streams 1] [--wait 300]
#
# The namespaces are named spark-001.., so one local cluster at a time: while another test
# holds a spark-* namespace this waits (up to --wait seconds), then skips.
# Environment: SPARKCTL and SPARK_AGENT (ctest sets them).
# Exit 0 done, 1 a run failed, 77 skipped (not root, no namespaces, iperf3 or jq missing,
# namespaces still busy).
set -euo pipefail

runs=3
duration=5
streams=1
wait_s=300
while (($# > 0)); do
  case $1 in
    --runs) runs=$2 ;;
    --duration) duration=$2 ;;
    --streams) streams=$2 ;;
    --wait) wait_s=$2 ;;
    *) echo "usage: $0 [--runs 3] [--duration 5] [--streams 1] [--wait 300]" >&2; exit 2 ;;
  esac
  shift 2
done

# shellcheck source=tests/integration/netns_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/../integration/netns_harness.sh"

nh_require_netns
nh_require_programs iperf3 jq ss
: "${SPARKCTL:?set SPARKCTL to the sparkctl binary (ctest does)}"

# Another local cluster (a netns test, the demo) may hold the spark-NNN names: wait for it.
spark_namespaces() { ip netns list | awk '$1 ~ /^spark-[0-9]+$/ { print $1 }'; }
deadline=$((SECONDS + wait_s))
while [[ -n $(spark_namespaces) ]]; do
  ((SECONDS < deadline)) || nh_skip "namespaces $(spark_namespaces | tr '\n' ' ')still exist after ${wait_s} s"
  sleep 1
done

nh_up 2
N1=spark-001 N2=spark-002
IP2=$(nh_ip $N2)
readonly PORT=5299
echo "--- 2 nodes up in $NH_DIR: $N1 -> $N2 ($IP2), ${duration} s, $streams stream(s), $runs run(s)"

gbps() { jq -n --argjson b "$1" '$b / 1e9 * 100 | round / 100'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run_validate / run_iperf3: one measurement each, in bits/s, into $ours / $cli.
run_validate() {
  local out
  out=$(nh_sparkctl --json --limit "$N1,$N2" validate --tests bandwidth --pairs ring \
    --duration "$duration" --parallel-streams "$streams") || nh_fail "validate exited $?: $out"
  ours=$(jq --arg s $N1 --arg t $N2 \
    '.checks[] | select(.source == $s and .target == $t) | .bandwidth.received_bps' <<<"$out")
  [[ -n $ours && $ours != null ]] || nh_fail "validate gave no $N1 -> $N2 figure: $out"
}
run_iperf3() {
  local server json i
  nh_bg $N2 iperf3 -s -1 -B "$IP2" -p "$PORT"
  server=$NH_BG_PID
  for ((i = 0; i < 100; i++)); do
    ip netns exec $N2 ss -Htln "sport = :$PORT" | grep -q LISTEN && break
    sleep 0.05
  done
  json=$(timeout $((duration + 30)) ip netns exec $N1 iperf3 -c "$IP2" -p "$PORT" \
    -t "$duration" -P "$streams" -J) || nh_fail "iperf3 client exited $?: $json"
  wait "$server" || true
  cli=$(jq '.end.sum_received.bits_per_second' <<<"$json")
}

# The two take turns going first, so that neither always meets the machine as the other left it.
ours_all=() cli_all=()
for ((run = 1; run <= runs; run++)); do
  if ((run % 2 == 1)); then
    run_validate
    run_iperf3
    order="validate first"
  else
    run_iperf3
    run_validate
    order="iperf3 first"
  fi
  ratio=$(jq -n --argjson a "$ours" --argjson b "$cli" '$a / $b * 100 | round / 100')
  echo "run $run ($order): sparkctl validate $(gbps "$ours") Gb/s, iperf3 CLI $(gbps "$cli") Gb/s, ratio $ratio"
  ours_all+=("$ours")
  cli_all+=("$cli")
done

m_ours=$(median "${ours_all[@]}")
m_cli=$(median "${cli_all[@]}")
echo
printf '%-10s %-8s %-7s  %-18s  %-14s  %s\n' pair duration streams "sparkctl Gb/s" "iperf3 Gb/s" \
  "sparkctl/iperf3"
printf '%-10s %-8s %-7s  %-18s  %-14s  %s\n' "001->002" "${duration} s" "$streams" \
  "$(gbps "$m_ours")" "$(gbps "$m_cli")" \
  "$(jq -n --argjson a "$m_ours" --argjson b "$m_cli" '$a / $b * 100 | round / 100')"
echo "(medians over $runs run(s))"

#!/usr/bin/env bash
# validate_netns_test.sh: `sparkctl validate` on 3 nodes in network namespaces (netns_harness.sh),
# with real ICMP, iperf3 and sshd traffic between them:
#   (a) every pair passes ping and bandwidth, and --json/--output give one document;
#   (b) spark-003's link down: exactly the pairs involving it FAIL, each with a reason, the
#       others pass, and validate returns within its deadline;
#   (c) validate's bandwidth spark-001 -> spark-002 is within 10% of iperf3's own client run
#       over the same pair (up to 3 tries: the two share this machine's CPUs with whatever
#       else runs);
#   (d) a BandwidthServe whose client never comes gives up at its accept timeout and frees its port;
#   (e) SSH with keys set up by the harness under the nodes' roots: spark-001 -> spark-002 logs in
#       (OK); spark-003, whose key spark-002 does not trust, is refused (AUTH_REFUSED); nodes
#       without sshd refuse the connection; an unknown host key is HOST_KEY_UNKNOWN;
# and no iperf3 or ping is left running in any namespace.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, a program missing).
set -euo pipefail

# shellcheck source=tests/integration/netns_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns_harness.sh"

nh_require_netns
nh_require_programs iperf3 ping ss jq ssh ssh-keygen /usr/sbin/sshd
: "${AGENT_CALL:?set AGENT_CALL to the agent_call test tool (ctest does)}"

readonly TIMEOUT_S=3 DURATION_S=1
nh_up 3
NODES=(spark-001 spark-002 spark-003)
echo "--- cluster up in $NH_DIR: ${NODES[*]} at $(nh_ip spark-001) $(nh_ip spark-002) $(nh_ip spark-003)"

# check_verdicts JSON TEST BAD_NODE: every pair of TEST involving BAD_NODE failed with a reason,
# every other pair passed (no BAD_NODE: all pass); prints the number of checks.
check_verdicts() {
  local json=$1 test=$2 bad=${3:-} src dst verdict reason n=0
  while IFS=$'\t' read -r src dst verdict reason; do
    n=$((n + 1))
    if [[ -n $bad && ($src == "$bad" || $dst == "$bad") ]]; then
      [[ $verdict == CHECK_VERDICT_FAIL ]] || nh_fail "$test $src -> $dst: $verdict, expected FAIL ($bad is down)"
      [[ -n $reason ]] || nh_fail "$test $src -> $dst failed without a reason"
    else
      [[ $verdict == CHECK_VERDICT_PASS ]] || nh_fail "$test $src -> $dst: $verdict: $reason"
    fi
  done < <(jq -r --arg t "$test" \
    '.checks[] | select(.test == $t) | [.source, .target, .verdict, .reason] | @tsv' <<<"$json")
  echo "$n"
}

assert_no_strays() {
  local node strays
  for node in "${NODES[@]}"; do
    strays=$(nh_strays "$node")
    [[ -z $strays ]] || nh_fail "left running in $node: $strays"
  done
}

echo "--- (a) all pairs pass ping and bandwidth"
out=$(nh_sparkctl --json --timeout "$TIMEOUT_S" validate --tests ping bandwidth \
  --duration "$DURATION_S" --output "$NH_WORK/a.json") || nh_fail "validate exited $?: $out"
[[ $(check_verdicts "$out" VALIDATE_TEST_PING) == 6 ]] || nh_fail "expected 6 ping checks: $out"
[[ $(check_verdicts "$out" VALIDATE_TEST_BANDWIDTH) == 6 ]] || nh_fail "expected 6 bandwidth checks"
[[ $(jq -r .summary.ok <<<"$out") == true ]] || nh_fail "summary not ok: $(jq -c .summary <<<"$out")"
[[ "$out" == "$(cat "$NH_WORK/a.json")" ]] || nh_fail "--output file differs from --json output"
jq -e '[.checks[] | select(.test == "VALIDATE_TEST_BANDWIDTH") | .bandwidth.received_bps > 0]
  | all' <<<"$out" >/dev/null || nh_fail "a bandwidth check without a figure"
nh_sparkctl --timeout "$TIMEOUT_S" validate --duration "$DURATION_S" || nh_fail "text validate exited $?"
assert_no_strays

echo "--- (b) spark-003's link down"
ip -n spark-003 link set eth0 down
start=$SECONDS
rc=0
out=$(nh_sparkctl --json --timeout "$TIMEOUT_S" validate --tests ping bandwidth \
  --duration "$DURATION_S") || rc=$?
elapsed=$((SECONDS - start))
ip -n spark-003 link set eth0 up
((rc == 2)) || nh_fail "validate exited $rc with a node down, expected 2: $out"
check_verdicts "$out" VALIDATE_TEST_PING spark-003 >/dev/null
check_verdicts "$out" VALIDATE_TEST_BANDWIDTH spark-003 >/dev/null
[[ $(jq '[.checks[] | select(.verdict == "CHECK_VERDICT_FAIL")] | length' <<<"$out") == 8 ]] ||
  nh_fail "expected exactly the 8 checks involving spark-003 to fail"
# Its deadline: the ping call (timeout + 5 pings + reply wait + 2 s), then bandwidth rounds of at
# most timeout + duration each (6 rounds for 3 nodes), plus start-up.
bound=$(((TIMEOUT_S + 4) + 6 * (TIMEOUT_S + DURATION_S) + 5))
((elapsed <= bound)) || nh_fail "validate took ${elapsed}s with a node down; its deadline is ${bound}s"
echo "validate with spark-003 down: exit 2 in ${elapsed}s (deadline ${bound}s)"
jq -r '.checks[] | select(.verdict == "CHECK_VERDICT_FAIL") | "  \(.source) -> \(.target): \(.reason)"' <<<"$out"
# The agent is reachable again before the next step.
for ((i = 0; i < 50; i++)); do
  nh_agent_call --timeout 1 spark-003 GetInfo >/dev/null 2>&1 && break
  sleep 0.2
done
assert_no_strays

echo "--- (c) validate's bandwidth against iperf3's own client, spark-001 -> spark-002"
ip2=$(nh_ip spark-002)
ok=no
for try in 1 2 3; do
  nh_bg spark-002 iperf3 -s -1 -B "$ip2" -p 5201
  server=$NH_BG_PID
  for ((i = 0; i < 100; i++)); do
    ip netns exec spark-002 ss -Htln "sport = :5201" | grep -q LISTEN && break
    sleep 0.05
  done
  cli=$(ip netns exec spark-001 iperf3 -c "$ip2" -p 5201 -t 2 -J | jq '.end.sum_received.bits_per_second')
  wait "$server" || true
  out=$(nh_sparkctl --json --limit spark-001,spark-002 validate --tests bandwidth --pairs ring \
    --duration 2) || nh_fail "validate exited $?: $out"
  ours=$(jq '.checks[] | select(.source == "spark-001" and .target == "spark-002")
    | .bandwidth.received_bps' <<<"$out")
  ratio=$(jq -n --argjson a "$ours" --argjson b "$cli" '$a / $b')
  echo "try $try: iperf3 CLI $(jq -n "$cli / 1e9") Gb/s, validate $(jq -n "$ours / 1e9") Gb/s, ratio $ratio"
  if jq -e -n --argjson r "$ratio" '$r >= 0.9 and $r <= 1.1' >/dev/null; then
    ok=yes
    break
  fi
done
[[ $ok == yes ]] || nh_fail "validate's bandwidth is not within 10% of iperf3's in 3 tries"
assert_no_strays

echo "--- (d) a bandwidth server whose client never comes"
reply=$(nh_agent_call spark-002 BandwidthServe "{\"bind_address\":\"$ip2\",\"accept_timeout_ms\":1500}") ||
  nh_fail "BandwidthServe failed: $reply"
port=$(jq -r '.servers[0].port' <<<"$reply")
ip netns exec spark-002 ss -Htln "sport = :$port" | grep -q LISTEN ||
  nh_fail "BandwidthServe answered port $port, but nothing listens on it"
for ((i = 0; i < 100; i++)); do
  ip netns exec spark-002 ss -Htln "sport = :$port" | grep -q LISTEN || break
  sleep 0.1
done
! ip netns exec spark-002 ss -Htln "sport = :$port" | grep -q LISTEN ||
  nh_fail "port $port still listening 10 s after a 1.5 s accept timeout"
echo "server on $ip2:$port gave up after its accept timeout and freed the port"
assert_no_strays

echo "--- (e) SSH: OK, refused, connection refused, unknown host key"
nh_start_sshd spark-002
nh_trust spark-001 spark-002
nh_ssh_key spark-003
nh_known_host spark-003 spark-002
rc=0
out=$(nh_sparkctl --json --timeout "$TIMEOUT_S" validate --tests ssh --require-ssh) || rc=$?
((rc == 2)) || nh_fail "validate --tests ssh exited $rc, expected 2 (sshd runs on one node only)"
outcome() {
  jq -r --arg s "$1" --arg t "$2" \
    '.checks[] | select(.source == $s and .target == $t) | "\(.verdict) \(.ssh.outcome)"' <<<"$out"
}
[[ $(outcome spark-001 spark-002) == "CHECK_VERDICT_PASS SSH_CHECK_OUTCOME_OK" ]] ||
  nh_fail "spark-001 -> spark-002: $(outcome spark-001 spark-002)"
[[ $(outcome spark-003 spark-002) == "CHECK_VERDICT_FAIL SSH_CHECK_OUTCOME_AUTH_REFUSED" ]] ||
  nh_fail "spark-003 -> spark-002: $(outcome spark-003 spark-002)"
for pair in "spark-001 spark-003" "spark-002 spark-001" "spark-003 spark-001"; do
  # shellcheck disable=SC2086
  [[ $(outcome $pair) == "CHECK_VERDICT_FAIL SSH_CHECK_OUTCOME_CONNECTION_REFUSED" ]] ||
    nh_fail "$pair: $(outcome $pair)"
done
unknown=$(nh_agent_call spark-002 CheckSsh "{\"user\":\"root\",\"targets\":[{\"host\":\"$ip2\"}]}")
[[ $(jq -r '.results[0].outcome' <<<"$unknown") == SSH_CHECK_OUTCOME_HOST_KEY_UNKNOWN ]] ||
  nh_fail "spark-002 -> itself without known_hosts: $unknown"
jq -r '.checks[] | "  \(.source) -> \(.target): \(.ssh.outcome) \(.reason)"' <<<"$out"
assert_no_strays

echo "PASS: validate on 3 namespaced nodes: all pass, a downed link fails exactly its pairs, bandwidth matches iperf3, idle servers give up, SSH outcomes"

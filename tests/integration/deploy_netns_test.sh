#!/usr/bin/env bash
# deploy_netns_test.sh: `sparkctl deploy` end to end on 3 nodes in network namespaces, each with
# a real sshd (local-cluster.sh), NFS configured (spark-001 exports; the exportfs/mount shims
# record and succeed), Tailscale off and NCCL installation off (nccl.conf on):
#   (a) `deploy --check` (text, then --json) exits 0, reports what would change, skips
#       validate, and leaves every file, directory and mode under every node's root as it
#       was (and makes no cluster key);
#   (b) a real deploy exits 0 with the recap single-node changed, multi-node changed,
#       tailscale skipped, nccl changed, validate ok on every node; then every node logs in
#       to every other with StrictHostKeyChecking=yes, and /etc/nccl.conf is written;
#   (c) a second deploy exits 0 and changes nothing: every step ok (tailscale skipped), no
#       event says changed, and the roots are byte for byte as (b) left them;
#   (d) spark-002's agent dies half-way through multi-node (its mount shim, which the NFS
#       mount runs on every real multi-node, SIGKILLs it): exit 2, spark-002 is
#       single-node ok, multi-node unreachable, then skipped; the other two finish every
#       step (ok, tailscale skipped), and the --json stream says so event by event.
# On a failure the sparkctl output of that run is printed.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, a program missing).
set -euo pipefail

# shellcheck source=tests/integration/netns_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns_harness.sh"

nh_require_netns
nh_require_programs ssh ssh-keygen /usr/sbin/sshd jq iperf3 ping sha256sum
nh_up 3 --sshd
NODES=(spark-001 spark-002 spark-003)
STEPS=(single-node multi-node tailscale nccl validate)

# The cluster.yaml of local-cluster.sh has Tailscale off and `nccl: {install: none}`. Added:
# NFS from spark-001, and NCCL_SOCKET_IFNAME, since these nodes have no hardware fixture in
# their roots: the agent's probe sees no interface there, and eth0 is each namespace's cable.
grep -qx '  install: none' "$NH_CONFIG" ||
  nh_fail "local-cluster.sh's cluster.yaml has no 'nccl: install: none': $(cat "$NH_CONFIG")"
sed -i 's/^  install: none$/&\n  env:\n    NCCL_SOCKET_IFNAME: eth0/' "$NH_CONFIG"
cat >>"$NH_CONFIG" <<'EOF'
nfs:
  export_path: /srv/sparkfleet
  mount_point: /srv/sparkfleet
  server: spark-001
EOF

# ---------------------------------------------------------------------------------------------
# Running deploy and reading what it printed

# deploy NAME WANT_RC ARGS...: sparkctl ARGS..., stdout in $NH_WORK/NAME.out and stderr in
# NAME.err; fails (printing both) unless it exits WANT_RC. Sets OUT to the stdout file.
deploy() {
  local name=$1 want=$2 rc=0
  shift 2
  OUT="$NH_WORK/$name.out"
  nh_sparkctl "$@" >"$OUT" 2>"$NH_WORK/$name.err" || rc=$?
  ((rc == want)) || fail_run "$name" "sparkctl $* exited $rc, expected $want"
}

# fail_run NAME MSG: prints the output of run NAME (and what else explains it), then fails.
fail_run() {
  local name=$1
  shift
  {
    echo "---- sparkctl stdout ($name)"
    cat "$NH_WORK/$name.out" 2>/dev/null || true
    echo "---- sparkctl stderr ($name)"
    cat "$NH_WORK/$name.err" 2>/dev/null || true
    echo "----"
  } >&2
  nh_fail "$name: $*"
}

# expect_same NAME WHAT WANT GOT: fails run NAME with a diff unless WANT == GOT.
expect_same() {
  local name=$1 what=$2 want=$3 got=$4
  [[ $want != "$got" ]] || return 0
  echo "---- $what: expected (<) vs got (>)" >&2
  diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") >&2 || true
  fail_run "$name" "$what differs from what was expected (diff above the output)"
}

# rows RESULT STATE...: the same expected recap row for every node, "NODE STATE... RESULT".
rows() {
  local result=$1 node
  shift
  for node in "${NODES[@]}"; do echo "$node $* $result"; done
}

# Text output: the recap table's rows, as "NODE SINGLE-NODE ... RESULT" with single spaces.
text_rows() {
  awk '/^NODE +SINGLE-NODE +MULTI-NODE +TAILSCALE +NCCL +VALIDATE +RESULT *$/ { t = 1; next }
       t && NF == 0 { exit }
       t && $1 ~ /^spark-[0-9]+$/ { print $1, $2, $3, $4, $5, $6, $7 }' "$1"
}

# check_text NAME WANT_ROWS SUMMARY_RE: the recap table of run NAME is exactly WANT_ROWS and a
# line matches SUMMARY_RE (an ERE).
check_text() {
  local name=$1 want=$2 summary=$3
  expect_same "$name" "the recap table" "$want" "$(text_rows "$OUT")"
  grep -Eq "$summary" "$OUT" || fail_run "$name" "no summary line matching /$summary/"
}

# check_json NAME WANT_ROWS RECAP_OK: the --json stream of run NAME: one DeployEvent object a
# line with every primitive field, task events before their step's event, one whole-step event
# per node and step with the states of WANT_ROWS ("NODE STATE..." in STEPS order, RESULT
# ignored), and a last line with node "" whose recap counts those states per node (in
# cluster.yaml order) and has "ok": RECAP_OK.
check_json() {
  local name=$1 want=$2 recap_ok=$3 bad got want_states want_recap
  jq -e -s 'length > 0 and all(type == "object")' "$OUT" >/dev/null ||
    fail_run "$name" "stdout is not one JSON object a line"
  bad=$(jq -c 'select(["node", "step", "state", "changed", "diff", "error", "error_code",
                        "task", "duration_ms"] - keys != [])' "$OUT")
  [[ -z $bad ]] || fail_run "$name" "events lack primitive fields (printed without them?): $bad"
  bad=$(jq -r '"\(.node) \(.step) \(.task)"' "$OUT" |
    awk '$1 == "" { next } NF == 2 { done[$1 " " $2] = 1; next }
         ($1 " " $2) in done { print "task " $3 " of " $1 " " $2 " after its step event" }')
  [[ -z $bad ]] || fail_run "$name" "$bad"

  want_states=$(awk -v steps="${STEPS[*]}" '{ n = split(steps, s, " ")
      for (i = 1; i <= n; i++) print $1, s[i], "DEPLOY_STATE_" toupper($(i + 1)) }' <<<"$want" | sort)
  got=$(jq -r 'select(.node != "" and .task == "") | "\(.node) \(.step) \(.state)"' "$OUT" | sort)
  expect_same "$name" "the whole-step events (node step state)" "$want_states" "$got"

  [[ $(jq -c 'select(.node == "")' "$OUT" | wc -l) == 1 ]] ||
    fail_run "$name" "not exactly one event with node \"\" (the recap)"
  tail -n 1 "$OUT" | jq -e '.node == "" and (.recap | type == "object")' >/dev/null ||
    fail_run "$name" "the last line is not the recap event"
  want_recap=$(awk '{ c["ok"] = c["changed"] = c["failed"] = c["unreachable"] = c["skipped"] = 0
      for (i = 2; i <= 6; i++) c[$i]++
      print $1, "ok=" c["ok"], "changed=" c["changed"], "failed=" c["failed"],
        "unreachable=" c["unreachable"], "skipped=" c["skipped"] }' <<<"$want")
  got=$(tail -n 1 "$OUT" | jq -r '.recap.nodes[] | "\(.node) ok=\(.ok) changed=\(.changed) " +
      "failed=\(.failed) unreachable=\(.unreachable) skipped=\(.skipped)"')
  expect_same "$name" "the recap counts" "$want_recap" "$got"
  tail -n 1 "$OUT" | jq -e --argjson ok "$recap_ok" '.recap.ok == $ok' >/dev/null ||
    fail_run "$name" "recap.ok is not $recap_ok"
}

# tree_listing ROOT [EXCLUDE]: every entry under ROOT with its type, mode and owner, and the
# sha256 of every file; EXCLUDE (a path relative to ROOT) is left out.
tree_listing() {
  local root=$1
  local -a leave_out=()
  [[ -z ${2:-} ]] || leave_out=(! -path "./$2")
  (
    cd "$root"
    find . "${leave_out[@]}" -printf '%y %m %U:%G %p\n' | sort
    find . -type f "${leave_out[@]}" -print0 | sort -z | xargs -0 -r sha256sum
  )
}

# roots_listing [EXCLUDE]: tree_listing of every node's root, each line led by the node's name.
roots_listing() {
  local node
  for node in "${NODES[@]}"; do
    tree_listing "$(nh_root "$node")" "${1:-}" | sed "s/^/$node /"
  done
}

# login FROM TO: ssh from FROM's namespace to TO as root, strict host key checking, with FROM's
# own key and known_hosts (as the agent wrote them under FROM's root); prints TO's hostname.
login() {
  local from=$1 to=$2 root
  root=$(nh_root "$from")
  ip netns exec "$from" ssh -F none -i "$root/root/.ssh/id_ed25519" \
    -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
    -o UserKnownHostsFile="$root/root/.ssh/known_hosts" -o GlobalKnownHostsFile=/dev/null \
    "root@$(nh_ip "$to")" hostname 2>&1
}

check_all_logins() {
  local from to got
  for from in "${NODES[@]}"; do
    for to in "${NODES[@]}"; do
      [[ $from != "$to" ]] || continue
      got=$(login "$from" "$to") || fail_run "$1" "ssh $from -> $to failed: $got"
      [[ $got == "$to" ]] || fail_run "$1" "ssh $from -> $to answered '$got', expected '$to'"
    done
  done
}

# ---------------------------------------------------------------------------------------------

echo "--- (a) deploy --check: what would change, and nothing changed"
before=$(roots_listing)
deploy check-text 0 --timeout 20 deploy --check
check_text check-text "$(rows changed changed changed skipped changed skipped)" \
  '\(check: nothing was changed\)'
deploy check-json 0 --json --timeout 20 deploy --check
check_json check-json "$(rows changed changed changed skipped changed skipped)" true
bad=$(jq -c 'select(.node != "" and .step == "validate" and .error == "")' "$OUT")
[[ -z $bad ]] || fail_run check-json "validate is skipped without a reason: $bad"
expect_same check-json "the nodes' roots after deploy --check" "$before" "$(roots_listing)"
[[ ! -e $NH_DIR/ssh/id_ed25519_spark ]] ||
  fail_run check-json "deploy --check made the cluster key $NH_DIR/ssh/id_ed25519_spark"

echo "--- (b) deploy: everything set up, every node logs in to every other"
deploy first 0 --timeout 20 deploy
check_text first "$(rows changed changed changed skipped changed ok)" '^0 ok, 3 changed, 0 failed'
check_all_logins first
for node in "${NODES[@]}"; do
  grep -qx 'NCCL_SOCKET_IFNAME=eth0' "$(nh_root "$node")/etc/nccl.conf" ||
    fail_run first "$node: /etc/nccl.conf lacks NCCL_SOCKET_IFNAME=eth0: $(cat "$(nh_root "$node")/etc/nccl.conf" 2>&1)"
done

echo "--- (c) a second deploy changes nothing"
# A real run may append to the audit log, even when nothing changes; nothing else moves.
audit=var/log/sparkfleet/audit.jsonl
before=$(roots_listing "$audit")
deploy second 0 --json --timeout 20 deploy
check_json second "$(rows ok ok ok skipped ok ok)" true
bad=$(jq -c 'select(.changed)' "$OUT")
[[ -z $bad ]] || fail_run second "events say changed on the second run: $bad"
expect_same second "the nodes' roots after the second deploy" "$before" "$(roots_listing "$audit")"

echo "--- (d) spark-002 dies half-way through multi-node; the others finish"
# Every real multi-node runs `mount` on the NFS clients (a sandbox root has no /proc/mounts, so
# nothing is ever mounted there): spark-002's mount shim now SIGKILLs its own agent.
cat >"$NH_DIR/spark-002/tools/mount" <<'EOF'
#!/usr/bin/env bash
# mount shim of spark-002 (deploy_netns_test.sh, part d): the node dies half-way through
# multi-node. SIGKILL to this node's spark-agent (the pid local-cluster.sh recorded, checked
# to be a spark-agent); the pid is left in NODE_DIR/killed-by-mount-shim for the test.
set -uo pipefail
node_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pid=$(tr -d '[:space:]' <"$node_dir/agent.pid")
if [[ ! $pid =~ ^[0-9]+$ || $(cat "/proc/$pid/comm" 2>/dev/null) != spark-agent ]]; then
  echo "mount shim: $node_dir/agent.pid names no running spark-agent; nothing killed" >&2
  exit 1
fi
echo "$pid" >"$node_dir/killed-by-mount-shim"
kill -KILL "$pid"
exit 1
EOF
chmod 0755 "$NH_DIR/spark-002/tools/mount"
deploy half-way 2 --json --timeout 20 deploy
[[ -s $NH_DIR/spark-002/killed-by-mount-shim ]] ||
  fail_run half-way "spark-002's mount shim never ran (its tools.log: $(cat "$NH_DIR/spark-002/tools.log"))"
pid=$(cat "$NH_DIR/spark-002/killed-by-mount-shim")
# Dead, or a zombie nobody reaps (its parent, local-cluster.sh, is gone).
if [[ -e /proc/$pid/stat && $(awk '{ print $3 }' "/proc/$pid/stat") != Z ]]; then
  fail_run half-way "spark-002's agent (pid $pid) is still running"
fi
want="spark-001 ok ok skipped ok ok ok
spark-002 ok unreachable skipped skipped skipped unreachable
spark-003 ok ok skipped ok ok ok"
check_json half-way "$want" false
bad=$(jq -c 'select(.node == "spark-002" and .step == "multi-node" and .task == ""
                    and (.error == "" or .error_code == ""))' "$OUT")
[[ -z $bad ]] || fail_run half-way "spark-002's unreachable multi-node carries no error or code: $bad"
jq -e -s 'any(.[]; .node == "spark-002" and .step == "multi-node" and .task == "ConfigureNfs"
                   and .state == "DEPLOY_STATE_UNREACHABLE")' "$OUT" >/dev/null ||
  fail_run half-way "no ConfigureNfs task event says spark-002 became unreachable"
bad=$(jq -c 'select(.node == "spark-002" and .state == "DEPLOY_STATE_SKIPPED" and .error == "")' "$OUT")
[[ -z $bad ]] || fail_run half-way "spark-002's skipped steps say no reason: $bad"

echo "PASS"

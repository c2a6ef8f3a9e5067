#!/usr/bin/env bash
# multi_node_netns_test.sh: `sparkctl multi-node` and `single-node` on 3 nodes in network
# namespaces, each running a real sshd configured from its own sandbox (local-cluster.sh):
#   (a) after multi-node every node logs in to every other as the cluster user with
#       StrictHostKeyChecking=yes, using only the keys and known_hosts the agents wrote;
#   (b) a second multi-node run changes nothing (summary "changed": 0);
#   (c) authorized_keys keeps the line it did not write, and /etc/hosts every byte outside
#       its block;
#   (d) an sshd option that fails `sshd -t` is refused: the previous drop-in is restored
#       byte for byte, sshd is not reloaded, exit 2 — and every login still works.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, a program missing).
set -euo pipefail

# shellcheck source=tests/integration/netns_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns_harness.sh"

nh_require_netns
nh_require_programs ssh ssh-keygen /usr/sbin/sshd jq
nh_up 3 --sshd
NODES=(spark-001 spark-002 spark-003)

# Lines the admin wrote before sparkfleet came: they must survive byte for byte.
ADMIN_KEY="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAdminAdminAdminAdminAdminAdminAdminAdmin admin@laptop"
for node in "${NODES[@]}"; do
  root=$(nh_root "$node")
  mkdir -p "$root/root/.ssh"
  printf '%s\n' "$ADMIN_KEY" >>"$root/root/.ssh/authorized_keys"
  printf '127.0.0.1\tlocalhost\n# the admin was here\t \n10.9.9.9 printer\n' >"$root/etc/hosts"
done

# login FROM TO: ssh from FROM's namespace to TO as root, strict host key checking, with
# FROM's own key and known_hosts (as the agent wrote them under FROM's root); prints TO's
# hostname.
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
      got=$(login "$from" "$to") || nh_fail "$1: ssh $from -> $to failed: $got"
      [[ $got == "$to" ]] || nh_fail "$1: ssh $from -> $to answered '$got', expected '$to'"
    done
  done
}

echo "--- (a) multi-node, then every node logs in to every other with strict host keys"
out=$(nh_sparkctl --timeout 20 multi-node 2>&1) || nh_fail "multi-node exited $?: $out"
echo "$out" | tail -n 3
check_all_logins "after multi-node"

echo "--- (b) a second run changes nothing"
out=$(nh_sparkctl --json --timeout 20 multi-node) || nh_fail "second multi-node exited $?: $out"
changed=$(jq -r '.summary.changed' <<<"$out")
[[ $changed == 0 ]] || nh_fail "second multi-node changed $changed nodes: $out"

echo "--- (c) lines outside the managed blocks survive"
for node in "${NODES[@]}"; do
  root=$(nh_root "$node")
  grep -qxF "$ADMIN_KEY" "$root/root/.ssh/authorized_keys" ||
    nh_fail "$node: the admin's authorized_keys line is gone"
  head -n 3 "$root/etc/hosts" | cmp -s - <(printf '127.0.0.1\tlocalhost\n# the admin was here\t \n10.9.9.9 printer\n') ||
    nh_fail "$node: /etc/hosts lines outside the block changed: $(head -n 3 "$root/etc/hosts" | od -c | head)"
  grep -q '^# BEGIN sparkfleet$' "$root/etc/hosts" || nh_fail "$node: no sparkfleet block in /etc/hosts"
done

echo "--- (d) an option sshd -t refuses is rolled back and logins still work"
dropins=()
for node in "${NODES[@]}"; do
  dropins+=("$(cat "$(nh_root "$node")"/etc/ssh/sshd_config.d/*sparkfleet*.conf)")
done
cp "$NH_CONFIG" "$NH_WORK/good.yaml"
# A keyword the agent accepts with a value real sshd refuses (the agent refuses unknown keywords itself).
printf 'ssh:\n  options:\n    LogLevel: BOGUS\n' >>"$NH_CONFIG"
set +e
out=$(nh_sparkctl --timeout 20 single-node 2>&1)
rc=$?
set -e
[[ $rc == 2 ]] || nh_fail "single-node with a bad sshd option exited $rc, expected 2: $out"
grep -qi 'restored' <<<"$out" || nh_fail "the failure does not say the drop-in was restored: $out"
i=0
for node in "${NODES[@]}"; do
  now=$(cat "$(nh_root "$node")"/etc/ssh/sshd_config.d/*sparkfleet*.conf)
  [[ $now == "${dropins[$i]}" ]] || nh_fail "$node: drop-in not restored: $now"
  i=$((i + 1))
done
cp "$NH_WORK/good.yaml" "$NH_CONFIG"
check_all_logins "after the refused option"

echo "PASS"

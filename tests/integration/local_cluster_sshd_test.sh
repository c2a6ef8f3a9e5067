#!/usr/bin/env bash
# local_cluster_sshd_test.sh: the sshd that deploy/local-cluster.sh runs in every node's
# namespace, and the tool shims on the agents' --tool-path, on a 2-node cluster:
#   (a) each sshd listens on its node's address, port 22, and `status` shows it running;
#   (b) a key authorized in spark-002's sandbox (ROOT/root/.ssh/authorized_keys) logs in from
#       spark-001's namespace with strict host key checking against spark-002's sandbox host
#       key, and `hostname` there says spark-002; spark-001 does not take that key;
#   (c) the systemctl shim's `reload ssh` (run in the namespace, as the agent would) SIGHUPs that
#       sshd, which answers again under the same pid; a drop-in in the sandbox's
#       sshd_config.d takes effect on reload (PubkeyAuthentication no: refused), yet cannot move
#       sshd out of the sandbox (AuthorizedKeysFile stays the sandbox's);
#   (d) a bad drop-in (99-bad.conf, an unknown keyword) makes the sshd shim's -t fail and the
#       reload refuse, and the running sshd keeps serving;
#   (e) netplan, exportfs and mount shims succeed and record their arguments in tools.log;
#   (f) `down` leaves no sshd (by pid), namespace or link: `ip netns list` as before;
#   (g) without sshd ($SF_LC_SSHD missing) `up` still works and says why.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no namespaces, a program missing).
set -euo pipefail

# shellcheck source=tests/integration/netns_harness.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns_harness.sh"

nh_require_netns
nh_require_programs ssh ssh-keygen ss /usr/sbin/sshd
getent passwd sshd >/dev/null || nh_skip "sshd's privilege separation user \"sshd\" does not exist"

netns_names() { ip netns list | awk '{ print $1 }' | sort; }
link_names() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
netns_before=$(netns_names)
links_before=$(link_names)

# Cleanup for (g)'s cluster as well as the harness's.
NO_SSHD_DIR=""
cleanup() {
  [[ -z $NO_SSHD_DIR ]] || "$NH_LOCAL_CLUSTER" down --dir "$NO_SSHD_DIR" >/dev/null 2>&1 || true
  nh_cleanup
}

nh_up 2 --sshd
trap cleanup EXIT
N1=spark-001 N2=spark-002
IP1=$(nh_ip $N1) IP2=$(nh_ip $N2)
R1=$(nh_root $N1) R2=$(nh_root $N2)
echo "--- cluster up in $NH_DIR: $N1 $IP1, $N2 $IP2"

sshd_pid() { tr -d '[:space:]' <"$NH_DIR/$1/sshd/sshd.pid"; }
alive() { [[ -e /proc/$1 && $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]; }
listening() { grep -q LISTEN <<<"$(ip netns exec "$1" ss -Htln "src $2 and sport = :22")"; }
# in_ns NODE PROGRAM ARGS...: one of NODE's shims, run in its namespace as the agent runs it.
in_ns() {
  local node=$1 program=$2
  shift 2
  ip netns exec "$node" "$NH_DIR/$node/tools/$program" "$@"
}

echo "--- (a) sshd listens in every namespace"
for node in $N1 $N2; do
  ip=$(nh_ip "$node")
  listening "$node" "$ip" || nh_fail "no sshd listening on $ip:22 in $node"
  pid=$(sshd_pid "$node")
  alive "$pid" || nh_fail "$node's sshd (pid $pid) is not running"
  # Nothing listens on the node's address in the host's own namespace.
  ! grep -q LISTEN <<<"$(ss -Htln "src $ip and sport = :22")" || nh_fail "$ip:22 listens outside $node"
done
status=$("$NH_LOCAL_CLUSTER" status --dir "$NH_DIR") || nh_fail "status exited $?: $status"
[[ $(grep -cE '^ +spark-00[12] +sshd +pid [0-9]+ +running +port 22$' <<<"$status") == 2 ]] ||
  nh_fail "status does not show 2 sshds running: $status"
echo "sshd pids: $N1 $(sshd_pid $N1), $N2 $(sshd_pid $N2)"

echo "--- (b) ssh from $N1 to $N2 with a key authorized in $N2's sandbox"
key="$NH_WORK/test_key"
ssh-keygen -q -t ed25519 -N '' -C sparkfleet-test -f "$key"
cat "$key.pub" >>"$R2/root/.ssh/authorized_keys"
known="$NH_WORK/known_hosts"
for pair in "$IP1 $R1" "$IP2 $R2"; do
  read -r ip root <<<"$pair"
  echo "$ip $(cut -d' ' -f1,2 "$root/etc/ssh/ssh_host_ed25519_key.pub")" >>"$known"
done
# try_ssh FROM TO_IP: ssh's stdout and stderr; its status.
try_ssh() {
  timeout 30 ip netns exec "$1" ssh -F none -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o ConnectTimeout=10 -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$known" \
    -o GlobalKnownHostsFile=/dev/null "root@$2" hostname 2>&1
}
# ssh_ok FROM TO_IP WHAT: logs in, tried a few times (sshd re-binds after a reload).
ssh_ok() {
  local out
  for _ in 1 2 3 4 5; do
    if out=$(try_ssh "$1" "$2"); then
      echo "$out"
      return 0
    fi
    sleep 0.5
  done
  nh_fail "$3: ssh $1 -> $2 failed: $out"
}
out=$(ssh_ok $N1 "$IP2" "(b)")
echo "ssh $N1 -> root@$IP2 hostname: $out"
if command -v unshare >/dev/null; then
  [[ $out == "$N2" ]] || nh_fail "hostname over ssh to $N2 says \"$out\""
fi
if out=$(try_ssh $N2 "$IP1"); then nh_fail "$N1 took a key only $N2 authorizes: $out"; fi
grep -q "Permission denied" <<<"$out" || nh_fail "$N2 -> $N1: expected Permission denied: $out"

echo "--- (c) systemctl reload ssh through the shim; a drop-in takes effect"
pid=$(sshd_pid $N2)
in_ns $N2 systemctl reload ssh || nh_fail "systemctl shim: reload ssh exited $?"
[[ $(sshd_pid $N2) == "$pid" ]] || nh_fail "sshd's pid changed on reload: $pid -> $(sshd_pid $N2)"
grep -q "Received SIGHUP" "$NH_DIR/$N2/sshd/sshd.log" || nh_fail "sshd's log shows no SIGHUP"
ssh_ok $N1 "$IP2" "after reload" >/dev/null
[[ $(in_ns $N2 systemctl is-active ssh) == active ]] || nh_fail "systemctl is-active ssh is not active"
if err=$(in_ns $N2 systemctl restart apache2 2>&1); then nh_fail "systemctl shim took restart apache2"; fi
grep -q "unsupported: restart apache2" <<<"$err" || nh_fail "systemctl shim said: $err"
dropin="$R2/etc/ssh/sshd_config.d/50-test.conf"
printf 'PubkeyAuthentication no\nAuthorizedKeysFile .ssh/authorized_keys\n' >"$dropin"
in_ns $N2 systemctl reload ssh || nh_fail "reload with a valid drop-in exited $?"
if out=$(try_ssh $N1 "$IP2"); then nh_fail "PubkeyAuthentication no in a drop-in did not take effect"; fi
effective=$(in_ns $N2 sshd -T) || nh_fail "sshd shim -T exited $?"
grep -qxF "authorizedkeysfile $R2/root/.ssh/authorized_keys" <<<"$effective" ||
  nh_fail "a drop-in moved AuthorizedKeysFile out of the sandbox: $(grep -i authorizedkeys <<<"$effective")"
rm -f "$dropin"
in_ns $N2 systemctl reload ssh || nh_fail "reload without the drop-in exited $?"
ssh_ok $N1 "$IP2" "drop-in removed" >/dev/null

echo "--- (d) a bad drop-in: sshd -t fails, reload refuses, sshd keeps serving"
echo "NoSuchKeyword yes" >"$R2/etc/ssh/sshd_config.d/99-bad.conf"
if err=$(in_ns $N2 sshd -t 2>&1); then nh_fail "sshd shim -t passed a bad drop-in"; fi
grep -q "99-bad.conf" <<<"$err" || nh_fail "sshd -t does not name the bad drop-in: $err"
# -f naming the sandbox's own file still checks what the node's sshd reads.
if in_ns $N2 sshd -t -f /etc/ssh/sshd_config 2>/dev/null; then nh_fail "sshd shim -t -f passed"; fi
if err=$(in_ns $N2 systemctl reload ssh 2>&1); then nh_fail "reload passed a bad drop-in"; fi
echo "reload refused: $(tail -n 1 <<<"$err")"
if [[ $(sshd_pid $N2) != "$pid" ]] || ! alive "$pid"; then
  nh_fail "sshd of $N2 did not survive a refused reload"
fi
ssh_ok $N1 "$IP2" "after a refused reload" >/dev/null
rm -f "$R2/etc/ssh/sshd_config.d/99-bad.conf"
in_ns $N2 sshd -t || nh_fail "sshd -t still fails without the bad drop-in"

echo "--- (e) netplan, exportfs, mount shims: scripted, recorded"
in_ns $N1 netplan apply || nh_fail "netplan shim: apply exited $?"
in_ns $N1 exportfs -ra || nh_fail "exportfs shim exited $?"
in_ns $N1 mount -t nfs4 "$IP2:/srv/shared dir" /mnt/shared || nh_fail "mount shim exited $?"
log="$NH_DIR/$N1/tools.log"
for line in "netplan apply" "exportfs -ra" "mount -t nfs4 $IP2:/srv/shared\\ dir /mnt/shared"; do
  grep -qF " $line" "$log" || nh_fail "tools.log lacks \"$line\": $(cat "$log")"
done
if in_ns $N1 netplan get 2>/dev/null; then nh_fail "netplan shim took get"; fi

echo "--- (f) down leaves no sshd, namespace or link"
pids="$(sshd_pid $N1) $(sshd_pid $N2)"
"$NH_LOCAL_CLUSTER" down --dir "$NH_DIR" || nh_fail "down exited $?"
for pid in $pids; do
  for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.05; done
  ! alive "$pid" || nh_fail "sshd pid $pid alive after down"
done
[[ $(netns_names) == "$netns_before" ]] || nh_fail "ip netns list: before [$netns_before] after [$(netns_names)]"
[[ $(link_names) == "$links_before" ]] || nh_fail "links: before [$links_before] after [$(link_names)]"

echo "--- (g) no sshd binary: up works and says why"
NO_SSHD_DIR="$NH_WORK/no-sshd"
out=$(SF_LC_SSHD=/nonexistent/sshd "$NH_LOCAL_CLUSTER" up --netns --nodes 1 --dir "$NO_SSHD_DIR" 2>&1) ||
  nh_fail "up without sshd failed: $out"
grep -q "no sshd in the nodes: /nonexistent/sshd is not installed" <<<"$out" || nh_fail "up did not say why: $out"
status=$("$NH_LOCAL_CLUSTER" status --dir "$NO_SSHD_DIR") || nh_fail "status exited $?: $status"
grep -q "sshd not started: /nonexistent/sshd" <<<"$status" || nh_fail "status does not say why: $status"
if err=$(ip netns exec $N1 "$NO_SSHD_DIR/$N1/tools/systemctl" reload ssh 2>&1); then
  nh_fail "reload ssh passed without an sshd"
fi
grep -q "not active" <<<"$err" || nh_fail "systemctl shim without sshd said: $err"
"$NH_LOCAL_CLUSTER" down --dir "$NO_SSHD_DIR" >/dev/null || nh_fail "down (no sshd) exited $?"
[[ $(netns_names) == "$netns_before" ]] || nh_fail "ip netns list changed after (g)"

echo "PASS: sshd in each namespace from the node's root: ssh with sandbox keys, reload through the systemctl shim, drop-ins checked by the sshd shim, scripted shims recorded, down leaves nothing"

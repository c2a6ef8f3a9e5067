#!/usr/bin/env bash
# local-cluster.sh: a real little sparkfleet cluster on one machine, for the demo and the tests.
#
#   local-cluster.sh up     [--nodes N] [--dir DIR] [--netns|--loopback] [--fixture TREE] [--no-sshd]
#   local-cluster.sh down   [--dir DIR] [--purge]
#   local-cluster.sh status [--dir DIR]
#
# `up` starts N spark-agents named spark-001, spark-002, ... Each has its own sandbox root
# DIR/<hostname>/root (--root), its own certificate from one cluster CA in DIR/pki, its pid in
# DIR/<hostname>/agent.pid and its log in DIR/<hostname>/agent.log; DIR/cluster.yaml lets
# `sparkctl -c DIR/cluster.yaml ...` reach them with the admin client certificate.
#
# --netns (the default as root with iproute2): every node is a network namespace named after
# its hostname, cabled by a veth pair to a bridge in the host's namespace on a private /24; the
# bridge holds .1 so sparkctl on the host reaches the agents, node i is .(100+i) as in the seed.
# --loopback: every agent on 127.0.0.1, each on its own port (no root needed).
#
# SSH (--netns, unless --no-sshd): every namespace runs a real sshd on the node's address, port
# 22, configured from the node's root: host keys and the drop-ins of ROOT/etc/ssh, root's
# authorized_keys in ROOT/root/.ssh (the cluster user is root: --netns runs as root). Its config
# DIR/<hostname>/sshd/sshd_config exists only for the namespace (see write_sshd_config). Without
# $SF_LC_SSHD (default /usr/sbin/sshd) the cluster comes up without sshd and says why.
# Tool shims (both modes): DIR/<hostname>/tools is the agent's --tool-path, holding systemctl,
# sshd, netplan, exportfs, mount and umount scripts that act on the node's own sshd or only
# record their arguments in DIR/<hostname>/tools.log: the agent's code path is the production
# one, and the host's services are never touched.
#
# Everything `up` creates (processes, namespaces, links) is recorded in DIR/state as it is made;
# `down` removes exactly that, then the state file, and leaves the files (certificates, logs) for
# inspection (--purge removes DIR as well). `down` is idempotent, and a failed `up` runs it.
#
# Binaries: $SPARKCTL / $SPARK_AGENT when set, else the build tree (build/coordinator/sparkctl,
# build/node_agent/spark-agent under the repository), else PATH.
set -euo pipefail

readonly PROG=local-cluster
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(dirname "$SCRIPT_DIR")"
readonly SCRIPT_DIR REPO_ROOT
readonly AGENT_PORT=50151
readonly MARKER=.sparkfleet-local-cluster # says "this directory is ours to wipe"
readonly MAX_NETNS_NODES=154              # node i is .(100+i) on a /24
readonly MAX_LOOPBACK_NODES=999           # spark-NNN
# Bounded waits, in seconds (the environment may stretch them on a slow machine).
readonly READY_TIMEOUT_S="${SF_LC_READY_TIMEOUT_S:-20}"
readonly STOP_TIMEOUT_S="${SF_LC_STOP_TIMEOUT_S:-5}"
readonly SSHD_BIN="${SF_LC_SSHD:-/usr/sbin/sshd}" # absolute: sshd re-executes itself on SIGHUP

# The agents are not systemd services here: keep them from talking to our caller's manager.
unset NOTIFY_SOCKET

say() { echo "$PROG: $*" >&2; }
die() {
  say "$*"
  exit 1
}

usage() {
  cat <<EOF
usage: local-cluster.sh up     [--nodes N] [--dir DIR] [--netns|--loopback] [--fixture TREE] [--no-sshd]
       local-cluster.sh down   [--dir DIR] [--purge]
       local-cluster.sh status [--dir DIR]

  --nodes N       number of nodes (default 2), named spark-001, spark-002, ...
  --dir DIR       where certificates, sandboxes, logs and cluster.yaml live
                  (default \${TMPDIR:-/tmp}/sparkfleet-local)
  --netns         one network namespace per node on a bridge (default when root with iproute2)
  --loopback      every agent on 127.0.0.1 with its own port
  --fixture TREE  copy a hardware fixture tree (e.g. tests/testdata/sysfs/dgx-spark) into
                  every node's root, so the agent sees that hardware
  --no-sshd       (--netns) no sshd in the nodes' namespaces
  --purge         (down) remove DIR too

Binaries: \$SPARKCTL and \$SPARK_AGENT, else $REPO_ROOT/build, else PATH;
sshd: \$SF_LC_SSHD, else /usr/sbin/sshd.
EOF
}

# ---------------------------------------------------------------------------------------------
# Binaries, directory, state

# find_binary ENV_VALUE BUILD_PATH NAME: prints the binary to use.
find_binary() {
  local from_env=$1 built=$2 name=$3
  if [[ -n $from_env ]]; then
    [[ -x $from_env ]] || die "$name: \"$from_env\" (from the environment) is not executable"
    echo "$from_env"
  elif [[ -x $REPO_ROOT/$built ]]; then
    echo "$REPO_ROOT/$built"
  elif command -v "$name" >/dev/null; then
    command -v "$name"
  else
    die "$name not found: build it (cmake --build build), put it on PATH, or set \$${name^^}"
  fi
}

# Makes DIR absolute and takes its lock (held until this script exits; children do not inherit
# it, see start_agent), so two runs never work on one cluster at once.
# open_dir CREATE [LOCK]: CREATE=yes makes DIR; LOCK=no for read-only looks (status).
open_dir() {
  local create=$1 lock=${2:-yes}
  if [[ $create == yes ]]; then
    mkdir -p "$DIR"
  elif [[ ! -d $DIR ]]; then
    return 1
  fi
  DIR="$(cd "$DIR" && pwd -P)"
  STATE="$DIR/state"
  if [[ $lock == yes ]] && [[ -e $DIR/$MARKER || $create == yes ]]; then
    exec 9>"$DIR/.lock"
    flock -n 9 || die "another local-cluster.sh is working on $DIR; try again when it is done"
  fi
}

# state_add KIND ARGS...: one line per thing made, written right after it is made.
state_add() { echo "$*" >>"$STATE"; }

# state_get KIND: the argument lists of every KIND line, one per line.
state_get() {
  [[ -f $STATE ]] || return 0
  awk -v kind="$1" '$1 == kind { $1 = ""; sub(/^ /, ""); print }' "$STATE"
}

# A short name for DIR, so that bridges and veths of clusters in different DIRs never clash.
dir_hash() { printf '%s' "$DIR" | sha256sum | cut -c1-8; }

# ---------------------------------------------------------------------------------------------
# Processes. A process is identified by pid and start time (/proc/PID/stat field 22), so that
# `down` never signals a process that merely reuses an old pid.

proc_start_time() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # fields from 3 on; the command name may hold spaces
  # shellcheck disable=SC2086  # split on purpose
  set -- $stat
  echo "${20}"
}

# proc_alive PID START: the process is still the one we started and has not exited.
proc_alive() {
  local pid=$1 start=$2 stat
  [[ $start != - ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  [[ $1 != Z && ${20} == "$start" ]]
}

# stop_procs: reads "PID START ..." lines; SIGTERM to all, a bounded wait, then SIGKILL to the
# rest. Fails when one survives even that.
stop_procs() {
  local -a pids=() starts=()
  local pid start rest i deadline sig alive
  while read -r pid start rest; do
    [[ -n $pid ]] || continue
    pids+=("$pid")
    starts+=("$start")
  done
  for sig in TERM KILL; do
    alive=0
    for i in "${!pids[@]}"; do
      if proc_alive "${pids[i]}" "${starts[i]}"; then
        [[ $sig == TERM ]] || say "pid ${pids[i]} did not stop within ${STOP_TIMEOUT_S}s of SIGTERM; sending SIGKILL"
        kill "-$sig" "${pids[i]}" 2>/dev/null || true
        alive=$((alive + 1))
      fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT_S))
    while ((alive > 0 && SECONDS < deadline)); do
      sleep 0.05
      alive=0
      for i in "${!pids[@]}"; do
        if proc_alive "${pids[i]}" "${starts[i]}"; then alive=$((alive + 1)); fi
      done
    done
    ((alive > 0)) || break
  done
  # Our own children (a failed `up`) stay zombies until reaped.
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ((alive == 0)) || say "$alive process(es) would not die: ${pids[*]}"
  ((alive == 0))
}

# ---------------------------------------------------------------------------------------------
# Network (netns mode)

netns_exists() { ip netns list | awk -v n="$1" '$1 == n { found = 1 } END { exit !found }'; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# The IPv4 prefixes this host already routes or holds (every table), as ADDR/LEN.
used_prefixes() {
  {
    ip -4 -o route show table all 2>/dev/null |
      awk '{ p = $1; if (p !~ /^[0-9]/) p = $2; print p }'
    ip -4 -o addr show 2>/dev/null | awk '{ print $4 }'
  } | grep -E '^[0-9.]+(/[0-9]+)?$' || true
}

# pick_subnet: prints X such that 10.203.X.0/24 overlaps nothing the host routes; the first
# candidate comes from DIR, so one DIR usually gets the same subnet every time.
pick_subnet() {
  local start=$((0x$(dir_hash | cut -c1-2))) used prefix len net i x cand clash mask
  used="$(used_prefixes)"
  for ((i = 0; i < 256; i++)); do
    x=$(((start + i) % 256))
    cand=$(ip_to_int "10.203.$x.0")
    clash=no
    while read -r prefix; do
      [[ -n $prefix ]] || continue
      net=${prefix%/*}
      len=32
      [[ $prefix == */* ]] && len=${prefix#*/}
      ((len < 24)) || len=24
      ((len > 0)) || continue # a default route is no clash
      mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
      if (((cand & mask) == ($(ip_to_int "$net") & mask))); then
        clash=yes
        break
      fi
    done <<<"$used"
    if [[ $clash == no ]]; then
      echo "$x"
      return 0
    fi
  done
  die "no free /24 left in 10.203.0.0/16 for the cluster's network"
}

# Refuses names someone else already uses: namespaces, bridge, veths.
check_netns_names() {
  local hash=$1 i host
  link_exists "$BRIDGE" && die "a link named $BRIDGE already exists (a cluster in $DIR that was not brought down?); remove it with: ip link delete $BRIDGE"
  for ((i = 1; i <= NODES; i++)); do
    host=$(node_name "$i")
    if netns_exists "$host"; then
      die "network namespace $host already exists and is not this cluster's (another local cluster is up: bring it down first, or use --loopback; or: ip netns delete $host)"
    fi
    link_exists "$(veth_name "$hash" "$i")" && die "a link named $(veth_name "$hash" "$i") already exists; remove it with: ip link delete $(veth_name "$hash" "$i")"
  done
  return 0
}

veth_name() { printf 'sfv-%s-%d' "${1:0:6}" "$2"; } # <= 14 of IFNAMSIZ's 15 characters

# make_network: the bridge with .1, then one namespace per node cabled to it.
make_network() {
  local hash i host veth
  hash=$(dir_hash)
  SUBNET_X=$(pick_subnet)
  state_add subnet "10.203.$SUBNET_X.0/24"
  ip link add "$BRIDGE" type bridge
  state_add bridge "$BRIDGE"
  ip addr add "10.203.$SUBNET_X.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for ((i = 1; i <= NODES; i++)); do
    host=$(node_name "$i")
    veth=$(veth_name "$hash" "$i")
    ip netns add "$host"
    state_add netns "$host"
    # The cable: the host end joins the bridge, the node end is the namespace's eth0.
    ip link add "$veth" type veth peer name eth0 netns "$host"
    state_add link "$veth"
    ip link set "$veth" master "$BRIDGE" up
    ip -n "$host" link set lo up
    ip -n "$host" addr add "$(node_ip "$i")/24" dev eth0
    ip -n "$host" link set eth0 up
  done
  # Nodes talk to each other through the bridge; with br_netfilter, a host firewall that drops
  # forwarded packets (Docker sets that up) drops theirs too.
  if [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0) == 1 ]] &&
    grep -q '^-P FORWARD DROP' <<<"$(iptables -S FORWARD 2>/dev/null)"; then
    say "note: iptables FORWARD drops by default and sees bridged traffic: nodes may not reach each other (allow $BRIDGE in FORWARD)"
  fi
}

node_name() { printf 'spark-%03d' "$1"; }
node_ip() {
  if [[ $MODE == netns ]]; then echo "10.203.$SUBNET_X.$((100 + $1))"; else echo 127.0.0.1; fi
}

# ---------------------------------------------------------------------------------------------
# Nodes

# seed_root HOST ROOT: the node's sandbox. Fixture first, so that the node's identity wins.
seed_root() {
  local host=$1 root=$2
  mkdir -p "$root/etc" "$root/proc/sys/kernel"
  if [[ -n $FIXTURE ]]; then
    cp -a "$FIXTURE/." "$root/"
  fi
  # This node's identity: what a freshly installed Spark of that name would hold. /etc/hosts
  # only names the node itself: the cluster's lines are the job of `sparkctl multi-node`.
  printf '%s\n' "$host" >"$root/etc/hostname"
  printf '%s\n' "$host" >"$root/proc/sys/kernel/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
    "$host" >"$root/etc/hosts"
  # Copies of this host's facts, taken at `up` (plain files, not live: the sandbox is a
  # directory, not a container). A fixture's own versions win.
  [[ -e $root/etc/os-release ]] || cp -L /etc/os-release "$root/etc/os-release" 2>/dev/null || true
  [[ -e $root/proc/sys/kernel/osrelease ]] || cp /proc/sys/kernel/osrelease "$root/proc/sys/kernel/"
  [[ -e $root/proc/uptime ]] || cp /proc/uptime "$root/proc/uptime"
}

make_pki() {
  local i
  "$SPARKCTL" pki init --dir "$DIR/pki" >/dev/null
  for ((i = 1; i <= NODES; i++)); do
    "$SPARKCTL" pki issue --dir "$DIR/pki" --node "$(node_name "$i")" --ip "$(node_ip "$i")" >/dev/null
  done
  "$SPARKCTL" pki issue --dir "$DIR/pki" --client admin --role admin >/dev/null
}

# ---------------------------------------------------------------------------------------------
# SSH in the nodes (netns mode): the host's sshd binary, one daemon per namespace, everything it
# reads from the node's root or DIR. The cluster user is root (--netns runs as root): the agents
# write root's keys and known_hosts under ROOT/root/.ssh, as on a Spark under /root/.ssh.

# sshd_why_not: prints why this cluster gets no sshd (nothing when it gets one).
sshd_why_not() {
  if [[ $MODE != netns ]]; then
    echo "loopback mode: the nodes share this host's network, so there is no address to serve ssh on"
  elif [[ $SSHD == no ]]; then
    echo "--no-sshd"
  elif [[ ! -x $SSHD_BIN ]]; then
    echo "$SSHD_BIN is not installed (apt-get install openssh-server, or set \$SF_LC_SSHD)"
  elif ! command -v ssh-keygen >/dev/null; then
    echo "ssh-keygen is not installed (apt-get install openssh-client)"
  elif ! getent passwd sshd >/dev/null; then
    echo "sshd's privilege separation user \"sshd\" does not exist on this host (openssh-server makes it)"
  elif [[ ! $DIR =~ ^[A-Za-z0-9._/+@,:-]+$ ]]; then
    # sshd_config has no quoting for every keyword that takes a path.
    echo "--dir \"$DIR\" has characters sshd_config cannot hold (keep to letters, digits and ._/+@,:-)"
  fi
}

# seed_ssh HOST ROOT: what openssh-server leaves on a fresh Spark, under the node's root: host
# keys, an sshd_config that includes sshd_config.d/ (where the agent's hardening drop-in goes),
# root in /etc/passwd with home /root, and root's ~/.ssh. A fixture's own files win.
seed_ssh() {
  local host=$1 root=$2 type
  mkdir -p "$root/etc/ssh/sshd_config.d"
  install -d -m 0700 "$root/root" "$root/root/.ssh"
  touch "$root/root/.ssh/authorized_keys"
  chmod 0600 "$root/root/.ssh/authorized_keys"
  # ed25519 and ecdsa (RSA would take a second per node); ssh-keygen -A's file names.
  for type in ed25519 ecdsa; do
    [[ -e $root/etc/ssh/ssh_host_${type}_key ]] ||
      ssh-keygen -q -t "$type" -N '' -C "root@$host" -f "$root/etc/ssh/ssh_host_${type}_key"
  done
  grep -q '^root:' "$root/etc/passwd" 2>/dev/null ||
    echo 'root:x:0:0:root:/root:/bin/bash' >>"$root/etc/passwd"
  # openssh-server is installed here (GetInfo looks for the binary under the root): the node's
  # /usr/sbin/sshd is its sshd shim, so that a configuration check through it checks this node's.
  mkdir -p "$root/usr/sbin"
  if [[ ! -e $root/usr/sbin/sshd ]]; then
    printf '#!/usr/bin/env bash\n# %s: /usr/sbin/sshd of %s (local cluster).\nexec %q "$@"\n' \
      "the node's sshd shim" "$host" "$DIR/$host/tools/sshd" >"$root/usr/sbin/sshd"
    chmod 0755 "$root/usr/sbin/sshd"
  fi
  [[ -e $root/etc/ssh/sshd_config ]] || cat >"$root/etc/ssh/sshd_config" <<EOF
# $host's /etc/ssh/sshd_config: what Ubuntu's openssh-server ships, trimmed. This node's sshd
# does not read it (its paths are the node's, not this host's): it reads $DIR/$host/sshd/sshd_config,
# which includes the drop-ins of /etc/ssh/sshd_config.d/ from this root.
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

# write_sshd_config I: node I's namespace-only sshd_config, in DIR/<host>/sshd/.
write_sshd_config() {
  local i=$1 host root sshd_dir type
  host=$(node_name "$i")
  root="$DIR/$host/root"
  sshd_dir="$DIR/$host/sshd"
  mkdir -p "$sshd_dir"
  {
    cat <<EOF
# sshd_config for the network namespace $host ONLY, written by deploy/local-cluster.sh up.
# The namespace's sshd is this host's $SSHD_BIN; it reads this file, not the sandbox's
# $root/etc/ssh/sshd_config (whose paths are the node's). From the sandbox it takes the host
# keys, the drop-ins of etc/ssh/sshd_config.d (Include at the end: the agent's hardening goes
# there) and root's authorized_keys. sshd keeps the first value it reads, so the lines before
# the Include hold whatever a drop-in says: they keep this sshd on the namespace, in the
# sandbox and off this host's accounts.
ListenAddress $(node_ip "$i"):22
EOF
    for type in ed25519 ecdsa; do echo "HostKey $root/etc/ssh/ssh_host_${type}_key"; done
    cat <<EOF
PidFile $sshd_dir/sshd.pid
# Users come from this host's /etc/passwd, where root's home (%h) is this host's /root: the
# sandbox's file is named by its absolute path, and root (the cluster user) is the only login.
AuthorizedKeysFile $root/root/.ssh/authorized_keys
AllowUsers root
PasswordAuthentication no
KbdInteractiveAuthentication no
# The sandbox lives under a world-writable temporary directory, which StrictModes refuses.
StrictModes no
# No PAM: a login into a namespace opens no session with this host's logind or lastlog.
UsePAM no
Subsystem sftp internal-sftp
Include $root/etc/ssh/sshd_config.d/*.conf
EOF
  } >"$sshd_dir/sshd_config"
}

# ns_sshd_pids HOST: the sshd processes in HOST's namespace.
ns_sshd_pids() {
  local p
  for p in $(ip netns pids "$1" 2>/dev/null); do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) != sshd ]] || echo "$p"
  done
}

# start_sshd I: starts node I's sshd (it daemonizes), records it once its pid file names it
# (sshd writes that after it listens) and checks, bounded, that it listens.
start_sshd() {
  local i=$1 host sshd_dir pid start deadline rc=0
  host=$(node_name "$i")
  sshd_dir="$DIR/$host/sshd"
  # The privilege separation directory openssh-server's tmpfiles.d makes at boot.
  mkdir -p /run/sshd
  rm -f "$sshd_dir/sshd.pid"
  local -a cmd=(ip netns exec "$host")
  # Its own UTS namespace named after the node, so that `ssh spark-002 hostname` says spark-002.
  # shellcheck disable=SC2016  # expanded by that sh
  command -v unshare >/dev/null &&
    cmd+=(unshare --uts -- /bin/sh -c 'echo "$0" >/proc/sys/kernel/hostname && exec "$@"' "$host")
  cmd+=("$SSHD_BIN" -f "$sshd_dir/sshd_config" -E "$sshd_dir/sshd.log")
  "${cmd[@]}" </dev/null >>"$sshd_dir/sshd.log" 2>&1 9>&- || rc=$?
  ((rc == 0)) || fail_node "$host" "sshd exited with status $rc" "$sshd_dir/sshd.log"
  deadline=$((SECONDS + READY_TIMEOUT_S))
  until [[ -s $sshd_dir/sshd.pid ]]; do
    [[ -n $(ns_sshd_pids "$host") ]] || fail_node "$host" "sshd exited before it listened" "$sshd_dir/sshd.log"
    ((SECONDS < deadline)) || fail_node "$host" "sshd wrote no pid file in ${READY_TIMEOUT_S}s" "$sshd_dir/sshd.log"
    sleep 0.05
  done
  pid=$(tr -d '[:space:]' <"$sshd_dir/sshd.pid")
  start=$(proc_start_time "$pid") || fail_node "$host" "sshd (pid $pid) is gone" "$sshd_dir/sshd.log"
  state_add proc "$pid" "$start" "$host" sshd
  command -v ss >/dev/null || return 0
  until grep -q LISTEN <<<"$(ip netns exec "$host" ss -Htln "src $(node_ip "$i") and sport = :22")"; do
    ((SECONDS < deadline)) || fail_node "$host" "sshd (pid $pid) not listening on $(node_ip "$i"):22" "$sshd_dir/sshd.log"
    sleep 0.05
  done
}

# The one line about ssh in `up`'s summary.
ssh_summary() {
  if [[ -n $SSHD_WHY ]]; then
    echo "ssh:     no sshd in the nodes ($SSHD_WHY)"
  else
    echo "ssh:     a real sshd in every namespace on port 22 (config DIR/<node>/sshd/sshd_config), user root, keys and known_hosts under ROOT/root/.ssh"
  fi
}

# ---------------------------------------------------------------------------------------------
# Tool shims: DIR/<host>/tools is the agent's --tool-path, searched before PATH, so `systemctl
# reload ssh`, `sshd -t`, `netplan apply`, `exportfs -ra` and `mount` reach these scripts and
# never this host's services. Each records its arguments in DIR/<host>/tools.log.

# shim_header NAME I: a shim's first lines: what it is, node I's settings (quoted), the log.
shim_header() {
  local name=$1 i=$2 host config="" why
  host=$(node_name "$i")
  why=$SSHD_WHY
  [[ -n $why ]] || config="$DIR/$host/sshd/sshd_config"
  printf '#!/usr/bin/env bash\n'
  printf '# %s for %s of the local cluster in %q, written by deploy/local-cluster.sh up.\n' \
    "$name" "$host" "$DIR"
  printf '# The agent finds it first on its --tool-path; it never touches this host.\n'
  printf 'set -uo pipefail\n'
  printf 'NODE=%q\nSSHD=%q\nSSHD_CONFIG=%q\nSSHD_PID_FILE=%q\nNO_SSHD_WHY=%q\nTOOLS_LOG=%q\n' \
    "$host" "$SSHD_BIN" "$config" "$DIR/$host/sshd/sshd.pid" "$why" "$DIR/$host/tools.log"
  cat <<'EOF'
{ printf '%(%Y-%m-%dT%H:%M:%S)T %s' -1 "${0##*/}"; printf ' %q' "$@"; echo; } >>"$TOOLS_LOG"
EOF
}

# The systemctl shim's body: ssh.service is the namespace's sshd; nfs-server is scripted.
systemctl_shim_body() {
  cat <<'EOF'
# sshd_pid: prints the pid of this node's sshd: the one in its pid file, if it runs this config
# (the listener's title, which replaces its argv, still holds its command line).
sshd_pid() {
  local pid cmdline
  [[ -n $SSHD_CONFIG && -s $SSHD_PID_FILE ]] || return 1
  pid=$(tr -d '[:space:]' <"$SSHD_PID_FILE")
  [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == sshd ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmdline " == *" -f $SSHD_CONFIG "* ]] || return 1
  echo "$pid"
}

# reload_sshd: what Debian's ssh.service does on reload (sshd -t, then SIGHUP); sshd then
# re-executes itself and writes its pid file again once it listens, which is awaited.
reload_sshd() {
  local pid i
  if [[ -z $SSHD_CONFIG ]]; then
    echo "ssh.service is not active, cannot reload: no sshd runs in $NODE ($NO_SSHD_WHY)" >&2
    exit 1
  fi
  if ! "$SSHD" -t -f "$SSHD_CONFIG"; then
    echo "systemctl shim ($NODE): sshd -t -f $SSHD_CONFIG fails (above); sshd not reloaded" >&2
    exit 1
  fi
  pid=$(sshd_pid) || {
    echo "ssh.service is not active, cannot reload: the sshd of $NODE ($SSHD_PID_FILE) is not running" >&2
    exit 1
  }
  rm -f "$SSHD_PID_FILE"
  kill -HUP "$pid"
  for ((i = 0; i < 100; i++)); do
    [[ -s $SSHD_PID_FILE ]] && exit 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then echo "$pid" >"$SSHD_PID_FILE"; fi
  echo "systemctl shim ($NODE): sshd (pid $pid) did not come back within 5 s of SIGHUP; see its log next to $SSHD_PID_FILE" >&2
  exit 1
}

args=()
for arg in "$@"; do
  case $arg in
    -q | --quiet | --no-pager | --no-block | --no-ask-password | --system | --now) ;;
    *) args+=("$arg") ;;
  esac
done
verb=${args[0]:-}
unit=${args[1]:-}
unit=${unit%.service}
if ((${#args[@]} == 1)) && [[ $verb == daemon-reload ]]; then exit 0; fi
if ((${#args[@]} == 2)); then
  case $unit:$verb in
    ssh:reload | ssh:restart | ssh:reload-or-restart | ssh:try-reload-or-restart | \
      sshd:reload | sshd:restart | sshd:reload-or-restart | sshd:try-reload-or-restart)
      reload_sshd
      ;;
    ssh:is-active | sshd:is-active)
      if sshd_pid >/dev/null; then echo active; exit 0; fi
      echo inactive
      exit 3
      ;;
    nfs-kernel-server:is-active | nfs-server:is-active) echo active; exit 0 ;;
    nfs-kernel-server:is-enabled | nfs-server:is-enabled) echo enabled; exit 0 ;;
    nfs-kernel-server:* | nfs-server:*)
      case $verb in enable | start | restart | reload | reload-or-restart) exit 0 ;; esac
      ;;
  esac
fi
echo "systemctl shim ($NODE): unsupported: $*" >&2
exit 1
EOF
}

# The sshd shim's body: configuration checks (-t, -T) of the node's sshd; nothing else.
sshd_shim_body() {
  cat <<'EOF'
args=()
check=no
while (($#)); do
  case $1 in
    # Whatever file the caller names, the node's sshd reads SSHD_CONFIG (which includes the
    # sandbox's drop-ins): that is the configuration to check.
    -f) shift; (($#)) && shift ;;
    -f?*) shift ;;
    -V) exec "$SSHD" -V ;;
    -t | -T) check=yes; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [[ -z $SSHD_CONFIG ]]; then
  echo "sshd shim ($NODE): no sshd in this node ($NO_SSHD_WHY)" >&2
  exit 1
fi
if [[ $check != yes ]]; then
  echo "sshd shim ($NODE): only -t and -T here; this node's sshd is started by local-cluster.sh" >&2
  exit 1
fi
exec "$SSHD" "${args[@]}" -f "$SSHD_CONFIG"
EOF
}

# write_shims I: node I's tools/ (its --tool-path).
write_shims() {
  local i=$1 tools name
  tools="$DIR/$(node_name "$i")/tools"
  mkdir -p "$tools"
  {
    shim_header "systemctl shim" "$i"
    systemctl_shim_body
  } >"$tools/systemctl"
  {
    shim_header "sshd shim" "$i"
    sshd_shim_body
  } >"$tools/sshd"
  {
    shim_header "netplan shim (scripted: the namespace's addresses are set by local-cluster.sh)" "$i"
    cat <<'EOF'
for arg in "$@"; do
  case $arg in
    -*) ;;
    apply | generate | try) exit 0 ;;
    *) break ;;
  esac
done
echo "netplan shim ($NODE): unsupported: $*" >&2
exit 1
EOF
  } >"$tools/netplan"
  for name in exportfs mount umount; do
    {
      shim_header "$name shim (scripted: records its arguments and succeeds)" "$i"
      echo "exit 0"
    } >"$tools/$name"
  done
  chmod 0755 "$tools"/*
}

# ---------------------------------------------------------------------------------------------
# Agents

# start_agent I: starts node I's agent in the background and records it as a `proc` line
# (`down` stops every one of those: agents and sshds).
start_agent() {
  local i=$1 host node_dir listen pid start
  host=$(node_name "$i")
  node_dir="$DIR/$host"
  listen="$(node_ip "$i"):$AGENT_PORT"
  [[ $MODE == netns ]] || listen="127.0.0.1:0" # loopback: the kernel picks the port
  local -a cmd=("$SPARK_AGENT" --listen "$listen" --root "$node_dir/root" --node-name "$host"
    --tls-cert "$DIR/pki/$host.crt" --tls-key "$DIR/pki/$host.key" --tls-ca "$DIR/pki/ca.crt"
    --tool-path "$node_dir/tools" --port-file "$node_dir/agent.port")
  [[ $MODE == netns ]] && cmd=(ip netns exec "$host" "${cmd[@]}")
  # Its own session, so that the terminal's signals do not reach it; setsid here execs without
  # forking (we are not a group leader), so $! is the agent's pid (ip netns exec execs too).
  command -v setsid >/dev/null && cmd=(setsid "${cmd[@]}")
  "${cmd[@]}" </dev/null >>"$node_dir/agent.log" 2>&1 9>&- &
  pid=$!
  start=$(proc_start_time "$pid") || start=-
  state_add proc "$pid" "$start" "$host" agent
  echo "$pid" >"$node_dir/agent.pid"
}

# fail_node HOST WHY [LOG]: the log's tail (default the agent's), then fail (the EXIT trap
# cleans up).
fail_node() {
  local host=$1 why=$2 log=${3:-$DIR/$1/agent.log}
  if [[ -s $log ]]; then
    say "$host: $why; the last lines of $log:"
    tail -n 20 "$log" | sed 's/^/    /' >&2 || true
  else
    say "$host: $why; its log $log is empty"
  fi
  exit 1
}

# wait_ready I: waits (bounded) for node I's agent to write its port file.
wait_ready() {
  local host pid start deadline
  host=$(node_name "$1")
  read -r pid start <<<"$(state_get proc | awk -v h="$host" '$3 == h && $4 == "agent" { print $1, $2 }')"
  deadline=$((SECONDS + READY_TIMEOUT_S))
  until [[ -s $DIR/$host/agent.port ]]; do
    if ! proc_alive "$pid" "$start"; then
      local rc=0
      wait "$pid" || rc=$?
      fail_node "$host" "spark-agent (pid $pid) exited with status $rc before serving"
    fi
    ((SECONDS < deadline)) || fail_node "$host" "spark-agent (pid $pid) not serving after ${READY_TIMEOUT_S}s"
    sleep 0.05
  done
}

write_cluster_yaml() {
  local i host port tmp="$DIR/cluster.yaml.tmp"
  {
    echo "# Written by deploy/local-cluster.sh up ($MODE, $NODES nodes); gone stale after down."
    echo "cluster_name: $(basename "$DIR" | tr -c 'a-zA-Z0-9\n-' -)"
    echo "enable_tailscale: false"
    echo "enable_nccl: true"
    echo "# nccl.conf is written on every node; NCCL itself is never installed on the local"
    echo "# cluster (its nodes share this host's libraries: no apt-get or build in a sandbox)."
    echo "nccl:"
    echo "  install: none"
    echo "# Inside DIR, so the demo never touches your ~/.ssh."
    echo "ssh_key_path: ssh/id_ed25519_spark"
    echo "user: root"
    echo "agent:"
    echo "  port: $AGENT_PORT"
    echo "  tls:"
    echo "    ca: pki/ca.crt"
    echo "    cert: pki/admin.crt"
    echo "    key: pki/admin.key"
    echo "nodes:"
    for ((i = 1; i <= NODES; i++)); do
      host=$(node_name "$i")
      port=$(tr -d '[:space:]' <"$DIR/$host/agent.port")
      echo "  - hostname: $host"
      echo "    ip: $(node_ip "$i")"
      echo "    user: root"
      echo "    port: $port"
    done
  } >"$tmp"
  mv -f "$tmp" "$DIR/cluster.yaml"
}

# The end-to-end check: sparkctl reaches every agent over mTLS (a few bounded tries).
check_cluster() {
  local try out
  for try in 1 2 3; do
    if out="$("$SPARKCTL" -c "$DIR/cluster.yaml" --timeout 3 status 2>&1)"; then
      return 0
    fi
    ((try == 3)) || sleep 0.5
  done
  say "sparkctl status does not reach every agent:"
  printf '    %s\n' "${out//$'\n'/$'\n'    }" >&2
  exit 1
}

print_summary() {
  local i host port pid
  if [[ $MODE == netns ]]; then
    echo "local cluster up: $NODES nodes in network namespaces, bridge $BRIDGE, subnet 10.203.$SUBNET_X.0/24 (host side 10.203.$SUBNET_X.1)"
  else
    echo "local cluster up: $NODES nodes on 127.0.0.1 (loopback)"
  fi
  printf '  %-10s %-22s %-8s %s\n' NODE ADDRESS PID ROOT
  for ((i = 1; i <= NODES; i++)); do
    host=$(node_name "$i")
    port=$(tr -d '[:space:]' <"$DIR/$host/agent.port")
    pid=$(cat "$DIR/$host/agent.pid")
    printf '  %-10s %-22s %-8s %s\n' "$host" "$(node_ip "$i"):$port" "$pid" "$DIR/$host/root"
  done
  if [[ $MODE == netns ]]; then
    echo "real:    the network: each node has its own stack; traffic crosses veth cables and the bridge"
  else
    echo "real:    gRPC over loopback; the nodes share this host's network stack"
  fi
  if [[ -n $FIXTURE ]]; then
    echo "sandbox: hardware from the fixture $FIXTURE; what it lacks of os-release, kernel release, uptime copied from this host"
  else
    echo "sandbox: no hardware fixture; os-release, kernel, uptime copied from this host"
  fi
  ssh_summary
  echo "tools:   systemctl, sshd, netplan, exportfs, mount, umount shims on each agent's --tool-path (DIR/<node>/tools; calls in DIR/<node>/tools.log)"
  echo "config:  $DIR/cluster.yaml"
  echo "try:     ${SPARKCTL} -c $DIR/cluster.yaml status"
  echo "stop:    $0 down --dir $DIR"
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_up() {
  local i
  [[ $NODES =~ ^[1-9][0-9]*$ ]] || die "--nodes: \"$NODES\" is not a positive number"
  if [[ -z $MODE ]]; then
    if ((EUID == 0)) && command -v ip >/dev/null; then MODE=netns; else MODE=loopback; fi
  fi
  if [[ $MODE == netns ]]; then
    ((EUID == 0)) || die "--netns needs root (namespaces, bridge, veths); use --loopback"
    command -v ip >/dev/null || die "--netns needs iproute2's ip; install iproute2 or use --loopback"
    ((NODES <= MAX_NETNS_NODES)) || die "--nodes: at most $MAX_NETNS_NODES with --netns"
  fi
  ((NODES <= MAX_LOOPBACK_NODES)) || die "--nodes: at most $MAX_LOOPBACK_NODES"
  if [[ -n $FIXTURE ]]; then
    [[ -d $FIXTURE ]] || die "--fixture: \"$FIXTURE\" is not a directory"
    FIXTURE="$(cd "$FIXTURE" && pwd -P)"
  fi
  SPARKCTL=$(find_binary "${SPARKCTL:-}" build/coordinator/sparkctl sparkctl)
  SPARK_AGENT=$(find_binary "${SPARK_AGENT:-}" build/node_agent/spark-agent spark-agent)

  if [[ -d $DIR && ! -e $DIR/$MARKER ]] && [[ -n "$(ls -A "$DIR")" ]]; then
    die "$DIR is not empty and was not made by local-cluster.sh; choose another --dir"
  fi
  open_dir yes
  [[ ! -e $STATE ]] || die "a cluster is already up in $DIR (or was not brought down): run $0 down --dir $DIR"
  touch "$DIR/$MARKER"
  rm -rf "$DIR/pki" "$DIR/cluster.yaml" "$DIR"/spark-[0-9][0-9][0-9]
  if [[ $MODE == netns ]]; then
    BRIDGE="sfb-$(dir_hash)"
    check_netns_names "$(dir_hash)"
  fi
  trap 'on_up_exit $?' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  state_add mode "$MODE"

  say "bringing up $NODES nodes ($MODE) in $DIR"
  [[ $MODE == netns ]] && make_network
  SSHD_WHY=$(sshd_why_not)
  if [[ -n $SSHD_WHY ]]; then
    state_add nosshd "$SSHD_WHY"
    [[ $MODE != netns ]] || say "no sshd in the nodes: $SSHD_WHY"
  fi
  for ((i = 1; i <= NODES; i++)); do
    seed_root "$(node_name "$i")" "$DIR/$(node_name "$i")/root"
    write_shims "$i"
    if [[ -z $SSHD_WHY ]]; then
      seed_ssh "$(node_name "$i")" "$DIR/$(node_name "$i")/root"
      write_sshd_config "$i"
    fi
  done
  # Before the agents, so that a failing agent shows that `down` stops the sshds too.
  if [[ -z $SSHD_WHY ]]; then
    for ((i = 1; i <= NODES; i++)); do start_sshd "$i"; done
  fi
  make_pki
  for ((i = 1; i <= NODES; i++)); do start_agent "$i"; done
  for ((i = 1; i <= NODES; i++)); do wait_ready "$i"; done
  write_cluster_yaml
  check_cluster
  UP_DONE=yes
  print_summary
}

# A failed or interrupted `up` takes down what it made.
on_up_exit() {
  local rc=$1
  trap - EXIT INT TERM
  if [[ ${UP_DONE:-} != yes ]]; then
    say "up failed; removing what it made"
    teardown || say "could not remove everything: see $STATE and run: $0 down --dir $DIR"
    ((rc != 0)) || rc=1
  fi
  exit "$rc"
}

# teardown: removes what DIR/state lists, processes first; the state file goes last, and only
# when everything in it is gone.
teardown() {
  local ns p link bridge ok=yes
  stop_procs < <(state_get proc) || ok=no
  # Whatever our agents left running in their namespaces (children they started) goes too.
  stop_procs < <(
    while read -r ns; do
      if [[ -z $ns ]] || ! netns_exists "$ns"; then continue; fi
      for p in $(ip netns pids "$ns" 2>/dev/null); do
        echo "$p $(proc_start_time "$p" || echo -)"
      done
    done <<<"$(state_get netns)"
  ) || ok=no
  while read -r link; do
    if [[ -z $link ]] || ! link_exists "$link"; then continue; fi
    ip link delete "$link" || ok=no
  done <<<"$(state_get link)"
  while read -r ns; do
    if [[ -z $ns ]] || ! netns_exists "$ns"; then continue; fi
    ip netns delete "$ns" || ok=no
  done <<<"$(state_get netns)"
  while read -r bridge; do
    if [[ -z $bridge ]] || ! link_exists "$bridge"; then continue; fi
    ip link delete "$bridge" || ok=no
  done <<<"$(state_get bridge)"
  [[ $ok == yes ]] || return 1
  rm -f "$STATE" "$DIR"/spark-[0-9][0-9][0-9]/agent.pid "$DIR"/spark-[0-9][0-9][0-9]/agent.port \
    "$DIR"/spark-[0-9][0-9][0-9]/sshd/sshd.pid
}

cmd_down() {
  if ! open_dir no || [[ ! -e $DIR/$MARKER ]]; then
    say "nothing to bring down in $DIR"
    return 0
  fi
  if [[ -e $STATE ]]; then
    teardown || die "could not remove everything listed in $STATE (see above); run down again"
    say "down: stopped the cluster in $DIR (logs and certificates kept there)"
  else
    say "nothing running in $DIR"
  fi
  if [[ $PURGE == yes ]]; then
    rm -rf "$DIR"
    say "removed $DIR"
  fi
}

cmd_status() {
  local mode pid start host what ns link state missing=0 total=0
  if ! open_dir no no || [[ ! -e $DIR/$MARKER || ! -e $DIR/state ]]; then
    echo "no local cluster up in $DIR"
    return 1
  fi
  mode=$(state_get mode)
  echo "local cluster in $DIR ($mode)"
  [[ -z $(state_get subnet) ]] || echo "  subnet $(state_get subnet)"
  while read -r pid start host what; do
    [[ -n $pid ]] || continue
    total=$((total + 1))
    if proc_alive "$pid" "$start"; then state=running; else state=GONE; missing=$((missing + 1)); fi
    local port=""
    if [[ $what == sshd ]]; then
      port=22
    elif [[ -s $DIR/$host/agent.port ]]; then
      port=$(tr -d '[:space:]' <"$DIR/$host/agent.port")
    fi
    printf '  %-10s %-6s pid %-8s %-8s port %s\n' "$host" "$what" "$pid" "$state" "${port:--}"
  done <<<"$(state_get proc)"
  [[ -z $(state_get nosshd) ]] || echo "  sshd not started: $(state_get nosshd)"
  while read -r ns; do
    [[ -n $ns ]] || continue
    total=$((total + 1))
    if netns_exists "$ns"; then state=present; else state=GONE; missing=$((missing + 1)); fi
    printf '  netns  %-20s %s\n' "$ns" "$state"
  done <<<"$(state_get netns)"
  while read -r link; do
    [[ -n $link ]] || continue
    total=$((total + 1))
    if link_exists "$link"; then state=present; else state=GONE; missing=$((missing + 1)); fi
    printf '  link   %-20s %s\n' "$link" "$state"
  done <<<"$( (state_get bridge; state_get link))"
  echo "config: $DIR/cluster.yaml"
  ((missing == 0)) || return 2
}

# ---------------------------------------------------------------------------------------------

main() {
  local command=${1:-}
  [[ -n $command ]] || {
    usage >&2
    exit 1
  }
  shift
  NODES=2
  DIR="${TMPDIR:-/tmp}/sparkfleet-local"
  MODE=""
  FIXTURE=""
  PURGE=no
  SSHD=yes
  SSHD_WHY=""
  while (($#)); do
    case $1 in
      --nodes) NODES=${2:?--nodes needs a number}; shift 2 ;;
      --nodes=*) NODES=${1#*=}; shift ;;
      --dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
      --dir=*) DIR=${1#*=}; shift ;;
      --netns) MODE=netns; shift ;;
      --loopback) MODE=loopback; shift ;;
      --fixture) FIXTURE=${2:?--fixture needs a directory}; shift 2 ;;
      --fixture=*) FIXTURE=${1#*=}; shift ;;
      --purge) PURGE=yes; shift ;;
      --no-sshd) SSHD=no; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown argument \"$1\"" ;;
    esac
  done
  case $command in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *) usage >&2; die "unknown command \"$command\"" ;;
  esac
}

main "$@"

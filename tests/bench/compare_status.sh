#!/usr/bin/env bash
# compare_status.sh: `sparkctl status` side by side with pdsh over real SSH and with Ansible's
# ad-hoc ping, at N hosts, all measured in the same run on the same machine:
#   sparkctl  status_bench --nodes N: the real sparkctl against N agent endpoints on loopback
#             (mTLS, one GetInfo per node, --parallel 256);
#   pdsh      pdsh -R ssh -f FANOUT -w bench-001..N true: N real SSH logins (key auth, strict
#             host key checking) to one sshd this script starts on 127.0.0.1 at a high port,
#             with its own sshd_config, host key and authorized key in a temporary directory;
#             the N hosts are distinct aliases in an ssh_config, so pdsh runs N ssh processes
#             and makes N TCP connections and N handshakes;
#   ansible   ansible all -i INVENTORY -c local -m ping -f FORKS over N inventory hosts: no
#             network at all, only Ansible's own per-host cost (a lower bound for it over SSH).
# Prints one line per tool and N, then a table of median wall times and the ratios
# pdsh/sparkctl and ansible/sparkctl.
#
#   compare_status.sh [--nodes 10,50,200] [--runs 3] [--pdsh-fanout N|DEFAULT] [--forks 50]
#
# --pdsh-fanout: pdsh's -f; N (the default) connects to every host at once, as sparkctl does;
# a number caps it; "default" leaves pdsh's own (32). --forks: Ansible's -f (at most N).
# Environment: STATUS_BENCH (the status_bench binary; ctest sets it).
# Exit 0 done, 1 a run failed, 77 skipped (pdsh, ansible, sshd or ssh-keygen missing).
set -euo pipefail

nodes_list=10,50,200
runs=3
pdsh_fanout=N
forks=50
while (($# > 0)); do
  case $1 in
    --nodes) nodes_list=$2 ;;
    --runs) runs=$2 ;;
    --pdsh-fanout) pdsh_fanout=$2 ;;
    --forks) forks=$2 ;;
    *) echo "usage: $0 [--nodes 10,50,200] [--runs 3] [--pdsh-fanout N|default|K] [--forks K]" >&2; exit 2 ;;
  esac
  shift 2
done

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

: "${STATUS_BENCH:?set STATUS_BENCH to the status_bench binary (ctest does)}"
SSHD=/usr/sbin/sshd
for program in pdsh ansible ssh ssh-keygen "$SSHD"; do
  command -v "$program" >/dev/null || skip "$program is not installed (deploy/install-deps.sh installs it)"
done
user=$(id -un)
if ((EUID == 0)); then
  getent passwd sshd >/dev/null || skip "sshd's privilege separation user \"sshd\" does not exist"
fi

work=""
sshd_pid=""
cleanup() {
  if [[ -n $sshd_pid ]]; then
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
  fi
  [[ -z $work ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
work=$(mktemp -d "${TMPDIR:-/tmp}/sf-compare-status.XXXXXX")
# pdsh splits PDSH_SSH_ARGS on blanks (it runs no shell): the path must have none.
[[ $work != *[[:space:]]* ]] || fail "temporary directory $work has blanks; set TMPDIR"

# now_ms: the wall clock in milliseconds.
now_ms() {
  local t=${EPOCHREALTIME/./}
  echo $((t / 1000))
}
# median VALUE...: the middle value (the lower of the two middle ones for an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- sshd on loopback -----------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C sf-bench-host -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -C sf-bench-client -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"
[[ $EUID -ne 0 ]] || mkdir -p /run/sshd  # privilege separation directory, made at boot normally

# start_sshd: sshd on 127.0.0.1 at a free high port (tries a few); sets port and sshd_pid.
start_sshd() {
  local i
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    cat >"$work/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
# The files live in a temporary directory, which sshd's ownership checks refuse.
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
# N logins arrive at once: let sshd take them all (the default, 10:30:100, drops some).
MaxStartups 1000
MaxSessions 1000
# Debian's bash sources ~/.bashrc for an ssh command unless SHLVL is 2 or more: measure SSH,
# not the login's rc files (root's here runs pyenv init, 2 s a login on this machine).
SetEnv SHLVL=1
LogLevel ERROR
CONF
    "$SSHD" -D -e -f "$work/sshd_config" >>"$work/sshd.log" 2>&1 &
    sshd_pid=$!
    for ((i = 0; i < 200; i++)); do
      if ss -Htln "src 127.0.0.1 and sport = :$port" | grep -q LISTEN; then return 0; fi
      kill -0 "$sshd_pid" 2>/dev/null || break
      sleep 0.02
    done
    kill "$sshd_pid" 2>/dev/null || true
    wait "$sshd_pid" 2>/dev/null || true
    sshd_pid=""
  done
  fail "sshd did not start: $(tail -n 5 "$work/sshd.log")"
}
start_sshd
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" >"$work/known_hosts"
cat >"$work/ssh_config" <<CONF
Host bench-*
  HostName 127.0.0.1
  Port $port
  User $user
  IdentityFile $work/client_key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile $work/known_hosts
  GlobalKnownHostsFile /dev/null
  ConnectTimeout 30
  ControlMaster no
  ControlPath none
CONF
ssh -F "$work/ssh_config" bench-001 true 2>"$work/ssh-check.log" ||
  fail "ssh to the bench sshd failed: $(cat "$work/ssh-check.log")"

# --- Ansible, confined to the temporary directory -----------------------------------------------
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_HOME="$work/ansible"
export ANSIBLE_LOCAL_TEMP="$work/ansible/tmp" ANSIBLE_REMOTE_TMP="$work/ansible/remote-tmp"
export ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=True ANSIBLE_RETRY_FILES_ENABLED=False
: >"$ANSIBLE_CONFIG"
# The modules run under the Python that runs Ansible (its #! line), not whatever python3 is
# first on PATH (a pyenv shim costs a second a call).
read -r shebang <"$(command -v ansible)"
python=${shebang#'#!'}
python=${python#"${python%%[! ]*}"}
[[ $python == /*python* && $python != *' '* ]] || python=$(command -v python3)

# --- one N ------------------------------------------------------------------------------------
declare -A med_sparkctl med_pdsh med_ansible fanout_used forks_used
sizes=()
IFS=, read -r -a sizes <<<"$nodes_list"
for n in "${sizes[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || fail "--nodes: \"$n\" is not a positive number"
  hosts=()
  for ((i = 1; i <= n; i++)); do hosts+=("$(printf 'bench-%03d' "$i")"); done
  host_csv=$(IFS=,; echo "${hosts[*]}")

  # sparkctl: status_bench prints "... wall p50=X ms (min A, max B) ..." for its runs.
  out=$("$STATUS_BENCH" --nodes "$n" --runs "$runs" 2>&1) || fail "status_bench --nodes $n: $out"
  line=$(grep "^nodes=" <<<"$out")
  echo "sparkctl  N=$n: $line"
  med_sparkctl[$n]=$(sed -E 's/.*wall p50=([0-9]+) ms.*/\1/' <<<"$line")

  # pdsh over SSH.
  pdsh_args=(-R ssh -w "$host_csv")
  case $pdsh_fanout in
    N) pdsh_args+=(-f "$n"); fanout_used[$n]=$n ;;
    default) fanout_used[$n]="32 (default)" ;;
    *) pdsh_args+=(-f "$pdsh_fanout"); fanout_used[$n]=$pdsh_fanout ;;
  esac
  times=()
  for ((r = 0; r < runs; r++)); do
    start=$(now_ms)
    PDSH_SSH_ARGS="-F $work/ssh_config %h" pdsh "${pdsh_args[@]}" true >"$work/pdsh.log" 2>&1 ||
      fail "pdsh N=$n exited $?: $(tail -n 5 "$work/pdsh.log")"
    times+=($(($(now_ms) - start)))
    # pdsh exits 0 even when a host fails; any output from `true` is an error.
    [[ ! -s $work/pdsh.log ]] || fail "pdsh N=$n: $(tail -n 5 "$work/pdsh.log")"
  done
  med_pdsh[$n]=$(median "${times[@]}")
  echo "pdsh      N=$n: fanout ${fanout_used[$n]}, wall ms: ${times[*]}"

  # Ansible ad-hoc ping, local connection.
  inventory="$work/inventory-$n.ini"
  {
    echo "[all]"
    printf '%s\n' "${hosts[@]}"
    echo "[all:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=$python"
  } >"$inventory"
  f=$((forks < n ? forks : n))
  forks_used[$n]=$f
  times=()
  for ((r = 0; r < runs; r++)); do
    start=$(now_ms)
    ansible all -i "$inventory" -c local -m ping -f "$f" -o >"$work/ansible.log" 2>&1 ||
      fail "ansible N=$n exited $?: $(tail -n 5 "$work/ansible.log")"
    times+=($(($(now_ms) - start)))
    ok=$(grep -c 'SUCCESS' "$work/ansible.log" || true)
    ((ok == n)) || fail "ansible N=$n: $ok of $n hosts answered: $(tail -n 5 "$work/ansible.log")"
  done
  med_ansible[$n]=$(median "${times[@]}")
  echo "ansible   N=$n: forks $f, wall ms: ${times[*]}"
done

echo
echo "median wall time over $runs run(s); pdsh -R ssh (fanout as shown) to one loopback sshd;"
echo "ansible -c local -m ping (forks as shown); sparkctl status over mTLS, --parallel 256"
printf '%6s  %12s  %16s  %16s  %13s  %16s\n' N "sparkctl ms" "pdsh ms (-f)" "ansible ms (-f)" \
  pdsh/sparkctl ansible/sparkctl
for n in "${sizes[@]}"; do
  s=${med_sparkctl[$n]}
  ((s > 0)) || s=1
  printf '%6s  %12s  %16s  %16s  %13s  %16s\n' "$n" "${med_sparkctl[$n]}" \
    "${med_pdsh[$n]} (${fanout_used[$n]%% *})" "${med_ansible[$n]} (${forks_used[$n]})" \
    "$(awk -v a="${med_pdsh[$n]}" -v b="$s" 'BEGIN { printf "%.1fx", a / b }')" \
    "$(awk -v a="${med_ansible[$n]}" -v b="$s" 'BEGIN { printf "%.1fx", a / b }')"
done

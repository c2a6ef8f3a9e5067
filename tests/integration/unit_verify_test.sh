#!/usr/bin/env bash
# Checks deploy/spark-agent.service: `systemd-analyze verify` accepts it without a word,
# it is Type=notify with Restart=on-failure, and none of the sandboxing options that would
# stop the agent's jobs is on (see the unit's comments for why each one is off).
# Usage: unit_verify_test.sh UNIT_FILE. Exits 77 (skipped) without systemd-analyze.
set -euo pipefail
unit=${1:?usage: unit_verify_test.sh UNIT_FILE}
fail() {
  echo "FAIL: $unit: $*" >&2
  exit 1
}
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd)"
  exit 77
fi

grep -qx 'Type=notify' "$unit" || fail "no Type=notify (the agent calls sd_notify READY=1)"
grep -qx 'Restart=on-failure' "$unit" || fail "no Restart=on-failure"
grep -q '^ExecStart=/usr/local/bin/spark-agent --config /etc/sparkfleet/agent.yaml$' "$unit" ||
  fail "ExecStart is not where sparkctl bootstrap installs the agent"
forbidden='PrivateTmp|ProtectSystem|ProtectHome|PrivateMounts|ProtectKernelModules|ProtectKernelTunables|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|ProtectClock|ProtectHostname|PrivateDevices|DeviceAllow|DevicePolicy|RestrictSUIDSGID|NoNewPrivileges|MemoryDenyWriteExecute|ReadOnlyPaths|InaccessiblePaths|TemporaryFileSystem|PrivateNetwork|PrivateUsers|CapabilityBoundingSet|SystemCallFilter'
if set_options=$(grep -E "^($forbidden)=" "$unit" | grep -vE '=(no|false)$'); then
  fail "sets options that stop the agent's jobs: $set_options"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# verify insists that ExecStart's program exists: point it at one that does.
sed 's#^ExecStart=/usr/local/bin/spark-agent #ExecStart=/bin/true #' "$unit" >"$tmp/spark-agent.service"
if ! output=$(systemd-analyze verify --man=no "$tmp/spark-agent.service" 2>&1); then
  fail "systemd-analyze verify failed: $output"
fi
[[ -z $output ]] || fail "systemd-analyze verify warned: $output"
echo "PASS: $unit"

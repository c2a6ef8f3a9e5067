#!/usr/bin/env bash
# Builds the Debian packages from a built tree with `cpack -G DEB` into a temporary
# directory and checks what they hold: spark-agent (agent, worker, unit naming
# /usr/bin/spark-agent, agent.yaml as a conffile, daemon-reload in postinst, library
# dependencies) and sparkctl. Leaves nothing behind but the unit cpack stages in BUILD_DIR.
# Usage: deb_package_test.sh BUILD_DIR. Exits 77 (skipped) without the Debian tools.
set -euo pipefail
build=${1:?usage: deb_package_test.sh BUILD_DIR}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (cpack: cmake; dpkg-deb, dpkg-shlibdeps: dpkg-dev)"
    exit 77
  fi
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1; then
  cat "$out/cpack.log" >&2
  fail "cpack -G DEB failed"
fi
agent_deb=$(ls "$out"/spark-agent_*.deb 2>/dev/null) || fail "no spark-agent_*.deb in $(ls "$out")"
ctl_deb=$(ls "$out"/sparkctl_*.deb 2>/dev/null) || fail "no sparkctl_*.deb in $(ls "$out")"

contents=$(dpkg-deb -c "$agent_deb")
for path in ./usr/bin/spark-agent ./usr/bin/spark-nccl-worker \
  ./lib/systemd/system/spark-agent.service ./etc/sparkfleet/agent.yaml; do
  grep -q " $path\$" <<<"$contents" || fail "$agent_deb lacks $path: $contents"
done
if grep -q ' ./usr/bin/sparkctl$' <<<"$contents"; then fail "$agent_deb holds sparkctl"; fi
info=$(dpkg-deb -I "$agent_deb")
grep -q '^ Package: spark-agent$' <<<"$info" || fail "package name: $info"
grep -q '^ Depends: .*libgrpc++' <<<"$info" || fail "no library dependencies: $info"
[[ $(dpkg-deb -I "$agent_deb" conffiles) == /etc/sparkfleet/agent.yaml ]] ||
  fail "agent.yaml is not a conffile"
dpkg-deb -I "$agent_deb" postinst | grep -q 'systemctl daemon-reload' || fail "postinst"
unit=$(dpkg-deb --fsys-tarfile "$agent_deb" | tar -xO ./lib/systemd/system/spark-agent.service)
grep -qx 'ExecStart=/usr/bin/spark-agent --config /etc/sparkfleet/agent.yaml' <<<"$unit" ||
  fail "the packaged unit does not start /usr/bin/spark-agent"

grep -q ' ./usr/bin/sparkctl$' <<<"$(dpkg-deb -c "$ctl_deb")" || fail "$ctl_deb lacks sparkctl"
grep -q '^ Package: sparkctl$' <<<"$(dpkg-deb -I "$ctl_deb")" || fail "sparkctl package name"
echo "PASS: $(basename "$agent_deb") $(basename "$ctl_deb")"

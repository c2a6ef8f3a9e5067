#!/usr/bin/env bash
# Installs every Debian 12 package sparkfleet needs to build, test and run its demo.
# Idempotent and non-interactive; run as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git clang clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libcli11-dev libgtest-dev libgmock-dev
  libssl-dev libsystemd-dev libiperf-dev iperf3 perftest
  iproute2 iputils-ping openssh-server openssh-client procps jq
  python3-grpcio python3-protobuf pdsh ansible-core
)

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps.sh: must run as root (it calls apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps.sh: installed ${missing[*]}"

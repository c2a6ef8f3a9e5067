#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, as `ctest --preset fuzz` does: proves that
# the target survives its seed corpus (every past crash is kept there, so each is replayed
# first) and SECONDS of new inputs without a sanitizer report or a broken contract.
#
# Usage: run_fuzzer.sh FUZZER CORPUS_DIR ARTIFACT_DIR SECONDS [libFuzzer flags...]
# The corpus is copied to a temporary directory, so the source tree is never written;
# a crashing input is kept in ARTIFACT_DIR (under the build directory) and named in the
# output. Exit status: 0 when nothing was found, else 1 (libFuzzer's own 77 would read as
# "skipped" to our test conventions).
set -euo pipefail

if (($# < 4)); then
  echo "usage: $0 FUZZER CORPUS_DIR ARTIFACT_DIR SECONDS [libFuzzer flags...]" >&2
  exit 2
fi
fuzzer=$1
corpus=$2
artifacts=$3
seconds=$4
shift 4

work=$(mktemp -d "${TMPDIR:-/tmp}/sparkfleet-fuzz.XXXXXX")
# The targets that read through an Env rebuild a scratch tree for every input: on tmpfs
# that is ten times faster than on a disk.
scratch_base=${TMPDIR:-/tmp}
if [[ -d /dev/shm && -w /dev/shm ]]; then
  scratch_base=/dev/shm
fi
scratch=$(mktemp -d "$scratch_base/sparkfleet-fuzz.XXXXXX")
fuzzer_pid=""
cleanup() {
  if [[ -n "$fuzzer_pid" ]]; then
    kill "$fuzzer_pid" 2>/dev/null || true
    wait "$fuzzer_pid" 2>/dev/null || true
  fi
  rm -rf -- "$work" "$scratch"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

mkdir -p "$work/corpus" "$artifacts"
if [[ -d "$corpus" ]]; then
  cp -R -- "$corpus/." "$work/corpus/"
fi

# UBSan reports count as crashes; leaks and ASan reports already do.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export TMPDIR="$scratch"  # the targets' scratch trees

status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$work/corpus" &
fuzzer_pid=$!
wait "$fuzzer_pid" || status=$?
fuzzer_pid=""

if ((status != 0)); then
  echo "run_fuzzer.sh: $(basename "$fuzzer") failed ($status); the input is in $artifacts/." >&2
  echo "Reproduce: $fuzzer $artifacts/<crash-file>; then add it to the corpus and a" \
    "FuzzRegression unit test (tests/fuzz/README.md)." >&2
  exit 1
fi

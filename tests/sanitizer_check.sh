#!/usr/bin/env bash
# Makes a sanitizer report fail the test it happened in, whichever process wrote it.
#
# In the asan and tsan builds (top-level CMakeLists.txt) a test starts spark-agent, sparkctl
# and spark-nccl-worker children built with the same sanitizer. Their stderr goes to logs a
# passing test deletes, and agents are stopped with SIGKILL, so neither their output nor their
# exit status shows a report. Every sanitizer therefore writes its reports to files
# (log_path, inherited through the environment by every child), and this script fails the
# test when one appears, printing it on stderr where ctest shows it.
#
# GCC's UBSan (libubsan, loaded beside libasan) ignores log_path and writes its own message on
# stderr only; the asan test preset (CMakePresets.json) has it abort (abort_on_error=1) and ASan
# catch the abort (handle_abort=1), so each UBSan finding also leaves an ASan report file whose
# stack names the __ubsan_handle_*_abort check and our line. libubsan also resets the report
# path libasan uses to UBSAN_OPTIONS' log_path, so both variables carry the same directory.
#
#   sanitizer_check.sh run CMD [ARG...]   runs CMD with reports going to a fresh directory;
#                                         exits 1 when any report appeared, else CMD's status.
#                                         The CROSSCOMPILING_EMULATOR of every executable, so
#                                         it wraps each gtest and each add_test of a target.
#   sanitizer_check.sh collect DIR        prints and removes the reports under DIR, where the
#                                         test presets' environment sends the reports of tests
#                                         that are not run through `run` (shell-script tests);
#                                         exits 1 when there was any.
set -euo pipefail

# Prints every report file in $1 on stderr; true when there was at least one.
reports_found() {
  local found=1 report
  for report in "$1"/*; do
    [[ -f $report ]] || continue
    found=0
    printf '=== sanitizer report %s ===\n' "${report##*/}" >&2
    cat -- "$report" >&2
  done
  return "$found"
}

case "${1:-}" in
  run)
    shift
    (($# > 0)) || { echo "usage: $0 run CMD [ARG...]" >&2; exit 2; }
    reports=$(mktemp -d "${TMPDIR:-/tmp}/sparkfleet-sanitizer-XXXXXX")
    trap 'rm -rf -- "$reports"' EXIT
    # The last log_path wins: these replace the shared directory of the presets' environment.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$reports/asan"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$reports/ubsan"
    export TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$reports/tsan"
    status=0
    "$@" || status=$?
    if reports_found "$reports"; then
      echo "sanitizer_check: the sanitizer reports above came from this test" \
        "(its own exit status: $status)" >&2
      exit 1
    fi
    exit "$status"
    ;;
  collect)
    (($# == 2)) || { echo "usage: $0 collect DIR" >&2; exit 2; }
    dir=$2
    [[ -d $dir ]] || exit 0
    if reports_found "$dir"; then
      echo "sanitizer_check: the reports above came from shell-script tests (or from an" \
        "earlier interrupted run); each names its program and pid" >&2
      find "$dir" -mindepth 1 -maxdepth 1 -type f -delete
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 run CMD [ARG...] | $0 collect DIR" >&2
    exit 2
    ;;
esac

#!/bin/bash
# Real NCCL on every GPU of this machine: one spark-nccl-worker per GPU (rank = GPU),
# rank 0's ncclUniqueId handed to the others exactly as spark-agent does, the sweep printed
# as nccl-tests' table, and every rank's #wrong checked to be 0.
#
#   nccl_gpu_test.sh WORKER [sweep arguments, default: -b 8 -e 128M -f 2 -n 20 -w 5]
#
# Exit 0 passed, 1 failed, 77 skipped (no GPU, no CUDA driver or no NCCL here; the reason
# is printed). Runs with the standalone worker build too (node_agent/nccl_worker), so a
# GPU machine without gRPC can run it.
set -u
worker=${1:?usage: nccl_gpu_test.sh WORKER [sweep arguments]}
shift
sweep=("$@")
[ ${#sweep[@]} -eq 0 ] && sweep=(-b 8 -e 128M -f 2 -n 20 -w 5)

skip() { echo "SKIPPED: $*"; exit 77; }

gpus=0
if command -v nvidia-smi > /dev/null 2>&1; then
  gpus=$(nvidia-smi -L 2> /dev/null | grep -c '^GPU ')
  [ "$gpus" -gt 0 ] || skip "nvidia-smi -L lists no GPU"
elif ldconfig -p 2> /dev/null | grep -q 'libcuda\.so\.1 '; then
  gpus=1  # a driver but no nvidia-smi: run one rank on device 0
else
  skip "no NVIDIA GPU here: nvidia-smi is not installed and libcuda.so.1 is not in the loader cache"
fi

out=$(mktemp -d)
trap 'kill $(jobs -p) 2> /dev/null; rm -rf "$out"' EXIT
echo "# $gpus GPU(s); one rank each"

"$worker" --rank 0 --nranks "$gpus" --device 0 "${sweep[@]}" > "$out/rank-0" 2> "$out/err-0" &
id=""
for _ in $(seq 1 600); do
  id=$(sed -n 's/^UNIQUE_ID //p' "$out/rank-0")
  [ -n "$id" ] && break
  if grep -q '^ERROR' "$out/rank-0"; then break; fi
  sleep 0.1
done
if [ -z "$id" ]; then
  wait
  error=$(sed -n 's/^ERROR //p' "$out/rank-0")
  case "$error" in
    "NCCL not found"*|"no CUDA driver"*) skip "$error" ;;
  esac
  echo "rank 0 printed no unique id: ${error:-$(tail -5 "$out/err-0")}"
  exit 1
fi
for ((rank = 1; rank < gpus; rank++)); do
  "$worker" --rank "$rank" --nranks "$gpus" --device "$rank" --unique-id "$id" "${sweep[@]}" \
    > "$out/rank-$rank" 2> "$out/err-$rank" &
done
failed=0
for job in $(jobs -p); do wait "$job" || failed=1; done

awk '$1 == "VERSION" { print "# NCCL " $2 ", CUDA driver " $4 }' "$out/rank-0"
for ((rank = 0; rank < gpus; rank++)); do
  awk -v r="$rank" '$1 == "DEVICE" { name = $7; for (i = 8; i <= NF; i++) name = name " " $i
    printf "#  Rank %2d device %d %s %s, %.1f GiB free\n", r, $2, $3, name, $4 / 1073741824 }' \
    "$out/rank-$rank"
done
{
  printf '#%63s%s%23s%s\n' "" "out-of-place" "" "in-place"
  printf '#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n' size count \
    type redop root time algbw busbw '#wrong' time algbw busbw '#wrong'
  printf '#%11s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s\n' '(B)' \
    '(elements)' '' '' '' '(us)' '(GB/s)' '(GB/s)' '' '(us)' '(GB/s)' '(GB/s)' ''
} | sed 's/ *$//'
awk '$1 == "ROW" { printf "%12d  %12d  %8s  %6s  %6d  %7.2f  %6.2f  %6.2f  %6s  %7.2f  %6.2f  %6.2f  %6s\n",
  $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 }' "$out/rank-0"

wrong=0
for ((rank = 0; rank < gpus; rank++)); do
  if grep -q '^ERROR' "$out/rank-$rank"; then
    echo "rank $rank: $(sed -n 's/^ERROR //p' "$out/rank-$rank")"
    failed=1
  fi
  summary=$(grep '^SUMMARY ' "$out/rank-$rank")
  [ -n "$summary" ] || { echo "rank $rank: no SUMMARY line"; failed=1; continue; }
  wrong=$((wrong + $(echo "$summary" | awk '{print $2}')))
done
avg=$(awk '$1 == "SUMMARY" { print $3 }' "$out/rank-0")
cap=$(awk '$1 == "SUMMARY" { print $6 }' "$out/rank-0")
[ "$wrong" -eq 0 ] && verdict=OK || verdict=FAILED
echo "# Out of bounds values : $wrong $verdict"
echo "# Avg bus bandwidth : ${avg:-0}"
echo "# Size cap (free GPU memory) : ${cap:-?} bytes"
[ "$wrong" -eq 0 ] && [ "$failed" -eq 0 ]

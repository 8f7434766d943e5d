#!/usr/bin/env bash
# Throughput of the teacher–student sweep on a many-core machine (Zucchet & Orvieto, NeurIPS 2024, §5 shape: batch 128,
# T = 300, hidden 64). Builds a self-contained memlab (no .NET needed on the machine where it runs), then records:
#   1. the bench model step on 1 and all threads (memlab bench),
#   2. memlab bench --sweep: a real training step beside the model step, and sweep run-steps/s on 1, 2, 4, … all cores,
#      with the paper-scale projections,
#   3. the whole quick reproduction (memlab reproduce --scale quick) on 2 workers and on all cores (wall seconds; the issue's
#      target is at least 5x on 16 cores).
# Usage: scripts/device-throughput.sh [OUT_DIR]   (default: device-throughput/); everything it measures goes to OUT_DIR.
#        scripts/device-throughput.sh --publish-only   builds publish/memlab and stops: on a machine without .NET, build it
#        elsewhere and carry publish/ (one compressed file of about 40 MB; uncompressed it is about 80 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
publish() {
  dotnet publish src/MemoryLab.Cli -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:EnableCompressionInSingleFile=true -p:CopyOutputSymbolsToPublishDirectory=false -p:PublishDocumentationFiles=false -o publish
}
if [ "${1:-}" = "--publish-only" ]; then
  publish
  ls -l publish/memlab
  exit 0
fi
out="${1:-device-throughput}"
mkdir -p "$out"
cores="$(nproc)"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 MEMLAB_PLAIN=1
if [ ! -x publish/memlab ]; then
  publish >"$out/publish.log" 2>&1       # else built elsewhere and carried here
fi
memlab="$PWD/publish/memlab"
workers="1"; w=2; while [ "$w" -lt "$cores" ]; do workers="$workers $w"; w=$((w * 2)); done; workers="$workers $cores"
{ echo "date: $(date -u +%FT%TZ)"; echo "cores: $cores"; echo "load before: $(cat /proc/loadavg)"; lscpu | grep -E 'Model name|^CPU\(s\)|Thread' || true; } >"$out/machine.txt"
"$memlab" bench --models lru complex_diagonal linear_rnn --threads 1 "$cores" --out "$out/bench" >"$out/bench.out" 2>"$out/bench.log"
"$memlab" bench --sweep --workers $workers --batches 128 16 --sweep-steps 2000 --runs-per-worker 1 --out "$out/sweep" >"$out/sweep.out" 2>"$out/sweep.log"
for w in 2 "$cores"; do
  rm -rf "$out/reproduce-$w"
  start=$(date +%s.%N)
  "$memlab" reproduce --scale quick --workers "$w" --out "$out/reproduce-$w" >"$out/reproduce-$w.log" 2>&1
  echo "reproduce quick (all) workers=$w wall_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" | tee -a "$out/reproduce.txt"
done
echo "load after: $(cat /proc/loadavg)" >>"$out/machine.txt"
cat "$out/sweep/sweep.md" "$out/reproduce.txt"

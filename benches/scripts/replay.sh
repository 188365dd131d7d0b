#!/usr/bin/env bash
# Replay throughput and peak memory: generates N events of NDJSON (once) and replays them with
# 1 and 2 workers, printing records/s (from the job's own summary) and max RSS (GNU time).
# Usage: benches/scripts/replay.sh [EVENTS] [UPSTREAM_SENTIMENT]   (defaults: 2000000 1.0)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-2000000}
upstream=${2:-1.0}
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
cargo build --release --locked -q -p brandpulse
bin=target/release/brandpulse
data=${BENCH_DIR:-/tmp/brandpulse-bench}/in-$events-$upstream
if [ ! -f "$data/mentions.ndjson" ]; then
  $bin generate --out "$data" --events "$events" --upstream-sentiment "$upstream" --hours 24
fi
echo "input: $data ($(du -sh "$data" | cut -f1)), upstream sentiment share $upstream"
for w in 1 2; do
  out=$(mktemp -d)
  /usr/bin/time -f "max_rss_kib=%M wall_s=%e" $bin replay --input "$data" --out "$out" -w "$w" --quiet 2>"$out.log" >/dev/null
  rate=$(grep -o '[0-9]* records/s' "$out.log" | head -1)
  rss=$(grep -o 'max_rss_kib=[0-9]*' "$out.log" | cut -d= -f2)
  wall=$(grep -o 'wall_s=[0-9.]*' "$out.log" | cut -d= -f2)
  echo "workers=$w  $rate  wall=${wall}s  peak_rss=$((rss / 1024)) MiB"
  rm -rf "$out" "$out.log"
done

#!/usr/bin/env bash
# Language detection + sentiment on the generator's multilingual mix (issue 16): generates
# EVENTS events of NDJSON with half the texts scored upstream (once), then runs the criterion
# bench `sentiment_mix` over its mentions and ad comments (one core; texts/s).
# Usage: benches/scripts/sentiment_mix.sh [EVENTS]   (default 200000)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-200000}
cargo build --release --locked -q -p brandpulse
data=${BENCH_DIR:-/tmp/brandpulse-bench}/mix-$events
if [ ! -f "$data/mentions.ndjson" ]; then
  target/release/brandpulse generate --out "$data" --events "$events" --upstream-sentiment 0.5 --hours 4
fi
BRANDPULSE_BENCH_MIX=$data cargo bench --locked -p brandpulse-benches --bench sentiment_mix

#!/usr/bin/env bash
# Kafka consume rate: starts a tansu broker on a free loopback port, feeds it with
# `brandpulse generate --kafka` (the generator's mix, 4 partitions per topic, as fast as the
# broker takes it, or at --rate), then runs `brandpulse run --stop-at-end` over the backlog with
# 1 and 2 workers and prints the records/s of the job's own summary and peak RSS (GNU time).
# Broker, producer and job share the machine's 2 cores.
# Usage: benches/scripts/kafka.sh [EVENTS] [RATE]   (defaults: 1000000 0 = unlimited)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-1000000}
rate=${2:-0}
cargo build --release --locked -q -p brandpulse
bin=$PWD/target/release/brandpulse
work=$(mktemp -d)
. benches/scripts/lib.sh
start_tansu
port=$kafka_port
export BRANDPULSE_KAFKA__BROKERS=127.0.0.1:$port BRANDPULSE_LOG=warn
$bin generate --kafka --events "$events" --rate "$rate" --partitions 4 --upstream-sentiment 1.0 2>&1 | tail -1
for w in 1 2; do
  export BRANDPULSE_RUN__STATE_DIR=$work/state-$w BRANDPULSE_RUN__PARQUET_DIR=$work/out-$w
  /usr/bin/time -f "max_rss_kib=%M wall_s=%e" $bin run --stop-at-end --start earliest -w "$w" 2>"$work/run.log" >/dev/null
  r=$(grep -o 'read [0-9]* records.*records/s' "$work/run.log" | head -1)
  rss=$(grep -o 'max_rss_kib=[0-9]*' "$work/run.log" | cut -d= -f2)
  echo "workers=$w  $r  peak_rss=$((rss / 1024)) MiB"
done

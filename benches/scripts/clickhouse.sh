#!/usr/bin/env bash
# Sustained insert rate into ClickHouse: starts a throw-away clickhouse-server (Debian 18.16) on a
# free port with a temp data dir, migrates, replays N generated events with the ClickHouse sink
# (live changes on and off) and prints rows/s and events/s over the whole run, which ends only
# when every batch is written. Usage: benches/scripts/clickhouse.sh [EVENTS] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-1000000}
workers=${2:-2}
cargo build --release --locked -q -p brandpulse
bin=$PWD/target/release/brandpulse
data=${BENCH_DIR:-/tmp/brandpulse-bench}/in-$events-0.5
if [ ! -f "$data/mentions.ndjson" ]; then
  $bin generate --out "$data" --events "$events" --upstream-sentiment 0.5 --hours 24
fi
work=$(mktemp -d)
dir=$work
. benches/scripts/lib.sh
start_clickhouse
port=$ch_port
echo "ClickHouse $(curl -s "http://127.0.0.1:$port/" --data-binary 'SELECT version()') on :$port; input $data"
for live in true false; do
  db="bench_$live"
  printf '[clickhouse]\nurl = "http://127.0.0.1:%s"\ndatabase = "%s"\nlive = %s\n' "$port" "$db" "$live" > "$dir/bp.toml"
  $bin --config "$dir/bp.toml" clickhouse migrate 2>/dev/null
  out=$(mktemp -d)
  /usr/bin/time -f "max_rss_kib=%M wall_s=%e" $bin --config "$dir/bp.toml" replay --input "$data" --out "$out" -w "$workers" --quiet 2>"$out.log" >/dev/null
  wall=$(grep -o 'wall_s=[0-9.]*' "$out.log" | cut -d= -f2)
  rss=$(grep -o 'max_rss_kib=[0-9]*' "$out.log" | cut -d= -f2)
  rows=$(grep -o 'clickhouse: [0-9]* rows' "$out.log" | grep -o '[0-9]*')
  records=$(grep -o 'records read: [0-9]*\|[0-9]* records' "$out.log" | head -1 | grep -o '[0-9]*' | head -1)
  python3 - "$rows" "$events" "$wall" "$live" "$rss" <<'PY'
import sys
rows, events, wall, live, rss = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
print(f"live={live:5}  rows={rows}  wall={wall:.2f}s  {rows / wall:,.0f} rows/s  {events / wall:,.0f} events/s  peak_rss={rss // 1024} MiB")
PY
  grep '^clickhouse:' "$out.log" | sed 's/^/  /'
  rm -rf "$out" "$out.log"
done

#!/usr/bin/env bash
# Kafka JSON → ClickHouse (SPEC §11): a tansu broker and Debian's clickhouse-server on free
# loopback ports, EVENTS generator-mix records produced with `generate --kafka` (4 partitions per
# topic, SENTIMENT = share of texts scored upstream), then `run --stop-at-end -w WORKERS` with the
# ClickHouse sink on (live changes). The wall time ends when the last batch is in ClickHouse, so
# the rates are sustained ones. Broker, server, producer and job share the machine's 2 cores.
# Usage: benches/scripts/kafka_clickhouse.sh [EVENTS] [WORKERS] [SENTIMENT]  (1000000 2 1.0)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-1000000}
workers=${2:-2}
sentiment=${3:-1.0}
cargo build --release --locked -q -p brandpulse
bin=$PWD/target/release/brandpulse
work=$(mktemp -d)
. benches/scripts/lib.sh
start_tansu
start_clickhouse
echo "tansu on :$kafka_port; ClickHouse $(curl -s "http://127.0.0.1:$ch_port/" --data-binary 'SELECT version()') on :$ch_port"
cat > "$work/bp.toml" <<TOML
[kafka]
brokers = "127.0.0.1:$kafka_port"
[clickhouse]
url = "http://127.0.0.1:$ch_port"
database = "bench"
[run]
state_dir = "$work/state"
parquet_dir = "$work/out"
TOML
export BRANDPULSE_LOG=warn
$bin --config "$work/bp.toml" generate --kafka --events "$events" --partitions 4 --upstream-sentiment "$sentiment" 2>&1 | tail -1
$bin --config "$work/bp.toml" clickhouse migrate 2>/dev/null
/usr/bin/time -f "max_rss_kib=%M wall_s=%e" $bin --config "$work/bp.toml" run --stop-at-end --start earliest -w "$workers" 2>"$work/run.log" >/dev/null \
  || { tail -20 "$work/run.log" >&2; exit 1; }
wall=$(grep -o 'wall_s=[0-9.]*' "$work/run.log" | cut -d= -f2)
rss=$(grep -o 'max_rss_kib=[0-9]*' "$work/run.log" | cut -d= -f2)
rows=$(grep -o 'clickhouse: [0-9]* rows' "$work/run.log" | grep -o '[0-9]*')
records=$(grep -o 'read [0-9]* records' "$work/run.log" | head -1 | grep -o '[0-9]*')
in_ch=$(curl -s "http://127.0.0.1:$ch_port/" --data-binary "SELECT sum(mentions) FROM bench.brand_metrics_daily")
python3 - "$records" "$rows" "$wall" "$rss" "$in_ch" <<'PY'
import sys
records, rows, wall, rss, in_ch = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"records={records}  rows={rows}  wall={wall:.2f}s  {records / wall:,.0f} records/s  {rows / wall:,.0f} rows/s  peak_rss={rss // 1024} MiB  mentions in brand_metrics_daily={in_ch}")
PY
grep '^clickhouse:' "$work/run.log" | sed 's/^/  /'
grep -o 'read [0-9]* records.*records/s' "$work/run.log" | head -1 | sed 's/^/  job summary: /'

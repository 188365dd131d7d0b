#!/usr/bin/env bash
# Runs every brandpulse test from a fresh Debian machine: installs what the tests need, then
# builds and runs the whole workspace's tests (unit, doc, golden, bad-input, oracle, bounded state).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found. Install Rust (rustup) first: https://rustup.rs" >&2
  exit 1
fi
# The VADER reference test reads the human-rated tweets shipped beside the project.
if [ ! -f ../shared/data/vader-tweets/tweets_GroundTruth.txt ]; then
  echo "error: ../shared/data/vader-tweets/tweets_GroundTruth.txt is missing (the project expects shared/ beside it)" >&2
  exit 1
fi

# Build dependencies of rdkafka's bundled librdkafka (SSL/SASL support) and of the tests.
missing=""
for pkg in libssl-dev pkg-config zlib1g-dev make; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing" >&2
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi
# The ClickHouse server of the ClickHouse tests (Debian's 18.16; the tests start their own on free
# ports with a temp data dir) and chdb (current ClickHouse in process, for the DDL/views check).
if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
  echo "installing Debian packages: clickhouse-server clickhouse-client" >&2
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client
fi
if ! python3 -c "import chdb" >/dev/null 2>&1; then
  echo "installing chdb (pip)" >&2
  python3 -m pip install -q chdb
fi
# The Kafka-protocol test broker (tansu); the tests start their own on free ports.
TANSU_BIN=$(bash scripts/setup-kafka.sh)
export TANSU_BIN

# --no-fail-fast: every test binary runs and reports, not only those before the first failure.
cargo test --workspace --release --locked --no-fail-fast "$@"

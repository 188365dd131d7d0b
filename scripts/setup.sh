#!/usr/bin/env bash
# Installs, on a fresh Debian machine, everything the tests need besides Rust itself: the build
# dependencies of rdkafka's bundled librdkafka, cargo-nextest when missing, Debian's
# clickhouse-server (the tests start their own on free ports with a temp data dir), chdb (current
# ClickHouse in process, for the DDL/views check), the tansu Kafka broker, and Debian's chromium
# with playwright-core for the dashboard's browser test (scripts/setup-e2e.sh). Idempotent: what
# is there is left alone. Prints TANSU_BIN=<path> on its last line.
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

apt_updated=""
apt_install() {
  echo "setup: installing Debian packages: $*" >&2
  if [ -z "$apt_updated" ]; then apt-get update -q >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

missing=""
for pkg in libssl-dev pkg-config zlib1g-dev make; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install $missing
if ! command -v clickhouse-server >/dev/null 2>&1 && [ ! -x /usr/sbin/clickhouse-server ]; then
  apt_install clickhouse-server clickhouse-client
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest (cargo install --locked cargo-nextest)" >&2
  cargo install --locked cargo-nextest >&2
fi
if ! python3 -c "import chdb" >/dev/null 2>&1; then
  echo "setup: installing chdb (pip)" >&2
  python3 -m pip install -q --disable-pip-version-check chdb >&2
fi
# Headless Chromium and playwright-core for the dashboard test (it::dashboard).
bash scripts/setup-e2e.sh >&2
# The Kafka-protocol test broker (tansu); the tests start their own on free ports.
echo "TANSU_BIN=$(bash scripts/setup-kafka.sh)"

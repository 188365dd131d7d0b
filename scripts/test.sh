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
# The Kafka-protocol test broker (tansu); the tests start their own on free ports.
TANSU_BIN=$(bash scripts/setup-kafka.sh)
export TANSU_BIN

cargo test --workspace --release --locked "$@"

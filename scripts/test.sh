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

cargo test --workspace --release --locked "$@"

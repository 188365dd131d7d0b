#!/usr/bin/env bash
# Runs every brandpulse test from a fresh Debian machine: installs what the tests need
# (scripts/setup.sh), then builds the workspace in the `fast` test profile and runs every test
# with cargo-nextest (each test in its own process, two at a time, its time printed) plus the doc
# tests.
#
#   scripts/test.sh                      # everything (what CI runs)
#   scripts/test.sh -E 'test(/^golden::/)'   # one area: extra arguments go to `cargo nextest run`
#                                         # (doc tests are then skipped)
set -euo pipefail
cd "$(dirname "$0")/.."

setup_out=$(bash scripts/setup.sh)
TANSU_BIN=${setup_out##*TANSU_BIN=}
export TANSU_BIN

if [ $# -eq 0 ]; then
  # nextest does not run doc tests; cargo does, in the same profile (same compiled dependencies).
  cargo test --doc --profile fast --locked
fi
# The root manifest is a virtual workspace: with no -p, every member is built and tested.
cargo nextest run --cargo-profile fast --locked "$@"

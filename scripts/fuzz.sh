#!/usr/bin/env bash
# Runs the cargo-fuzz targets for a bounded time (fuzz/README.md).
#   scripts/fuzz.sh [SECONDS] [TARGET]    SECONDS per target (default 60); TARGET decode or
#                                         decode_dataflow (default: both, one after the other)
# Sets up what it needs: the nightly toolchain and cargo-fuzz. Starts from the committed seeds
# (fuzz/seeds/TARGET) and regressions; new inputs land in fuzz/corpus/TARGET (not committed:
# `cargo fuzz cmin` it and copy small, interesting ones into fuzz/seeds). A crash is written to
# fuzz/artifacts/TARGET and the script exits non-zero. Copy a fixed crash into fuzz/regressions/TARGET: the stable test
# `it::fuzz_regressions` replays it in every test run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets=("${2:-decode}")
[[ $# -ge 2 ]] || targets=(decode decode_dataflow)
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2;; esac
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for t in "${targets[@]}"; do
  case "$t" in decode|decode_dataflow) ;; *) echo "fuzz.sh: unknown target '$t' (decode, decode_dataflow)" >&2; exit 2;; esac
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t" "fuzz/seeds/$t" "fuzz/regressions/$t"
  echo "fuzzing $t for ${seconds}s (corpus fuzz/corpus/$t)"
  # -max_len: records up to 64 KiB of text plus fields; -timeout: a single input over 10 s is a hang.
  (cd fuzz && cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" "regressions/$t" -- \
      -max_total_time="$seconds" -max_len=80000 -timeout=10 -print_final_stats=1)
done

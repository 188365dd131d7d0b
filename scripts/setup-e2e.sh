#!/usr/bin/env bash
# Installs what the dashboard's browser test (pipeline/tests/it/dashboard.rs) needs: Debian's
# `chromium` (the test runs it headless, with --no-sandbox, so it also works as root) and, in
# pipeline/tests/e2e, the playwright-core pinned by its package-lock.json (`npm ci`; it downloads
# no browser: the test drives Debian's chromium through `executablePath`). Needs Node.js >= 20
# (playwright-core's minimum). Idempotent and quiet: what is there is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_updated=""
apt_install() {
  echo "setup-e2e: installing Debian packages: $*" >&2
  if [ -z "$apt_updated" ]; then apt-get update -q >&2; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

command -v chromium >/dev/null 2>&1 || apt_install chromium
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "error: the dashboard test needs Node.js >= 20 (found $(node --version)); install a newer one" >&2
  exit 1
fi

e2e=pipeline/tests/e2e
want=$(node -p 'require("./'"$e2e"'/package-lock.json").packages["node_modules/playwright-core"].version')
have=$(node -p 'try { require("./'"$e2e"'/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$have" != "$want" ]; then
  echo "setup-e2e: npm ci in $e2e (playwright-core $want)" >&2
  (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
fi

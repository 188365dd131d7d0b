#!/usr/bin/env bash
# Kill-switch latency (SPEC §11): time from reading the triggering comment to the webhook request
# leaving, with background load. Generates the demo stream (EVENTS facts over 1 h of event time)
# plus BRANDS extra brands, each with one ad whose comments turn into a crisis at its own time
# (a second partition, `ad_comments.1.ndjson`), so every crisis fires one pause_all_publishing.
# Replays it with `--fire-actions` to a local receiver (python3, answers 200) at the speed (event
# time per wall time, `--speed`) that makes RATE records/s: every worker reads each 1 s of event
# time when its time has come, as a live feed arrives. Prints p50/p99/max of the per-action
# latency the job logs (`latency_ms`, from the start of reading the comment's epoch: an upper
# bound) and the background rate reached.
# Usage: benches/scripts/kill_switch.sh [EVENTS] [RATE] [BRANDS]   (defaults: 3000000 100000 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
events=${1:-3000000}
rate=${2:-100000}
brands=${3:-200}
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q -p brandpulse
bin=target/release/brandpulse
data=${BENCH_DIR:-/tmp/brandpulse-bench}/ks-$events-$brands
if [ ! -f "$data/mentions.ndjson" ]; then
  $bin generate --out "$data" --events "$events" --upstream-sentiment 1.0 --hours 1
  python3 - "$data" "$brands" <<'PY'
import json, sys, datetime
d, n = sys.argv[1], int(sys.argv[2])
first = json.loads(open(f"{d}/mentions.ndjson").readline())["ts"]
start = first if isinstance(first, int) else int(datetime.datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp() * 1000)
iso = lambda ms: datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
with open(f"{d}/brands.ndjson", "a") as b, open(f"{d}/ads.ndjson", "a") as a, open(f"{d}/ad_comments.1.ndjson", "w") as c:
    for i in range(n):
        b.write(json.dumps({"brand_id": f"bench-{i}", "kill_switch": {"enabled": True}}) + "\n")
        a.write(json.dumps({"ad_id": f"bench-ad-{i}", "brand_id": f"bench-{i}", "platform": "facebook", "account_id": "x", "spend_per_hour": 1.0}) + "\n")
    # Crisis i starts 2 min + i * (55 min / n) into the hour: 25 negative comments, 100 ms apart.
    for i in range(n):
        t0 = start + 120_000 + i * (55 * 60_000 // n)
        for k in range(25):
            c.write(json.dumps({"event_id": f"bench-c-{i}-{k}", "ts": iso(t0 + 100 * k), "ad_id": f"bench-ad-{i}", "platform": "facebook", "author_id": f"u{k}", "text": "this is a scam", "sentiment": -0.9}) + "\n")
PY
fi
port_file=$(mktemp)
python3 - "$port_file" <<'PY' &
import sys, http.server
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
receiver=$!
trap 'kill $receiver 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
# 1 h of event time holds every record: RATE records/s is 3600 * RATE / records times real time.
records=$(cat "$data"/*.ndjson | wc -l)
speed=$(python3 -c "print($rate * 3600 / $records)")
out=$(mktemp -d)
log="$out.log"
start=$(date +%s.%N)
BRANDPULSE_ACTIONS__URL="http://127.0.0.1:$(cat "$port_file")/hook" \
  $bin --log-format json replay --input "$data" --out "$out" --state-dir "$out/state" --fire-actions \
  --speed "$speed" --epoch-seconds 1 -w 2 --quiet 2>"$log" >/dev/null
end=$(date +%s.%N)
python3 - "$log" "$start" "$end" <<'PY'
import json, sys
lat = []
lines = 0
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    f = j.get("fields", {})
    if f.get("message") == "kill-switch action acknowledged" and float(f.get("latency_ms", -1)) >= 0:
        lat.append(float(f["latency_ms"]))
lat.sort()
wall = float(sys.argv[3]) - float(sys.argv[2])
import math
q = lambda p: lat[max(0, math.ceil(p * len(lat)) - 1)]  # nearest rank
if not lat:
    sys.exit("no acknowledged actions with a latency in the log")
print(f"actions={len(lat)} wall={wall:.1f}s latency_ms p50={q(0.5):.1f} p99={q(0.99):.1f} max={lat[-1]:.1f}")
PY
grep -o '[0-9]* records/s' "$log" | head -1 | sed 's/^/background: /'
rm -rf "$out" "$log" "$port_file"

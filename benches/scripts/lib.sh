# Shared by the bench scripts (sourced): throw-away services on free loopback ports, removed on
# exit. Needs $work (a temp dir) set by the caller.
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done; rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_tansu: an in-memory tansu broker; sets $kafka_port.
start_tansu() {
  local tansu
  tansu=$(scripts/setup-kafka.sh 2>/dev/null)
  kafka_port=$(free_port)
  "$tansu" broker --listener-url tcp://127.0.0.1:$kafka_port --advertised-listener-url tcp://127.0.0.1:$kafka_port >"$work/tansu.log" 2>&1 &
  cleanup+=("kill $! 2>/dev/null")
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$kafka_port) 2>/dev/null && return 0; sleep 0.1; done
  echo "tansu did not start: $(tail -5 "$work/tansu.log")" >&2; exit 1
}

# start_clickhouse: Debian's clickhouse-server with a temp data dir; sets $ch_port (HTTP).
start_clickhouse() {
  local server tcp dir=$work/ch
  server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
  [ -x "$server" ] || { echo "clickhouse-server missing: apt-get install -y clickhouse-server clickhouse-client" >&2; exit 1; }
  ch_port=$(free_port)
  tcp=$(free_port)
  mkdir -p "$dir/data" "$dir/tmp"
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/err.log</errorlog><console>0</console></logger>
  <http_port>$ch_port</http_port><tcp_port>$tcp</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path><tmp_path>$dir/tmp/</tmp_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
  "$server" --config-file="$dir/config.xml" >/dev/null 2>&1 &
  cleanup+=("kill $! 2>/dev/null; wait $! 2>/dev/null")
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$ch_port/" --data-binary 'SELECT 1' >/dev/null && return 0; sleep 0.1; done
  echo "clickhouse-server did not start: $(tail -5 "$dir/err.log" 2>/dev/null)" >&2; exit 1
}

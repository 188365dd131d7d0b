//! Test harness for the ClickHouse tests: a real `clickhouse-server` on free loopback ports with
//! its data in a temp dir (stopped and removed when dropped; can be stopped and started again on
//! the same ports and data), a small HTTP query helper, and a config file for the binary.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// The command that installs the server.
pub const SETUP: &str =
    "apt-get install -y clickhouse-server clickhouse-client (scripts/test.sh does this when it is missing)";

/// Finds `clickhouse-server`: `CLICKHOUSE_SERVER_BIN`, or on PATH (Debian installs /usr/sbin).
pub fn server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CLICKHOUSE_SERVER_BIN") {
        return PathBuf::from(p);
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join("clickhouse-server");
        if p.exists() {
            return p;
        }
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v clickhouse-server"]).output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    panic!("clickhouse-server is not installed: run {SETUP}");
}

/// A ClickHouse server of the test.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// HTTP port.
    pub http_port: u16,
    /// Native protocol port.
    pub tcp_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// Starts a server on free ports with a fresh data dir and waits until it answers.
    pub fn start() -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = Server { child: None, dir, http_port: free_port(), tcp_port: free_port() };
        s.write_config();
        s.start_again();
        s
    }

    fn write_config(&self) {
        let d = self.dir.path();
        std::fs::create_dir_all(d.join("data")).unwrap();
        std::fs::create_dir_all(d.join("tmp")).unwrap();
        let users = ["/etc/clickhouse-server/users.xml"].into_iter().find(|p| Path::new(p).exists());
        let users = users.unwrap_or_else(|| panic!("/etc/clickhouse-server/users.xml is missing: run {SETUP}"));
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/server.err.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <users_config>{users}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
"#,
            d = d.display(),
            http = self.http_port,
            tcp = self.tcp_port,
        );
        std::fs::write(d.join("config.xml"), config).unwrap();
    }

    /// Starts the server again (same ports, same data) and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let bin = server_bin();
        let child = Command::new(&bin)
            .arg(format!("--config-file={}", self.dir.path().join("config.xml").display()))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); install it with {SETUP}", bin.display()));
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if let Ok(v) = self.try_query("SELECT version()") {
                if !v.trim().is_empty() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                let log = std::fs::read_to_string(self.dir.path().join("server.err.log")).unwrap_or_default();
                panic!("clickhouse-server exited with {status} at start:\n{log}");
            }
            assert!(started.elapsed() < Duration::from_secs(30), "clickhouse-server did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGKILL: the hardest case for the sink) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The port is free once nothing accepts on it.
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.http_port)).is_ok() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Runs `sql` over HTTP; returns the body or the server's error.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        http_post(self.http_port, "/", sql)
    }

    /// Runs `sql`, panicking with the server's message on error.
    pub fn query(&self, sql: &str) -> String {
        self.try_query(sql).unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"))
    }

    /// Rows of `sql` as JSON objects (`FORMAT JSONEachRow`, 64-bit integers unquoted).
    pub fn rows(&self, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.rows_in("default", sql)
    }

    /// [`Server::rows`] with `db` as the current database.
    pub fn rows_in(&self, db: &str, sql: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        let path = format!("/?database={db}&output_format_json_quote_64bit_integers=0");
        let body = http_post(self.http_port, &path, &format!("{sql} FORMAT JSONEachRow"))
            .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"));
        body.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str(l) {
                Ok(serde_json::Value::Object(m)) => m,
                other => panic!("not a JSON row: {l}: {other:?}"),
            })
            .collect()
    }

    /// A config file pointing the binary at this server's database `db`.
    pub fn config_file(&self, dir: &Path, db: &str, extra: &str) -> PathBuf {
        let p = dir.join(format!("clickhouse-{db}.toml"));
        std::fs::write(&p, format!("[clickhouse]\nurl = \"{}\"\ndatabase = \"{db}\"\n{extra}\n", self.url())).unwrap();
        p
    }
}

/// A minimal HTTP/1.0 POST (the query in the body), enough for tests; no keep-alive.
fn http_post(port: u16, path: &str, body: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let req = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| format!("write: {e}"))?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&resp).to_string();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("bad response: {text}"))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status != "200" {
        return Err(format!("HTTP {status}: {body}"));
    }
    Ok(body.to_string())
}

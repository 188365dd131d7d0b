//! The HTTP server's connection limits (`[http]`, README "Configuration"; issue 15 row 11): the
//! real binary replays the golden input with `--serve` and keeps serving; raw TCP clients on
//! loopback play the half-open and idle connections.
//!
//! Expected times come from the configuration, not from the code: with
//! `header_read_timeout_seconds = 1` a connection without a complete header is closed 1 s after
//! it is accepted; with `max_connections = 3`, six silent connections are served in two rounds
//! (the first three closed at 1 s, the next three accepted then and closed at 2 s), so a request
//! that arrives after them is answered at about 2 s.

use crate::support::common::tests_dir;
use crate::support::kill_switch::http;
use crate::support::launch::{Job, Launch};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);
/// Slack on every measured time (a shared 2-core machine, the replay running beside).
const MARGIN: Duration = Duration::from_secs(2);

/// `replay --serve` of the golden input with `[http]` extended by `http_keys`.
fn serve(dir: &Path, http_keys: &str) -> (Job, String) {
    let cfg = dir.join("brandpulse.toml");
    std::fs::write(&cfg, format!("[http]\nlisten = \"127.0.0.1:0\"\n{http_keys}")).unwrap();
    let (out, state) = (dir.join("out"), dir.join("state"));
    let input = tests_dir().join("golden").join("input");
    let args = [
        "--config",
        cfg.to_str().unwrap(),
        "replay",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--quiet",
        "--serve",
    ];
    let mut job = Launch::new(args).spawn();
    let api = job.api_addr(T);
    (job, api)
}

/// Reads until the server closes the connection (EOF or reset) and returns what arrived; panics
/// when the connection is still open `within` after the call.
fn read_until_closed(s: &mut TcpStream, within: Duration) -> Vec<u8> {
    let until = Instant::now() + within;
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    loop {
        let left = until.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => {
                panic!("connection still open after {within:?} ({e}); received {:?}", String::from_utf8_lossy(&got))
            }
        }
    }
}

#[test]
fn half_open_and_idle_connections_are_closed_at_the_header_read_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (_job, api) = serve(dir.path(), "header_read_timeout_seconds = 1\n");
    let timeout = Duration::from_secs(1);

    // Connected, nothing sent.
    let mut silent = TcpStream::connect(&api).unwrap();
    // Half a request: the request line and one header, no blank line, then nothing.
    let mut partial = TcpStream::connect(&api).unwrap();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: brandpulse\r\nX-Slow: ").unwrap();
    // One complete keep-alive request, answered; then the connection idles.
    let mut idle = TcpStream::connect(&api).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: brandpulse\r\n\r\n").unwrap();
    let t0 = Instant::now();

    for (what, s, answer) in
        [("silent", &mut silent, None), ("partial", &mut partial, None), ("idle keep-alive", &mut idle, Some("ok\n"))]
    {
        let got = String::from_utf8(read_until_closed(s, timeout + MARGIN)).unwrap();
        let closed_after = t0.elapsed();
        match answer {
            None => assert_eq!(got, "", "{what}: closed without an answer"),
            Some(body) => assert!(got.starts_with("HTTP/1.1 200 ") && got.ends_with(body), "{what}: {got}"),
        }
        // Not closed at once: it is the timeout that closed it (accepted at most a few ms
        // before t0), and within the timeout plus the margin.
        assert!(
            closed_after >= timeout - Duration::from_millis(100) && closed_after <= timeout + MARGIN,
            "{what}: closed after {closed_after:?}, the header-read timeout is {timeout:?}"
        );
    }
    // The server still answers.
    assert_eq!(http(&api, "GET", "/healthz", None), (200, "ok\n".to_string()));
}

#[test]
fn connections_beyond_max_connections_wait_and_are_served_when_idle_ones_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_job, api) = serve(dir.path(), "header_read_timeout_seconds = 1\nmax_connections = 3\n");
    // Six silent connections: three served at once, three waiting in the listen backlog.
    let mut idle: Vec<TcpStream> = (0..6).map(|_| TcpStream::connect(&api).unwrap()).collect();
    let t0 = Instant::now();
    // A normal request behind them waits for two rounds of the 1 s timeout, then is answered.
    assert_eq!(http(&api, "GET", "/healthz", None), (200, "ok\n".to_string()));
    let answered_after = t0.elapsed();
    assert!(
        answered_after >= Duration::from_millis(1800) && answered_after <= Duration::from_secs(2) + MARGIN,
        "answered after {answered_after:?}; expected about 2 s (6 idle connections, 3 at a time, 1 s each)"
    );
    // Every idle connection was closed without an answer (they were before the request's turn).
    for (i, s) in idle.iter_mut().enumerate() {
        assert_eq!(read_until_closed(s, MARGIN), b"", "idle connection {i}");
    }
}

#[test]
fn http_limits_out_of_range_are_refused_naming_the_key_and_range() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("brandpulse.toml");
    for (key, value, range) in [
        ("header_read_timeout_seconds", 0, "1 to 3600"),
        ("header_read_timeout_seconds", 3601, "1 to 3600"),
        ("request_timeout_seconds", 0, "1 to 3600"),
        ("max_connections", 0, "1 to 65536"),
        ("max_connections", 65537, "1 to 65536"),
    ] {
        std::fs::write(&cfg, format!("[http]\n{key} = {value}\n")).unwrap();
        let err = Launch::new(["--config", cfg.to_str().unwrap(), "--print-config"])
            .run(T)
            .expect_err("an out-of-range key is refused");
        assert!(err.contains(&format!("key `http.{key}` is {value}; allowed: {range}")), "{key} = {value}: {err}");
    }
}

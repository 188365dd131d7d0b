//! Harness shared by every area of the integration tests.

pub mod clickhouse;
pub mod common;
pub mod kafka;
pub mod kill_switch;
pub mod launch;

use std::net::TcpListener;

/// A loopback TCP port that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().expect("local_addr").port()
}

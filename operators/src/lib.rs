//! brandpulse dataflow operators: pure functions of timely streams, no I/O.
//!
//! The dataflow ([`job::brandpulse`]) runs in epochs: every stateful operator is an
//! [`epoch::epoch_operator`] that owns the state of its keys, processes each epoch whole and in a
//! deterministic order, and receives the watermark and brand rows on a broadcast side input.
#![deny(missing_docs)]

pub mod ads;
pub mod agg;
pub mod brand;
pub mod care;
pub mod checkpoint;
pub mod dedup;
pub mod driver;
pub mod epoch;
pub mod job;
pub mod sentiment;
pub mod types;
pub mod watermark;
pub mod windows;

pub use checkpoint::Snapshots;
pub use job::{brandpulse, brandpulse_with, Inputs, Outputs};
pub use types::*;

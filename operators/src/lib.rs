//! brandpulse dataflow operators.
pub mod sentiment;

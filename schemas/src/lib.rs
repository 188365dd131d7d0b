//! brandpulse event and output types, their Arrow schemas, decoding and validation (no I/O).
#![deny(missing_docs)]

pub mod decode;
pub mod error;
pub mod events;
pub mod output;
pub mod time;

pub use decode::{decode, Decoded, RecordRef};
pub use error::{DecodeError, Reason};
pub use events::*;
pub use output::*;

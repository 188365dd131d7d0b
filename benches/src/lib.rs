//! brandpulse benchmark helpers.

pub mod snownlp;

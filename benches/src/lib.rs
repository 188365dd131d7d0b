//! brandpulse benchmark helpers.

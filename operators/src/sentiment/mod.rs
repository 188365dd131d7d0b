//! Sentiment scoring: VADER for English, word-valence lexicons for other languages, language detection.

pub mod ar;
pub mod european;
pub mod lang;
pub mod lexicon;
pub mod vader;
pub mod zh;

use std::collections::HashMap;
use std::sync::Arc;

pub use lexicon::{Lexicon, LexiconError};
pub use vader::Vader;

/// Scores texts: English with VADER, other languages with configured lexicons.
///
/// Cheap to clone: the VADER data is shared process-wide and lexicons are behind [`Arc`]s.
#[derive(Clone, Debug)]
pub struct Scorer {
    vader: Vader,
    /// Lexicons by ISO 639-1 code.
    lexicons: HashMap<String, Arc<Lexicon>>,
}

impl Default for Scorer {
    fn default() -> Self {
        Self::english_only()
    }
}

impl Scorer {
    /// English only (the default).
    pub fn english_only() -> Self {
        Self { vader: Vader::new(), lexicons: HashMap::new() }
    }

    /// Adds a lexicon for the language `lang` (ISO 639-1 code such as "fr"), normalized like an
    /// event's `lang` field (see [`lang::normalize`]). It replaces any earlier lexicon for that
    /// language; a lexicon for "en" replaces VADER.
    ///
    /// # Panics
    /// If `lang` is not a language code; use [`Scorer::try_with_lexicon`] to get an error instead.
    pub fn with_lexicon(self, lang: &str, lexicon: Lexicon) -> Self {
        self.try_with_lexicon(lang, lexicon).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Scorer::with_lexicon`], but returns [`LexiconError::UnknownLanguage`] when `lang`
    /// is not a language code.
    pub fn try_with_lexicon(mut self, lang: &str, lexicon: Lexicon) -> Result<Self, LexiconError> {
        let code = lang::normalize(lang).ok_or_else(|| LexiconError::UnknownLanguage(lang.to_owned()))?;
        self.lexicons.insert(code.to_owned(), Arc::new(lexicon));
        Ok(self)
    }

    /// The VADER analyzer used for English.
    pub fn vader(&self) -> &Vader {
        &self.vader
    }

    /// Score in [-1, 1], or None when the text is unscored (language known but no lexicon, or language undetectable).
    /// `lang` is the event's `lang` field when present (ISO 639-1, case-insensitive, a region suffix like "en-US" is ignored); otherwise the language is detected from the text.
    ///
    /// A `lang` that is not a language code (such as Twitter's "und") counts as absent. English
    /// is scored with VADER's compound score, other languages with their lexicon
    /// ([`Lexicon::score`]).
    pub fn score(&self, text: &str, lang: Option<&str>) -> Option<f64> {
        let code = match lang.and_then(lang::normalize) {
            Some(code) => code,
            None => lang::detect(text)?,
        };
        match self.lexicons.get(code) {
            Some(lexicon) => Some(lexicon.score(text)),
            None if code == "en" => Some(self.vader.compound(text)),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn french() -> Lexicon {
        Lexicon::parse("texte\t1.5\nmauvais\t-2\n").unwrap()
    }

    #[test]
    fn other_languages_need_a_lexicon() {
        let scorer = Scorer::english_only();
        assert_eq!(scorer.score("Ceci est un texte", Some("fr")), None);
        let scorer = scorer.with_lexicon("fr", french());
        let score = scorer.score("Ceci est un texte", Some("fr")).unwrap();
        assert!(score > 0.0 && score <= 1.0, "{score}");
        assert_eq!(scorer.score("Ceci est un texte", Some("FR-ca")), Some(score));
        assert_eq!(scorer.score("Dies ist ein Text", Some("de")), None);
    }

    #[test]
    fn english_uses_vader() {
        let scorer = Scorer::english_only().with_lexicon("fr", french());
        let text = "VADER is smart, handsome, and funny!";
        let vader = Vader::new().compound(text);
        assert!(vader > 0.5);
        assert_eq!(scorer.score(text, Some("en-US")), Some(vader));
        assert_eq!(scorer.score(text, Some("EN")), Some(vader));
        assert_eq!(scorer.score(text, None), Some(vader));
        assert_eq!(scorer.score(text, Some("und")), Some(vader));
        assert_eq!(scorer.score("so bad", None), Some(Vader::new().compound("so bad")));
    }

    #[test]
    fn detected_language_picks_the_lexicon() {
        let scorer = Scorer::english_only().with_lexicon("fr", french());
        let text = "Ce film était vraiment mauvais, je ne le recommande à personne du tout.";
        assert_eq!(lang::detect(text), Some("fr"));
        assert_eq!(scorer.score(text, None), Some(french().score(text)));
        assert!(scorer.score(text, None).unwrap() < 0.0);
        assert_eq!(Scorer::english_only().score(text, None), None);
        assert_eq!(scorer.score("", None), None);
    }

    #[test]
    fn lexicon_language_must_be_a_code() {
        let err = Scorer::english_only().try_with_lexicon("french", french()).unwrap_err();
        assert!(matches!(err, LexiconError::UnknownLanguage(ref l) if l == "french"), "{err}");
    }
}

//! Sentiment scoring: VADER for English, word-valence lexicons for other languages, language detection.

pub mod ar;
pub mod european;
pub mod lang;
pub mod lexicon;
pub mod vader;
pub mod zh;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use lexicon::{Lexicon, LexiconError};
pub use vader::Vader;

/// The languages scored out of the box (SPEC §4), by ISO 639-1 code: English, French,
/// Portuguese and German on the VADER method, Chinese ([`zh`]) and Arabic ([`ar`]).
pub const BUILTIN: [&str; 6] = ["en", "fr", "pt", "de", "zh", "ar"];

/// How one language is scored.
#[derive(Clone, Debug)]
enum Method {
    /// The VADER method on that language's data ([`Vader`], [`european`]).
    Vader(Vader),
    /// Chinese: segmentation and its lexicon ([`zh::compound`]).
    Chinese,
    /// Arabic: normalisation and its lexicon ([`ar::compound`]).
    Arabic,
    /// A user's lexicon file ([`Lexicon::score`]).
    Lexicon(Arc<Lexicon>),
}

impl Method {
    fn builtin(code: &str) -> Option<Method> {
        match code {
            "en" => Some(Method::Vader(Vader::new())),
            "zh" => Some(Method::Chinese),
            "ar" => Some(Method::Arabic),
            _ => european::scorer(code).map(|v| Method::Vader(*v)),
        }
    }

    fn score(&self, text: &str) -> f64 {
        match self {
            Method::Vader(v) => v.compound(text),
            Method::Chinese => zh::compound(text),
            Method::Arabic => ar::compound(text),
            Method::Lexicon(l) => l.score(text),
        }
    }
}

/// Scores texts in the languages it has a method for: the built-in ones ([`BUILTIN`]) and user
/// lexicons; counts scored and unscored mentions by language ([`LangCounts`]).
///
/// Cheap to clone: the language data is shared process-wide, lexicons and counts are behind
/// [`Arc`]s (clones share one set of counts).
#[derive(Clone, Debug)]
pub struct Scorer {
    /// (ISO 639-1 code, method); a handful of entries, searched in order.
    methods: Vec<(&'static str, Method)>,
    counts: Arc<LangCounts>,
}

impl Default for Scorer {
    /// Every built-in language ([`Scorer::builtin`]).
    fn default() -> Self {
        Self::builtin()
    }
}

impl Scorer {
    /// Every language of [`BUILTIN`].
    pub fn builtin() -> Self {
        Self::for_languages(&BUILTIN).expect("built-in languages")
    }

    /// English only (SPEC §4 before the built-in languages; what `sentiment.languages = ["en"]` selects).
    pub fn english_only() -> Self {
        Self::for_languages(&["en"]).expect("English is built in")
    }

    /// The built-in scorers of `langs` (ISO 639-1 codes, normalized like an event's `lang`);
    /// an empty list scores nothing until a lexicon is added.
    ///
    /// # Errors
    /// [`LexiconError::UnknownLanguage`] for a code that is not a language,
    /// [`LexiconError::NoBuiltin`] for a language without a built-in scorer.
    pub fn for_languages(langs: &[&str]) -> Result<Self, LexiconError> {
        let mut scorer = Self { methods: Vec::new(), counts: Arc::default() };
        for &lang in langs {
            let code = lang::normalize(lang).ok_or_else(|| LexiconError::UnknownLanguage(lang.to_owned()))?;
            let method = Method::builtin(code).ok_or_else(|| LexiconError::NoBuiltin(lang.to_owned()))?;
            scorer.set(code, method);
        }
        Ok(scorer)
    }

    fn set(&mut self, code: &'static str, method: Method) {
        match self.methods.iter_mut().find(|(c, _)| *c == code) {
            Some(slot) => slot.1 = method,
            None => self.methods.push((code, method)),
        }
    }

    /// The languages this scorer scores, in the order they were added.
    pub fn languages(&self) -> Vec<&'static str> {
        self.methods.iter().map(|&(c, _)| c).collect()
    }

    /// Adds a lexicon for the language `lang` (ISO 639-1 code such as "fr"), normalized like an
    /// event's `lang` field (see [`lang::normalize`]). It replaces the built-in scorer or an
    /// earlier lexicon for that language (a lexicon for "en" replaces VADER).
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
        self.set(code, Method::Lexicon(Arc::new(lexicon)));
        Ok(self)
    }

    /// The VADER analyzer used for English.
    pub fn vader(&self) -> Vader {
        Vader::new()
    }

    /// Score in [-1, 1], or None when the text is unscored (no method for its language, or
    /// language undetectable); see [`Scorer::score_lang`].
    pub fn score(&self, text: &str, lang: Option<&str>) -> Option<f64> {
        self.score_lang(text, lang).1
    }

    /// The language of `text` and its score in [-1, 1] (None: unscored).
    ///
    /// `lang` is the event's `lang` field when present (ISO 639-1, case-insensitive, a region
    /// suffix like "en-US" is ignored) and always wins; otherwise the language is detected from
    /// the text ([`lang::detect`]). A `lang` that is not a language code (such as Twitter's
    /// "und") counts as absent.
    pub fn score_lang(&self, text: &str, lang: Option<&str>) -> (Option<&'static str>, Option<f64>) {
        let Some(code) = lang.and_then(lang::normalize).or_else(|| lang::detect(text)) else {
            return (None, None);
        };
        let score = self.methods.iter().find(|(c, _)| *c == code).map(|(_, m)| m.score(text));
        (Some(code), score)
    }

    /// Scores a mention (its upstream `sentiment` wins; then [`Scorer::score_lang`]) and counts
    /// it in [`Scorer::counts`] by language: the event's `lang`, else the detected language,
    /// else "und" (undetectable); an upstream score without `lang` counts as "upstream" (the
    /// language is not detected when no score is needed).
    pub fn score_mention(&self, text: &str, lang: Option<&str>, upstream: Option<f64>) -> Option<f64> {
        let (code, score) = self.score_mention_uncounted(text, lang, upstream);
        self.counts.add(code, score.is_some());
        score
    }

    /// As [`Scorer::score_mention`], returning the language it is counted under instead of
    /// counting it: for callers that count a batch at once ([`LocalLangCounts`]).
    pub fn score_mention_uncounted(
        &self,
        text: &str,
        lang: Option<&str>,
        upstream: Option<f64>,
    ) -> (Option<&'static str>, Option<f64>) {
        match upstream {
            Some(s) => (Some(lang.and_then(lang::normalize).unwrap_or("upstream")), Some(s)),
            None => self.score_lang(text, lang),
        }
    }

    /// Mentions scored and unscored by language, since this scorer (or the one it was cloned
    /// from) was created.
    pub fn counts(&self) -> &LangCounts {
        &self.counts
    }
}

/// Languages with their own entry in [`LangCounts`]; the others are counted as "other", a
/// mention scored upstream without `lang` as "upstream", one whose language cannot be detected
/// as "und".
pub const COUNTED: [&str; 23] = [
    "en", "fr", "pt", "de", "zh", "ar", "es", "it", "nl", "sv", "tr", "vi", "ru", "uk", "ja", "ko", "hi",
    "fa", "ur", "he", "other", "upstream", "und",
];

/// The index of a language in [`COUNTED`] (a `match`: this runs for every mention).
fn counted_index(lang: &str) -> Option<usize> {
    Some(match lang {
        "en" => 0,
        "fr" => 1,
        "pt" => 2,
        "de" => 3,
        "zh" => 4,
        "ar" => 5,
        "es" => 6,
        "it" => 7,
        "nl" => 8,
        "sv" => 9,
        "tr" => 10,
        "vi" => 11,
        "ru" => 12,
        "uk" => 13,
        "ja" => 14,
        "ko" => 15,
        "hi" => 16,
        "fa" => 17,
        "ur" => 18,
        "he" => 19,
        "other" => 20,
        "upstream" => 21,
        "und" => 22,
        _ => return None,
    })
}

/// Mentions scored and unscored, by language ([`COUNTED`]): the figures of
/// `brandpulse_mentions_scored_total{lang}` and the summary's scored share per language.
#[derive(Debug, Default)]
pub struct LangCounts {
    scored: [AtomicU64; COUNTED.len()],
    unscored: [AtomicU64; COUNTED.len()],
}

/// The slot of a mention's language in the counts: "und" without one, "other" when not counted.
fn slot(lang: Option<&str>) -> usize {
    match lang {
        None => COUNTED.len() - 1,
        Some(l) => counted_index(l).unwrap_or(COUNTED.len() - 3),
    }
}

/// Counts of one batch of mentions, kept by one thread and added to the shared [`LangCounts`]
/// at once (one atomic add per language instead of one per mention).
#[derive(Debug, Default)]
pub struct LocalLangCounts {
    scored: [u64; COUNTED.len()],
    unscored: [u64; COUNTED.len()],
}

impl LocalLangCounts {
    /// Counts one mention.
    pub fn add(&mut self, lang: Option<&str>, scored: bool) {
        let i = slot(lang);
        if scored {
            self.scored[i] += 1;
        } else {
            self.unscored[i] += 1;
        }
    }

    /// Adds the counts to `shared` and starts again from zero.
    pub fn flush(&mut self, shared: &LangCounts) {
        for i in 0..COUNTED.len() {
            if self.scored[i] > 0 {
                shared.scored[i].fetch_add(self.scored[i], Ordering::Relaxed);
            }
            if self.unscored[i] > 0 {
                shared.unscored[i].fetch_add(self.unscored[i], Ordering::Relaxed);
            }
        }
        *self = LocalLangCounts::default();
    }
}

impl LangCounts {
    /// Counts one mention.
    pub fn add(&self, lang: Option<&str>, scored: bool) {
        let i = slot(lang);
        let counter = if scored { &self.scored[i] } else { &self.unscored[i] };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// (language, scored, unscored) for every language with a mention, in [`COUNTED`] order.
    pub fn snapshot(&self) -> Vec<(&'static str, u64, u64)> {
        COUNTED
            .iter()
            .enumerate()
            .map(|(i, &l)| (l, self.scored[i].load(Ordering::Relaxed), self.unscored[i].load(Ordering::Relaxed)))
            .filter(|&(_, s, u)| s + u > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn french() -> Lexicon {
        Lexicon::parse("texte\t1.5\nmauvais\t-2\n").unwrap()
    }

    #[test]
    fn counted_index_agrees_with_counted() {
        for (i, l) in COUNTED.iter().enumerate() {
            assert_eq!(counted_index(l), Some(i), "{l}");
        }
        assert_eq!(counted_index("xx"), None);
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
    fn built_in_languages_are_scored_by_default() {
        let scorer = Scorer::default();
        assert_eq!(scorer.languages(), BUILTIN);
        for (text, lang) in [
            ("Le service client est vraiment génial, merci !", "fr"),
            ("O atendimento foi excelente, muito obrigado!", "pt"),
            ("Der Kundenservice ist wirklich toll, danke!", "de"),
        ] {
            let (code, score) = scorer.score_lang(text, None);
            assert_eq!(code, Some(lang), "{text}");
            assert!(score.unwrap() > 0.05, "{text}: {score:?}");
            assert_eq!(score, Some(european::scorer(lang).unwrap().compound(text)));
        }
        // A language without a built-in scorer stays unscored.
        assert_eq!(scorer.score_lang("Pésimo servicio, muy decepcionado", None), (Some("es"), None));
    }

    #[test]
    fn a_lexicon_overrides_the_built_in_scorer() {
        let text = "Ce texte est mauvais";
        let builtin = Scorer::builtin().score(text, Some("fr")).unwrap();
        let scorer = Scorer::builtin().with_lexicon("fr-FR", Lexicon::parse("texte\t3\n").unwrap());
        let score = scorer.score(text, Some("fr")).unwrap();
        assert!(builtin < 0.0 && score > 0.0, "built-in {builtin}, lexicon {score}");
        assert_eq!(scorer.languages(), BUILTIN, "replaced in place");
    }

    #[test]
    fn languages_are_chosen_by_code() {
        assert_eq!(Scorer::for_languages(&["DE", "en-GB"]).unwrap().languages(), ["de", "en"]);
        assert!(Scorer::for_languages(&[]).unwrap().score("great", Some("en")).is_none());
        for bad in ["xx", "french"] {
            let err = Scorer::for_languages(&["en", bad]).unwrap_err();
            assert!(matches!(err, LexiconError::UnknownLanguage(ref l) if l == bad), "{err}");
        }
        let err = Scorer::for_languages(&["es"]).unwrap_err();
        assert!(matches!(err, LexiconError::NoBuiltin(ref l) if l == "es"), "{err}");
        assert!(err.to_string().contains("lexicon file"), "{err}");
    }

    #[test]
    fn mentions_are_counted_by_language() {
        let scorer = Scorer::builtin();
        let clone = scorer.clone();
        assert!(clone.score_mention("I love it", None, None).is_some());
        assert_eq!(clone.score_mention("whatever", Some("en"), Some(0.5)), Some(0.5));
        assert_eq!(clone.score_mention("anything", None, Some(-0.5)), Some(-0.5));
        assert_eq!(clone.score_mention("Me encanta", Some("es-MX"), None), None);
        assert_eq!(clone.score_mention("Dobrý den", Some("cs"), None), None);
        assert_eq!(clone.score_mention("", None, None), None);
        assert_eq!(
            scorer.counts().snapshot(),
            vec![("en", 2, 0), ("es", 0, 1), ("other", 0, 1), ("upstream", 1, 0), ("und", 0, 1)],
            "clones share the counts"
        );
    }

    #[test]
    fn lexicon_language_must_be_a_code() {
        let err = Scorer::english_only().try_with_lexicon("french", french()).unwrap_err();
        assert!(matches!(err, LexiconError::UnknownLanguage(ref l) if l == "french"), "{err}");
    }
}

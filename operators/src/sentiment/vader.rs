//! VADER sentiment scoring for English: a port of the reference implementation, PyPI `vaderSentiment` 3.3.2.
//!
//! VADER (Hutto & Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
//! Media Text", ICWSM 2014) sums the valences of lexicon words, adjusted by rules (negation, booster
//! words, ALL-CAPS emphasis, "but", "least", idioms, `!` and `?` emphasis), and normalizes the sum to
//! [-1, 1]. This port follows `vaderSentiment.py` 3.3.2 step by step, including its quirks (for
//! instance the way its "but" rule finds list positions by value), so that its scores agree with the
//! reference text by text; `operators/tests/it/vader_reference.rs` checks that on 4,200 human-rated tweets.
//!
//! The lexicons (`operators/data/`, MIT license, copied unchanged from `vaderSentiment` 3.3.2) are
//! compiled into the binary and parsed once per process; scoring does no I/O and reuses per-thread
//! buffers, so it allocates nothing for typical ASCII texts. Scoring takes time linear in the
//! text's length, with or without "but" (the reference's "but" rule is quadratic; see
//! `but_check`).

use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

/// The VADER word lexicon: `token TAB mean-valence TAB std-dev TAB ratings`.
const VADER_LEXICON: &str = include_str!("../../data/vader_lexicon.txt");
/// The emoji lexicon: `emoji TAB textual description`.
const EMOJI_LEXICON: &str = include_str!("../../data/emoji_utf8_lexicon.txt");

/// Empirically derived mean sentiment intensity increase for booster words.
const B_INCR: f64 = 0.293;
/// Empirically derived mean sentiment intensity decrease for dampener words.
const B_DECR: f64 = -0.293;
/// Empirically derived mean sentiment intensity increase for an ALL-CAPS word among others that are not.
const C_INCR: f64 = 0.733;
/// Scalar applied to a negated valence.
const N_SCALAR: f64 = -0.74;

/// Negation words (`NEGATE` in the reference).
#[rustfmt::skip]
const NEGATE: &[&str] = &[
    "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "ain't", "aren't",
    "can't", "couldn't", "daren't", "didn't", "doesn't", "dont", "hadnt", "hasnt", "havent", "isnt",
    "mightnt", "mustnt", "neither", "don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't",
    "mustn't", "neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
    "oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent", "oughtn't", "shan't", "shouldn't",
    "uh-uh", "wasn't", "weren't", "without", "wont", "wouldnt", "won't", "wouldn't", "rarely",
    "seldom", "despite",
];

/// Booster ("intensifier") and dampener words with their scalar (`BOOSTER_DICT` in the reference).
#[rustfmt::skip]
const BOOSTERS: &[(&str, f64)] = &[
    ("absolutely", B_INCR), ("amazingly", B_INCR), ("awfully", B_INCR), ("completely", B_INCR),
    ("considerable", B_INCR), ("considerably", B_INCR), ("decidedly", B_INCR), ("deeply", B_INCR),
    ("effing", B_INCR), ("enormous", B_INCR), ("enormously", B_INCR), ("entirely", B_INCR),
    ("especially", B_INCR), ("exceptional", B_INCR), ("exceptionally", B_INCR), ("extreme", B_INCR),
    ("extremely", B_INCR), ("fabulously", B_INCR), ("flipping", B_INCR), ("flippin", B_INCR),
    ("frackin", B_INCR), ("fracking", B_INCR), ("fricking", B_INCR), ("frickin", B_INCR),
    ("frigging", B_INCR), ("friggin", B_INCR), ("fully", B_INCR), ("fuckin", B_INCR),
    ("fucking", B_INCR), ("fuggin", B_INCR), ("fugging", B_INCR), ("greatly", B_INCR),
    ("hella", B_INCR), ("highly", B_INCR), ("hugely", B_INCR), ("incredible", B_INCR),
    ("incredibly", B_INCR), ("intensely", B_INCR), ("major", B_INCR), ("majorly", B_INCR),
    ("more", B_INCR), ("most", B_INCR), ("particularly", B_INCR), ("purely", B_INCR),
    ("quite", B_INCR), ("really", B_INCR), ("remarkably", B_INCR), ("so", B_INCR),
    ("substantially", B_INCR), ("thoroughly", B_INCR), ("total", B_INCR), ("totally", B_INCR),
    ("tremendous", B_INCR), ("tremendously", B_INCR), ("uber", B_INCR), ("unbelievably", B_INCR),
    ("unusually", B_INCR), ("utter", B_INCR), ("utterly", B_INCR), ("very", B_INCR),
    ("almost", B_DECR), ("barely", B_DECR), ("hardly", B_DECR), ("just enough", B_DECR),
    ("kind of", B_DECR), ("kinda", B_DECR), ("kindof", B_DECR), ("kind-of", B_DECR),
    ("less", B_DECR), ("little", B_DECR), ("marginal", B_DECR), ("marginally", B_DECR),
    ("occasional", B_DECR), ("occasionally", B_DECR), ("partly", B_DECR), ("scarce", B_DECR),
    ("scarcely", B_DECR), ("slight", B_DECR), ("slightly", B_DECR), ("somewhat", B_DECR),
    ("sort of", B_DECR), ("sorta", B_DECR), ("sortof", B_DECR), ("sort-of", B_DECR),
];

/// Idioms and phrases containing lexicon words, with the valence that replaces the word's
/// (`SPECIAL_CASES` in the reference). Words are separated by single spaces.
#[rustfmt::skip]
const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0), ("the bomb", 3.0), ("bad ass", 1.5), ("badass", 1.5), ("bus stop", 0.0),
    ("yeah right", -2.0), ("kiss of death", -1.5), ("to die for", 3.0), ("beating heart", 3.5),
];

/// The words that VADER's rules look for, so that the rules compare tags rather than strings.
/// Other languages map their own words to these rules (see [`Language::tags`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Tag {
    #[default]
    Other,
    No,
    But,
    Kind,
    Of,
    Least,
    At,
    Very,
    Never,
    So,
    This,
    Without,
    Doubt,
    Or,
    Nor,
}

#[rustfmt::skip]
const TAGS: &[(&str, Tag)] = &[
    ("no", Tag::No), ("but", Tag::But), ("kind", Tag::Kind), ("of", Tag::Of), ("least", Tag::Least),
    ("at", Tag::At), ("very", Tag::Very), ("never", Tag::Never), ("so", Tag::So), ("this", Tag::This),
    ("without", Tag::Without), ("doubt", Tag::Doubt), ("or", Tag::Or), ("nor", Tag::Nor),
];

/// How a language's word lexicon is written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LexiconText {
    /// VADER's format: `token TAB mean-valence ...`, on the VADER scale (-4..4).
    Tsv(&'static str),
    /// `token->valence` lines, on the VADER scale (vaderSentiment-fr's `fr_lexicon.txt`).
    Arrow(&'static str),
    /// A `pattern` sentiment XML (`<word form=".." polarity=".."/>`, polarity in -1..1): each form
    /// is lower-cased, its valence is `polarity × scale`, forms with polarity 0 are left out, and
    /// forms that are equal once lower-cased get the mean of their polarities.
    PatternXml { xml: &'static str, scale: f64 },
}

/// The data and word lists that make VADER's method score one language.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Language {
    pub(crate) lexicon: LexiconText,
    /// Emoji lexicon (`emoji TAB description`, the description in this language), if any.
    pub(crate) emojis: Option<&'static str>,
    pub(crate) negators: &'static [&'static str],
    /// Booster and dampener words or phrases with their scalar ([`B_INCR`] or [`B_DECR`]).
    pub(crate) boosters: &'static [(&'static str, f64)],
    pub(crate) special_cases: &'static [(&'static str, f64)],
    /// Words that trigger VADER's rules ("but", "never so", "without doubt", ...).
    pub(crate) tags: &'static [(&'static str, Tag)],
    /// Tokens are also split at apostrophes (`'` and `’`), as in French "n'est" or "l'hôtel".
    pub(crate) split_apostrophes: bool,
    /// Tokens and all word lists are compared without accents (é → e, ç → c, œ → oe, ...).
    pub(crate) fold_accents: bool,
}

/// English: the reference's own lists.
const ENGLISH: Language = Language {
    lexicon: LexiconText::Tsv(VADER_LEXICON),
    emojis: Some(EMOJI_LEXICON),
    negators: NEGATE,
    boosters: BOOSTERS,
    special_cases: SPECIAL_CASES,
    tags: TAGS,
    split_apostrophes: false,
    fold_accents: false,
};

/// B_INCR and B_DECR for the other languages' booster lists.
pub(crate) const BOOST: f64 = B_INCR;
pub(crate) const DAMPEN: f64 = B_DECR;

/// What the lexicons know about one lower-cased token.
#[derive(Clone, Copy, Debug, Default)]
struct WordInfo {
    /// Valence from `vader_lexicon.txt`.
    valence: Option<f64>,
    /// Scalar from the booster/dampener list.
    booster: Option<f64>,
    /// Listed in `NEGATE`.
    negation: bool,
    /// Part of a special-case or multi-word booster phrase.
    phrase: bool,
    /// Which rule word it is, if any.
    tag: Tag,
}

/// Lexicon data of one language, parsed once per process.
pub(crate) struct VaderData {
    /// Single tokens (lexicon words, boosters, negations), keyed as written in the lists (without
    /// accents if the language folds them).
    words: FxHashMap<Box<str>, WordInfo>,
    /// Emoji (single code points) with their textual description.
    emojis: FxHashMap<char, &'static str>,
    /// Multi-word booster phrases, split into words.
    booster_phrases: Vec<(Vec<Box<str>>, f64)>,
    /// Special-case phrases, split into words.
    special_cases: Vec<(Vec<Box<str>>, f64)>,
    split_apostrophes: bool,
    fold_accents: bool,
}

impl VaderData {
    /// Parses the lists of `language`.
    ///
    /// # Panics
    /// On a malformed line of a bundled lexicon.
    pub(crate) fn load(language: &Language) -> Self {
        let fold = language.fold_accents;
        let key = |w: &str| -> Box<str> { if fold { fold_accents(w).into() } else { w.into() } };
        let mut words: FxHashMap<Box<str>, WordInfo> = FxHashMap::default();
        match language.lexicon {
            // Like `make_lex_dict`: skip empty lines, strip each line, take the first two fields;
            // a later duplicate replaces an earlier one.
            LexiconText::Tsv(text) | LexiconText::Arrow(text) => {
                let separator = if matches!(language.lexicon, LexiconText::Tsv(_)) { "\t" } else { "->" };
                for line in text.trim_end_matches('\n').split('\n') {
                    if line.is_empty() {
                        continue;
                    }
                    let mut fields = line.trim_matches(is_py_space).split(separator);
                    let word = fields.next().unwrap_or_default();
                    let valence = fields
                        .next()
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .unwrap_or_else(|| panic!("bad line in a bundled lexicon: {line:?}"));
                    words.entry(key(word)).or_default().valence = Some(valence);
                }
            }
            LexiconText::PatternXml { xml, scale } => {
                let mut sums: FxHashMap<Box<str>, (f64, u32)> = FxHashMap::default();
                for (form, polarity) in pattern_xml_words(xml) {
                    let sum = sums.entry(key(&form.to_lowercase())).or_default();
                    sum.0 += polarity;
                    sum.1 += 1;
                }
                for (word, (sum, count)) in sums {
                    if sum != 0.0 {
                        words.entry(word).or_default().valence = Some(sum / f64::from(count) * scale);
                    }
                }
            }
        }
        for &(word, scalar) in language.boosters {
            words.entry(key(word)).or_default().booster = Some(scalar);
        }
        for &word in language.negators {
            words.entry(key(word)).or_default().negation = true;
        }
        for &(word, tag) in language.tags {
            words.entry(key(word)).or_default().tag = tag;
        }
        let booster_phrases: Vec<_> = language.boosters.iter().copied().filter(|(w, _)| w.contains(' ')).collect();
        for (phrase, _) in booster_phrases.iter().chain(language.special_cases) {
            for word in phrase.split(' ') {
                words.entry(key(word)).or_default().phrase = true;
            }
        }

        // Like `make_emoji_dict`. Only single code points can ever match, because the reference
        // looks the text up one code point at a time.
        let mut emojis = FxHashMap::default();
        for line in language.emojis.unwrap_or_default().trim_end_matches('\n').split('\n') {
            let mut fields = line.trim_matches(is_py_space).split('\t');
            let emoji = fields.next().unwrap_or_default();
            let description = fields.next().unwrap_or_default();
            let mut chars = emoji.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                emojis.insert(c, description);
            }
        }
        // `Vader::replace_emojis` looks up non-ASCII characters only.
        debug_assert!(emojis.keys().all(|c| !c.is_ascii()));

        let split = |list: &[(&'static str, f64)]| -> Vec<(Vec<Box<str>>, f64)> {
            list.iter().map(|&(phrase, value)| (phrase.split(' ').map(key).collect(), value)).collect()
        };
        Self {
            words,
            emojis,
            booster_phrases: split(&booster_phrases),
            special_cases: split(language.special_cases),
            split_apostrophes: language.split_apostrophes,
            fold_accents: fold,
        }
    }
}

/// The `form` and `polarity` attributes of each `<word .../>` element of a `pattern` sentiment
/// XML, after its leading comment (attribute values without spaces or entities, as in the
/// bundled file).
fn pattern_xml_words(xml: &str) -> impl Iterator<Item = (&str, f64)> {
    fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
        element.split_whitespace().find_map(|a| a.strip_prefix(name)?.strip_prefix("=\"")?.strip_suffix('"'))
    }
    let body = xml.find("-->").map_or(xml, |end| &xml[end..]);
    body.split("<word ").skip(1).map(|element| {
        let element = element.split("/>").next().unwrap_or_default();
        match (attribute(element, "form"), attribute(element, "polarity").and_then(|p| p.parse::<f64>().ok())) {
            (Some(form), Some(polarity)) => (form, polarity),
            _ => panic!("bad <word> element in a bundled sentiment XML: {element:?}"),
        }
    })
}

/// `word` without accents, for the languages that compare words so (like `unidecode` on Latin
/// letters): à â ä á ã å → a, ç → c, é è ê ë → e, í ì î ï → i, ñ → n, ó ò ô ö õ → o,
/// ú ù û ü → u, ý ÿ → y, œ → oe, æ → ae (lower case; other characters are kept).
pub(crate) fn fold_accents(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    push_folded(word, &mut out);
    out
}

/// Appends `word` without accents to `out` (see [`fold_accents`]).
fn push_folded(word: &str, out: &mut String) {
    for c in word.chars() {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'í' | 'ì' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => out.push('o'),
            'ú' | 'ù' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            c => out.push(c),
        }
    }
}

/// The VADER sentiment analyzer (the reference's `SentimentIntensityAnalyzer`).
///
/// Cheap to create and to copy: all instances share lexicon data that is parsed once per process.
/// Scoring is thread-safe; each thread reuses its own scratch buffers.
#[derive(Clone, Copy)]
pub struct Vader {
    data: &'static VaderData,
}

impl fmt::Debug for Vader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vader")
            .field("lexicon_words", &self.data.words.len())
            .field("emojis", &self.data.emojis.len())
            .finish()
    }
}

impl Default for Vader {
    fn default() -> Self {
        Self::new()
    }
}

/// VADER's scores for one text, as returned by the reference's `polarity_scores`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Scores {
    /// Proportion of the text that is negative, in [0, 1], rounded to 3 decimals.
    pub neg: f64,
    /// Proportion of the text that is neutral, in [0, 1], rounded to 3 decimals.
    pub neu: f64,
    /// Proportion of the text that is positive, in [0, 1], rounded to 3 decimals.
    pub pos: f64,
    /// Normalized, weighted composite score in [-1, 1], rounded to 4 decimals.
    pub compound: f64,
}

/// One token of the text after VADER's tokenization.
#[derive(Clone, Copy, Debug)]
struct Token {
    /// Range of the lower-cased token in `Scratch::lower`.
    lower: (u32, u32),
    /// Python's `str.isupper()` of the token as written.
    is_upper: bool,
    /// Lexicon knowledge about the lower-cased token.
    info: WordInfo,
    /// The lower-cased token is a negation word or contains "n't" (the reference's `negated`).
    negated: bool,
}

/// Per-thread buffers reused between calls.
#[derive(Default)]
struct Scratch {
    /// The text with emoji replaced by their descriptions (only used when it has emoji).
    text: String,
    /// All lower-cased tokens, one after the other.
    lower: String,
    tokens: Vec<Token>,
    sentiments: Vec<f64>,
    /// For the "but" rule.
    equal: EqualValences,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Vader {
    /// Returns an analyzer; the first call in a process parses the bundled lexicons (a few ms).
    pub fn new() -> Self {
        static DATA: OnceLock<VaderData> = OnceLock::new();
        Self { data: DATA.get_or_init(|| VaderData::load(&ENGLISH)) }
    }

    /// An analyzer for another language, on that language's data (see [`VaderData::load`]).
    pub(crate) fn with_data(data: &'static VaderData) -> Self {
        Self { data }
    }

    /// The compound score in [-1, 1], rounded to 4 decimals: the reference's
    /// `polarity_scores(text)["compound"]`. Positive is positive sentiment; 0.0 for texts without
    /// sentiment-bearing words.
    pub fn compound(&self, text: &str) -> f64 {
        self.with_sentiments(text, |sentiments, text| {
            if sentiments.is_empty() {
                return 0.0;
            }
            let sum = sentiments.iter().sum::<f64>();
            py_round(normalize(add_emphasis(sum, punctuation_emphasis(text))), 4)
        })
    }

    /// All four scores of the reference's `polarity_scores(text)`.
    pub fn polarity_scores(&self, text: &str) -> Scores {
        self.with_sentiments(text, score_valence)
    }

    /// Runs VADER's per-token rules on `text` and hands the token valences, and the text after
    /// emoji replacement, to `finish`.
    fn with_sentiments<R>(&self, text: &str, finish: impl FnOnce(&[f64], &str) -> R) -> R {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let Scratch { text: replaced, lower, tokens, sentiments, equal } = &mut *scratch;
            let text = self.replace_emojis(text, replaced);
            tokenize(text, self.data, lower, tokens);
            sentiments.clear();
            Rules { data: self.data, tokens, lower }.valences(sentiments);
            if let Some(bi) = tokens.iter().position(|t| t.info.tag == Tag::But) {
                but_check(sentiments, bi, equal);
            }
            finish(sentiments, text)
        })
    }

    /// Replaces each emoji of the emoji lexicon by its description, like the reference: a space
    /// is put before the description unless the previous character is a space, none after it.
    /// Returns `text` itself when it has no emoji.
    fn replace_emojis<'a>(&self, text: &'a str, buf: &'a mut String) -> &'a str {
        if text.is_ascii() {
            return text;
        }
        let emojis = &self.data.emojis;
        let Some((first, _)) = text.char_indices().find(|&(_, c)| !c.is_ascii() && emojis.contains_key(&c)) else {
            return text;
        };
        buf.clear();
        buf.push_str(&text[..first]);
        let mut prev_space = text[..first].chars().next_back().is_none_or(|c| c == ' ');
        for c in text[first..].chars() {
            match emojis.get(&c) {
                Some(description) => {
                    if !prev_space {
                        buf.push(' ');
                    }
                    buf.push_str(description);
                    prev_space = false;
                }
                None => {
                    buf.push(c);
                    prev_space = c == ' ';
                }
            }
        }
        buf
    }
}

/// Splits `text` like the reference's `SentiText._words_and_emoticons`: on whitespace (Python's
/// `str.split()`), then strips ASCII punctuation from both ends of each token unless that leaves
/// two characters or fewer (then the token, likely an emoticon, is kept as written). Fills `lower`
/// with the lower-cased tokens and `tokens` with what is known about each. Languages other than
/// English may also split at apostrophes and compare words without accents.
fn tokenize(text: &str, data: &VaderData, lower: &mut String, tokens: &mut Vec<Token>) {
    lower.clear();
    tokens.clear();
    let mut push = |raw: &str| {
        let stripped = trim_ascii_punctuation(raw);
        let token = if stripped.len() >= 3 && stripped.chars().nth(2).is_some() { stripped } else { raw };
        let start = lower.len();
        let is_upper = if token.is_ascii() {
            lower.push_str(token);
            lower[start..].make_ascii_lowercase();
            let (mut upper, mut lower_case) = (false, false);
            for b in token.bytes() {
                upper |= b.is_ascii_uppercase();
                lower_case |= b.is_ascii_lowercase();
            }
            upper && !lower_case
        } else {
            let lowered = token.to_lowercase();
            if data.fold_accents {
                push_folded(&lowered, lower);
            } else {
                lower.push_str(&lowered);
            }
            py_isupper(token)
        };
        let word = &lower[start..];
        let info = data.words.get(word).copied().unwrap_or_default();
        let negated = info.negation || word.as_bytes().windows(3).any(|w| w == b"n't");
        tokens.push(Token { lower: (offset(start), offset(lower.len())), is_upper, info, negated });
    };
    if data.split_apostrophes {
        for_each_py_word(text, |word| word.split(['\'', '’']).filter(|w| !w.is_empty()).for_each(&mut push));
    } else {
        for_each_py_word(text, push);
    }
}

/// Calls `f` with each word of `text` split like Python's `str.split()`.
fn for_each_py_word<'a>(text: &'a str, mut f: impl FnMut(&'a str)) {
    if !text.is_ascii() {
        text.split(is_py_space).filter(|w| !w.is_empty()).for_each(f);
        return;
    }
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        if matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' ') {
            if let Some(s) = start.take() {
                f(&text[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        f(&text[s..]);
    }
}

/// Python's `s.strip(string.punctuation)`: removes ASCII punctuation from both ends.
fn trim_ascii_punctuation(s: &str) -> &str {
    // Bytes of multi-byte characters are never ASCII punctuation, so byte offsets next to
    // non-punctuation bytes found from either end are character boundaries.
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !b.is_ascii_punctuation()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_punctuation()).map_or(start, |e| e + 1);
    &s[start..end]
}

fn offset(i: usize) -> u32 {
    u32::try_from(i).expect("text longer than 4 GiB")
}

/// The per-token rules of `SentimentIntensityAnalyzer.polarity_scores`, over one tokenized text.
struct Rules<'a> {
    data: &'a VaderData,
    tokens: &'a [Token],
    lower: &'a str,
}

impl Rules<'_> {
    /// The lower-cased token `i`.
    fn word(&self, i: usize) -> &str {
        let (start, end) = self.tokens[i].lower;
        &self.lower[start as usize..end as usize]
    }

    /// The rule word that token `i` is, if any.
    fn tag(&self, i: usize) -> Tag {
        self.tokens[i].info.tag
    }

    fn in_lexicon(&self, i: usize) -> bool {
        self.tokens[i].info.valence.is_some()
    }

    /// Pushes one valence per token onto `sentiments` (before the "but" rule).
    fn valences(&self, sentiments: &mut Vec<f64>) {
        let n = self.tokens.len();
        let is_cap_diff = {
            let upper = self.tokens.iter().filter(|t| t.is_upper).count();
            0 < n - upper && n - upper < n
        };
        for (i, token) in self.tokens.iter().enumerate() {
            let skip =
                token.info.booster.is_some() || (i + 1 < n && self.tag(i) == Tag::Kind && self.tag(i + 1) == Tag::Of);
            sentiments.push(if skip { 0.0 } else { self.sentiment_valence(i, is_cap_diff) });
        }
    }

    /// `sentiment_valence` of the reference, for token `i`.
    fn sentiment_valence(&self, i: usize, is_cap_diff: bool) -> f64 {
        let token = &self.tokens[i];
        let Some(base) = token.info.valence else {
            return 0.0;
        };
        let n = self.tokens.len();
        let mut valence = base;
        // "no" before another lexicon word negates that word instead of counting itself.
        if self.tag(i) == Tag::No && i != n - 1 && self.in_lexicon(i + 1) {
            valence = 0.0;
        }
        if (i > 0 && self.tag(i - 1) == Tag::No)
            || (i > 1 && self.tag(i - 2) == Tag::No)
            || (i > 2 && self.tag(i - 3) == Tag::No && matches!(self.tag(i - 1), Tag::Or | Tag::Nor))
        {
            valence = base * N_SCALAR;
        }
        // An ALL-CAPS sentiment word among words that are not.
        if token.is_upper && is_cap_diff {
            if valence > 0.0 {
                valence += C_INCR;
            } else {
                valence -= C_INCR;
            }
        }
        for start_i in 0..3 {
            // Boosters up to three words before, dampened with distance; then negation and idioms.
            let j = match i.checked_sub(start_i + 1) {
                Some(j) if !self.in_lexicon(j) => j,
                _ => continue,
            };
            let mut s = scalar_inc_dec(&self.tokens[j], valence, is_cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = self.negation_check(valence, start_i, i);
            if start_i == 2 {
                valence = self.special_idioms_check(valence, i);
            }
        }
        self.least_check(valence, i)
    }

    /// `_negation_check` of the reference.
    fn negation_check(&self, valence: f64, start_i: usize, i: usize) -> f64 {
        let w = |k: usize| self.tag(i - k);
        let negated = |k: usize| self.tokens[i - k].negated;
        let so_or_this = |k: usize| matches!(w(k), Tag::So | Tag::This);
        match start_i {
            0 if negated(1) => valence * N_SCALAR,
            1 if w(2) == Tag::Never && so_or_this(1) => valence * 1.25,
            1 if w(2) == Tag::Without && w(1) == Tag::Doubt => valence,
            1 if negated(2) => valence * N_SCALAR,
            2 if (w(3) == Tag::Never && so_or_this(2)) || so_or_this(1) => valence * 1.25,
            2 if w(3) == Tag::Without && (w(2) == Tag::Doubt || w(1) == Tag::Doubt) => valence,
            2 if negated(3) => valence * N_SCALAR,
            _ => valence,
        }
    }

    /// `_special_idioms_check` of the reference (only called with `i >= 3`).
    fn special_idioms_check(&self, mut valence: f64, i: usize) -> f64 {
        let n = self.tokens.len();
        let special = &self.data.special_cases;
        let sequences: [&[usize]; 5] =
            [&[i - 1, i], &[i - 2, i - 1, i], &[i - 2, i - 1], &[i - 3, i - 2, i - 1], &[i - 3, i - 2]];
        if let Some(v) = sequences.iter().find_map(|seq| self.phrase_value(special, seq)) {
            valence = v;
        }
        if n - 1 > i {
            if let Some(v) = self.phrase_value(special, &[i, i + 1]) {
                valence = v;
            }
        }
        if n - 1 > i + 1 {
            if let Some(v) = self.phrase_value(special, &[i, i + 1, i + 2]) {
                valence = v;
            }
        }
        // Booster/dampener bi-grams such as "sort of" or "kind of".
        for n_gram in [&[i - 3, i - 2, i - 1][..], &[i - 3, i - 2], &[i - 2, i - 1]] {
            if let Some(b) = self.phrase_value(&self.data.booster_phrases, n_gram) {
                valence += b;
            }
        }
        valence
    }

    /// The value of the phrase of `table` made of the tokens `seq`, if any.
    fn phrase_value(&self, table: &[(Vec<Box<str>>, f64)], seq: &[usize]) -> Option<f64> {
        if !seq.iter().all(|&k| self.tokens[k].info.phrase) {
            return None;
        }
        table
            .iter()
            .find(|(phrase, _)| {
                phrase.len() == seq.len() && phrase.iter().zip(seq).all(|(word, &k)| **word == *self.word(k))
            })
            .map(|&(_, value)| value)
    }

    /// `_least_check` of the reference: "least" before a word negates it, except "at least" and
    /// "very least".
    fn least_check(&self, valence: f64, i: usize) -> f64 {
        let least_before = i > 0 && !self.in_lexicon(i - 1) && self.tag(i - 1) == Tag::Least;
        if least_before && (i == 1 || !matches!(self.tag(i - 2), Tag::At | Tag::Very)) {
            valence * N_SCALAR
        } else {
            valence
        }
    }
}

/// `_but_check` of the reference, for the first "but" at token `bi`: valences before it are
/// halved, those after it multiplied by 1.5 (later "but"s change nothing).
///
/// Reproduces the reference exactly, including that it finds each valence's position with
/// `list.index`, i.e. the first position whose current (possibly already scaled) value is equal,
/// so that equal valences are not all scaled the way the rule intends: in "nice … but … okay"
/// (1.8 and 0.9), the halved "nice" (0.9) is found for "okay" and halved again, and "okay" keeps
/// 0.9 instead of 1.35. The reference visits the positions in order; visiting position `k` reads
/// its valence (not yet scaled: only positions up to `k` have been written) and scales the first
/// position that holds it. The reference finds that position by a scan from the start, which is
/// quadratic in the text's length; here `equal` keeps the visited positions by their current
/// value, so that each visit takes a hash lookup and O(1) steps (O(log n) for the rare positions
/// that join a value's positions in the middle).
fn but_check(sentiments: &mut [f64], bi: usize, equal: &mut EqualValences) {
    let scale = |si: usize| if si < bi { 0.5 } else { 1.5 };
    // A zero stays zero when scaled and a nonzero valence (far from the subnormal range) stays
    // nonzero. So every zero visited scales the first zero of the input, which ends up as the
    // last zero (±0) times its scale, and nonzero valences only ever meet nonzero ones.
    let first_zero = sentiments.iter().position(|&s| s == 0.0);
    let last_zero = sentiments.iter().rposition(|&s| s == 0.0).map(|i| sentiments[i]);
    if let (Some(si), Some(last)) = (first_zero, last_zero) {
        if si != bi {
            sentiments[si] = last * scale(si);
        }
    }
    equal.reset(sentiments.len());
    for k in 0..sentiments.len() {
        let sentiment = sentiments[k];
        if sentiment == 0.0 {
            continue;
        }
        let g = equal.group(sentiment);
        let EqualValences { groups, links, .. } = &mut *equal;
        let si = groups[g].positions.first().unwrap_or(k);
        if si == bi {
            // Only if "but" had a valence of its own: the reference leaves it as it is.
            groups[g].positions.insert(k, links);
            continue;
        }
        let side = usize::from(si > bi);
        let scaled = sentiment * scale(si);
        debug_assert!(scaled != 0.0 && scaled != sentiment);
        sentiments[si] = scaled;
        if si != k {
            // `si` leaves the positions holding `sentiment`; `k`, not written, joins them.
            groups[g].positions.pop_first(links);
            groups[g].positions.insert(k, links);
        }
        let h = match groups[g].scaled[side] {
            NIL => {
                let h = equal.group(scaled);
                equal.groups[g].scaled[side] = offset(h);
                h
            }
            h => h as usize,
        };
        let EqualValences { groups, links, .. } = &mut *equal;
        groups[h].positions.insert(si, links);
    }
}

/// The visited positions of [`but_check`], grouped by their current nonzero value. Each position
/// is in one group at a time, so the groups share one [`Link`] per position.
#[derive(Default)]
struct EqualValences {
    /// The group of each value, by the value's bits (nonzero valences are equal exactly when
    /// their bits are: they are never NaN).
    ids: FxHashMap<u64, u32>,
    groups: Vec<Group>,
    /// Per position: its links in the run or the heap of its group.
    links: Vec<Link>,
}

/// The positions holding one value, and the groups of the value × 0.5 and × 1.5 once known (so
/// that a visit takes one hash lookup).
#[derive(Clone, Copy)]
struct Group {
    positions: Positions,
    scaled: [u32; 2],
}

impl EqualValences {
    /// Empties the groups, for a text of `n` tokens.
    fn reset(&mut self, n: usize) {
        self.ids.clear();
        // Clearing costs the table's capacity: after a long text, do not let every short one pay.
        if self.ids.capacity() > (4 * n).max(1024) {
            self.ids.shrink_to(n);
        }
        self.groups.clear();
        self.links.clear();
        self.links.resize(n, Link::LEAF);
    }

    /// The group of `value`, created empty if there is none.
    fn group(&mut self, value: f64) -> usize {
        let groups = &mut self.groups;
        *self.ids.entry(value.to_bits()).or_insert_with(|| {
            groups.push(Group { positions: Positions::EMPTY, scaled: [NIL; 2] });
            offset(groups.len() - 1)
        }) as usize
    }
}

/// The positions holding one value: a run in increasing order (`head` to `tail`, linked by
/// [`Link::right`]) that takes every position joining before or after all of it — nearly all of
/// them, since the visited position `k` is larger than any other — and a leftist min-heap
/// (`root`) of the few that join in its middle.
#[derive(Clone, Copy)]
struct Positions {
    head: u32,
    tail: u32,
    root: u32,
}

/// Links of a position: the next position of a run (`right`), or children in a leftist heap with
/// the length of its rightmost path to a missing child (`rank`).
#[derive(Clone, Copy)]
struct Link {
    left: u32,
    right: u32,
    rank: u32,
}

/// No position; larger than every position.
const NIL: u32 = u32::MAX;

impl Link {
    const LEAF: Link = Link { left: NIL, right: NIL, rank: 1 };
}

impl Positions {
    const EMPTY: Positions = Positions { head: NIL, tail: NIL, root: NIL };

    /// The first position, if any.
    fn first(&self) -> Option<usize> {
        let first = self.head.min(self.root);
        (first != NIL).then_some(first as usize)
    }

    /// Adds `position`, which is in no group.
    fn insert(&mut self, position: usize, links: &mut [Link]) {
        let p = offset(position);
        links[position] = Link::LEAF;
        if self.head == NIL {
            (self.head, self.tail) = (p, p);
        } else if p > self.tail {
            links[self.tail as usize].right = p;
            self.tail = p;
        } else if p < self.head {
            links[position].right = self.head;
            self.head = p;
        } else {
            self.root = merge(links, self.root, p);
        }
    }

    /// Removes the first position (there is one).
    fn pop_first(&mut self, links: &mut [Link]) {
        if self.head < self.root {
            self.head = links[self.head as usize].right;
            if self.head == NIL {
                self.tail = NIL;
            }
        } else {
            let Link { left, right, .. } = links[self.root as usize];
            self.root = merge(links, left, right);
        }
    }
}

/// Merges the leftist heaps rooted at `a` and `b`; returns the new root. Recursion follows the
/// rightmost paths, which are at most log2(n + 1) long in a leftist heap.
fn merge(links: &mut [Link], a: u32, b: u32) -> u32 {
    if a == NIL {
        return b;
    }
    if b == NIL {
        return a;
    }
    let (root, other) = if a < b { (a, b) } else { (b, a) };
    let right = merge(links, links[root as usize].right, other);
    let rank = |n: u32| if n == NIL { 0 } else { links[n as usize].rank };
    let left = links[root as usize].left;
    let (left, right) = if rank(left) < rank(right) { (right, left) } else { (left, right) };
    let node_rank = rank(right) + 1;
    links[root as usize] = Link { left, right, rank: node_rank };
    root
}

/// `scalar_inc_dec` of the reference: the booster/dampener effect of `token` on `valence`.
fn scalar_inc_dec(token: &Token, valence: f64, is_cap_diff: bool) -> f64 {
    let Some(mut scalar) = token.info.booster else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if token.is_upper && is_cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

/// Emphasis from exclamation points (up to 4) and question marks (2 or more).
fn punctuation_emphasis(text: &str) -> f64 {
    let (mut ep, mut qm) = (0usize, 0usize);
    for b in text.bytes() {
        ep += usize::from(b == b'!');
        qm += usize::from(b == b'?');
    }
    let ep_amplifier = ep.min(4) as f64 * 0.292;
    let qm_amplifier = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep_amplifier + qm_amplifier
}

/// Adds punctuation emphasis away from zero.
fn add_emphasis(sum: f64, amplifier: f64) -> f64 {
    if sum > 0.0 {
        sum + amplifier
    } else if sum < 0.0 {
        sum - amplifier
    } else {
        sum
    }
}

/// Normalizes a valence sum to [-1, 1]: `x / sqrt(x² + 15)`.
pub(crate) fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// `score_valence` of the reference.
fn score_valence(sentiments: &[f64], text: &str) -> Scores {
    if sentiments.is_empty() {
        return Scores::default();
    }
    let amplifier = punctuation_emphasis(text);
    let sum = sentiments.iter().sum::<f64>();
    let compound = normalize(add_emphasis(sum, amplifier));

    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0, 0.0, 0u32);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0; // compensates for neutral words that are counted as 1
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amplifier;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amplifier;
    }
    let total = pos_sum + neg_sum.abs() + f64::from(neu_count);
    Scores {
        neg: py_round((neg_sum / total).abs(), 3),
        neu: py_round((f64::from(neu_count) / total).abs(), 3),
        pos: py_round((pos_sum / total).abs(), 3),
        compound: py_round(compound, 4),
    }
}

/// Python's `round(x, digits)` for `digits` in 0..=4 and |x| small: the double nearest to the
/// decimal with `digits` places that is nearest to the exact value of `x`, ties to even.
pub(crate) fn py_round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    let y = x * scale;
    let mut r = y.round_ties_even();
    if y - y.floor() == 0.5 {
        // `y` may be a tie only because the product was rounded: the exact error decides.
        let err = x.mul_add(scale, -y);
        if err > 0.0 {
            r = y.ceil();
        } else if err < 0.0 {
            r = y.floor();
        }
    }
    r / scale
}

/// Python's `str.isspace()` for one character (what `str.split()` and `str.strip()` split on).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.isupper()`: at least one cased character and no lower- or titlecase one.
fn py_isupper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// Unicode general category Lt.
fn is_titlecase(c: char) -> bool {
    matches!(c,
        '\u{01C5}' | '\u{01C8}' | '\u{01CB}' | '\u{01F2}'
        | '\u{1F88}'..='\u{1F8F}' | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}'
        | '\u{1FBC}' | '\u{1FCC}' | '\u{1FFC}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values come from the reference implementation, PyPI `vaderSentiment` 3.3.2
    /// (`SentimentIntensityAnalyzer().polarity_scores(text)`), run by hand; never from this code.
    const REFERENCE: &[(&str, f64)] = &[
        // The examples of vaderSentiment.py's demo.
        ("VADER is smart, handsome, and funny.", 0.8316),
        ("VADER is smart, handsome, and funny!", 0.8439),
        ("VADER is very smart, handsome, and funny.", 0.8545),
        ("VADER is VERY SMART, handsome, and FUNNY.", 0.9227),
        ("VADER is VERY SMART, handsome, and FUNNY!!!", 0.9342),
        ("VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!", 0.9469),
        ("VADER is not smart, handsome, nor funny.", -0.7424),
        ("The book was good.", 0.4404),
        ("At least it isn't a horrible book.", 0.431),
        ("The book was only kind of good.", 0.3832),
        ("The plot was good, but the characters are uncompelling and the dialog is not great.", -0.7042),
        ("Today SUX!", -0.5461),
        ("Today only kinda sux! But I'll get by, lol", 0.5249),
        ("Make sure you :) or :D today!", 0.8633),
        ("Catch utf-8 emoji such as 💘 and 💋 and 😁", 0.875),
        ("Not bad at all", 0.431),
        ("Sentiment analysis has never been good.", -0.3412),
        ("Sentiment analysis has never been this good!", 0.5672),
        ("With VADER, sentiment analysis is the shit!", 0.6476),
        ("On the other hand, VADER is quite bad ass", 0.802),
        ("Without a doubt, excellent idea.", 0.7013),
        ("Roger Dodger is one of the least compelling variations on this theme.", -0.1695),
        ("Roger Dodger is at least compelling as a variation on the theme.", 0.2263),
        // Quirks: "but" with equal valences, emoji glued to words and emoji descriptions with
        // "!", "no" before a lexicon word, "??", Python's whitespace, Unicode capitals.
        ("good good but good good", 0.891),
        ("I love it😍😍 so much", 0.8807),
        ("great phone 🔛", 0.6588),
        ("no no no", 0.4168),
        ("What a great day??", 0.6662),
        ("What a great day????", 0.7236),
        ("GREAT\u{a0}day\u{1c}ok", 0.7925),
        ("ÉTÉ SUPERBE but sad", -0.631),
        ("yeah right, great service", 0.743),
        ("That movie is to die for", -0.5994),
    ];

    #[test]
    fn matches_reference_examples() {
        let vader = Vader::new();
        for &(text, expected) in REFERENCE {
            assert_eq!(vader.compound(text), expected, "{text:?}");
        }
    }

    #[test]
    fn empty_and_neutral_texts_score_zero() {
        let vader = Vader::new();
        assert_eq!(vader.compound(""), 0.0);
        assert_eq!(vader.compound("   "), 0.0);
        assert_eq!(vader.polarity_scores(""), Scores::default());
    }

    /// The "but" rule on long texts with several "but"s. Expected values derived by hand from the
    /// reference's `_but_check` (and checked against `vaderSentiment` 3.3.2): the first "but"
    /// splits the text, valences before it are halved and all after it (also after later "but"s)
    /// multiplied by 1.5, each applied to the first position holding the valence at that time.
    #[test]
    fn but_rule_on_long_texts() {
        let vader = Vader::new();
        let filler = " the".repeat(2000);
        // good 1.9, nice 1.8, okay 0.9, bad -2.5, great 3.1, sad -2.1. Before the first "but":
        // good → 0.95, nice → 0.9. After it: okay (0.9) finds the halved nice first, so nice →
        // 0.45 and okay keeps 0.9; bad → -3.75, great → 4.65, sad → -3.15. Sum 0.05;
        // 0.05 / √(0.05² + 15) = 0.0129 (the rule without that quirk would give 0.95 → 0.2382).
        let text = ["good", &filler, " nice", &filler, " but", &filler, " okay", &filler, " bad", &filler, " but"]
            .concat()
            + &filler
            + " great but but"
            + &filler
            + " sad";
        assert!(text.len() > 50_000);
        assert_eq!(vader.compound(&text), 0.0129);

        // 1,000 × "nice" (1.8) before "but", then 1,000 × "okay" (0.9) and "anxiously" (-0.9)
        // after it. Each nice is halved to 0.9 as it is visited; each okay then finds the first
        // nice still at 0.9 and halves it again (→ 0.45), keeping 0.9 itself; anxiously → -1.35.
        // Sum 1,000 × (0.45 + 0.9 - 1.35) = 0 (up to rounding): compound 0. pos = 1,000 ×
        // (1.45 + 1.9) = 3,350, neg = 1,000 × 2.35 = 2,350, neutral 3,001 ("the" and "but"):
        // 3,350 / 8,701 = 0.385, 2,350 / 8,701 = 0.270, 3,001 / 8,701 = 0.345.
        let text = "nice the ".repeat(1000) + "but " + &"okay the anxiously the ".repeat(1000);
        assert_eq!(vader.polarity_scores(&text), Scores { neg: 0.27, neu: 0.345, pos: 0.385, compound: 0.0 });
    }

    /// The reference's `_but_check` loop, transcribed literally (`list.index` is a scan from the
    /// start): quadratic, for comparison only.
    fn but_check_transcribed(sentiments: &mut [f64], bi: usize) {
        for k in 0..sentiments.len() {
            let sentiment = sentiments[k];
            let si = sentiments.iter().position(|&s| s == sentiment).expect("the list holds the value");
            if si < bi {
                sentiments[si] = sentiment * 0.5;
            } else if si > bi {
                sentiments[si] = sentiment * 1.5;
            }
        }
    }

    /// `but_check` leaves the same valences, bit for bit, as the literal transcription of the
    /// reference, on seeded random valences drawn from a few values related by factors 0.5 and
    /// 1.5 (so that the reference's first-equal-value search hits already scaled positions),
    /// with ±0 and with "but" anywhere.
    #[test]
    fn but_check_matches_transcribed_reference() {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        let base = [0.0, -0.0, 1.0, 2.0, 0.5, 4.0, 1.5, 3.0, 0.75, 2.25, 6.0, -1.0, -2.0, -0.5, -1.5, -3.0, 0.3];
        let mut rng = SmallRng::seed_from_u64(15);
        let mut equal = EqualValences::default();
        for round in 0..3000 {
            let n = rng.gen_range(1..if round % 10 == 0 { 600 } else { 40 });
            let values = &base[..rng.gen_range(1..=base.len())];
            let mut sentiments: Vec<f64> = (0..n).map(|_| values[rng.gen_range(0..values.len())]).collect();
            let bi = rng.gen_range(0..n);
            if rng.gen_bool(0.8) {
                sentiments[bi] = 0.0; // "but" is not in the lexicon
            }
            let mut expected = sentiments.clone();
            but_check_transcribed(&mut expected, bi);
            let input = sentiments.clone();
            but_check(&mut sentiments, bi, &mut equal);
            let bits = |v: &[f64]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sentiments), bits(&expected), "input {input:?}, but at {bi}");
        }
    }

    #[test]
    fn python_round() {
        assert_eq!(py_round(0.0625, 3), 0.062); // exact tie: to even
        assert_eq!(py_round(0.0635, 3), 0.064); // 0.0635 is just above the tie
        assert_eq!(py_round(0.12345, 4), 0.1235); // 0.12345 is just above the tie in binary
        assert_eq!(py_round(-0.03125, 4), -0.0312);
        assert_eq!(py_round(0.95714, 4), 0.9571);
    }

    #[test]
    fn python_string_predicates() {
        assert!(py_isupper("SUX!"));
        assert!(!py_isupper("Sux"));
        assert!(!py_isupper(":)"));
        assert!(py_isupper("ÉTÉ"));
        assert!(!py_isupper("ǅ"));
        assert!(is_py_space('\u{1f}') && is_py_space('\u{a0}') && !is_py_space('x'));
    }
}

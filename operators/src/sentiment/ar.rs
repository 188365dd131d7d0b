//! Arabic sentiment: spelling normalisation, light affix stripping, a hand-written word-valence
//! lexicon, and VADER-like rules for negation, intensifiers and contrast.
//!
//! The text is normalised ([`normalize`]: alef forms → ا, ى → ي, ة → ه, no diacritics or
//! tatweel) and split into words (runs of letters and digits); punctuation and emoji end a
//! clause. Each word is looked up in the lexicon (`operators/data/sentiment/ar/ar_lexicon.tsv`,
//! written for brandpulse; its `NOTICE` says how), as written or, failing that, without a common
//! prefix or suffix, or with a stretched letter ("حلوووو") shortened. Each word found contributes
//! its valence times the multiplier of the rules (see [`for_each_term`]); the sum, with the
//! valences of the emoji in [`EMOJI`], is normalised like VADER's compound score,
//! `x / sqrt(x² + 15)`, and rounded to 4 decimals. Labels are English VADER's: positive when the
//! score is ≥ 0.05, negative when ≤ −0.05.
//!
//! The lexicon is parsed once per process on first use; scoring is thread-safe.

use std::cell::RefCell;
use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use super::vader::{normalize as squash, py_round};

/// The lexicon: `word TAB valence` lines after `#` comment lines; an entry with spaces is a phrase.
const LEXICON: &str = include_str!("../../data/sentiment/ar/ar_lexicon.tsv");

/// How many words before a sentiment word the negation and intensifier rules look at (VADER's
/// window), within its clause.
pub const WINDOW: usize = 3;
/// How many words after a sentiment word an intensifier may stand ("جيد جدا", "مش حلو خالص").
pub const WINDOW_AFTER: usize = 2;
/// The multiplier of a negated word (VADER's `N_SCALAR`).
pub const NEGATION: f64 = -0.74;
/// The multiplier an intensifier gives the sentiment word next to it.
pub const BOOST: f64 = 1.3;
/// The multiplier a dampener ("شوية", "نسبيا") gives it.
pub const DAMPEN: f64 = 0.7;
/// The multiplier of an intensifier after a negation ("مش كتير حلو": "not very good").
pub const NOT_VERY: f64 = 0.5;
/// The weight of the words before the first contrastive conjunction of the text (VADER: 0.5).
pub const BEFORE_CONTRAST: f64 = 0.5;
/// The weight of the words after it (VADER: 1.5).
pub const AFTER_CONTRAST: f64 = 1.5;

/// Negators (normalised spelling), MSA and dialects; also found after the conjunctions و and ف
/// ("ولا", "فلم").
#[rustfmt::skip]
pub const NEGATORS: &[&str] = &[
    "لا", "ليس", "ليست", "لست", "لسنا", "ليسوا", "لم", "لن", "ما", "غير", "بدون", "دون", "بلا",
    "مش", "مو", "مب", "موب", "مهو", "ماهو", "مافي", "مفيش", "ماكو", "ماكان", "محدش", "ماحد",
];

/// Intensifiers and dampeners with their multiplier; before or after the word they modify.
#[rustfmt::skip]
pub const DEGREE_WORDS: &[(&str, f64)] = &[
    ("جدا", BOOST), ("كثير", BOOST), ("كثيرا", BOOST), ("كتير", BOOST),
    ("وايد", BOOST), ("واجد", BOOST), ("مره", BOOST), ("اوي", BOOST), ("قوي", BOOST),
    ("للغايه", BOOST), ("تماما", BOOST), ("بشده", BOOST), ("خالص", BOOST), ("ابدا", BOOST),
    ("ابد", BOOST), ("اطلاقا", BOOST), ("نهائيا", BOOST), ("بالمره", BOOST), ("حيل", BOOST),
    ("بزاف", BOOST), ("اكثر", BOOST), ("اشد", BOOST), ("جدًا", BOOST),
    ("شويه", DAMPEN), ("شوي", DAMPEN), ("شوية", DAMPEN), ("قليلا", DAMPEN), ("نسبيا", DAMPEN),
    ("نوعا", DAMPEN), ("تقريبا", DAMPEN),
];

/// Contrastive conjunctions: the first one in a text splits it like VADER's "but".
#[rustfmt::skip]
pub const CONTRASTS: &[&str] = &["لكن", "لاكن", "لكنه", "لكنها", "ولكن", "بس", "انما"];

/// Emoji with their valence, written for brandpulse; a text's emoji count like words (weighted
/// by the contrast rule only).
#[rustfmt::skip]
pub const EMOJI: &[(char, f64)] = &[
    ('😍', 3.0), ('🥰', 3.0), ('❤', 3.0), ('💕', 2.5), ('💖', 2.5), ('👍', 2.0), ('👌', 2.0),
    ('👏', 2.0), ('🙏', 1.5), ('😊', 2.0), ('🙂', 1.5), ('😀', 2.0), ('😁', 2.0), ('😃', 2.0),
    ('😄', 2.0), ('🌹', 2.0), ('💯', 2.0), ('🔥', 1.5), ('✨', 1.0), ('🥳', 2.5),
    ('👎', -2.5), ('😡', -3.0), ('😠', -2.5), ('🤬', -3.5), ('😤', -2.0), ('😞', -2.0),
    ('😔', -1.8), ('😢', -2.0), ('😭', -2.0), ('😒', -2.0), ('🙄', -1.5), ('💔', -2.5),
    ('😩', -2.0), ('😫', -2.0), ('🤮', -3.0), ('🤢', -2.5), ('😑', -1.0), ('😕', -1.2),
    ('☹', -2.0), ('🙁', -1.8),
];

/// Prefixes tried, longest first, when a word is not in the lexicon as written: conjunctions
/// (و, ف), prepositions (ب, ل, ك), the article (ال) and their combinations.
#[rustfmt::skip]
const PREFIXES: &[&str] = &["وبال", "وال", "فال", "بال", "كال", "ولل", "لل", "ال", "و", "ف", "ب", "ل", "ك"];

/// Suffixes tried, longest first: pronouns (ها, هم, كم, نا, ني, ه, ك, ي), plural and dual
/// endings (ين, ون, ات, ان, وا), the accusative ا, and ه (from ة).
#[rustfmt::skip]
const SUFFIXES: &[&str] = &["هما", "كما", "ها", "هم", "هن", "كم", "كن", "نا", "ني", "ين", "ون", "ات", "ان", "وا", "ه", "ك", "ي", "ا"];

/// The part a word plays in the rules.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Negator,
    Degree(f64),
    Contrast,
}

/// What the scorer knows about one normalised word.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    valence: Option<f64>,
    rule: Option<Rule>,
}

/// The lexicon, built once per process.
struct Data {
    words: FxHashMap<String, Entry>,
    /// Phrases by their first word: the other words and the valence.
    phrases: FxHashMap<String, Vec<(Vec<String>, f64)>>,
    emoji: FxHashMap<char, f64>,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let mut words: FxHashMap<String, Entry> = FxHashMap::default();
    let mut phrases: FxHashMap<String, Vec<(Vec<String>, f64)>> = FxHashMap::default();
    for (line_no, line) in LEXICON.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(w, v)| Some((w, v.parse::<f64>().ok()?)));
        let Some((word, valence)) = parsed.filter(|(w, v)| !w.trim().is_empty() && v.is_finite()) else {
            panic!("ar_lexicon.tsv line {}: expected `word TAB valence`: {line:?}", line_no + 1);
        };
        let mut parts = split_words(&normalize(word));
        if parts.len() == 1 {
            words.entry(parts.remove(0)).or_default().valence = Some(valence);
        } else {
            let first = parts.remove(0);
            phrases.entry(first).or_default().push((parts, valence));
        }
    }
    for list in phrases.values_mut() {
        // Longest phrase first, so that it wins over a shorter one with the same start.
        list.sort_by_key(|(rest, _)| std::cmp::Reverse(rest.len()));
    }
    let rules = NEGATORS.iter().map(|&w| (w, Rule::Negator));
    let rules = rules.chain(DEGREE_WORDS.iter().map(|&(w, f)| (w, Rule::Degree(f))));
    for (word, rule) in rules.chain(CONTRASTS.iter().map(|&w| (w, Rule::Contrast))) {
        words.entry(normalize(word)).or_default().rule = Some(rule);
    }
    Data { words, phrases, emoji: EMOJI.iter().copied().collect() }
});

/// `text` with Arabic spelling variants unified, as the lexicon is compared: أ إ آ ٱ → ا,
/// ى → ي (and Persian ی → ي, ک → ك), ة → ه; the diacritics (harakat, tanwin, shadda, sukun,
/// U+064B–U+065F, and the superscript alef U+0670) and the tatweel U+0640 removed; letters
/// lower-cased. Nothing else changes.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_normalized(text, &mut out);
    out
}

fn push_normalized(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => out.push('ا'),
            'ى' | 'ی' => out.push('ي'),
            'ک' => out.push('ك'),
            'ة' => out.push('ه'),
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => {}
            c if c.is_uppercase() => out.extend(c.to_lowercase()),
            c => out.push(c),
        }
    }
}

/// The words of a normalised text: maximal runs of letters and digits.
fn split_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect()
}

/// One token of the normalised text.
#[derive(Clone, Copy, Debug)]
enum Token {
    /// Punctuation, symbols, emoji: ends a clause; an emoji may carry a valence.
    Separator(Option<f64>),
    /// A word: its valence and rule. A phrase is its first word, with the phrase's valence
    /// and `phrase` set, then its other words, with neither valence nor rule.
    Word { valence: Option<f64>, rule: Option<Rule>, phrase: bool },
}

thread_local! {
    static SCRATCH: RefCell<(String, Vec<Token>)> = const { RefCell::new((String::new(), Vec::new())) };
}

impl Data {
    /// The entry of a word: as written; else, for a rule word, without a leading و or ف; else,
    /// for a valence, without a prefix, a suffix or both (at least 2 letters left, 3 after a
    /// suffix is removed); else with letters repeated 3 or more times written once or twice.
    fn lookup(&self, word: &str) -> Entry {
        if let Some(&entry) = self.words.get(word) {
            return entry;
        }
        for conj in ["و", "ف"] {
            if let Some(e) = word.strip_prefix(conj).and_then(|w| self.words.get(w)).filter(|e| e.rule.is_some()) {
                return Entry { valence: None, rule: e.rule };
            }
        }
        if let Some(v) = self.stripped_valence(word) {
            return Entry { valence: Some(v), rule: None };
        }
        if has_stretch(word) {
            for keep in [1, 2] {
                let short = shorten(word, keep);
                if let Some(&entry) = self.words.get(&short) {
                    return entry;
                }
                if let Some(v) = self.stripped_valence(&short) {
                    return Entry { valence: Some(v), rule: None };
                }
            }
        }
        Entry::default()
    }

    fn valence_of(&self, word: &str) -> Option<f64> {
        self.words.get(word).and_then(|e| e.valence)
    }

    fn stripped_valence(&self, word: &str) -> Option<f64> {
        let letters = |w: &str| w.chars().count();
        let bases = std::iter::once(word)
            .chain(PREFIXES.iter().filter_map(|p| word.strip_prefix(p)).filter(|w| letters(w) >= 2));
        let bases: Vec<&str> = bases.collect();
        for base in &bases[1..] {
            if let Some(v) = self.valence_of(base) {
                return Some(v);
            }
        }
        for base in &bases {
            for suffix in SUFFIXES {
                if let Some(stem) = base.strip_suffix(suffix).filter(|w| letters(w) >= 3) {
                    if let Some(v) = self.valence_of(stem) {
                        return Some(v);
                    }
                }
            }
        }
        None
    }
}

/// Whether `word` has a letter repeated 3 or more times in a row.
fn has_stretch(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

/// `word` with every run of 3 or more equal letters cut to `keep` letters.
fn shorten(word: &str, keep: usize) -> String {
    let mut out = String::with_capacity(word.len());
    let chars: Vec<char> = word.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let n = if j - i >= 3 { keep } else { j - i };
        out.extend(std::iter::repeat_n(chars[i], n));
        i = j;
    }
    out
}

/// Fills `tokens` from the normalised `text`.
fn tokenize(data: &Data, text: &str, tokens: &mut Vec<Token>) {
    tokens.clear();
    let mut words: Vec<&str> = Vec::new();
    let flush = |words: &mut Vec<&str>, tokens: &mut Vec<Token>| {
        let mut i = 0;
        while i < words.len() {
            if let Some((len, v)) = phrase_at(data, &words[i..]) {
                tokens.push(Token::Word { valence: Some(v), rule: None, phrase: true });
                tokens.extend(std::iter::repeat_n(Token::Word { valence: None, rule: None, phrase: true }, len - 1));
                i += len;
            } else {
                let e = data.lookup(words[i]);
                tokens.push(Token::Word { valence: e.valence, rule: e.rule, phrase: false });
                i += 1;
            }
        }
        words.clear();
    };
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            words.push(&text[s..i]);
        }
        if !c.is_whitespace() {
            flush(&mut words, tokens);
            // The variation selector after ❤ and the like is part of the emoji, not a new clause.
            if !matches!(c, '\u{FE0F}' | '\u{200D}') || tokens.last().is_none_or(|t| !matches!(t, Token::Separator(_)))
            {
                tokens.push(Token::Separator(data.emoji.get(&c).copied()));
            }
        }
    }
    if let Some(s) = start {
        words.push(&text[s..]);
    }
    flush(&mut words, tokens);
}

/// The length and valence of the phrase that `words` starts with, if any (a phrase lies within
/// one clause).
fn phrase_at(data: &Data, words: &[&str]) -> Option<(usize, f64)> {
    let list = data.phrases.get(words[0])?;
    list.iter()
        .find(|(rest, _)| rest.len() < words.len() && rest.iter().zip(&words[1..]).all(|(a, b)| a == b))
        .map(|(rest, v)| (rest.len() + 1, *v))
}

/// Calls `f(valence, multiplier)` for every word, phrase and emoji of `text` with a valence, in
/// order. [`compound`] sums `valence × multiplier`.
///
/// The multiplier of a word is the product of
/// - the rules of the up to [`WINDOW`] words before it in its clause, applied from the farthest:
///   a negator flips the negation state, an intensifier or dampener multiplies by its factor,
///   except that an intensifier after a negation multiplies by [`NOT_VERY`]; a word left negated
///   is multiplied by [`NEGATION`];
/// - the factors of the intensifiers and dampeners among the up to [`WINDOW_AFTER`] words after
///   it in its clause (Arabic puts them after: "جيد جدا", "مش حلو خالص");
/// - when the text has a contrastive conjunction ([`CONTRASTS`]): [`BEFORE_CONTRAST`] for what
///   comes before the first one, [`AFTER_CONTRAST`] for what comes after it.
///
/// Phrases and emoji get the contrast weight only.
pub fn for_each_term(text: &str, mut f: impl FnMut(f64, f64)) {
    let data = &*DATA;
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let (normalized, tokens) = &mut *scratch;
        normalized.clear();
        push_normalized(text, normalized);
        tokenize(data, normalized, tokens);
        let contrast = tokens.iter().position(|t| matches!(t, Token::Word { rule: Some(Rule::Contrast), .. }));
        for (i, token) in tokens.iter().enumerate() {
            let (valence, phrase_or_emoji) = match *token {
                Token::Separator(Some(v)) => (v, true),
                Token::Word { valence: Some(v), phrase, .. } => (v, phrase),
                _ => continue,
            };
            let mut multiplier = match contrast {
                Some(c) if i < c => BEFORE_CONTRAST,
                Some(c) if i > c => AFTER_CONTRAST,
                _ => 1.0,
            };
            if !phrase_or_emoji {
                multiplier *= before_multiplier(&tokens[..i]) * after_multiplier(&tokens[i + 1..]);
            }
            f(valence, multiplier);
        }
    });
}

fn before_multiplier(before: &[Token]) -> f64 {
    let mut window: [Option<Rule>; WINDOW] = [None; WINDOW];
    let mut taken = 0;
    for token in before.iter().rev() {
        let Token::Word { rule, .. } = token else { break };
        window[taken] = *rule;
        taken += 1;
        if taken == WINDOW {
            break;
        }
    }
    let (mut negated, mut multiplier) = (false, 1.0);
    for rule in window[..taken].iter().rev().flatten() {
        match *rule {
            Rule::Negator => negated = !negated,
            Rule::Degree(factor) if factor > 1.0 && negated => multiplier *= NOT_VERY,
            Rule::Degree(factor) => multiplier *= factor,
            Rule::Contrast => {}
        }
    }
    if negated {
        multiplier * NEGATION
    } else {
        multiplier
    }
}

fn after_multiplier(after: &[Token]) -> f64 {
    let mut multiplier = 1.0;
    for token in after.iter().take(WINDOW_AFTER) {
        match token {
            Token::Word { rule: Some(Rule::Degree(factor)), .. } => multiplier *= factor,
            Token::Word { .. } => {}
            Token::Separator(_) => break,
        }
    }
    multiplier
}

/// The sentiment of an Arabic text in [-1, 1], rounded to 4 decimals; 0.0 when nothing in the
/// text is in the lexicon. Labelled like English VADER (≥ 0.05 positive, ≤ −0.05 negative).
pub fn compound(text: &str) -> f64 {
    let (mut sum, mut found) = (0.0, false);
    for_each_term(text, |valence, multiplier| {
        sum += valence * multiplier;
        found = true;
    });
    if found {
        py_round(squash(sum), 4)
    } else {
        0.0
    }
}

/// The number of single words and of phrases in the lexicon.
pub fn lexicon_len() -> (usize, usize) {
    let data = &*DATA;
    (data.words.values().filter(|e| e.valence.is_some()).count(), data.phrases.values().map(Vec::len).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(x: f64) -> i8 {
        if x >= 0.05 {
            1
        } else if x <= -0.05 {
            -1
        } else {
            0
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("أَهْلاً وَسَهْلاً"), "اهلا وسهلا");
        assert_eq!(normalize("إستقبال آمن ٱلله"), "استقبال امن الله");
        assert_eq!(normalize("مدرسة مستشفى"), "مدرسه مستشفي");
        assert_eq!(normalize("جمـــيل"), "جميل");
        assert_eq!(normalize("شُكْرًا جَزِيلًا"), "شكرا جزيلا");
        assert_eq!(normalize("ی ک"), "ي ك");
        assert_eq!(normalize("OK، تمام!"), "ok، تمام!");
        // The lexicon is compared after normalisation: spellings with and without it score alike.
        assert_eq!(compound("الخدمة ممتازة"), compound("الخدمه ممتازه"));
        assert_eq!(compound("الخدمة مُمْتَازَةٌ"), compound("الخدمة ممتازة"));
    }

    /// Expected values by hand from the lexicon's valences (ممتاز 3, سيء -2.5, حلو 2.2,
    /// جميل 2.4, سريع 1.4, phrase ما شاء الله 2.5) and the rules; x / √(x² + 15), 4 decimals.
    #[test]
    fn rules_by_hand() {
        // ممتازة → ممتازه → without the suffix ه: ممتاز. 3 / √24 = 0.61237.
        assert_eq!(compound("الخدمة ممتازة"), 0.6124);
        // Boosted after the word: 3 × 1.3 = 3.9; 3.9 / √30.21 = 0.70956.
        assert_eq!(compound("الخدمة ممتازة جدا"), 0.7096);
        assert_eq!(compound("الخدمة جداً ممتازة"), 0.7096);
        // Negated: 3 × -0.74 = -2.22; -2.22 / √19.9284 = -0.49730.
        assert_eq!(compound("الخدمة ليست ممتازة"), -0.4973);
        assert_eq!(compound("الخدمة سيئة"), -0.5423);
        // Negated and boosted after: 2.2 × -0.74 × 1.3 = -2.1164; / √19.47915 = -0.47952.
        assert_eq!(compound("مش حلو خالص"), -0.4795);
        // "Not very": 2.2 × 0.5 × -0.74 = -0.814; / √15.662596 = -0.20568.
        assert_eq!(compound("مش كتير حلو"), -0.2057);
        // Contrast: 2.4 × 0.5 + (-2.5) × 1.5 = -2.55; / √21.5025 = -0.54991.
        assert_eq!(compound("المنتج جميل لكن التوصيل سيء"), -0.5499);
        // The phrase's ما is no negator: 2.5 + 1.4 = 3.9.
        assert_eq!(compound("ما شاء الله خدمة سريعة"), 0.7096);
        // A negator's reach ends at punctuation: 3 / √24.
        assert_eq!(compound("لا، ممتاز"), 0.6124);
        // Stretched letters, prefixes, emoji.
        assert_eq!(compound("حلووووو"), 0.4939);
        assert_eq!(compound("والممتاز"), 0.6124);
        assert_eq!(compound("😍"), 0.6124);
        assert_eq!(compound("❤️❤️"), py_round(squash(6.0), 4));
    }

    /// Signs by hand: what the sentences say (not sentences of the evaluation set).
    #[test]
    fn hand_written_sentences() {
        let positive = ["الفندق نظيف والموظفين محترمين", "شكرا على الخدمة الرائعة", "الأكل لذيذ والسعر معقول"];
        let negative = ["الشحنة وصلت متأخرة والعلبة مكسورة", "لا أنصح بهذا المنتج", "تطبيق فاشل ويعلق دائما"];
        for text in positive {
            assert_eq!(sign(compound(text)), 1, "{text}: {}", compound(text));
        }
        for text in negative {
            assert_eq!(sign(compound(text)), -1, "{text}: {}", compound(text));
        }
        // A negated negative word is positive; the boosted sentence is stronger than the plain one.
        assert_eq!(sign(compound("الجهاز ليس سيئا")), 1);
        let plain = compound("التوصيل سريع");
        let boosted = compound("التوصيل سريع جدا");
        assert!(plain >= 0.05 && boosted > plain, "{boosted} vs {plain}");
        let plain = compound("الموظف وقح");
        let boosted = compound("الموظف وقح للغاية");
        assert!(plain <= -0.05 && boosted < plain, "{boosted} vs {plain}");
    }

    #[test]
    fn scores_are_bounded_and_empty_is_zero() {
        assert_eq!(compound(""), 0.0);
        assert_eq!(compound("١٢٣ ، . ! ؟"), 0.0);
        assert_eq!(compound("ذهبت إلى البنك يوم الأحد"), 0.0);
        for text in ["ممتاز ".repeat(1000), "سيء جدا جدا ".repeat(300), "لا لا لا لا".into(), "😡".repeat(50)]
        {
            let c = compound(&text);
            assert!((-1.0..=1.0).contains(&c), "{c}");
        }
        assert!(compound(&"ممتاز ".repeat(1000)) > 0.99);
    }

    #[test]
    fn lexicon_is_well_formed() {
        let (words, phrases) = lexicon_len();
        assert!(words > 300 && phrases >= 10, "{words} {phrases}");
        // Every valence within VADER's scale; every rule word is found by its normalised form.
        assert!(DATA.words.values().filter_map(|e| e.valence).all(|v| v.abs() <= 4.0));
        for &w in NEGATORS.iter().chain(CONTRASTS) {
            assert!(DATA.lookup(&normalize(w)).rule.is_some(), "{w}");
        }
        assert_eq!(DATA.lookup("ولا").rule, Some(Rule::Negator));
    }
}

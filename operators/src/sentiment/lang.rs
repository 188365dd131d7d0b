//! Language codes: normalizing an event's `lang` field and detecting the language of a text.
//!
//! Both return ISO 639-1 codes ("en", "fr", …) as `&'static str`.

/// ISO 639-1 codes, sorted.
#[rustfmt::skip]
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj",
    "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln",
    "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb",
    "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi",
    "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk",
    "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti",
    "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo",
    "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Withdrawn ISO 639-1 codes still found in data (Twitter used "in" and "iw"), with their
/// current code.
const DEPRECATED: &[(&str, &str)] = &[("in", "id"), ("iw", "he"), ("ji", "yi"), ("mo", "ro")];

/// The ISO 639-3 codes that `whatlang` detects, with their ISO 639-1 code.
#[rustfmt::skip]
const ISO_639_3: &[(&str, &str)] = &[
    ("afr", "af"), ("aka", "ak"), ("amh", "am"), ("ara", "ar"), ("aze", "az"), ("bel", "be"),
    ("ben", "bn"), ("bul", "bg"), ("cat", "ca"), ("ces", "cs"), ("cmn", "zh"), ("cym", "cy"),
    ("dan", "da"), ("deu", "de"), ("ell", "el"), ("eng", "en"), ("epo", "eo"), ("est", "et"),
    ("fin", "fi"), ("fra", "fr"), ("guj", "gu"), ("heb", "he"), ("hin", "hi"), ("hrv", "hr"),
    ("hun", "hu"), ("hye", "hy"), ("ind", "id"), ("ita", "it"), ("jav", "jv"), ("jpn", "ja"),
    ("kan", "kn"), ("kat", "ka"), ("khm", "km"), ("kor", "ko"), ("lat", "la"), ("lav", "lv"),
    ("lit", "lt"), ("mal", "ml"), ("mar", "mr"), ("mkd", "mk"), ("mya", "my"), ("nep", "ne"),
    ("nld", "nl"), ("nob", "nb"), ("ori", "or"), ("pan", "pa"), ("pes", "fa"), ("pol", "pl"),
    ("por", "pt"), ("ron", "ro"), ("rus", "ru"), ("sin", "si"), ("slk", "sk"), ("slv", "sl"),
    ("sna", "sn"), ("spa", "es"), ("srp", "sr"), ("swe", "sv"), ("tam", "ta"), ("tel", "te"),
    ("tgl", "tl"), ("tha", "th"), ("tuk", "tk"), ("tur", "tr"), ("ukr", "uk"), ("urd", "ur"),
    ("uzb", "uz"), ("vie", "vi"), ("yid", "yi"), ("zul", "zu"),
];

/// Texts shorter than this (in characters, after trimming) whose language `whatlang` cannot
/// detect reliably are left undetected.
pub const SHORT_TEXT_CHARS: usize = 50;

/// Normalizes a language tag such as an event's `lang` field to its ISO 639-1 code.
///
/// Case-insensitive; a region or script suffix after `-` or `_` is ignored ("EN-us" → "en",
/// "zh_Hant" → "zh"). Also accepts the withdrawn codes "in", "iw", "ji", "mo" and the ISO 639-3
/// codes that [`detect`] knows ("fra" → "fr"). Returns `None` for anything else, such as Twitter's
/// "und" (undetermined).
pub fn normalize(lang: &str) -> Option<&'static str> {
    let primary = lang.trim().split(['-', '_']).next().unwrap_or_default();
    let mut buf = [0u8; 3];
    let code = buf.get_mut(..primary.len())?;
    code.copy_from_slice(primary.as_bytes());
    code.make_ascii_lowercase();
    let code = std::str::from_utf8(code).ok()?;
    match code.len() {
        2 => ISO_639_1.binary_search(&code).ok().map(|i| ISO_639_1[i]).or_else(|| lookup(DEPRECATED, code)),
        3 => lookup(ISO_639_3, code),
        _ => None,
    }
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// Detects the language of `text` with `whatlang` and returns its ISO 639-1 code.
///
/// Short social texts are often misdetected, so when detection is not reliable:
/// - a text whose letters are all ASCII (including a text of only emoji, emoticons, digits or
///   punctuation) is taken to be English, `Some("en")`;
/// - any other text shorter than [`SHORT_TEXT_CHARS`] characters gives `None`;
/// - a longer one gets whatlang's best guess.
///
/// A reliable detection is always used, even for ASCII text. Mentions (`@name`) and links are
/// left out of the detection, as they are not words of any language. A text that is empty
/// after that gives `None`.
pub fn detect(text: &str) -> Option<&'static str> {
    let cleaned;
    let text = if text.contains('@') || text.contains("://") || text.contains("www.") {
        cleaned = text
            .split_whitespace()
            .filter(|w| !(w.starts_with('@') || w.contains("://") || w.starts_with("www.")))
            .collect::<Vec<_>>()
            .join(" ");
        cleaned.as_str()
    } else {
        text.trim()
    };
    if text.is_empty() {
        return None;
    }
    let info = whatlang::detect(text);
    let guess = info.as_ref().and_then(|info| lookup(ISO_639_3, info.lang().code()));
    if info.as_ref().is_some_and(whatlang::Info::is_reliable) && guess.is_some() {
        return guess;
    }
    if text.chars().all(|c| c.is_ascii() || !c.is_alphabetic()) {
        Some("en")
    } else if text.chars().nth(SHORT_TEXT_CHARS - 1).is_some() {
        guess
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_lang_fields() {
        assert_eq!(normalize("en"), Some("en"));
        assert_eq!(normalize("EN-us"), Some("en"));
        assert_eq!(normalize(" fr_CA "), Some("fr"));
        assert_eq!(normalize("zh-Hant"), Some("zh"));
        assert_eq!(normalize("iw"), Some("he"));
        assert_eq!(normalize("fra"), Some("fr"));
        for bad in ["", "und", "e", "english", "xx", "é", "-en", "zzz"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tables_are_consistent() {
        assert!(ISO_639_1.windows(2).all(|w| w[0] < w[1]), "ISO_639_1 must be sorted");
        for &(_, code) in ISO_639_3.iter().chain(DEPRECATED) {
            assert!(ISO_639_1.contains(&code), "{code}");
        }
        for &lang in whatlang::Lang::all() {
            assert!(lookup(ISO_639_3, lang.code()).is_some(), "whatlang {} has no mapping", lang.code());
        }
    }

    #[test]
    fn detects_languages() {
        assert_eq!(
            detect("Je suis vraiment très content de ce nouveau téléphone, il marche parfaitement bien."),
            Some("fr")
        );
        assert_eq!(
            detect("Ich bin wirklich sehr zufrieden mit diesem neuen Telefon, es funktioniert einwandfrei."),
            Some("de")
        );
        assert_eq!(detect("Это просто отличный телефон, я очень доволен покупкой"), Some("ru"));
        assert_eq!(detect("I am really happy with this new phone, it works perfectly well."), Some("en"));
    }

    #[test]
    fn short_unreliable_texts() {
        assert_eq!(detect("lol ok"), Some("en"));
        assert_eq!(detect(":) :) 😍"), Some("en"));
        assert_eq!(detect("  "), None);
        assert_eq!(detect("@anonymous http://url_removed"), None);
        assert_eq!(detect(""), None);
    }
}

//! Language codes: normalizing an event's `lang` field and detecting the language of a text.
//!
//! Both return ISO 639-1 codes ("en", "fr", …) as `&'static str`.
//!
//! Detection ([`detect`]) costs well under a microsecond for most social texts: the script
//! decides first (Han → Chinese, Arabic script → Arabic, kana → Japanese, Hangul → Korean, …),
//! then, for Latin script, a vote of each language's most frequent function words and letters
//! (English, French, Portuguese, German, Spanish, Italian, Dutch); only when that vote is empty or
//! tied does the text go to the `whichlang` classifier (16 languages, a few µs).

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

/// ISO 639-3 codes (those of `whichlang` and `whatlang`), with their ISO 639-1 code.
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

/// Latin-script languages the function-word vote knows, in the order of their bits in [`WORDS`]
/// and [`LETTERS`].
const LATIN: [&str; 7] = ["en", "fr", "pt", "de", "es", "it", "nl"];
const EN: u8 = 1;
const FR: u8 = 2;
const PT: u8 = 4;
const DE: u8 = 8;
const ES: u8 = 16;
const IT: u8 = 32;
const NL: u8 = 64;

/// Frequent function words (and a few very frequent social-media words) of each Latin-script
/// language, lower case, with the languages they belong to. A word directly followed by an
/// apostrophe is looked up with it (French elision: "j'", "c'", "qu'"). Words shared by several
/// languages vote for all of them.
#[rustfmt::skip]
const WORDS: &[(&str, u8)] = &[
    // English
    ("the", EN), ("and", EN), ("is", EN), ("are", EN), ("was", EN | DE), ("were", EN), ("to", EN),
    ("of", EN), ("my", EN), ("it", EN), ("this", EN), ("that", EN), ("you", EN), ("your", EN),
    ("with", EN), ("for", EN), ("not", EN), ("have", EN), ("has", EN), ("so", EN), ("just", EN),
    ("but", EN), ("very", EN), ("what", EN), ("why", EN), ("how", EN), ("be", EN), ("on", EN),
    ("at", EN), ("can", EN), ("will", EN), ("from", EN), ("they", EN), ("we", EN), ("our", EN),
    ("all", EN), ("get", EN), ("got", EN), ("love", EN), ("great", EN), ("thanks", EN),
    ("thank", EN), ("good", EN), ("bad", EN), ("i", EN), ("i'", EN), ("don", EN), ("didn", EN),
    ("doesn", EN), ("isn", EN), ("wasn", EN), ("won", EN), ("out", EN), ("up", EN), ("about", EN),
    ("been", EN), ("if", EN), ("or", EN), ("new", EN), ("still", EN), ("again", EN), ("never", EN),
    ("anyone", EN), ("does", EN), ("when", EN), ("an", EN), ("who", EN), ("any", EN), ("its", EN),
    ("me", EN | ES | IT), ("do", EN | PT), ("come", EN | IT), ("something", EN), ("time", EN),
    ("haha", EN), ("lol", EN), ("rt", EN), ("oh", EN), ("yes", EN), ("cool", EN), ("day", EN),
    ("now", EN), ("today", EN), ("like", EN), ("one", EN), ("go", EN), ("going", EN), ("see", EN),
    ("there", EN), ("here", EN), ("off", EN), ("back", EN), ("really", EN), ("by", EN), ("as", EN),
    // French
    ("le", FR), ("la", FR | ES | IT), ("les", FR), ("des", FR), ("du", FR), ("est", FR),
    ("et", FR), ("je", FR | NL), ("pas", FR), ("une", FR), ("ce", FR), ("cette", FR), ("mon", FR),
    ("ma", FR | IT), ("mes", FR), ("pour", FR), ("avec", FR), ("très", FR), ("qui", FR),
    ("que", FR | ES | PT), ("sur", FR), ("dans", FR), ("vous", FR), ("il", FR | IT), ("elle", FR),
    ("nous", FR), ("au", FR), ("aux", FR), ("ne", FR), ("mais", FR | PT), ("trop", FR),
    ("bien", FR | ES), ("merci", FR), ("j'", FR), ("c'", FR), ("qu'", FR), ("n'", FR), ("m'", FR),
    ("l'", FR | IT), ("d'", FR | IT), ("déjà", FR), ("toujours", FR), ("rien", FR), ("ça", FR),
    ("où", FR), ("été", FR), ("être", FR), ("suis", FR), ("depuis", FR), ("plus", FR),
    ("un", FR | ES | IT), ("en", FR | ES | NL), ("de", FR | ES | PT | IT | NL), ("quelqu'", FR),
    ("on", EN | FR), ("chez", FR), ("moi", FR), ("tout", FR), ("vraiment", FR), ("nul", FR),
    // Portuguese
    ("o", PT), ("os", PT), ("um", PT | DE), ("uma", PT), ("não", PT), ("é", PT), ("muito", PT),
    ("muita", PT), ("meu", PT), ("minha", PT), ("com", PT), ("em", PT), ("na", PT), ("da", PT | IT),
    ("dos", PT | ES), ("das", PT | DE), ("para", PT | ES), ("você", PT), ("isso", PT),
    ("está", PT | ES), ("tem", PT), ("foi", PT), ("já", PT), ("até", PT), ("nada", PT | ES),
    ("obrigado", PT), ("obrigada", PT), ("ao", PT), ("pelo", PT), ("pela", PT), ("seu", PT),
    ("sua", PT), ("mas", PT | ES), ("também", PT | ES), ("só", PT), ("agora", PT), ("ainda", PT),
    ("sem", PT), ("quando", PT | IT), ("aqui", PT | ES), ("eu", PT), ("nem", PT), ("depois", PT),
    ("ele", PT), ("ela", PT), ("vai", PT), ("do", PT), ("e", PT | IT), ("alguém", PT), ("qual", PT),
    // German
    ("der", DE), ("die", DE), ("und", DE), ("ist", DE), ("nicht", DE), ("ich", DE), ("mein", DE),
    ("meine", DE), ("mit", DE), ("sehr", DE), ("ein", DE), ("eine", DE), ("einen", DE), ("auf", DE),
    ("für", DE), ("den", DE), ("dem", DE), ("auch", DE), ("wie", DE), ("wann", DE), ("von", DE),
    ("zu", DE), ("hat", DE), ("schon", DE), ("wieder", DE), ("nie", DE), ("danke", DE),
    ("gibt", DE), ("aber", DE), ("einfach", DE), ("noch", DE), ("nur", DE), ("kein", DE),
    ("keine", DE), ("mir", DE), ("mich", DE), ("bin", DE), ("sind", DE), ("es", DE | ES),
    ("seit", DE), ("jemand", DE), ("immer", DE), ("warum", DE), ("das", DE | PT), ("hier", DE | NL),
    ("im", DE), ("am", DE | EN), ("um", DE | PT), ("gut", DE), ("ja", DE | NL), ("nein", DE),
    ("sie", DE), ("er", DE | NL), ("wir", DE), ("ihr", DE), ("oder", DE), ("wenn", DE),
    ("dass", DE), ("als", DE | NL), ("bei", DE), ("nach", DE), ("aus", DE), ("man", DE | EN),
    ("vom", DE), ("zum", DE), ("zur", DE), ("habe", DE), ("haben", DE), ("wird", DE),
    ("werden", DE), ("kann", DE), ("toll", DE), ("leider", DE), ("jetzt", DE), ("viel", DE),
    // Spanish
    ("el", ES), ("los", ES), ("las", ES), ("y", ES), ("muy", ES), ("mi", ES | IT), ("por", ES | PT),
    ("del", ES | IT), ("pero", ES), ("gracias", ES), ("qué", ES), ("lo", ES | IT), ("al", ES),
    ("su", ES), ("este", ES | PT), ("esta", ES | PT), ("estoy", ES), ("tengo", ES), ("hace", ES),
    ("cuando", ES), ("como", ES | PT | IT), ("ya", ES), ("sin", ES), ("hay", ES), ("nunca", ES | PT),
    ("porque", ES | PT), ("alguien", ES), ("se", ES | PT | IT | FR), ("una", ES | IT),
    ("con", ES | IT), ("le", FR | IT), ("in", EN | DE | IT | NL),
    // Italian
    ("che", IT), ("non", IT | FR), ("per", IT), ("sono", IT), ("mio", IT), ("molto", IT),
    ("della", IT), ("grazie", IT), ("questo", IT), ("questa", IT), ("gli", IT), ("perché", IT),
    ("è", IT), ("anche", IT), ("ho", IT), ("ha", IT), ("hanno", IT), ("sempre", IT), ("ancora", IT),
    ("niente", IT), ("tutto", IT), ("cosa", IT), ("di", IT), ("un'", IT), ("dei", IT),
    ("delle", IT), ("nel", IT), ("nella", IT), ("alla", IT), ("sul", IT), ("più", IT), ("degli", IT),
    ("dalla", IT), ("anni", IT), ("essere", IT), ("stato", IT), ("viene", IT), ("suo", IT), ("sua", IT | PT),
    ("mi", IT | ES), ("ti", IT), ("ci", IT), ("si", IT | ES), ("sì", IT), ("bello", IT), ("bene", IT),
    ("grande", IT | ES | PT), ("tra", IT), ("ogni", IT), ("dopo", IT), ("poi", IT), ("oggi", IT),
    ("nei", IT), ("negli", IT), ("sulla", IT), ("questi", IT), ("quella", IT), ("quello", IT),
    // Dutch
    ("het", NL), ("een", NL), ("niet", NL), ("ik", NL), ("van", NL | DE), ("zijn", NL), ("voor", NL),
    ("met", NL), ("heel", NL), ("bedankt", NL), ("ook", NL), ("dit", NL), ("wel", NL), ("maar", NL),
    ("nog", NL), ("geen", NL), ("mijn", NL), ("naar", NL), ("bij", NL), ("wat", NL), ("hoe", NL),
    ("waarom", NL), ("op", NL), ("te", NL | FR | PT | ES | IT), ("zo", NL), ("hij", NL), ("ze", NL),
    ("om", NL), ("aan", NL), ("uit", NL), ("ben", NL), ("heb", NL), ("nu", NL), ("goed", NL),
    ("leuk", NL), ("mooi", NL), ("echt", NL), ("erg", NL), ("veel", NL), ("dan", NL), ("door", NL),
    ("zou", NL), ("wordt", NL), ("kan", NL | DE), ("deze", NL), ("hem", NL), ("haar", NL),
];

/// Letters (lower case) that only some Latin-script languages use; each occurrence is a vote.
#[rustfmt::skip]
const LETTERS: &[(char, u8)] = &[
    ('ã', PT), ('õ', PT), ('ç', FR | PT), ('ß', DE), ('ä', DE), ('ö', DE), ('ü', DE),
    ('ñ', ES), ('¿', ES), ('¡', ES), ('ê', FR | PT), ('â', FR | PT), ('ô', FR | PT),
    ('è', FR | IT), ('ù', FR | IT), ('à', FR | PT | IT), ('ë', FR | NL), ('î', FR), ('ï', FR | NL),
    ('û', FR), ('œ', FR), ('á', ES | PT), ('í', ES | PT), ('ó', ES | PT), ('ú', ES | PT),
    ('ì', IT), ('ò', IT),
];

static WORD_TABLE: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, u8>> = std::sync::LazyLock::new(|| {
    let mut m = rustc_hash::FxHashMap::default();
    for &(w, langs) in WORDS {
        *m.entry(w).or_default() |= langs;
    }
    m
});

/// Letter counts by script over a text.
#[derive(Debug, Default)]
struct Scripts {
    latin: u32,
    han: u32,
    kana: u32,
    hangul: u32,
    arabic: u32,
    /// Letters only Persian (پ چ ژ گ ک ی) or Urdu (ٹ ڈ ڑ ں ے) write.
    persian: u32,
    urdu: u32,
    cyrillic: u32,
    /// Cyrillic letters only Ukrainian writes (і ї є ґ).
    ukrainian: u32,
    greek: u32,
    hebrew: u32,
    devanagari: u32,
    thai: u32,
    other: u32,
}

impl Scripts {
    fn add(&mut self, c: char) {
        match c {
            'a'..='z' | 'A'..='Z' => self.latin += 1,
            _ if c.is_ascii() => {}
            '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' if c.is_alphabetic() => self.latin += 1,
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' => self.han += 1,
            '\u{3040}'..='\u{30FF}' => self.kana += 1,
            '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' => self.hangul += 1,
            '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}' => {
                if c.is_alphabetic() {
                    self.arabic += 1;
                    match c {
                        'پ' | 'چ' | 'ژ' | 'گ' | 'ک' | 'ی' => self.persian += 1,
                        'ٹ' | 'ڈ' | 'ڑ' | 'ں' | 'ے' => self.urdu += 1,
                        _ => {}
                    }
                }
            }
            '\u{0400}'..='\u{04FF}' => {
                self.cyrillic += 1;
                if matches!(c, 'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ') {
                    self.ukrainian += 1;
                }
            }
            '\u{0370}'..='\u{03FF}' => self.greek += 1,
            '\u{0590}'..='\u{05FF}' => self.hebrew += 1,
            '\u{0900}'..='\u{097F}' => self.devanagari += 1,
            '\u{0E00}'..='\u{0E7F}' => self.thai += 1,
            _ if c.is_alphabetic() => self.other += 1,
            _ => {}
        }
    }

    /// The language a non-Latin script decides, when that script has a quarter of the letters
    /// (Han, kana and Hangul counting three).
    fn decide(&self) -> Option<Option<&'static str>> {
        // A Han, kana or Hangul character is about a word: it weighs three Latin letters. Texts in
        // other scripts often carry Latin brand and product names, so another script decides once
        // it has a quarter of the weight.
        let non_latin = 3 * (self.han + self.kana + self.hangul)
            + self.arabic
            + self.cyrillic
            + self.greek
            + self.hebrew
            + self.devanagari
            + self.thai
            + self.other;
        if non_latin == 0 || 3 * non_latin < self.latin {
            return None;
        }
        let top = [
            self.han + self.kana,
            self.hangul,
            self.arabic,
            self.cyrillic,
            self.greek,
            self.hebrew,
            self.devanagari,
            self.thai,
        ];
        let best = top.iter().enumerate().max_by_key(|&(i, n)| (n, std::cmp::Reverse(i))).map(|(i, _)| i);
        Some(match best {
            _ if top.iter().all(|&n| n == 0) => None,
            // Japanese writes kana beside its Han characters; Chinese never does.
            Some(0) if self.kana > 0 => Some("ja"),
            Some(0) => Some("zh"),
            Some(1) => Some("ko"),
            Some(2) if self.urdu > 0 => Some("ur"),
            Some(2) if self.persian > 0 => Some("fa"),
            Some(2) => Some("ar"),
            Some(3) if self.ukrainian > 0 => Some("uk"),
            Some(3) => Some("ru"),
            Some(4) => Some("el"),
            Some(5) => Some("he"),
            Some(6) => Some("hi"),
            Some(7) => Some("th"),
            _ => None,
        })
    }
}

/// Whether a whitespace-separated token is a mention (`@name`) or a link: not words of any
/// language, left out of detection.
fn is_handle_or_link(token: &str) -> bool {
    token.starts_with('@') || token.contains("://") || token.starts_with("www.")
}

/// Adds the function-word votes of one token (a run of non-whitespace) to `votes`.
fn vote_words(token: &str, votes: &mut [u16; LATIN.len()]) {
    let mut rest = token;
    while !rest.is_empty() {
        let start = rest.find(char::is_alphabetic).unwrap_or(rest.len());
        rest = &rest[start..];
        let end = rest.find(|c: char| !c.is_alphabetic()).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        let elided = after.strip_prefix(['\'', '’']).is_some_and(|r| r.starts_with(char::is_alphabetic));
        let mut buf = [0u8; 24];
        let mut len = 0;
        let mut fits = true;
        for c in word.chars().flat_map(char::to_lowercase) {
            if len + c.len_utf8() > buf.len() - 1 {
                fits = false;
                break;
            }
            len += c.encode_utf8(&mut buf[len..]).len();
        }
        if fits && !word.is_empty() {
            if elided {
                buf[len] = b'\'';
                len += 1;
            }
            let found = std::str::from_utf8(&buf[..len]).ok().and_then(|w| WORD_TABLE.get(w));
            // "you're", "don't": the word without the apostrophe.
            let found = found.or_else(|| {
                let bare = if elided { std::str::from_utf8(&buf[..len - 1]).ok()? } else { return None };
                WORD_TABLE.get(bare)
            });
            if let Some(&langs) = found {
                add_votes(votes, langs);
            }
        }
        rest = after;
    }
}

/// Adds one vote shared by the languages of `langs`: 60 points split among them, so a word
/// of one language weighs as much as two words each shared by two.
fn add_votes(votes: &mut [u16; LATIN.len()], langs: u8) {
    let share = 60 / langs.count_ones().max(1) as u16;
    for (i, v) in votes.iter_mut().enumerate() {
        if langs & (1 << i) != 0 {
            *v = v.saturating_add(share);
        }
    }
}

/// Detects the language of `text` and returns its ISO 639-1 code.
///
/// In order:
/// 1. Mentions (`@name`) and links are left out: they are not words of any language. A text
///    with nothing else, or nothing at all, gives `None`.
/// 2. The script, when another script has at least a quarter of the letters (a Han, kana or
///    Hangul character counting three: they are about a word each): Han → "zh" ("ja" when
///    kana are present), Hangul → "ko", Arabic script → "ar" ("fa" or "ur" when letters only
///    Persian or Urdu write are present), Cyrillic → "ru" ("uk" with Ukrainian letters), Greek
///    → "el", Hebrew → "he", Devanagari → "hi", Thai → "th"; any other script gives `None`.
/// 3. Latin script: a vote of frequent function words and distinctive letters for English,
///    French, Portuguese, German, Spanish, Italian and Dutch. A clear winner is the answer.
/// 4. Unsure (no vote, or a tie): a text whose letters are all ASCII — short social texts,
///    slang, emoji, emoticons, digits — is taken to be English when English has no fewer votes
///    than any language, as VADER scores emoji and slang (whichlang guesses such texts at
///    random). Otherwise the `whichlang` classifier (16 languages, a few µs) decides among the
///    tied languages (its own answer when there was no vote; the first tied language when it
///    names another).
pub fn detect(text: &str) -> Option<&'static str> {
    let mut scripts = Scripts::default();
    let mut votes = [0u16; LATIN.len()];
    let mut any = false;
    let mut ascii = true;
    for token in text.split_whitespace() {
        if is_handle_or_link(token) {
            continue;
        }
        any = true;
        for c in token.chars() {
            scripts.add(c);
            if !c.is_ascii() {
                ascii &= !c.is_alphabetic();
                if let Some(&(_, langs)) = LETTERS.iter().find(|&&(l, _)| Some(l) == c.to_lowercase().next()) {
                    add_votes(&mut votes, langs);
                }
            }
        }
    }
    if !any {
        return None;
    }
    if let Some(decided) = scripts.decide() {
        return decided;
    }
    // Latin script (or no letters at all).
    for token in text.split_whitespace().filter(|t| !is_handle_or_link(t)) {
        vote_words(token, &mut votes);
    }
    let best = *votes.iter().max().expect("non-empty");
    let tied = votes.iter().filter(|&&v| v == best).count();
    if best > 0 && tied == 1 {
        return votes.iter().position(|&v| v == best).map(|i| LATIN[i]);
    }
    if ascii && (best == 0 || votes[0] == best) {
        // Short social text, emoji, emoticons, slang ("lol ok"): English, which VADER scores.
        return Some("en");
    }
    let cleaned: String = text.split_whitespace().filter(|t| !is_handle_or_link(t)).collect::<Vec<_>>().join(" ");
    let guess = lookup(ISO_639_3, whichlang::detect_language(&cleaned).three_letter_code());
    let latin = |g: &str| LATIN.iter().position(|&l| l == g);
    match guess.and_then(|g| Some((g, latin(g)?))) {
        Some((g, _)) if best == 0 => Some(g),
        Some((g, i)) if votes[i] == best => Some(g),
        // whichlang names a language outside the vote, or one the tie does not hold.
        _ if best == 0 => guess,
        _ => votes.iter().position(|&v| v == best).map(|i| LATIN[i]),
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
        for lang in whichlang::LANGUAGES {
            let code = lang.three_letter_code();
            assert!(lookup(ISO_639_3, code).is_some(), "whichlang {code} has no mapping");
        }
        for (w, _) in WORDS {
            assert_eq!(*w, w.to_lowercase(), "WORDS are lower case");
        }
    }

    #[test]
    fn detects_languages() {
        let cases = [
            ("Je suis vraiment très content de ce nouveau téléphone, il marche parfaitement bien.", "fr"),
            ("J'adore mon téléphone !", "fr"),
            ("Ich bin wirklich sehr zufrieden mit diesem neuen Telefon, es funktioniert einwandfrei.", "de"),
            ("Mein Handy ist einfach super!", "de"),
            ("I am really happy with this new phone, it works perfectly well.", "en"),
            ("Amei o meu celular!", "pt"),
            ("Não recomendo, atendimento péssimo", "pt"),
            ("Me encanta mi teléfono 😍", "es"),
            ("¿Alguien ha probado el nuevo modelo?", "es"),
            ("Grazie mille, il servizio è molto buono", "it"),
            ("Het is een heel goede telefoon", "nl"),
            ("Это просто отличный телефон, я очень доволен покупкой", "ru"),
            ("Це просто чудовий телефон, і я задоволений", "uk"),
            ("这个手机真的很好用", "zh"),
            ("@acme 客服太差了 https://t.co/x", "zh"),
            ("このスマホは本当に良いです", "ja"),
            ("이 전화기 정말 좋아요", "ko"),
            ("الخدمة ممتازة جدا شكرا", "ar"),
            ("این گوشی خیلی خوب است", "fa"),
            ("Το τηλέφωνο είναι πολύ καλό", "el"),
            ("הטלפון הזה מצוין", "he"),
        ];
        for (text, lang) in cases {
            assert_eq!(detect(text), Some(lang), "{text}");
        }
    }

    #[test]
    fn the_script_wins_over_a_few_latin_words() {
        assert_eq!(detect("iPhone 15 太贵了"), Some("zh"));
        assert_eq!(detect("Acme الخدمة سيئة"), Some("ar"));
        assert_eq!(detect("Acme Store is great 好"), Some("en"), "Latin letters outnumber the one Han character");
        assert_eq!(detect("有人用过Rocket Skates吗？"), Some("zh"), "a Latin product name in Chinese");
        assert_eq!(detect("أحب Globex Hammock كثيرا!"), Some("ar"), "a Latin product name in Arabic");
    }

    #[test]
    fn short_unreliable_texts() {
        assert_eq!(detect("lol ok"), Some("en"));
        assert_eq!(detect(":) :) 😍"), Some("en"));
        assert_eq!(detect("  "), None);
        assert_eq!(detect("@anonymous http://url_removed"), None);
        assert_eq!(detect(""), None);
        // Elision needs a letter after the apostrophe; curly apostrophes count too.
        assert_eq!(detect("c’est top"), Some("fr"));
        assert_eq!(detect("it's fine, don't worry"), Some("en"));
    }

    #[test]
    fn odd_text_never_panics() {
        let long = "x’".repeat(100);
        for text in ["’", "a’", "j'", "'''", "\u{0}\u{1b}[31m", "é’", "ÇA", "İ", "ß’ß", long.as_str()] {
            let _ = detect(text);
        }
    }
}

//! Synthetic brandpulse streams for `demo` and `generate`: realistic, deterministic, with a planted crisis.
//!
//! The generator yields raw NDJSON lines exactly as they would sit in Kafka messages or replay
//! files: first every dimension row (brands, then ads), then the facts (mentions, ad comments,
//! care events) in event-time order, with a few seconds of jitter.
//!
//! How the stream is built:
//! - The span `[start_ms, start_ms + span_ms)` is cut into `events` evenly spaced **slots**; each
//!   slot emits exactly one fact line, so `events` is the exact number of fact lines (good, bad and
//!   duplicate). A slot emits, in this order of preference: a due duplicate, a due comment of the
//!   planted crisis, a due care follow-up (from a priority queue of future care events), and else
//!   a fresh event — a bad line with probability `bad_fraction`, otherwise a mention, an ad
//!   comment or a newly opened care case (≈ 65 / 20 / 15 % of facts, care counting all the
//!   events of its cases).
//! - Queued events keep their own `ts` (clamped to at most 10 s before the slot), fresh events
//!   get ±1.5 s of jitter, so no line is more than ~12 s behind the largest `ts` before it.
//! - Care follow-ups that would fall after the end of the span are not emitted: the stream simply
//!   ends there (such cases stay unanswered or unresolved).
//! - The crisis: on the second ad of the first brand (`acme`), a burst of 64–80 (or three times the
//!   ad's normal ten-minute volume, if larger) negative, mostly risky comments, spread over five
//!   minutes starting at 40 % of the span. That ad has little normal traffic (about a dozen comments
//!   per ten minutes in the demo, fewer than `min_comments`); ordinary comments are 12 % negative
//!   and 2 % risky on every ad, so nothing else crosses the crisis thresholds.
//! - Texts come from per-brand template pools built once in [`Generator::new`]; English texts are
//!   ordinary short social posts (emoji, caps, "!!!", negations) that VADER scores consistently
//!   with the template's tone. Upstream `sentiment`, when present, agrees with that tone.

use rand::{rngs::SmallRng, Rng, SeedableRng};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// RNG seed (same seed, same stream).
    pub seed: u64,
    /// Number of fact events (mentions + ad comments + care events), not counting dimension rows.
    pub events: u64,
    /// Event time of the first event, epoch ms (UTC).
    pub start_ms: i64,
    /// Event-time span covered by the facts, ms (events spread evenly over it, small jitter).
    pub span_ms: i64,
    /// Number of brands (at least 2).
    pub brands: usize,
    /// Fraction of mentions/comments that carry an upstream `sentiment` (the rest have only text).
    pub upstream_sentiment: f64,
    /// Fraction of lines that are deliberately bad (malformed JSON, missing fields), default 0.001.
    pub bad_fraction: f64,
    /// Fraction of facts that are exact duplicates of an earlier line, default 0.002.
    pub duplicate_fraction: f64,
}

/// 2026-11-24T08:00:00Z in epoch milliseconds.
const DEMO_START_MS: i64 = 1_795_507_200_000;

impl GenConfig {
    /// The `demo` stream: seed 42, 200 000 events over 4 h from 2026-11-24T08:00:00Z, 4 brands,
    /// half of the mentions/comments with upstream sentiment, 0.1 % bad lines, 0.2 % duplicates.
    pub fn demo() -> Self {
        GenConfig {
            seed: 42,
            events: 200_000,
            start_ms: DEMO_START_MS,
            span_ms: 4 * 3_600_000,
            brands: 4,
            upstream_sentiment: 0.5,
            bad_fraction: 0.001,
            duplicate_fraction: 0.002,
        }
    }
}

/// One generated record: its topic name ("brands", "ads", "mentions", "ad_comments", "care_events") and the JSON line (no trailing newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic name.
    pub topic: &'static str,
    /// The raw JSON line, without a trailing newline.
    pub line: Vec<u8>,
}

/// Facts about what was planted, for the demo summary and tests.
#[derive(Debug, Clone)]
pub struct Planted {
    /// The brand of the crisis ad (the first brand, `acme`).
    pub crisis_brand: String,
    /// The ad whose comments turn into a crisis.
    pub crisis_ad: String,
    /// Event time of the first crisis comment, epoch ms.
    pub crisis_start_ms: i64,
    /// The brand whose kill switch is disabled (brands ≥ 3), never the crisis brand.
    pub disabled_brand: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Catalogue

const TOPIC_BRANDS: &str = "brands";
const TOPIC_ADS: &str = "ads";
const TOPIC_MENTIONS: &str = "mentions";
const TOPIC_COMMENTS: &str = "ad_comments";
const TOPIC_CARE: &str = "care_events";

const NLANG: usize = 7;
const POS: usize = 0;
const NEU: usize = 1;
const NEG: usize = 2;

/// Cumulative language weights (en, fr, de, es, pt, zh, ar): mentions 58 % English, 10 % French,
/// 7 % German, 7 % Spanish, 7 % Portuguese, 6 % Chinese, 5 % Arabic.
const MENTION_LANG_CUM: [f64; NLANG] = [0.58, 0.68, 0.75, 0.82, 0.89, 0.95, 1.0];
const COMMENT_LANG_CUM: [f64; NLANG] = [0.65, 0.73, 0.79, 0.85, 0.91, 0.96, 1.0];
/// `lang` tags per language (region suffixes are ignored by the pipeline).
const LANG_TAGS: [&[&str]; NLANG] = [
    &["en", "en", "en", "en", "en-US", "en-GB"],
    &["fr", "fr", "fr-FR", "fr-CA"],
    &["de", "de", "de-DE", "de-AT"],
    &["es", "es", "es-ES", "es-MX"],
    &["pt", "pt", "pt-BR", "pt-PT"],
    &["zh", "zh", "zh-CN", "zh-Hans", "zh-TW"],
    &["ar", "ar", "ar-SA", "ar-EG", "ar-AE"],
];
const COUNTRIES: [&[&str]; NLANG] = [
    &["US", "US", "US", "GB", "GB", "CA", "AU", "IN", "IE"],
    &["FR", "FR", "FR", "BE", "CA", "CH"],
    &["DE", "DE", "DE", "AT", "CH"],
    &["ES", "ES", "MX", "MX", "AR", "CO", "CL"],
    &["BR", "BR", "BR", "PT"],
    &["CN", "CN", "CN", "TW", "SG", "HK"],
    &["SA", "EG", "AE", "MA", "JO", "QA"],
];
/// Mention platforms with cumulative weights.
const MENTION_PLATFORMS: [(&str, f64); 5] =
    [("twitter", 0.35), ("instagram", 0.55), ("reddit", 0.70), ("tiktok", 0.85), ("facebook", 1.0)];
const AD_PLATFORMS: [(&str, &str); 4] = [("facebook", "fb"), ("instagram", "ig"), ("tiktok", "tt"), ("youtube", "yt")];
const CARE_CHANNELS: [&str; 6] = ["twitter", "facebook", "instagram", "email", "chat", "phone"];
const RISK_TERMS: [&str; 5] = ["torrent", "free download", "pirate", "scam", "boycott"];

const MIN_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
/// Fresh events get `ts = slot time ± JITTER_MS`.
const JITTER_MS: i64 = 1_500;
/// Queued events (care follow-ups, crisis comments) are never emitted more than this behind their slot.
const MAX_QUEUE_LAG_MS: i64 = 10_000;
/// Share of facts per kind (care counts every event of its cases).
const SHARE_MENTIONS: f64 = 0.65;
const SHARE_COMMENTS: f64 = 0.20;
const SHARE_CARE: f64 = 0.15;
/// Share of ordinary ad comments that contain a risk term.
const RISKY_COMMENT_SHARE: f64 = 0.02;

struct BrandSeed {
    id: &'static str,
    name: &'static str,
    products: [&'static str; 3],
    /// Mention tone mix (positive, neutral, negative).
    tone: [f64; 3],
    weight: f64,
}

const BRAND_SEEDS: [BrandSeed; 10] = [
    BrandSeed {
        id: "acme",
        name: "Acme",
        products: ["Rocket Skates", "Acme app", "Anvil Pro"],
        tone: [0.40, 0.35, 0.25],
        weight: 1.0,
    },
    BrandSeed {
        id: "globex",
        name: "Globex",
        products: ["Globex Cloud", "Globex card", "Globex Hammock"],
        tone: [0.45, 0.35, 0.20],
        weight: 0.85,
    },
    BrandSeed {
        id: "initech",
        name: "Initech",
        products: ["TPS Suite", "Initech printer", "Initech Desk"],
        tone: [0.30, 0.35, 0.35],
        weight: 0.7,
    },
    BrandSeed {
        id: "umbrella",
        name: "Umbrella",
        products: ["Umbrella Labs app", "Umbrella Vitamins", "Umbrella Plus"],
        tone: [0.35, 0.35, 0.30],
        weight: 0.6,
    },
    BrandSeed {
        id: "hooli",
        name: "Hooli",
        products: ["Hooli Phone", "HooliChat", "Nucleus"],
        tone: [0.40, 0.35, 0.25],
        weight: 0.55,
    },
    BrandSeed {
        id: "stark",
        name: "Stark",
        products: ["Stark Watch", "Stark Energy plan", "Jarvis Home"],
        tone: [0.45, 0.35, 0.20],
        weight: 0.5,
    },
    BrandSeed {
        id: "wayne",
        name: "Wayne",
        products: ["Wayne Auto", "Wayne Bank app", "Wayne card"],
        tone: [0.35, 0.40, 0.25],
        weight: 0.45,
    },
    BrandSeed {
        id: "wonka",
        name: "Wonka",
        products: ["Wonka Bar", "Wonka Fizz", "Wonka Gum"],
        tone: [0.50, 0.30, 0.20],
        weight: 0.45,
    },
    BrandSeed {
        id: "cyberdyne",
        name: "Cyberdyne",
        products: ["Cyberdyne Assistant", "Cyberdyne router", "Cyberdyne Cam"],
        tone: [0.30, 0.40, 0.30],
        weight: 0.4,
    },
    BrandSeed {
        id: "tyrell",
        name: "Tyrell",
        products: ["Tyrell Vacuum", "Tyrell Home", "Tyrell Lamp"],
        tone: [0.40, 0.35, 0.25],
        weight: 0.4,
    },
];

// --- mention templates: {b} brand name, {B} upper-case name, {h} handle, {p} product -----------

const EN_MENTION_POS: &[&str] = &[
    "Just got my {p} and I love it!!!",
    "{b} customer service is amazing, fixed my issue in 5 minutes",
    "honestly the {p} is so good",
    "Big thanks to {h} for the quick refund, great experience",
    "{p} is the best thing I bought this year",
    "Wow. {b} really nailed it with the new {p}",
    "not gonna lie, the {p} is pretty great",
    "Shoutout to {h}, super helpful support team",
    "the new {p} update is smooth, nice work {h}",
    "LOVE my {p}!!!",
    "{b} is great. happy customer here",
    "I was skeptical but the {p} is actually really good",
    "10/10 would recommend the {p} to anyone",
    "{h} you made my day, thank you!",
    "so happy with my {p}, worth every penny",
    "the {p} is AWESOME",
    "{h} thanks for sorting out my order so fast, impressed",
    "best purchase ever: {p}",
];
const EN_MENTION_NEU: &[&str] = &[
    "Anyone tried the new {p}?",
    "{b} announces a new {p} for next month",
    "Does the {p} ship to Canada?",
    "{h} what are your store hours on Sunday?",
    "Comparing the {p} with the competition, thoughts?",
    "Ordered a {p} today, will report back",
    "Is the {p} available in blue?",
    "{b} has an event downtown this weekend",
    "Switching my phone plan, considering {b}",
    "How do I reset my {p} password",
    "{b} quarterly results out today",
    "Watching the {b} livestream now",
    "{h} is the {p} compatible with my old one?",
    "which {p} model should I get",
    "{b} is opening a store in my city",
];
const EN_MENTION_NEG: &[&str] = &[
    "my {p} stopped working after two days. not good.",
    "{h} I have been waiting 3 weeks for my refund. this is ridiculous",
    "Worst customer service ever, {b}. Never again",
    "why does the {p} keep crashing?? so annoying",
    "{b} charged me twice and nobody answers. terrible",
    "my {p} arrived broken {h} please fix this",
    "The new {p} update is AWFUL. bring back the old one",
    "Really disappointed with {b} lately",
    "the {p} is not worth the money, sorry",
    "still no reply from {h} support... 4 days now, unacceptable",
    "cancelled my {b} subscription, too many problems",
    "I hate that the {p} battery dies so fast",
    "{b} please stop sending me spam emails!!!",
    "ugh the {p} is down again",
    "not happy with {b} at all. bad quality",
    "{h} your app is broken and support is useless",
    "the {p} is NOT good, don't buy it",
];
const EN_POS_SUFFIX: &[&str] = &["", "", " 😍", " 🙌", "!!", " :)", " 👏"];
const EN_NEU_SUFFIX: &[&str] = &["", "", " 🤔", " #tech"];
const EN_NEG_SUFFIX: &[&str] = &["", "", " 😡", " 🙄", "!!!", " smh", " 😤"];

const FR_MENTION_POS: &[&str] = &[
    "J'adore mon {p} !",
    "Service client {b} au top, merci {h} 👍",
    "Le nouveau {p} est vraiment génial",
    "Très contente de mon achat chez {b}",
    "Merci {b}, livraison super rapide",
];
const FR_MENTION_NEU: &[&str] = &[
    "Quelqu'un a testé le {p} ?",
    "{b} ouvre un nouveau magasin à Lyon",
    "Le {p} est disponible en France ?",
    "Comment contacter {h} ?",
];
const FR_MENTION_NEG: &[&str] = &[
    "Mon {p} ne marche plus depuis hier, nul",
    "Toujours pas de remboursement {h}, c'est honteux",
    "Service client {b} catastrophique 😡",
    "Très déçu par le {p}",
    "Je déconseille le {p}, vraiment nul",
];
const DE_MENTION_POS: &[&str] = &[
    "Mein {p} ist einfach super!",
    "Danke {h}, toller Kundenservice 👍",
    "Der neue {p} gefällt mir sehr",
    "{b} hat alles richtig gemacht, sehr zufrieden",
];
const DE_MENTION_NEU: &[&str] = &[
    "Hat jemand Erfahrungen mit dem {p}?",
    "{b} stellt den neuen {p} vor",
    "Gibt es den {p} auch in Österreich?",
    "Wann öffnet {b} in Berlin?",
];
const DE_MENTION_NEG: &[&str] = &[
    "{p} schon wieder kaputt. Enttäuschend",
    "Warte seit zwei Wochen auf eine Antwort von {h}",
    "Nie wieder {b}, furchtbarer Service 😡",
    "Das Update für den {p} ist eine Katastrophe",
];
const ES_MENTION_POS: &[&str] = &[
    "Me encanta mi {p} 😍",
    "Gracias {h} por la ayuda, excelente servicio",
    "El nuevo {p} es increíble",
    "Muy contenta con {b}",
];
const ES_MENTION_NEU: &[&str] = &[
    "¿Alguien ha probado el {p}?",
    "{b} lanza el nuevo {p} en México",
    "¿El {p} tiene garantía?",
    "¿A qué hora abre {b} los domingos?",
];
const ES_MENTION_NEG: &[&str] = &[
    "Mi {p} dejó de funcionar, qué mal",
    "{h} llevo dos semanas esperando mi reembolso",
    "Pésimo servicio de {b} 😡",
    "No compren el {p}, muy decepcionado",
];
const PT_MENTION_POS: &[&str] = &[
    "Amei o meu {p}!",
    "Obrigado {h}, atendimento excelente",
    "O novo {p} é muito bom 👏",
    "Super satisfeita com a {b}",
];
const PT_MENTION_NEU: &[&str] =
    &["Alguém já usou o {p}?", "{b} lança o {p} no Brasil", "O {p} tem garantia?", "Qual o horário da loja {b}?"];
const PT_MENTION_NEG: &[&str] = &[
    "Meu {p} parou de funcionar, que raiva",
    "{h} até agora nada do meu reembolso",
    "Atendimento da {b} é péssimo 😡",
    "Não recomendo o {p}",
];

const ZH_MENTION_POS: &[&str] = &[
    "我的{p}太好用了！",
    "{b}的客服非常好，谢谢{h}",
    "新的{p}真的很棒",
    "在{b}买的东西很满意",
    "物流很快，给{b}好评",
];
const ZH_MENTION_NEU: &[&str] = &["有人用过{p}吗？", "{b}在上海开了新店", "{p}什么时候上市？", "怎么联系{h}？"];
const ZH_MENTION_NEG: &[&str] = &[
    "{p}用了两天就坏了，太差了",
    "{h}到现在还没退款，很失望",
    "{b}的客服太糟糕了😡",
    "不推荐{p}，质量很差",
];
const AR_MENTION_POS: &[&str] = &[
    "أحب {p} كثيرا!",
    "خدمة عملاء {b} ممتازة، شكرا {h}",
    "{p} الجديد رائع جدا",
    "سعيد جدا بالشراء من {b}",
];
const AR_MENTION_NEU: &[&str] =
    &["هل جرب أحد {p}؟", "{b} تفتح متجرا جديدا في دبي", "متى يتوفر {p} في السعودية؟", "كيف أتواصل مع {h}؟"];
const AR_MENTION_NEG: &[&str] = &[
    "{p} توقف عن العمل، سيء جدا",
    "{h} لم يتم استرداد المبلغ حتى الآن",
    "خدمة {b} سيئة للغاية 😡",
    "لا أنصح بشراء {p}",
];

// --- ad comment templates ---------------------------------------------------------------------

const EN_COMMENT_POS: &[&str] = &[
    "Love this ad",
    "need the {p} in my life, looks amazing",
    "the music in this ad is great",
    "just ordered one, so excited!",
    "{b} always makes the best ads",
    "this looks great",
    "omg I want it, so cute",
    "finally a good ad lol",
    "great price for the {p}",
    "tagging my sister, she will love this",
    "have the {p} already, love it, highly recommend",
    "YES! been waiting for this",
];
const EN_COMMENT_NEU: &[&str] = &[
    "where can I buy this?",
    "how much is it?",
    "does it come in black?",
    "is this available in the UK?",
    "link?",
    "what's the song in this ad?",
    "when does the {p} launch?",
    "ships to Germany?",
    "which size is the {p} in the video",
    "@sam look at this",
];
const EN_COMMENT_NEG: &[&str] = &[
    "seen this ad 10 times today, stop",
    "way too expensive, terrible value",
    "mine broke after a week, don't bother",
    "the {p} is overpriced and bad",
    "annoying ad",
    "{b} ignored my complaint, not buying again",
    "bad quality, returned it",
];
const EN_POS_COMMENT_SUFFIX: &[&str] = &["", "", " 😍", " 👍", "!!"];
const EN_NEU_COMMENT_SUFFIX: &[&str] = &["", " 🤔"];
const EN_NEG_COMMENT_SUFFIX: &[&str] = &["", " 🙄", " 😒", "!!"];
/// Ordinary comments that happen to contain a risk term (≈ 2 % of comments).
const EN_COMMENT_RISKY: &[&str] = &[
    "is there a free download of this somewhere?",
    "lol just pirate it",
    "looks like a scam tbh",
    "got it on torrent, no thanks",
    "my friend says it's a scam, is it legit?",
    "some people want to boycott {b}, why?",
];
const FR_COMMENT: [&[&str]; 3] = [
    &["J'adore cette pub", "Trop bien, je veux le {p}", "Super produit 👍"],
    &["C'est combien ?", "Disponible en Belgique ?", "Où l'acheter ?"],
    &["Trop cher", "Encore cette pub...", "Déçu du {p}"],
];
const DE_COMMENT: [&[&str]; 3] = [
    &["Tolle Werbung!", "Will ich haben 😍", "Der {p} ist super"],
    &["Was kostet das?", "Gibt es das in Schwarz?", "Wo kann man das kaufen?"],
    &["Viel zu teuer", "Nervige Werbung", "Schlechte Qualität"],
];
const ES_COMMENT: [&[&str]; 3] = [
    &["Me encanta este anuncio", "Lo quiero 😍", "Excelente el {p}"],
    &["¿Cuánto cuesta?", "¿Hay envío a Chile?", "¿Dónde lo compro?"],
    &["Muy caro", "Otra vez este anuncio", "Mala calidad"],
];
const ZH_COMMENT: [&[&str]; 3] = [
    &["这个广告很棒", "太想要了😍", "{p}真不错"],
    &["多少钱？", "能寄到台湾吗？", "在哪里买？"],
    &["太贵了", "又是这个广告", "质量很差"],
];
const AR_COMMENT: [&[&str]; 3] = [
    &["إعلان رائع", "أريده جدا 😍", "{p} ممتاز"],
    &["كم السعر؟", "هل يوجد توصيل إلى مصر؟", "من أين أشتريه؟"],
    &["غالي جدا", "هذا الإعلان مرة أخرى", "جودة سيئة"],
];
const PT_COMMENT: [&[&str]; 3] = [
    &["Amei esse anúncio", "Quero muito 😍", "O {p} é ótimo"],
    &["Quanto custa?", "Entrega em Portugal?", "Onde compro?"],
    &["Caro demais", "De novo esse anúncio", "Qualidade ruim"],
];

/// The planted crisis: negative, mostly risky comments on one ad.
const CRISIS_COMMENTS: &[&str] = &[
    "SCAM!!! {b} never delivered my order",
    "this is a scam, do not buy",
    "free download on torrent, this ad is a scam. terrible",
    "boycott {b}, they stole my money",
    "{b} is a total scam, worst company ever",
    "BOYCOTT {B}!!! 😡😡",
    "torrent it, don't give money to this awful company",
    "just pirate it, {b} is a terrible ripoff",
    "scam scam scam. reported this ad",
    "lost $200 to this scam. avoid {b}",
    "they ignore refunds. boycott now",
    "terrible company, everyone should boycott {b}",
    "fake ad, this is a scam",
    "do NOT buy this, absolute garbage, awful",
    "horrible. {b} should be ashamed",
    "this ad is a lie, worst product ever",
    "{b} scammed me, stay away, terrible",
    "pirate it or boycott it, never buy from {b} 🤬",
];

// ---------------------------------------------------------------------------------------------
// Small serialisable pieces (no per-record allocation beyond the line itself)

/// An id written as `<prefix><n>`, e.g. `m-17`.
#[derive(Clone, Copy)]
struct Id(&'static str, u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        fmt::Display::fmt(&self.1, f)
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Hot path: format into a stack buffer rather than through `fmt`.
        let mut buf = [0u8; 40];
        let p = self.0.as_bytes();
        if p.len() > 16 {
            return s.collect_str(self);
        }
        buf[..p.len()].copy_from_slice(p);
        let mut digits = [0u8; 20];
        let mut v = self.1;
        let mut k = digits.len();
        loop {
            k -= 1;
            digits[k] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let n = p.len() + digits.len() - k;
        buf[p.len()..n].copy_from_slice(&digits[k..]);
        s.serialize_str(std::str::from_utf8(&buf[..n]).map_err(serde::ser::Error::custom)?)
    }
}

/// A `ts` value: RFC 3339 UTC with milliseconds, or integer epoch ms.
#[derive(Clone, Copy)]
enum Ts {
    Rfc(i64),
    Ms(i64),
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Ts::Rfc(ms) => match rfc3339_bytes(ms) {
                Some(b) => s.serialize_str(std::str::from_utf8(&b).map_err(serde::ser::Error::custom)?),
                None => s.collect_str(&Rfc3339(ms)),
            },
            Ts::Ms(ms) => s.serialize_i64(ms),
        }
    }
}

/// Epoch ms formatted as `YYYY-MM-DDTHH:MM:SS.mmmZ`, without going through chrono (hot path).
struct Rfc3339(i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match rfc3339_bytes(self.0) {
            Some(b) => f.write_str(std::str::from_utf8(&b).map_err(|_| fmt::Error)?),
            None => match chrono::DateTime::from_timestamp_millis(self.0) {
                Some(t) => f.write_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                None => Err(fmt::Error),
            },
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for years 0..=9999, else `None`.
fn rfc3339_bytes(ms: i64) -> Option<[u8; 24]> {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000) as u32;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    if !(0..=9999).contains(&y) {
        return None;
    }
    let sod = secs.rem_euclid(86_400) as u32;
    let mut b = *b"0000-00-00T00:00:00.000Z";
    put_digits(&mut b[0..4], y as u32);
    put_digits(&mut b[5..7], mo);
    put_digits(&mut b[8..10], d);
    put_digits(&mut b[11..13], sod / 3600);
    put_digits(&mut b[14..16], sod / 60 % 60);
    put_digits(&mut b[17..19], sod % 60);
    put_digits(&mut b[20..23], milli);
    Some(b)
}

fn put_digits(out: &mut [u8], mut v: u32) {
    for c in out.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[derive(Serialize)]
struct MentionOut<'a> {
    event_id: Id,
    ts: Ts,
    brand_id: &'a str,
    platform: &'static str,
    author_id: Id,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sentiment: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reach: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'static str>,
}

#[derive(Serialize)]
struct CommentOut<'a> {
    event_id: Id,
    ts: Ts,
    ad_id: &'a str,
    platform: &'static str,
    author_id: Id,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sentiment: Option<f64>,
}

#[derive(Serialize)]
struct CareOut<'a> {
    event_id: Id,
    ts: Ts,
    case_id: Id,
    brand_id: &'a str,
    kind: &'static str,
    channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_event_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<Id>,
}

fn to_line<T: Serialize>(v: &T) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    serde_json::to_writer(&mut buf, v).expect("serialising to memory cannot fail");
    buf
}

// ---------------------------------------------------------------------------------------------
// Generator state

struct BrandDef {
    id: String,
    /// Cumulative mention tone weights (positive, neutral, negative).
    tone_cum: [f64; 3],
}

struct AdDef {
    id: String,
    brand: usize,
    platform: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CareKind {
    CustomerMessage,
    AgentResponse,
    Resolved,
    Reopened,
}

impl CareKind {
    fn as_str(self) -> &'static str {
        match self {
            CareKind::CustomerMessage => "customer_message",
            CareKind::AgentResponse => "agent_response",
            CareKind::Resolved => "resolved",
            CareKind::Reopened => "reopened",
        }
    }
}

/// A future care event (min-heap by `(ts, seq)`).
struct CareEv {
    ts: i64,
    seq: u64,
    case: u64,
    brand: usize,
    channel: &'static str,
    kind: CareKind,
    agent: u64,
}

impl PartialEq for CareEv {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.seq) == (o.ts, o.seq)
    }
}
impl Eq for CareEv {}
impl PartialOrd for CareEv {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for CareEv {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (o.ts, o.seq).cmp(&(self.ts, self.seq))
    }
}

/// A recent mention or ad comment that a care case may point to.
#[derive(Clone, Copy)]
struct Src {
    ts: i64,
    id: Id,
    platform: &'static str,
}

/// The last few candidate sources of one brand.
struct SrcRing {
    items: Vec<Src>,
    next: usize,
}

const SRC_RING: usize = 64;

impl SrcRing {
    fn push(&mut self, s: Src) {
        if self.items.len() < SRC_RING {
            self.items.push(s);
        } else {
            self.items[self.next] = s;
            self.next = (self.next + 1) % SRC_RING;
        }
    }
    /// A random recent source from within the hour before `ts`.
    fn pick(&self, rng: &mut SmallRng, ts: i64) -> Option<Src> {
        if self.items.is_empty() {
            return None;
        }
        for _ in 0..4 {
            let s = self.items[rng.gen_range(0..self.items.len())];
            if s.ts < ts && s.ts >= ts - HOUR_MS {
                return Some(s);
            }
        }
        None
    }
}

/// Text pools, built once.
struct Texts {
    /// `[(brand * NLANG + lang) * 3 + tone]`.
    mentions: Vec<Vec<String>>,
    comments: Vec<Vec<String>>,
    /// Per brand: ordinary comments with a risk term.
    risky: Vec<Vec<String>>,
    /// Comments of the planted crisis.
    crisis: Vec<String>,
}

/// The generator: an iterator of records in roughly event-time order; dimension rows (all brands, all ads) come first.
pub struct Generator {
    cfg: GenConfig,
    rng: SmallRng,
    brands: Vec<BrandDef>,
    brand_cum: Vec<f64>,
    ads: Vec<AdDef>,
    ad_cum: Vec<f64>,
    texts: Texts,
    dims: VecDeque<Record>,
    slot: u64,
    end_ms: i64,
    next_mention: u64,
    next_comment: u64,
    next_care: u64,
    next_case: u64,
    care_seq: u64,
    care: BinaryHeap<CareEv>,
    /// Care events emitted or queued within the span, and cases opened: to aim at 15 % care.
    care_total: u64,
    cases_opened: u64,
    crisis_ad: usize,
    crisis_ts: Vec<i64>,
    crisis_next: usize,
    /// Queued duplicates: (slot due, topic, line), sorted by slot.
    dups: VecDeque<(u64, &'static str, Vec<u8>)>,
    dup_max_delay: u64,
    sources: Vec<SrcRing>,
    planted: Planted,
}

fn pick_cum(cum: &[f64], u: f64) -> usize {
    cum.iter().position(|&c| u < c).unwrap_or(cum.len() - 1)
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0 + 0.0
}

fn std_normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // (0, 1]
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A log-normal duration in ms with the given median (ms) and log-sd.
fn lognormal_ms(rng: &mut SmallRng, median_ms: f64, sigma: f64) -> i64 {
    (median_ms * (sigma * std_normal(rng)).exp()).max(1000.0) as i64
}

fn fill(template: &str, name: &str, handle: &str, product: &str) -> String {
    template.replace("{b}", name).replace("{B}", &name.to_uppercase()).replace("{h}", handle).replace("{p}", product)
}

/// Every template × product (if used) × suffix.
fn expand(out: &mut Vec<String>, templates: &[&str], name: &str, handle: &str, products: &[String], suffixes: &[&str]) {
    for t in templates {
        let prods: &[String] = if t.contains("{p}") { products } else { &products[..1] };
        for p in prods {
            let base = fill(t, name, handle, p);
            for s in suffixes {
                out.push(format!("{base}{s}"));
            }
        }
    }
}

impl Generator {
    /// Builds the catalogue (brands, ads, text pools) and the planted crisis for `cfg`.
    pub fn new(cfg: GenConfig) -> Self {
        let mut cfg = cfg;
        cfg.brands = cfg.brands.max(2);
        cfg.span_ms = cfg.span_ms.max(1);
        cfg.upstream_sentiment = cfg.upstream_sentiment.clamp(0.0, 1.0);
        cfg.bad_fraction = cfg.bad_fraction.clamp(0.0, 1.0);
        cfg.duplicate_fraction = cfg.duplicate_fraction.clamp(0.0, 0.5);
        let mut rng = SmallRng::seed_from_u64(cfg.seed);

        // Brands.
        let mut brands = Vec::with_capacity(cfg.brands);
        let mut weights = Vec::with_capacity(cfg.brands);
        let mut products_of = Vec::with_capacity(cfg.brands);
        let mut names = Vec::with_capacity(cfg.brands);
        for i in 0..cfg.brands {
            let (id, name, products, tone, weight) = match BRAND_SEEDS.get(i) {
                Some(s) => (
                    s.id.to_string(),
                    s.name.to_string(),
                    s.products.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                    s.tone,
                    s.weight,
                ),
                None => {
                    let n = i + 1;
                    let neg = rng.gen_range(0.15..0.35);
                    (
                        format!("brand{n}"),
                        format!("Brand{n}"),
                        vec![format!("Brand{n} app"), format!("Brand{n} One"), format!("Brand{n} Max")],
                        [0.7 - neg, 0.3, neg],
                        rng.gen_range(0.3..0.5),
                    )
                }
            };
            let tone_cum = [tone[0], tone[0] + tone[1], 1.0];
            brands.push(BrandDef { id, tone_cum });
            weights.push(weight);
            products_of.push(products);
            names.push(name);
        }
        let brand_cum = cumulative(&weights);

        // Ads: 3–6 per brand; the crisis ad (second ad of the first brand) has little normal traffic.
        let mut ads = Vec::new();
        let mut ad_weights = Vec::new();
        let mut ad_rows = Vec::new();
        let mut campaign = 0u64;
        for (b, brand) in brands.iter().enumerate() {
            let n = rng.gen_range(3..=6);
            let campaigns = [campaign + 1, campaign + 2];
            campaign += 2;
            for k in 0..n {
                let (platform, short) = AD_PLATFORMS[rng.gen_range(0..AD_PLATFORMS.len())];
                let id = format!("ad-{}", ads.len() + 1);
                let spend = (rng.gen_range(25.0..400.0_f64) * 100.0).round() / 100.0;
                let w = if b == 0 && k == 1 { 0.2 } else { rng.gen_range(0.7..2.0) };
                ad_rows.push(to_line(&AdRow {
                    ad_id: &id,
                    brand_id: &brand.id,
                    campaign_id: format!("cmp-{}", campaigns[k % 2]),
                    platform,
                    account_id: format!("{}-{}", brand.id, short),
                    spend_per_hour: spend,
                }));
                ads.push(AdDef { id, brand: b, platform });
                ad_weights.push(w);
            }
        }
        let ad_cum = cumulative(&ad_weights);
        let crisis_ad = 1;

        // Text pools.
        let texts = build_texts(&brands, &names, &products_of);

        // Dimension rows.
        let disabled = if cfg.brands >= 3 { Some(2) } else { None };
        let mut dims = VecDeque::new();
        for (i, b) in brands.iter().enumerate() {
            let row = brand_row(i, &b.id, &names[i], disabled == Some(i));
            dims.push_back(Record { topic: TOPIC_BRANDS, line: to_line(&row) });
        }
        for line in ad_rows {
            dims.push_back(Record { topic: TOPIC_ADS, line });
        }

        // The planted crisis.
        let total_w: f64 = ad_weights.iter().sum();
        let normal_per_10min = cfg.events as f64
            * SHARE_COMMENTS
            * (ad_weights[crisis_ad] / total_w)
            * (10.0 * MIN_MS as f64 / cfg.span_ms as f64);
        let burst = rng.gen_range(64..=80u64).max((3.0 * normal_per_10min).ceil() as u64).min(cfg.events / 10);
        let crisis_start = cfg.start_ms + cfg.span_ms * 2 / 5;
        let burst_span = (5 * MIN_MS).min(cfg.span_ms / 10).max(1);
        let mut crisis_ts: Vec<i64> = (0..burst)
            .map(|k| if k == 0 { crisis_start } else { crisis_start + rng.gen_range(0..burst_span) })
            .collect();
        crisis_ts.sort_unstable();

        let spacing = (cfg.span_ms as f64 / cfg.events.max(1) as f64).max(1e-3);
        let dup_max_delay = ((5_000.0 / spacing) as u64).clamp(1, 40);
        let planted = Planted {
            crisis_brand: brands[0].id.clone(),
            crisis_ad: ads[crisis_ad].id.clone(),
            crisis_start_ms: crisis_start,
            disabled_brand: disabled.map(|i| brands[i].id.clone()),
        };
        let sources = (0..brands.len()).map(|_| SrcRing { items: Vec::new(), next: 0 }).collect();
        Generator {
            end_ms: cfg.start_ms + cfg.span_ms,
            cfg,
            rng,
            brands,
            brand_cum,
            ads,
            ad_cum,
            texts,
            dims,
            slot: 0,
            next_mention: 1,
            next_comment: 1,
            next_care: 1,
            next_case: 1,
            care_seq: 0,
            care: BinaryHeap::new(),
            care_total: 0,
            cases_opened: 0,
            crisis_ad,
            crisis_ts,
            crisis_next: 0,
            dups: VecDeque::new(),
            dup_max_delay,
            sources,
            planted,
        }
    }

    /// What was planted in this stream.
    pub fn planted(&self) -> Planted {
        self.planted.clone()
    }

    fn slot_time(&self, i: u64) -> i64 {
        let ev = i128::from(self.cfg.events.max(1));
        self.cfg.start_ms + (i128::from(i) * i128::from(self.cfg.span_ms) / ev) as i64
    }

    fn jitter(&mut self, t: i64) -> i64 {
        (t + self.rng.gen_range(-JITTER_MS..=JITTER_MS)).clamp(self.cfg.start_ms, self.end_ms - 1)
    }

    fn ts(&mut self, ms: i64) -> Ts {
        if self.rng.gen::<f64>() < 0.1 {
            Ts::Ms(ms)
        } else {
            Ts::Rfc(ms)
        }
    }

    fn pick_brand(&mut self) -> usize {
        let u = self.rng.gen::<f64>() * self.brand_cum[self.brand_cum.len() - 1];
        pick_cum(&self.brand_cum, u)
    }

    fn pick_ad(&mut self) -> usize {
        let u = self.rng.gen::<f64>() * self.ad_cum[self.ad_cum.len() - 1];
        self.ad_cum.partition_point(|&c| c <= u).min(self.ads.len() - 1)
    }

    fn author(&mut self) -> Id {
        // 15 % from a few hundred very active accounts (log-uniform), the rest from a long tail.
        let n = if self.rng.gen::<f64>() < 0.15 {
            (self.rng.gen::<f64>() * 2_000f64.ln()).exp() as u64
        } else {
            self.rng.gen_range(1..=500_000u64)
        };
        Id("u-", n.max(1))
    }

    fn upstream(&mut self, tone: usize) -> Option<f64> {
        if self.rng.gen::<f64>() >= self.cfg.upstream_sentiment {
            return None;
        }
        let v = match tone {
            POS => self.rng.gen_range(0.1..0.95),
            NEU => self.rng.gen_range(-0.04..0.04),
            _ => self.rng.gen_range(-0.95..-0.1),
        };
        Some(round3(v))
    }

    fn lang_tag(&mut self, lang: usize, p: f64) -> Option<&'static str> {
        if self.rng.gen::<f64>() < p {
            let tags = LANG_TAGS[lang];
            Some(tags[self.rng.gen_range(0..tags.len())])
        } else {
            None
        }
    }

    fn gen_mention(&mut self, t: i64, register: bool) -> Vec<u8> {
        let b = self.pick_brand();
        let lang = pick_cum(&MENTION_LANG_CUM, self.rng.gen());
        let tone = pick_cum(&self.brands[b].tone_cum, self.rng.gen());
        let pool_i = (b * NLANG + lang) * 3 + tone;
        let text_i = self.rng.gen_range(0..self.texts.mentions[pool_i].len());
        let ms = self.jitter(t);
        let ts = self.ts(ms);
        let event_id = Id("m-", self.next_mention);
        self.next_mention += 1;
        let platform = MENTION_PLATFORMS[pick_cum_pairs(&MENTION_PLATFORMS, self.rng.gen())].0;
        let author_id = self.author();
        let lang_tag = self.lang_tag(lang, 0.6);
        let sentiment = self.upstream(tone);
        let reach = if self.rng.gen::<f64>() < 0.95 {
            let r = (200f64.ln() + 1.7 * std_normal(&mut self.rng)).exp();
            Some(r.clamp(10.0, 1e6) as u64)
        } else {
            None
        };
        let country = if self.rng.gen::<f64>() < 0.85 {
            let cs = COUNTRIES[lang];
            Some(cs[self.rng.gen_range(0..cs.len())])
        } else {
            None
        };
        if register && tone != POS {
            self.sources[b].push(Src { ts: ms, id: event_id, platform });
        }
        to_line(&MentionOut {
            event_id,
            ts,
            brand_id: &self.brands[b].id,
            platform,
            author_id,
            text: &self.texts.mentions[pool_i][text_i],
            lang: lang_tag,
            sentiment,
            reach,
            country,
        })
    }

    fn gen_comment(&mut self, t: i64, register: bool) -> Vec<u8> {
        let a = self.pick_ad();
        let b = self.ads[a].brand;
        let ms = self.jitter(t);
        let risky = self.rng.gen::<f64>() < RISKY_COMMENT_SHARE;
        let (lang, tone) = if risky {
            (0, NEG)
        } else {
            let lang = pick_cum(&COMMENT_LANG_CUM, self.rng.gen());
            let u: f64 = self.rng.gen();
            (
                lang,
                if u < 0.53 {
                    POS
                } else if u < 0.88 {
                    NEU
                } else {
                    NEG
                },
            )
        };
        let pool_i = (b * NLANG + lang) * 3 + tone;
        let len = if risky { self.texts.risky[b].len() } else { self.texts.comments[pool_i].len() };
        let text_i = self.rng.gen_range(0..len);
        let ts = self.ts(ms);
        let event_id = Id("c-", self.next_comment);
        self.next_comment += 1;
        let author_id = self.author();
        let lang_tag = self.lang_tag(lang, 0.6);
        let sentiment = if risky {
            // Risky ordinary comments are questions or jokes as often as complaints.
            if self.rng.gen::<f64>() < self.cfg.upstream_sentiment {
                Some(round3(self.rng.gen_range(-0.6..0.1)))
            } else {
                None
            }
        } else {
            self.upstream(tone)
        };
        let platform = self.ads[a].platform;
        if register && tone != POS {
            self.sources[b].push(Src { ts: ms, id: event_id, platform });
        }
        let text = if risky { &self.texts.risky[b][text_i] } else { &self.texts.comments[pool_i][text_i] };
        to_line(&CommentOut {
            event_id,
            ts,
            ad_id: &self.ads[a].id,
            platform,
            author_id,
            text,
            lang: lang_tag,
            sentiment,
        })
    }

    fn gen_crisis_comment(&mut self, ms: i64) -> Vec<u8> {
        let a = self.crisis_ad;
        let b = self.ads[a].brand;
        let text_i = self.rng.gen_range(0..self.texts.crisis.len());
        let ts = self.ts(ms);
        let event_id = Id("c-", self.next_comment);
        self.next_comment += 1;
        let author_id = self.author();
        let lang_tag = self.lang_tag(0, 0.6);
        let sentiment = if self.rng.gen::<f64>() < self.cfg.upstream_sentiment {
            Some(round3(self.rng.gen_range(-0.9..-0.6)))
        } else {
            None
        };
        let platform = self.ads[a].platform;
        self.sources[b].push(Src { ts: ms, id: event_id, platform });
        to_line(&CommentOut {
            event_id,
            ts,
            ad_id: &self.ads[a].id,
            platform,
            author_id,
            text: &self.texts.crisis[text_i],
            lang: lang_tag,
            sentiment,
        })
    }

    fn schedule(&mut self, ts: i64, case: u64, brand: usize, channel: &'static str, kind: CareKind, agent: u64) {
        if ts >= self.end_ms {
            return;
        }
        self.care_seq += 1;
        self.care_total += 1;
        self.care.push(CareEv { ts, seq: self.care_seq, case, brand, channel, kind, agent });
    }

    /// Opens a case now and queues its follow-ups.
    fn open_case(&mut self, t: i64) -> Vec<u8> {
        let b = self.pick_brand();
        let u: f64 = self.rng.gen();
        let (priority, resp_median_min) = if u < 0.10 {
            ("urgent", 8.0)
        } else if u < 0.35 {
            ("high", 20.0)
        } else if u < 0.85 {
            ("normal", 35.0)
        } else {
            ("low", 80.0)
        };
        let ms = self.jitter(t);
        let ts = self.ts(ms);
        let source = if self.rng.gen::<f64>() < 0.62 { self.sources[b].pick(&mut self.rng, ms) } else { None };
        let channel = match source {
            Some(s) => s.platform,
            None => CARE_CHANNELS[self.rng.gen_range(0..CARE_CHANNELS.len())],
        };
        let case = self.next_case;
        self.next_case += 1;
        self.cases_opened += 1;
        self.care_total += 1;
        let agent = self.rng.gen_range(1..=40u64);

        // Follow-ups: 0–2 customer messages, a first response (92 %), resolution, rare reopening.
        let answered = self.rng.gen::<f64>() < 0.92;
        let resp_delay = lognormal_ms(&mut self.rng, resp_median_min * MIN_MS as f64, 1.0);
        let u: f64 = self.rng.gen();
        let msgs = if u < 0.4 {
            0
        } else if u < 0.8 {
            1
        } else {
            2
        };
        for _ in 0..msgs {
            let d = if answered {
                self.rng.gen_range(0..resp_delay.max(2))
            } else {
                lognormal_ms(&mut self.rng, 15.0 * MIN_MS as f64, 0.8)
            };
            self.schedule(ms + d, case, b, channel, CareKind::CustomerMessage, 0);
        }
        if answered {
            let resp = ms + resp_delay;
            self.schedule(resp, case, b, channel, CareKind::AgentResponse, agent);
            if self.rng.gen::<f64>() < 0.8 {
                let res = resp + lognormal_ms(&mut self.rng, 30.0 * MIN_MS as f64, 0.9);
                self.schedule(res, case, b, channel, CareKind::Resolved, agent);
                if self.rng.gen::<f64>() < 0.045 {
                    let re = res + lognormal_ms(&mut self.rng, 30.0 * MIN_MS as f64, 0.8);
                    self.schedule(re, case, b, channel, CareKind::Reopened, 0);
                    if self.rng.gen::<f64>() < 0.9 {
                        let r2 = re + lognormal_ms(&mut self.rng, 15.0 * MIN_MS as f64, 0.8);
                        self.schedule(r2, case, b, channel, CareKind::AgentResponse, agent);
                        if self.rng.gen::<f64>() < 0.7 {
                            let r3 = r2 + lognormal_ms(&mut self.rng, 30.0 * MIN_MS as f64, 0.8);
                            self.schedule(r3, case, b, channel, CareKind::Resolved, agent);
                        }
                    }
                }
            }
        }
        let event_id = Id("e-", self.next_care);
        self.next_care += 1;
        to_line(&CareOut {
            event_id,
            ts,
            case_id: Id("k-", case),
            brand_id: &self.brands[b].id,
            kind: "opened",
            channel,
            priority: Some(priority),
            source_event_id: source.map(|s| s.id),
            agent_id: None,
        })
    }

    fn emit_followup(&mut self, ev: CareEv, ms: i64) -> Vec<u8> {
        let ts = self.ts(ms);
        let event_id = Id("e-", self.next_care);
        self.next_care += 1;
        to_line(&CareOut {
            event_id,
            ts,
            case_id: Id("k-", ev.case),
            brand_id: &self.brands[ev.brand].id,
            kind: ev.kind.as_str(),
            channel: ev.channel,
            priority: None,
            source_event_id: None,
            agent_id: (ev.agent > 0).then_some(Id("a-", ev.agent)),
        })
    }

    /// A deliberately bad fact line: truncated JSON or a required field missing.
    fn bad_line(&mut self, t: i64) -> Record {
        let u: f64 = self.rng.gen();
        let (topic, line, required): (&'static str, Vec<u8>, &[&str]) = if u < SHARE_MENTIONS {
            let l = self.gen_mention(t, false);
            (TOPIC_MENTIONS, l, &["event_id", "ts", "brand_id", "platform", "author_id", "text"])
        } else if u < SHARE_MENTIONS + SHARE_COMMENTS {
            let l = self.gen_comment(t, false);
            (TOPIC_COMMENTS, l, &["event_id", "ts", "ad_id", "platform", "author_id", "text"])
        } else {
            let b = self.pick_brand();
            let case = self.rng.gen_range(1..=self.next_case.max(1));
            let ms = self.jitter(t);
            let ev =
                CareEv { ts: ms, seq: 0, case, brand: b, channel: "email", kind: CareKind::CustomerMessage, agent: 0 };
            let l = self.emit_followup(ev, ms);
            (TOPIC_CARE, l, &["event_id", "ts", "case_id", "brand_id", "kind", "channel"])
        };
        let mut line = line;
        if self.rng.gen::<bool>() {
            let len = line.len();
            let mut cut = self.rng.gen_range(len / 4..len * 3 / 4).max(2);
            while cut > 2 && (line[cut] & 0xC0) == 0x80 {
                cut -= 1;
            }
            line.truncate(cut);
        } else {
            let field = required[self.rng.gen_range(0..required.len())];
            let mut v: serde_json::Value = serde_json::from_slice(&line).expect("generated lines are JSON");
            if let Some(o) = v.as_object_mut() {
                o.remove(field);
            }
            line = serde_json::to_vec(&v).expect("serialising to memory cannot fail");
        }
        Record { topic, line }
    }

    /// With probability `duplicate_fraction`, queues an exact copy of a good line a few slots later.
    fn maybe_dup(&mut self, slot: u64, topic: &'static str, line: &[u8]) {
        if self.cfg.duplicate_fraction > 0.0 && self.rng.gen::<f64>() < self.cfg.duplicate_fraction {
            let due = slot + self.rng.gen_range(1..=self.dup_max_delay);
            let at = self.dups.partition_point(|d| d.0 <= due);
            self.dups.insert(at, (due, topic, line.to_vec()));
        }
    }

    /// The fact line of slot `i` (nominal time `t`).
    fn fill_slot(&mut self, i: u64, t: i64) -> Record {
        if self.dups.front().is_some_and(|d| d.0 <= i) {
            if let Some((_, topic, line)) = self.dups.pop_front() {
                return Record { topic, line };
            }
        }
        let (topic, line) = if self.crisis_ts.get(self.crisis_next).is_some_and(|&c| c <= t) {
            let ms = self.crisis_ts[self.crisis_next].max(t - MAX_QUEUE_LAG_MS);
            self.crisis_next += 1;
            (TOPIC_COMMENTS, self.gen_crisis_comment(ms))
        } else if self.care.peek().is_some_and(|e| e.ts <= t) {
            let ev = self.care.pop().expect("peeked");
            let ms = ev.ts.max(t - MAX_QUEUE_LAG_MS);
            (TOPIC_CARE, self.emit_followup(ev, ms))
        } else if self.rng.gen::<f64>() < self.cfg.bad_fraction {
            return self.bad_line(t);
        } else {
            // Events per case so far (with a prior of 3), so care ends up near its share.
            let per_case = (self.care_total as f64 + 30.0) / (self.cases_opened as f64 + 10.0);
            let w_open = SHARE_CARE / per_case;
            let u = self.rng.gen::<f64>() * (SHARE_MENTIONS + SHARE_COMMENTS + w_open);
            if u < SHARE_MENTIONS {
                (TOPIC_MENTIONS, self.gen_mention(t, true))
            } else if u < SHARE_MENTIONS + SHARE_COMMENTS {
                (TOPIC_COMMENTS, self.gen_comment(t, true))
            } else {
                (TOPIC_CARE, self.open_case(t))
            }
        };
        self.maybe_dup(i, topic, &line);
        Record { topic, line }
    }
}

impl Iterator for Generator {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if let Some(r) = self.dims.pop_front() {
            return Some(r);
        }
        if self.slot >= self.cfg.events {
            return None;
        }
        let i = self.slot;
        self.slot += 1;
        let t = self.slot_time(i);
        Some(self.fill_slot(i, t))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.dims.len() as u64 + self.cfg.events.saturating_sub(self.slot);
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

fn pick_cum_pairs(cum: &[(&str, f64)], u: f64) -> usize {
    cum.iter().position(|&(_, c)| u < c).unwrap_or(cum.len() - 1)
}

fn cumulative(w: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    w.iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect()
}

#[derive(Serialize)]
struct AdRow<'a> {
    ad_id: &'a str,
    brand_id: &'a str,
    campaign_id: String,
    platform: &'static str,
    account_id: String,
    spend_per_hour: f64,
}

#[derive(Serialize)]
struct BrandRow<'a> {
    brand_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sla_seconds: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crisis: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_terms: Option<&'static [&'static str]>,
    kill_switch: serde_json::Value,
}

/// The brand dimension row of brand `i`: a mix of explicit, partial and default settings.
fn brand_row<'a>(i: usize, id: &'a str, name: &'a str, kill_switch_disabled: bool) -> BrandRow<'a> {
    use serde_json::json;
    let default_crisis = || json!({"min_comments": 20, "negative_share": 0.6, "risk_share": 0.3});
    let (sla_seconds, crisis, risk_terms) = match i {
        0 => (
            Some(json!({"urgent": 600, "high": 1800, "normal": 7200, "low": 86400})),
            Some(default_crisis()),
            Some(&RISK_TERMS[..]),
        ),
        1 => (None, Some(default_crisis()), None),
        2 => (Some(json!({"urgent": 900, "high": 3600, "normal": 14400, "low": 86400})), None, Some(&RISK_TERMS[..])),
        3 => (Some(json!({"urgent": 1200, "high": 2700})), None, Some(&RISK_TERMS[..])),
        _ => (None, None, None),
    };
    let kill_switch = if kill_switch_disabled {
        json!({"enabled": false})
    } else if i == 3 {
        json!({"enabled": true, "auto_resume": true})
    } else {
        json!({"enabled": true, "auto_resume": false})
    };
    BrandRow { brand_id: id, name, sla_seconds, crisis, risk_terms, kill_switch }
}

fn build_texts(brands: &[BrandDef], names: &[String], products: &[Vec<String>]) -> Texts {
    let mention_tpl: [[&[&str]; 3]; NLANG] = [
        [EN_MENTION_POS, EN_MENTION_NEU, EN_MENTION_NEG],
        [FR_MENTION_POS, FR_MENTION_NEU, FR_MENTION_NEG],
        [DE_MENTION_POS, DE_MENTION_NEU, DE_MENTION_NEG],
        [ES_MENTION_POS, ES_MENTION_NEU, ES_MENTION_NEG],
        [PT_MENTION_POS, PT_MENTION_NEU, PT_MENTION_NEG],
        [ZH_MENTION_POS, ZH_MENTION_NEU, ZH_MENTION_NEG],
        [AR_MENTION_POS, AR_MENTION_NEU, AR_MENTION_NEG],
    ];
    let comment_tpl: [[&[&str]; 3]; NLANG] =
        [[EN_COMMENT_POS, EN_COMMENT_NEU, EN_COMMENT_NEG], FR_COMMENT, DE_COMMENT, ES_COMMENT, PT_COMMENT, ZH_COMMENT, AR_COMMENT];
    let en_mention_suffix: [&[&str]; 3] = [EN_POS_SUFFIX, EN_NEU_SUFFIX, EN_NEG_SUFFIX];
    let en_comment_suffix: [&[&str]; 3] = [EN_POS_COMMENT_SUFFIX, EN_NEU_COMMENT_SUFFIX, EN_NEG_COMMENT_SUFFIX];
    let mut t = Texts { mentions: Vec::new(), comments: Vec::new(), risky: Vec::new(), crisis: Vec::new() };
    for (b, brand) in brands.iter().enumerate() {
        let name = &names[b];
        let handle = format!("@{}", brand.id);
        for lang in 0..NLANG {
            for tone in 0..3 {
                let (ms, cs): (&[&str], &[&str]) =
                    if lang == 0 { (en_mention_suffix[tone], en_comment_suffix[tone]) } else { (&[""], &[""]) };
                let mut pool = Vec::new();
                expand(&mut pool, mention_tpl[lang][tone], name, &handle, &products[b], ms);
                t.mentions.push(pool);
                let mut pool = Vec::new();
                expand(&mut pool, comment_tpl[lang][tone], name, &handle, &products[b], cs);
                t.comments.push(pool);
            }
        }
        let mut pool = Vec::new();
        expand(&mut pool, EN_COMMENT_RISKY, name, &handle, &products[b], &[""]);
        t.risky.push(pool);
    }
    expand(&mut t.crisis, CRISIS_COMMENTS, &names[0], &format!("@{}", brands[0].id), &products[0], &["", "!!", " 😡"]);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::{HashMap, HashSet};

    fn small(events: u64) -> GenConfig {
        GenConfig { events, ..GenConfig::demo() }
    }

    fn generate(cfg: GenConfig) -> (Vec<Record>, Planted) {
        let g = Generator::new(cfg);
        let planted = g.planted();
        (g.collect(), planted)
    }

    fn ts_of(v: &Value) -> Option<i64> {
        match &v["ts"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis()),
            _ => None,
        }
    }

    fn required(topic: &str) -> &'static [&'static str] {
        match topic {
            "mentions" => &["event_id", "ts", "brand_id", "platform", "author_id", "text"],
            "ad_comments" => &["event_id", "ts", "ad_id", "platform", "author_id", "text"],
            "care_events" => &["event_id", "ts", "case_id", "brand_id", "kind", "channel"],
            _ => &[],
        }
    }

    /// The parsed good fact lines in stream order, first copy of each event_id only: (topic, value, ts).
    fn good_facts(recs: &[Record]) -> Vec<(&'static str, Value, i64)> {
        let mut seen = HashSet::new();
        recs.iter()
            .filter(|r| !required(r.topic).is_empty())
            .filter_map(|r| {
                let v: Value = serde_json::from_slice(&r.line).ok()?;
                if required(r.topic).iter().any(|f| v.get(f).is_none()) {
                    return None;
                }
                let ts = ts_of(&v)?;
                seen.insert((r.topic, v["event_id"].as_str()?.to_string())).then_some((r.topic, v, ts))
            })
            .collect()
    }

    fn ad_brands(recs: &[Record]) -> HashMap<String, String> {
        recs.iter()
            .filter(|r| r.topic == "ads")
            .map(|r| {
                let v: Value = serde_json::from_slice(&r.line).unwrap();
                (v["ad_id"].as_str().unwrap().to_string(), v["brand_id"].as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let (a, pa) = generate(small(20_000));
        let (b, pb) = generate(small(20_000));
        assert_eq!(a, b);
        assert_eq!(pa.crisis_ad, pb.crisis_ad);
        let (c, _) = generate(GenConfig { seed: 7, ..small(20_000) });
        assert_ne!(a, c);
    }

    #[test]
    fn dimensions_first_then_facts_in_the_configured_proportions() {
        let cfg = small(100_000);
        let (recs, _) = generate(cfg.clone());
        let brands = recs.iter().take_while(|r| r.topic == "brands").count();
        assert_eq!(brands, 4);
        let ads = recs[brands..].iter().take_while(|r| r.topic == "ads").count();
        assert!((12..=24).contains(&ads), "{ads} ads");
        let facts = &recs[brands + ads..];
        assert_eq!(facts.len() as u64, cfg.events);
        assert!(facts.iter().all(|r| ["mentions", "ad_comments", "care_events"].contains(&r.topic)));
        let share = |t: &str| facts.iter().filter(|r| r.topic == t).count() as f64 / facts.len() as f64;
        let (m, c, e) = (share("mentions"), share("ad_comments"), share("care_events"));
        assert!((0.60..0.70).contains(&m), "mentions {m}");
        assert!((0.17..0.23).contains(&c), "ad comments {c}");
        assert!((0.12..0.18).contains(&e), "care {e}");
        // Every ad belongs to a brand and every brand has 3–6 ads.
        let per_brand = ad_brands(&recs).into_values().fold(HashMap::new(), |mut m, b| {
            *m.entry(b).or_insert(0) += 1;
            m
        });
        assert_eq!(per_brand.len(), 4);
        assert!(per_brand.values().all(|n| (3..=6).contains(n)), "{per_brand:?}");
    }

    #[test]
    fn every_good_line_is_valid_and_bad_lines_and_duplicates_are_near_their_fractions() {
        let cfg = small(100_000);
        let (recs, _) = generate(cfg.clone());
        let ads = ad_brands(&recs);
        let brand_ids: HashSet<String> = recs
            .iter()
            .filter(|r| r.topic == "brands")
            .map(|r| serde_json::from_slice::<Value>(&r.line).unwrap()["brand_id"].as_str().unwrap().to_string())
            .collect();
        let (mut truncated, mut missing, mut dups) = (0, 0, 0);
        let mut first: HashMap<(&str, String), &[u8]> = HashMap::new();
        let (mut with_lang, mut int_ts, mut mentions, mut with_sent, mut scoreable) = (0, 0, 0, 0, 0);
        let mut langs: HashMap<String, usize> = HashMap::new();
        for r in recs.iter().filter(|r| !required(r.topic).is_empty()) {
            let Ok(v) = serde_json::from_slice::<Value>(&r.line) else {
                truncated += 1;
                assert!(std::str::from_utf8(&r.line).is_ok(), "bad lines stay UTF-8");
                continue;
            };
            let o = v.as_object().expect("every parseable line is an object");
            let absent = required(r.topic).iter().filter(|f| !o.contains_key(**f)).count();
            if absent > 0 {
                assert_eq!(absent, 1, "one field missing: {v}");
                missing += 1;
                continue;
            }
            // A good line: check every field's type and value.
            let s = |f: &str| o[f].as_str().unwrap_or_else(|| panic!("{f} not a string in {v}"));
            for f in required(r.topic) {
                if *f != "ts" {
                    assert!(!s(f).is_empty(), "{f} empty in {v}");
                }
            }
            let ts = ts_of(&v).unwrap_or_else(|| panic!("bad ts in {v}"));
            assert!(ts >= cfg.start_ms && ts < cfg.start_ms + cfg.span_ms, "ts out of span in {v}");
            if o["ts"].is_i64() {
                int_ts += 1;
            } else {
                assert!(s("ts").ends_with('Z') && s("ts").len() == 24, "{v}");
            }
            match r.topic {
                "mentions" => {
                    assert!(brand_ids.contains(s("brand_id")));
                    assert!(s("event_id").starts_with("m-"));
                    mentions += 1;
                    if let Some(l) = o.get("lang") {
                        with_lang += 1;
                        *langs.entry(l.as_str().unwrap()[..2].to_string()).or_default() += 1;
                    }
                    if let Some(reach) = o.get("reach") {
                        let reach = reach.as_u64().unwrap();
                        assert!((10..=1_000_000).contains(&reach));
                    }
                }
                "ad_comments" => {
                    assert!(ads.contains_key(s("ad_id")));
                    assert!(s("event_id").starts_with("c-"));
                }
                _ => {
                    assert!(brand_ids.contains(s("brand_id")));
                    assert!(s("event_id").starts_with("e-") && s("case_id").starts_with("k-"));
                    let kinds = ["opened", "customer_message", "agent_response", "resolved", "reopened"];
                    assert!(kinds.contains(&s("kind")), "{v}");
                    if let Some(p) = o.get("priority") {
                        assert!(["urgent", "high", "normal", "low"].contains(&p.as_str().unwrap()));
                    }
                }
            }
            if r.topic != "care_events" {
                scoreable += 1;
                if let Some(x) = o.get("sentiment") {
                    let x = x.as_f64().unwrap();
                    assert!((-1.0..=1.0).contains(&x));
                    assert_eq!(x, (x * 1000.0).round() / 1000.0, "3 decimals");
                    with_sent += 1;
                }
            }
            let key = (r.topic, s("event_id").to_string());
            match first.get(&key) {
                Some(line) => {
                    assert_eq!(*line, &r.line[..], "a repeated event_id is an exact copy");
                    dups += 1;
                }
                None => {
                    first.insert(key, &r.line);
                }
            }
        }
        let n = cfg.events as f64;
        let bad = f64::from(truncated + missing);
        assert!(bad > 0.6 * n * cfg.bad_fraction && bad < 1.5 * n * cfg.bad_fraction, "{bad} bad lines");
        assert!(truncated > 0 && missing > 0);
        let dups = f64::from(dups);
        let want = n * cfg.duplicate_fraction;
        assert!(dups > 0.7 * want && dups < 1.35 * want, "{dups} duplicates");
        let frac = |a: i32, b: i32| f64::from(a) / f64::from(b);
        assert!((0.55..0.65).contains(&frac(with_lang, mentions)), "lang on {}", frac(with_lang, mentions));
        assert!((0.45..0.55).contains(&frac(with_sent, scoreable)));
        let facts = cfg.events as i32;
        assert!((0.08..0.12).contains(&frac(int_ts, facts)));
        let en = frac(langs["en"] as i32, with_lang);
        assert!((0.53..0.63).contains(&en), "english {en}");
        assert_eq!(langs.len(), 7, "{langs:?}");
        for (lang, share) in [("zh", 0.06), ("ar", 0.05)] {
            let f = frac(langs[lang] as i32, with_lang);
            assert!((share * 0.7..share * 1.3).contains(&f), "{lang} {f}");
        }
    }

    #[test]
    fn the_pipeline_decoder_accepts_every_line_but_the_deliberate_bad_ones() {
        let cfg = small(100_000);
        let (recs, _) = generate(cfg.clone());
        let defaults = schemas::BrandProfile::default();
        let mut reasons: HashMap<&'static str, usize> = HashMap::new();
        for r in &recs {
            let topic = schemas::Topic::from_name(r.topic).expect("a known topic");
            if let Err(e) = schemas::decode(topic, &r.line, &defaults) {
                assert!(topic.is_fact(), "dimension row rejected: {}", e.reason);
                *reasons.entry(e.reason.kind()).or_default() += 1;
            }
        }
        assert!(reasons.keys().all(|k| ["malformed_json", "missing_field"].contains(k)), "{reasons:?}");
        let bad = reasons.values().sum::<usize>() as f64;
        let want = cfg.events as f64 * cfg.bad_fraction;
        assert!(bad > 0.6 * want && bad < 1.5 * want, "{reasons:?}");
    }

    #[test]
    fn facts_are_in_event_time_order_within_seconds() {
        for cfg in [small(100_000), GenConfig { events: 3_000, ..GenConfig::demo() }] {
            let (recs, _) = generate(cfg.clone());
            let mut max = cfg.start_ms;
            let mut worst = 0;
            for (_, _, ts) in good_facts(&recs) {
                worst = worst.max(max - ts);
                max = max.max(ts);
            }
            assert!(worst <= 30_000, "{worst} ms out of order");
        }
    }

    /// Every (ad, bucket) in which the crisis condition held after some comment, evaluated
    /// continuously in stream order; negative = upstream sentiment ≤ −0.05 among comments with one.
    fn crisis_buckets(recs: &[Record]) -> Vec<(String, i64)> {
        let mut per_ad: HashMap<String, HashMap<i64, [u32; 4]>> = HashMap::new();
        let mut hits = Vec::new();
        for (topic, v, ts) in good_facts(recs) {
            if topic != "ad_comments" {
                continue;
            }
            let ad = v["ad_id"].as_str().unwrap().to_string();
            let text = v["text"].as_str().unwrap().to_lowercase();
            let b = ts.div_euclid(60_000);
            let buckets = per_ad.entry(ad.clone()).or_default();
            let c = buckets.entry(b).or_default();
            c[0] += 1;
            if let Some(s) = v.get("sentiment").and_then(Value::as_f64) {
                c[1] += 1;
                c[2] += u32::from(s <= -0.05);
            }
            c[3] += u32::from(RISK_TERMS.iter().any(|t| text.contains(t)));
            let mut w = [0u32; 4];
            for k in b - 9..=b {
                if let Some(x) = buckets.get(&k) {
                    for i in 0..4 {
                        w[i] += x[i];
                    }
                }
            }
            let neg = if w[1] == 0 { 0.0 } else { f64::from(w[2]) / f64::from(w[1]) };
            let risk = f64::from(w[3]) / f64::from(w[0]);
            if w[0] >= 20 && (neg >= 0.6 || risk >= 0.3) {
                hits.push((ad, b * 60_000));
            }
        }
        hits
    }

    #[test]
    fn the_planted_crisis_is_there_and_nothing_else_is_a_crisis() {
        for upstream in [0.5, 1.0] {
            let cfg = GenConfig { upstream_sentiment: upstream, ..small(200_000) };
            let (recs, planted) = generate(cfg.clone());
            assert_eq!(planted.crisis_brand, "acme");
            assert_eq!(ad_brands(&recs)[&planted.crisis_ad], "acme");
            let start = planted.crisis_start_ms;
            assert_eq!(start, cfg.start_ms + cfg.span_ms * 2 / 5);
            let hits = crisis_buckets(&recs);
            assert!(hits.iter().any(|(ad, _)| ad == &planted.crisis_ad), "no crisis found");
            for (ad, b) in &hits {
                assert_eq!(ad, &planted.crisis_ad, "unexpected crisis on {ad} at {b}");
                assert!(*b >= start - 60_000 && *b < start + 15 * 60_000, "crisis bucket {b} far from the burst");
            }
            // The burst itself: ≥ 20 comments in a ten-minute window, ≥ 60 % negative.
            let mut in_window = (0u32, 0u32, 0u32);
            for (topic, v, ts) in good_facts(&recs) {
                if topic == "ad_comments"
                    && v["ad_id"] == planted.crisis_ad.as_str()
                    && ts >= start
                    && ts < start + 600_000
                {
                    in_window.0 += 1;
                    if let Some(s) = v["sentiment"].as_f64() {
                        in_window.1 += 1;
                        in_window.2 += u32::from(s <= -0.05);
                    }
                }
            }
            assert!(in_window.0 >= 60, "{in_window:?}");
            assert!(f64::from(in_window.2) >= 0.6 * f64::from(in_window.1), "{in_window:?}");
        }
    }

    #[test]
    fn care_cases_are_realistic() {
        let cfg = small(200_000);
        let (recs, _) = generate(cfg.clone());
        let ads = ad_brands(&recs);
        let mut sla: HashMap<String, [i64; 4]> = HashMap::new();
        for r in recs.iter().filter(|r| r.topic == "brands") {
            let v: Value = serde_json::from_slice(&r.line).unwrap();
            let d = [900, 3600, 14_400, 86_400];
            let mut t = d;
            for (i, k) in ["urgent", "high", "normal", "low"].iter().enumerate() {
                t[i] = v["sla_seconds"][k].as_i64().unwrap_or(d[i]);
            }
            sla.insert(v["brand_id"].as_str().unwrap().to_string(), t);
        }
        let mut seen_src: HashMap<String, (String, i64)> = HashMap::new(); // event_id -> (brand, ts)
        struct Case {
            brand: String,
            prio: usize,
            opened: i64,
            first_resp: Option<i64>,
            resolved: bool,
            reopened: bool,
            source: bool,
        }
        let mut cases: HashMap<String, Case> = HashMap::new();
        let mut prio_counts = [0u32; 4];
        for (topic, v, ts) in good_facts(&recs) {
            let id = v["event_id"].as_str().unwrap().to_string();
            match topic {
                "mentions" => {
                    seen_src.insert(id, (v["brand_id"].as_str().unwrap().to_string(), ts));
                }
                "ad_comments" => {
                    seen_src.insert(id, (ads[v["ad_id"].as_str().unwrap()].clone(), ts));
                }
                _ => {
                    let case = v["case_id"].as_str().unwrap().to_string();
                    let brand = v["brand_id"].as_str().unwrap().to_string();
                    match v["kind"].as_str().unwrap() {
                        "opened" => {
                            let p =
                                ["urgent", "high", "normal", "low"].iter().position(|p| v["priority"] == *p).unwrap();
                            prio_counts[p] += 1;
                            let source = if let Some(src) = v.get("source_event_id") {
                                let (b, sts) = &seen_src[src.as_str().unwrap()];
                                assert_eq!(b, &brand, "source of another brand");
                                assert!(*sts < ts && *sts >= ts - 3_600_000, "source not within the hour before");
                                true
                            } else {
                                false
                            };
                            let c = Case {
                                brand,
                                prio: p,
                                opened: ts,
                                first_resp: None,
                                resolved: false,
                                reopened: false,
                                source,
                            };
                            assert!(cases.insert(case, c).is_none(), "opened twice");
                        }
                        kind => {
                            let Some(c) = cases.get_mut(&case) else {
                                continue;
                            }; // bad-line opened, or a bad-line case id
                            assert_eq!(c.brand, brand);
                            assert!(ts >= c.opened);
                            match kind {
                                "agent_response" => {
                                    assert!(v["agent_id"].as_str().unwrap().starts_with("a-"));
                                    c.first_resp.get_or_insert(ts);
                                }
                                "resolved" => c.resolved = true,
                                "reopened" => c.reopened = true,
                                _ => {}
                            }
                        }
                    }
                }
            }
        }
        assert!(cases.len() > 5_000, "{} cases", cases.len());
        // Cases opened in the first half of the span: their follow-ups are rarely cut off by its end.
        let half = cfg.start_ms + cfg.span_ms / 2;
        let early: Vec<&Case> = cases.values().filter(|c| c.opened < half).collect();
        let n = early.len() as f64;
        let share = |f: &dyn Fn(&Case) -> bool| early.iter().filter(|c| f(c)).count() as f64 / n;
        let with_source = share(&|c| c.source);
        assert!((0.5..0.7).contains(&with_source), "source share {with_source}");
        let answered = share(&|c| c.first_resp.is_some());
        assert!((0.82..0.93).contains(&answered), "answered {answered}");
        let resolved = share(&|c| c.resolved);
        assert!((0.55..0.8).contains(&resolved), "resolved {resolved}");
        let reopened = share(&|c| c.reopened);
        assert!((0.01..0.05).contains(&reopened), "reopened {reopened}");
        let met = share(&|c| c.first_resp.is_some_and(|r| r - c.opened <= sla[&c.brand][c.prio] * 1000));
        let breached = share(&|c| c.first_resp.is_some_and(|r| r - c.opened > sla[&c.brand][c.prio] * 1000));
        assert!(met > 0.6 && breached > 0.05, "met {met} breached {breached}");
        let total = f64::from(prio_counts.iter().sum::<u32>());
        let urgent = f64::from(prio_counts[0]) / total;
        let normal = f64::from(prio_counts[2]) / total;
        assert!((0.08..0.12).contains(&urgent) && (0.46..0.54).contains(&normal), "{prio_counts:?}");
    }

    #[test]
    fn dimension_rows_follow_the_contract() {
        let (recs, planted) = generate(small(1_000));
        assert_eq!(planted.disabled_brand.as_deref(), Some("initech"));
        for r in recs.iter().filter(|r| r.topic == "brands") {
            let v: Value = serde_json::from_slice(&r.line).unwrap();
            let enabled = v["kill_switch"]["enabled"].as_bool().unwrap();
            assert_eq!(enabled, v["brand_id"] != "initech");
        }
        for r in recs.iter().filter(|r| r.topic == "ads") {
            let v: Value = serde_json::from_slice(&r.line).unwrap();
            assert!(["facebook", "instagram", "tiktok", "youtube"].contains(&v["platform"].as_str().unwrap()));
            assert!(v["campaign_id"].is_string() && v["account_id"].is_string());
            assert!(v["spend_per_hour"].as_f64().unwrap() > 0.0);
        }
        let (recs, planted) = generate(GenConfig { brands: 2, ..small(1_000) });
        assert_eq!(planted.disabled_brand, None);
        assert_eq!(recs.iter().filter(|r| r.topic == "brands").count(), 2);
        let (recs, _) = generate(GenConfig { brands: 12, ..small(1_000) });
        let ids: HashSet<_> = recs.iter().filter(|r| r.topic == "brands").map(|r| r.line.clone()).collect();
        assert_eq!(ids.len(), 12);
    }

    #[test]
    fn rfc3339_formatting_matches_chrono() {
        let mut rng = SmallRng::seed_from_u64(1);
        let samples = [0i64, -1, 951_782_400_000, 1_709_164_800_123, DEMO_START_MS, 253_402_300_799_999];
        for ms in samples.into_iter().chain((0..20_000).map(|_| rng.gen_range(-5_000_000_000_000..250_000_000_000_000)))
        {
            let want = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(Rfc3339(ms).to_string(), want);
        }
        assert_eq!(Rfc3339(DEMO_START_MS).to_string(), "2026-11-24T08:00:00.000Z");
    }

    #[test]
    fn tiny_and_empty_configs_work() {
        let (recs, _) = generate(GenConfig { events: 0, ..GenConfig::demo() });
        assert!(recs.iter().all(|r| r.topic == "brands" || r.topic == "ads"));
        let (recs, _) = generate(GenConfig { events: 10, span_ms: 0, ..GenConfig::demo() });
        assert_eq!(recs.iter().filter(|r| !required(r.topic).is_empty()).count(), 10);
    }
}

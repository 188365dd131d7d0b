//! Ids are data, never syntax (docs/semantics.md, "Ids"): how an id read from the input (brand,
//! ad, alert, case ids, and keys derived from them) is encoded where it meets a syntax of its own.
//!
//! Ids keep any Unicode text — control characters included — and are compared, stored, and written
//! to Parquet, ClickHouse and JSON as they are. Only where an id becomes part of something with
//! its own syntax is it encoded, by one of these functions, so that no id can make that thing
//! fail or inject into it:
//! - an HTTP header value: [`header_value`] (percent-encoding, reversible);
//! - a file-name component: [`file_component`] (percent-encoding, reversible, bounded length);
//! - a line of text (logs, the summary): [`for_log`] (escapes, quoting when needed).
//!
//! A Kafka key is bytes: the id's UTF-8 bytes go there unchanged (nothing can fail).

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use reqwest::header::HeaderValue;
use std::fmt;

/// Bytes percent-encoded in a header value: everything outside visible ASCII (`!`..=`~`; C0
/// controls, space, DEL and every non-ASCII byte) and `%` itself, so the encoding is reversible.
const HEADER: &AsciiSet = &CONTROLS.add(b' ').add(b'%');

/// Bytes percent-encoded in a file-name component: those of [`HEADER`], path separators, and the
/// characters some file systems refuse (`:*?"<>|`).
const FILE: &AsciiSet =
    &HEADER.add(b'/').add(b'\\').add(b':').add(b'*').add(b'?').add(b'"').add(b'<').add(b'>').add(b'|');

/// An id as an HTTP header value: the id's UTF-8 bytes, each byte outside visible ASCII and each
/// `%` written as `%XX` (upper-case hex, RFC 3986). An id of visible ASCII without `%` is sent
/// unchanged (`crisis-ad-a1-20261124T1011`); percent-decoding the value as UTF-8 gives the id
/// back. Never fails: the result holds visible ASCII only.
pub fn header_value(id: &str) -> HeaderValue {
    let encoded = utf8_percent_encode(id, HEADER).to_string();
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| unreachable!("percent-encoded text is visible ASCII"))
}

/// The longest name [`file_component`] returns, in bytes (file systems allow 255).
pub const MAX_FILE_COMPONENT: usize = 200;

/// An id as one component of a file name (a directory or file name inside the output, never a
/// path): percent-encoded as in [`header_value`], plus `/`, `\`, `:`, `*`, `?`, `"`, `<`, `>`,
/// `|`, and a leading `.` (so no id names `.`, `..` or a hidden file). The empty id is `%`
/// (which no encoding produces otherwise). An encoding longer than [`MAX_FILE_COMPONENT`] bytes
/// keeps its first 180 bytes (never splitting a `%XX`) followed by `%~` and 16 hex digits of a
/// 64-bit FNV-1a hash of the id: distinct ids stay distinct names unless that hash collides.
/// Distinct ids of at most [`MAX_FILE_COMPONENT`] encoded bytes always get distinct names.
#[cfg_attr(not(test), allow(dead_code))] // no file name is derived from an id yet; any new one must use this
pub fn file_component(id: &str) -> String {
    if id.is_empty() {
        return "%".into();
    }
    let mut s = String::with_capacity(id.len());
    let rest = match id.strip_prefix('.') {
        Some(rest) => {
            s.push_str("%2E");
            rest
        }
        None => id,
    };
    s.extend(utf8_percent_encode(rest, FILE));
    if s.len() <= MAX_FILE_COMPONENT {
        return s;
    }
    let mut cut = 180;
    // `s` is ASCII; step back over a `%` or the first hex digit of a `%XX` cut in two.
    while s.as_bytes()[cut - 1] == b'%' || (cut >= 2 && s.as_bytes()[cut - 2] == b'%') {
        cut -= 1;
    }
    s.truncate(cut);
    s.push_str(&format!("%~{:016x}", fnv1a(id.as_bytes())));
    s
}

/// 64-bit FNV-1a (stable across runs and platforms, unlike `std`'s hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// An id as text for a log line or the summary: printable characters (non-ASCII letters
/// included) as they are; `\` as `\\`; `\n`, `\r`, `\t`, NUL as `\n`, `\r`, `\t`, `\0`; every
/// other control character (C0, DEL, C1) and the characters that reorder or break lines on a
/// terminal (bidi controls U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069; U+2028,
/// U+2029) as `\xHH` (below U+0080) or `\u{H…}`. An id that is empty or holds (unescaped)
/// whitespace, `"` or `=` is quoted (`"…"`, with `\"`), so it reads as one value in `key=value` logs. The result
/// has no control character and honours width and alignment (`{:<12}`).
pub fn for_log(id: &str) -> ForLog<'_> {
    ForLog(id)
}

/// An id shown in a line of text; see [`for_log`].
#[derive(Debug, Clone, Copy)]
pub struct ForLog<'a>(&'a str);

impl fmt::Display for ForLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.0;
        let quote = id.is_empty() || id.chars().any(|c| (c.is_whitespace() && !escaped(c)) || c == '"' || c == '=');
        let plain = !quote && !id.chars().any(|c| c == '\\' || escaped(c));
        if plain {
            return f.pad(id);
        }
        let mut s = String::with_capacity(id.len() + 8);
        if quote {
            s.push('"');
        }
        for c in id.chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                '"' => s.push_str("\\\""),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                '\0' => s.push_str("\\0"),
                c if escaped(c) && (c as u32) < 0x80 => s.push_str(&format!("\\x{:02x}", c as u32)),
                c if escaped(c) => s.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => s.push(c),
            }
        }
        if quote {
            s.push('"');
        }
        f.pad(&s)
    }
}

/// Characters [`for_log`] writes as an escape.
fn escaped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_percent_encode_everything_outside_visible_ascii() {
        let h = |s: &str| header_value(s).to_str().unwrap().to_string();
        assert_eq!(h("crisis-ad-a1-20261124T1011"), "crisis-ad-a1-20261124T1011");
        assert_eq!(h("a\nb\rc\0d\u{1b}[31m"), "a%0Ab%0Dc%00d%1B[31m");
        assert_eq!(h("50% off"), "50%25%20off");
        assert_eq!(h("\u{7f}\t"), "%7F%09");
        // UTF-8 bytes: é = C3 A9, the bidi override U+202E = E2 80 AE.
        assert_eq!(h("café\u{202e}"), "caf%C3%A9%E2%80%AE");
        assert_eq!(h(""), "");
        assert_eq!(h("!\"#$&'()*+,/:;<=>?@[\\]^_`{|}~"), "!\"#$&'()*+,/:;<=>?@[\\]^_`{|}~");
    }

    #[test]
    fn header_values_decode_back_to_the_id() {
        for id in ["a\nb", "%41", "é\u{0}\u{1b}", "x y", "resume-acme-1"] {
            let v = header_value(id);
            let back = percent_encoding::percent_decode(v.as_bytes()).decode_utf8().unwrap();
            assert_eq!(back, id);
        }
    }

    #[test]
    fn file_components_cannot_leave_their_directory_or_hide() {
        assert_eq!(file_component("acme"), "acme");
        assert_eq!(file_component("brand=a/../b"), "brand=a%2F..%2Fb");
        assert_eq!(file_component(".."), "%2E.");
        assert_eq!(file_component("."), "%2E");
        assert_eq!(file_component(".hidden"), "%2Ehidden");
        assert_eq!(file_component("a.b"), "a.b");
        assert_eq!(file_component("c:\\x\0y\n"), "c%3A%5Cx%00y%0A");
        assert_eq!(file_component("*?\"<>| %"), "%2A%3F%22%3C%3E%7C%20%25");
        assert_eq!(file_component(""), "%");
        assert_eq!(file_component("é"), "%C3%A9");
    }

    #[test]
    fn long_file_components_are_bounded_and_stay_distinct() {
        let a = "x".repeat(300);
        let b = format!("{}y", "x".repeat(299));
        let (fa, fb) = (file_component(&a), file_component(&b));
        assert!(fa.len() <= MAX_FILE_COMPONENT && fb.len() <= MAX_FILE_COMPONENT, "{fa} {fb}");
        assert_eq!(&fa[..180], &a[..180]);
        assert!(fa[180..].starts_with("%~") && fa.len() == 180 + 2 + 16, "{fa}");
        assert_ne!(fa, fb);
        // A cut never splits a `%XX`: 59 'x' then newlines (3 bytes each once encoded).
        let c = format!("{}{}", "x".repeat(59), "\n".repeat(100));
        let fc = file_component(&c);
        let head = fc.split("%~").next().unwrap();
        assert_eq!(head.len(), 59 + 3 * 40, "{fc}");
        assert!(head.ends_with("%0A"), "{fc}");
        // FNV-1a 64 reference vectors.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn log_text_escapes_control_characters_and_keeps_letters() {
        let l = |s: &str| for_log(s).to_string();
        assert_eq!(l("crisis-ad-a1-20261124T1011"), "crisis-ad-a1-20261124T1011");
        assert_eq!(l("ad\n\r\t\0\u{1b}[2J"), "ad\\n\\r\\t\\0\\x1b[2J");
        assert_eq!(l("\u{7f}\u{85}\u{9b}"), "\\x7f\\u{85}\\u{9b}");
        assert_eq!(l("x\u{202e}y\u{2028}"), "x\\u{202e}y\\u{2028}");
        assert_eq!(l("Ünïcødé-日本-😀"), "Ünïcødé-日本-😀");
        assert_eq!(l("a\\n"), "a\\\\n", "a literal backslash is doubled, so escapes are unambiguous");
        assert_eq!(l("evil x=1"), "\"evil x=1\"");
        assert_eq!(l("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(l(""), "\"\"");
        assert!(!l("\u{1b}\r\n\0\u{7}").chars().any(char::is_control));
    }

    #[test]
    fn log_text_honours_width() {
        assert_eq!(format!("[{:<6}]", for_log("ab")), "[ab    ]");
        assert_eq!(format!("[{:<6}]", for_log("a\u{1b}")), "[a\\x1b ]");
        assert_eq!(format!("[{:>4}]", for_log("é")), "[   é]");
    }
}

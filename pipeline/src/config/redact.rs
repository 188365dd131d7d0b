//! Redaction of secrets in everything the job prints: `--print-config`, logs and error messages.
//!
//! Three rules, applied together:
//! - a key that looks like a secret ([`is_secret_key`]) has its value shown as `***`;
//! - a URL shows `***` for its user-info (`https://***@host/…`) and for the value of every query
//!   or fragment parameter whose name looks like a credential ([`is_secret_param`]); scheme, host,
//!   port, path and the other parameters stay readable;
//! - the values of the secrets the job read from the environment ([`Secrets`]) are replaced by
//!   `***` wherever they appear in a log line or an error (a library may echo them).
//!
//! Secrets inside a URL's *path* are not recognised: put them in the environment instead.

use std::io::Write;
use std::sync::Arc;

/// What a redacted value is shown as.
pub const MASK: &str = "***";

/// Whether a configuration key (any depth, including `kafka.client` librdkafka keys and
/// environment-variable names) names a secret, matched case-insensitively by pattern: `*password*`,
/// `*passwd*`, `*passphrase*`, `*secret*`, `*token*`, `*credential*`, `*jaas*`, `*private*`,
/// `*api_key*`/`*apikey*`/`*access_key*`, key material (`*.pem`, `*.key`, `ssl.key.*`, `ssl_key`)
/// and `sasl.oauthbearer.config`. Names of variables, files, directories and URLs (`*_env`,
/// `*.location`, `*.file`, `*_dir`, `*_path`, `*url`) are not secrets themselves.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    const NOT: [&str; 8] = ["_env", ".location", ".file", "_file", "_dir", "_path", "url", "_location"];
    if NOT.iter().any(|s| k.ends_with(s)) {
        return false;
    }
    const WORDS: [&str; 11] = [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "token",
        "credential",
        "jaas",
        "private",
        "api_key",
        "apikey",
        "access_key",
    ];
    WORDS.iter().any(|w| k.contains(w))
        || k.ends_with(".pem")
        || k.ends_with("_pem")
        || k.ends_with(".key")
        || k.contains("ssl.key.")
        || k.contains("ssl_key")
        || k.ends_with("sasl.oauthbearer.config")
        || k.ends_with("sasl_oauthbearer_config")
}

/// Whether a URL query (or fragment) parameter carries a credential, by its name
/// (percent-decoded, case-insensitive): it contains `token`, `key`, `secret`, `pass`, `pwd`,
/// `sig` (`signature`), `auth`, `credential`, `session`, `jwt` or `code`.
pub fn is_secret_param(name: &str) -> bool {
    let n = percent_decode(name).to_ascii_lowercase();
    const WORDS: [&str; 11] =
        ["token", "key", "secret", "pass", "pwd", "sig", "auth", "credential", "session", "jwt", "code"];
    WORDS.iter().any(|w| n.contains(w))
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A URL shown with its user-info and credential parameters replaced by `***`
/// (`Redacted(&config.actions.url)` in a log line or message).
#[derive(Debug, Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact_url(self.0))
    }
}

/// `url` with its user-info replaced by `***` and the values of credential parameters
/// ([`is_secret_param`]) of its query and fragment replaced by `***`. Works on the text as
/// written (no parsing, so an invalid URL is redacted too): the user-info is everything before
/// the last `@` that precedes the query and fragment.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let end_of_authority_part = rest.find(['?', '#']).unwrap_or(rest.len());
    let (rest, userinfo) = match rest[..end_of_authority_part].rfind('@') {
        Some(at) => (&rest[at..], true),
        None => (rest, false),
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    if userinfo {
        out.push_str(MASK);
    }
    let (before_fragment, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    match before_fragment.find('?') {
        Some(i) => {
            out.push_str(&before_fragment[..=i]);
            redact_params(&before_fragment[i + 1..], &mut out);
        }
        None => out.push_str(before_fragment),
    }
    if let Some(frag) = fragment {
        out.push('#');
        redact_params(frag, &mut out);
    }
    out
}

fn redact_params(params: &str, out: &mut String) {
    for (n, p) in params.split('&').enumerate() {
        if n > 0 {
            out.push('&');
        }
        match p.split_once('=') {
            Some((name, _)) if is_secret_param(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            _ => out.push_str(p),
        }
    }
}

/// Every URL in free text (`scheme://…` up to a blank, a quote, `<`, `>`, a backquote, a
/// backslash or a control character; a closing parenthesis without an opening one ends it too)
/// passed through [`redact_url`].
pub fn redact_urls_in(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let b = rest.as_bytes();
        let mut start = i;
        while start > 0 && (b[start - 1].is_ascii_alphanumeric() || matches!(b[start - 1], b'+' | b'-' | b'.')) {
            start -= 1;
        }
        let after = &rest[i + 3..];
        let mut len = after
            .find(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\'))
            .unwrap_or(after.len());
        if after[..len].ends_with(')') && !after[..len].contains('(') {
            len -= 1;
        }
        let end = i + 3 + len;
        out.push_str(&rest[..start]);
        out.push_str(&redact_url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Redacts a serialised configuration in place: the value of every secret-looking key
/// ([`is_secret_key`]) becomes `"***"`, and every URL in a string value is redacted.
pub fn redact_toml(v: &mut toml::Value) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t.iter_mut() {
                if is_secret_key(k) {
                    *x = toml::Value::String(MASK.into());
                } else {
                    redact_toml(x);
                }
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(redact_toml),
        toml::Value::String(s) if s.contains("://") => *s = redact_urls_in(s),
        _ => {}
    }
}

/// Values shorter than this are not searched for in free text (they would mask ordinary words).
pub const MIN_MASKED_LEN: usize = 4;

/// The secret values the job read from the environment, masked wherever they appear in a log
/// line or an error message (with the URL rules of this module).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Longest first, so that a secret containing another is masked whole.
    values: Vec<String>,
}

impl Secrets {
    /// The values of the variables `names` and of every `BRANDPULSE_*` variable whose name looks
    /// like a secret ([`is_secret_key`], e.g. `BRANDPULSE_KAFKA_SASL_PASSWORD`,
    /// `BRANDPULSE_KILL_SWITCH_TOKEN`, `BRANDPULSE_KAFKA_SSL_KEY_PEM`).
    pub fn from_env<I: IntoIterator<Item = String>>(names: I) -> Secrets {
        let mut s = Secrets::default();
        for name in names {
            if let Ok(v) = std::env::var(&name) {
                s.add(v);
            }
        }
        for (k, v) in std::env::vars_os() {
            let (Some(k), Ok(v)) = (k.to_str(), v.into_string()) else { continue };
            if let Some(rest) = k.strip_prefix("BRANDPULSE_") {
                if is_secret_key(rest) || is_secret_key(&rest.replace('_', ".")) {
                    s.add(v);
                }
            }
        }
        s
    }

    /// Adds a secret value (and the forms a log line would show it in: JSON-escaped).
    pub fn add(&mut self, value: String) {
        if value.chars().count() < MIN_MASKED_LEN {
            return;
        }
        let escaped = serde_json::to_string(&value).unwrap_or_default();
        let escaped = escaped.trim_matches('"').to_string();
        for v in [value, escaped] {
            if !self.values.contains(&v) {
                self.values.push(v);
            }
        }
        self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// `text` with every known secret value and every URL credential replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut t = std::borrow::Cow::Borrowed(text);
        for v in &self.values {
            if t.contains(v.as_str()) {
                t = std::borrow::Cow::Owned(t.replace(v.as_str(), MASK));
            }
        }
        redact_urls_in(&t)
    }

    /// Whether `text` needs [`Secrets::redact`] at all (the fast path of the log writer).
    fn touches(&self, text: &str) -> bool {
        text.contains("://") || self.values.iter().any(|v| text.contains(v.as_str()))
    }
}

/// A `tracing_subscriber` writer to stderr that redacts every log line ([`Secrets::redact`]).
#[derive(Debug, Clone)]
pub struct RedactingStderr(pub Arc<Secrets>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = LineWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(&self.0)
    }
}

/// One log event on its way to stderr. The formatter writes an event in one `write_all`, so
/// each `write` sees whole lines and a secret is never split between two writes.
#[derive(Debug)]
pub struct LineWriter<'a>(&'a Secrets);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let mut err = std::io::stderr().lock();
        if self.0.touches(&text) {
            err.write_all(self.0.redact(&text).as_bytes())?;
        } else {
            err.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_keys_by_pattern_case_insensitively() {
        for k in [
            "password",
            "clickhouse.password",
            "sasl.password",
            "SASL.PASSWORD",
            "Ssl.Keystore.Password",
            "ssl.key.password",
            "ssl.key.pem",
            "SSL.KEY.PEM",
            "ssl.certificate.pem",
            "ssl.ca.pem",
            "ssl_key",
            "client.key",
            "sasl.oauthbearer.config",
            "SASL.OAUTHBEARER.CONFIG",
            "sasl.oauthbearer.client.secret",
            "sasl.oauthbearer.client.credentials.client.secret",
            "sasl.oauthbearer.assertion.private.key.pem",
            "sasl.oauthbearer.assertion.private.key.passphrase",
            "sasl.jaas.config",
            "token",
            "api_key",
            "KAFKA_SASL_PASSWORD",
            "KILL_SWITCH_TOKEN",
            "KAFKA_SSL_KEY_PEM",
            "KAFKA_SASL_OAUTHBEARER_CONFIG",
        ] {
            assert!(is_secret_key(k), "{k} is a secret");
        }
        for k in [
            "sasl.username",
            "sasl.mechanism",
            "security.protocol",
            "ssl.key.location",
            "ssl.ca.location",
            "ssl.keystore.location",
            "sasl.oauthbearer.assertion.private.key.file",
            "sasl.oauthbearer.token.endpoint.url",
            "sasl.kerberos.keytab",
            "token_env",
            "actions.token_env",
            "ACTIONS__TOKEN_ENV",
            "url",
            "user",
            "brokers",
            "kill_switch",
            "state_dir",
        ] {
            assert!(!is_secret_key(k), "{k} is not a secret");
        }
    }

    #[test]
    fn urls_lose_user_info_and_credential_parameters() {
        let cases = [
            ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
            ("http://u:p@h:8123/db?x=1", "http://***@h:8123/db?x=1"),
            ("https://tok@h/p", "https://***@h/p"),
            ("https://h/hook/path?token=abc&brand=acme", "https://h/hook/path?token=***&brand=acme"),
            (
                "https://u:pw@h.example/a/b?Signature=s1&X-Amz-Credential=c&sig=x&API_KEY=k&keep=1",
                "https://***@h.example/a/b?Signature=***&X-Amz-Credential=***&sig=***&API_KEY=***&keep=1",
            ),
            ("https://h/p?%74oken=abc", "https://h/p?%74oken=***"),
            ("https://h/f?code=azure&v=2", "https://h/f?code=***&v=2"),
            ("https://h/cb#access_token=t&state=s", "https://h/cb#access_token=***&state=s"),
            ("https://h/p?auth", "https://h/p?auth"),
            // A password with a slash (invalid, but redacted anyway).
            ("http://u:pa/ss@h/x", "http://***@h/x"),
            ("u:p@h:9000", "***@h:9000"),
            ("", ""),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
            assert_eq!(Redacted(url).to_string(), want, "{url}");
        }
    }

    #[test]
    fn urls_in_text_are_redacted_where_they_stand() {
        let t = "error sending request for url (http://h:1/hook?token=abc&b=1): refused; see https://u:p@x/y.";
        assert_eq!(
            redact_urls_in(t),
            "error sending request for url (http://h:1/hook?token=***&b=1): refused; see https://***@x/y."
        );
        let json = r#"{"error":"url \"https://u:p@h/p?key=k\" down"}"#;
        assert_eq!(redact_urls_in(json), r#"{"error":"url \"https://***@h/p?key=***\" down"}"#);
        assert_eq!(redact_urls_in("no url here"), "no url here");
    }

    #[test]
    fn known_secret_values_are_masked_in_text() {
        let mut s = Secrets::default();
        s.add("hunter2-secret".into());
        s.add("a\"b\\c-secret".into());
        s.add("abc".into()); // too short to search for
        assert_eq!(
            s.redact("Client config error: bad value hunter2-secret for sasl.oauthbearer.client.secret"),
            "Client config error: bad value *** for sasl.oauthbearer.client.secret"
        );
        assert_eq!(s.redact(r#"{"e":"a\"b\\c-secret"}"#), r#"{"e":"***"}"#);
        assert_eq!(s.redact("abc"), "abc");
        assert!(!s.touches("plain line"));
    }

    #[test]
    fn a_serialised_config_is_redacted_by_key_and_by_url() {
        let mut v: toml::Value = toml::from_str(
            r#"
            [clickhouse]
            url = "http://ch:pw@h:8123/?token=t1"
            user = "default"
            password = "p1"
            [kafka.client]
            "SASL.PASSWORD" = "p2"
            "sasl.username" = "job"
            [actions]
            url = "https://h/hook?sig=s1&brand=acme"
            token_env = "BRANDPULSE_KILL_SWITCH_TOKEN"
            "#,
        )
        .unwrap();
        redact_toml(&mut v);
        let want: toml::Value = toml::from_str(
            r#"
            [clickhouse]
            url = "http://***@h:8123/?token=***"
            user = "default"
            password = "***"
            [kafka.client]
            "SASL.PASSWORD" = "***"
            "sasl.username" = "job"
            [actions]
            url = "https://h/hook?sig=***&brand=acme"
            token_env = "BRANDPULSE_KILL_SWITCH_TOKEN"
            "#,
        )
        .unwrap();
        assert_eq!(v, want);
    }
}

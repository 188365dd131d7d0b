//! Secrets in the configuration (SPEC §8 "secrets only from the environment", issue 15 row 9):
//! the real binary never prints a secret — not in `--print-config`, not in a run's logs, not in
//! an error — while the rest of a URL (scheme, host, port, path, other parameters) stays readable;
//! a secret put in the config file is refused with the key and the variable to use instead.
//!
//! Every secret below contains `S3CRET`, so "no secret anywhere" is one search.

use crate::support::common::tests_dir;
use crate::support::free_port;
use crate::support::launch::{Launch, Output};
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

/// The secret variables a deployment sets, with values that must never be printed.
const ENV_SECRETS: [(&str, &str); 4] = [
    ("BRANDPULSE_CLICKHOUSE_PASSWORD", "chenv-S3CRET-7"),
    ("BRANDPULSE_KAFKA_SASL_PASSWORD", "kafkaenv-S3CRET-8"),
    ("BRANDPULSE_KILL_SWITCH_TOKEN", "killtok-S3CRET-9"),
    ("BRANDPULSE_API_TOKEN", "apitok-S3CRET-10"),
];

/// A ClickHouse URL on `port` with a user, a password and a token parameter.
fn clickhouse_url(port: u16) -> String {
    format!("http://chuser-S3CRET-1:chpass-S3CRET-2@127.0.0.1:{port}/ch/path?token=chtok-S3CRET-3&database=x")
}

/// A webhook URL on `host` with user-info, a token and a signature.
fn hook_url(host: &str) -> String {
    format!(
        "http://hookuser-S3CRET-4:hookpass-S3CRET-5@{host}/hook/path?token=hooktok-S3CRET-6&Signature=hooksig-S3CRET-7&brand=acme"
    )
}

fn write_config(dir: &Path, body: &str) -> String {
    let f = dir.join("brandpulse.toml");
    std::fs::write(&f, body).unwrap();
    f.display().to_string()
}

/// Runs the binary to its end (any exit status) with the secret variables set.
fn run(args: &[&str], extra_env: &[(&str, String)]) -> (bool, Output) {
    let mut l = Launch::new(args).envs(ENV_SECRETS);
    for (k, v) in extra_env {
        l = l.env(k, v);
    }
    let mut job = l.spawn();
    let ok = job.wait(T);
    (ok, job.output())
}

fn assert_no_secret(out: &Output) {
    let all = out.all();
    assert!(!all.contains("S3CRET"), "a secret was printed:\n{all}");
}

#[test]
fn print_config_redacts_urls_and_keeps_their_host_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_config(
        dir.path(),
        &format!(
            "[clickhouse]\nurl = \"{}\"\n[kafka.client]\n\"sasl.username\" = \"job\"\n[actions]\nurl = \"{}\"\n",
            clickhouse_url(9),
            hook_url("hooks.example.com")
        ),
    );
    // From the file, and the same URLs from BRANDPULSE_* overrides.
    let from_env =
        [("BRANDPULSE_CLICKHOUSE__URL", clickhouse_url(9)), ("BRANDPULSE_ACTIONS__URL", hook_url("hooks.example.com"))];
    for (args, env) in
        [(vec!["--config", f.as_str(), "--print-config"], &[][..]), (vec!["--print-config"], &from_env[..])]
    {
        let (ok, out) = run(&args, env);
        assert!(ok, "{}", out.all());
        assert_no_secret(&out);
        let printed: toml::Value = toml::from_str(&out.stdout).expect("--print-config prints TOML");
        assert_eq!(printed["clickhouse"]["url"].as_str(), Some("http://***@127.0.0.1:9/ch/path?token=***&database=x"));
        assert_eq!(
            printed["actions"]["url"].as_str(),
            Some("http://***@hooks.example.com/hook/path?token=***&Signature=***&brand=acme")
        );
        // Names of variables are not secrets; the ClickHouse user is a plain key.
        assert_eq!(printed["actions"]["token_env"].as_str(), Some("BRANDPULSE_KILL_SWITCH_TOKEN"));
        assert_eq!(printed["clickhouse"]["user"].as_str(), Some("default"));
        if env.is_empty() {
            assert_eq!(printed["kafka"]["client"]["sasl.username"].as_str(), Some("job"));
        }
    }
}

#[test]
fn secrets_in_the_file_are_refused_with_the_key_and_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // No `url`: the sink is off, and the password is refused all the same.
        ("[clickhouse]\npassword = \"file-S3CRET-20\"\n", "`clickhouse.password`", "BRANDPULSE_CLICKHOUSE_PASSWORD"),
        (
            "[kafka.client]\n\"SASL.PASSWORD\" = \"file-S3CRET-21\"\n",
            "kafka.client.\"SASL.PASSWORD\"",
            "BRANDPULSE_KAFKA_SASL_PASSWORD",
        ),
        (
            "[kafka.client]\n\"ssl.key.pem\" = \"-----BEGIN PRIVATE KEY----- file-S3CRET-22\"\n",
            "kafka.client.\"ssl.key.pem\"",
            "BRANDPULSE_KAFKA_SSL_KEY_PEM",
        ),
        (
            "[kafka.client]\n\"Sasl.OAuthBearer.Config\" = \"principal=x file-S3CRET-23\"\n",
            "kafka.client.\"Sasl.OAuthBearer.Config\"",
            "BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CONFIG",
        ),
    ];
    for (body, key, var) in cases {
        let f = write_config(dir.path(), body);
        let (ok, out) = run(&["--config", &f, "--print-config"], &[]);
        assert!(!ok, "{body}: accepted:\n{}", out.all());
        assert!(out.stderr.contains(key) && out.stderr.contains(var), "{body}: {}", out.stderr);
        assert_no_secret(&out);
    }
    // A password as a key override is refused too, pointing at the variable.
    let (ok, out) = run(&["--print-config"], &[("BRANDPULSE_CLICKHOUSE__PASSWORD", "envkey-S3CRET-24".into())]);
    assert!(
        !ok && out.stderr.contains("`clickhouse.password`") && out.stderr.contains("BRANDPULSE_CLICKHOUSE_PASSWORD"),
        "{}",
        out.all()
    );
    assert_no_secret(&out);
}

/// A replay firing the kill switch at a webhook that refuses connections: every attempt is
/// logged with the URL, which must show the host, port and path but not the token (reqwest's own
/// message quotes the query), and the secrets of the environment appear nowhere.
#[test]
fn a_run_logs_the_webhook_without_its_credentials() {
    let port = free_port(); // nothing listens there: every attempt is a network error
    for format in ["text", "json"] {
        let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let input = tests_dir().join("golden").join("input");
        let env = [
            ("BRANDPULSE_ACTIONS__URL", hook_url(&format!("127.0.0.1:{port}"))),
            ("BRANDPULSE_ACTIONS__DEADLINE_SECONDS", "1".into()),
            ("BRANDPULSE_ACTIONS__BACKOFF_INITIAL_MS", "20".into()),
            ("BRANDPULSE_ACTIONS__BACKOFF_MAX_MS", "50".into()),
            ("BRANDPULSE_CLICKHOUSE__URL", String::new()),
        ];
        let args = [
            "--log-format",
            format,
            "replay",
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--state-dir",
            state.path().to_str().unwrap(),
            "--fire-actions",
            "--quiet",
        ];
        let (ok, printed) = run(&args, &env);
        assert!(ok, "{}", printed.all());
        let log = printed.all();
        assert!(log.contains("kill-switch action failed: deadline exceeded"), "{format}: {log}");
        // reqwest sends the user-info as Basic auth and drops it from the URL it reports.
        let shown = format!("http://127.0.0.1:{port}/hook/path?token=***&Signature=***&brand=acme");
        assert!(log.contains(&shown), "{format}: the URL is shown redacted, host and path kept:\n{log}");
        assert_no_secret(&printed);
    }
}

#[test]
fn an_error_shows_the_clickhouse_url_without_its_credentials() {
    let port = free_port();
    for format in ["text", "json"] {
        let env = [("BRANDPULSE_CLICKHOUSE__URL", clickhouse_url(port))];
        let (ok, out) = run(&["--log-format", format, "clickhouse", "migrate"], &env);
        assert!(!ok, "{}", out.all());
        let shown = format!("ClickHouse at http://***@127.0.0.1:{port}/ch/path?token=***&database=x");
        assert!(out.stderr.contains(&shown), "{}", out.stderr);
        assert_no_secret(&out);
    }
}

/// librdkafka's refusal of a setting quotes its value. This build has no OAuth/OIDC support
/// (rdkafka features `ssl`, `tracing`), so it refuses `sasl.oauthbearer.client.secret`: the error
/// names the variable, never the value.
#[test]
fn a_librdkafka_refusal_does_not_echo_a_secret() {
    let env = [
        ("BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET", "oauth-S3CRET-30".to_string()),
        ("BRANDPULSE_KAFKA__BROKERS", format!("127.0.0.1:{}", free_port())),
        ("BRANDPULSE_KAFKA__METADATA_TIMEOUT_SECONDS", "1".into()),
    ];
    let (ok, out) = run(&["generate", "--kafka", "--events", "1"], &env);
    assert!(!ok, "{}", out.all());
    assert!(
        out.stderr.contains("BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET")
            && out.stderr.contains("sasl.oauthbearer.client.secret"),
        "{}",
        out.stderr
    );
    assert_no_secret(&out);
}

//! Launching the `brandpulse` binary under test: the one way every test starts it.
//!
//! [`Launch`] collects arguments and environment, then either [`Launch::spawn`]s the job in the
//! background (a [`Job`], killed when dropped) or [`Launch::run`]s it to completion under a
//! time-out. Secrets that the developer's own shell may hold (the kill-switch and API tokens, a
//! webhook URL) are removed from the job's environment unless the test sets them itself, so a
//! test's outcome never depends on the shell it is started from.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_brandpulse");

/// How long a job run to completion may take by default before it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(180);

/// Variables of the developer's environment that never reach a job unless a test sets them.
const SCRUBBED: [&str; 3] = ["BRANDPULSE_KILL_SWITCH_TOKEN", "BRANDPULSE_API_TOKEN", "BRANDPULSE_ACTIONS__URL"];

/// A `brandpulse` command line about to be started.
#[derive(Debug, Clone)]
pub struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: Option<PathBuf>,
}

/// What a finished job printed. With [`Launch::log_to`] both streams went to one file, which is
/// `stderr` here (`stdout` is then empty).
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout followed by stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl Launch {
    /// `brandpulse ARGS...`.
    pub fn new<I, S>(args: I) -> Launch
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Launch { args: args.into_iter().map(|s| s.as_ref().to_string()).collect(), env: Vec::new(), log: None }
    }

    /// Sets one environment variable of the job.
    pub fn env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Launch {
        self.env.push((key.as_ref().to_string(), value.as_ref().to_string()));
        self
    }

    /// Sets several environment variables of the job (later ones win).
    pub fn envs<I, K, V>(mut self, vars: I) -> Launch
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// Sends stdout and stderr, interleaved, to `path` (which the test may read while the job
    /// runs) instead of two files in a temp dir.
    pub fn log_to(mut self, path: &Path) -> Launch {
        self.log = Some(path.to_path_buf());
        self
    }

    /// The command line as a shell would show it, for failure messages.
    pub fn shown(&self) -> String {
        format!("{BIN} {}", self.args.join(" "))
    }

    /// Starts the job in the background, stdin closed.
    pub fn spawn(self) -> Job {
        let shown = self.shown();
        let dir = tempfile::tempdir().expect("temp dir for the job's output");
        let streams = match self.log {
            Some(p) => Streams::Joined(p),
            None => Streams::Split { stdout: dir.path().join("stdout"), stderr: dir.path().join("stderr") },
        };
        let (out, err) = match &streams {
            Streams::Joined(p) => {
                let f = File::create(p).unwrap_or_else(|e| panic!("create {}: {e}", p.display()));
                (f.try_clone().expect("clone log file"), f)
            }
            Streams::Split { stdout, stderr } => {
                (File::create(stdout).expect("stdout file"), File::create(stderr).expect("stderr file"))
            }
        };
        let mut cmd = Command::new(BIN);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(out).stderr(err);
        for k in SCRUBBED {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start `{shown}`: {e}"));
        Job { child, shown, streams, _dir: dir }
    }

    /// Runs the job to completion; its output, or a message with the command and the tail of its
    /// output when it fails, crashes or outlives `timeout` (then it is killed).
    pub fn run(self, timeout: Duration) -> Result<Output, String> {
        self.spawn().finish(timeout)
    }

    /// [`Launch::run`] that panics with the message on failure.
    pub fn run_ok(self, timeout: Duration) -> Output {
        self.run(timeout).unwrap_or_else(|m| panic!("{m}"))
    }
}

#[derive(Debug)]
enum Streams {
    Split { stdout: PathBuf, stderr: PathBuf },
    Joined(PathBuf),
}

/// A job running in the background; killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Job {
    pub child: Child,
    shown: String,
    streams: Streams,
    _dir: tempfile::TempDir,
}

impl Job {
    /// `brandpulse ARGS` with `env`, in the background.
    pub fn spawn<K: AsRef<str>, V: AsRef<str>>(args: &[&str], env: &[(K, V)]) -> Job {
        Launch::new(args).envs(env.iter().map(|(k, v)| (k.as_ref(), v.as_ref()))).spawn()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the job logged so far (stderr, or the joined log).
    pub fn log(&self) -> String {
        match &self.streams {
            Streams::Split { stderr, .. } => read_lossy(stderr),
            Streams::Joined(p) => read_lossy(p),
        }
    }

    /// Everything the job printed so far.
    pub fn output(&self) -> Output {
        match &self.streams {
            Streams::Split { stdout, stderr } => Output { stdout: read_lossy(stdout), stderr: read_lossy(stderr) },
            Streams::Joined(p) => Output { stdout: String::new(), stderr: read_lossy(p) },
        }
    }

    /// The exit status if the job has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waitpid")
    }

    /// Waits for the job to end; kills it and panics with its log after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        match self.wait_or_kill(timeout) {
            Ok(status) => status,
            Err(m) => panic!("{m}"),
        }
    }

    /// Waits for the job to end; returns whether it succeeded (panics after `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        self.wait_exit(timeout).success()
    }

    fn wait_or_kill(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Ok(status);
            }
            if started.elapsed() > timeout {
                self.kill();
                return Err(format!(
                    "`{}` did not finish within {timeout:?}; killed.\n--- log ---\n{}",
                    self.shown,
                    tail(&self.log())
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the end and returns the output; an error message on failure or time-out.
    pub fn finish(mut self, timeout: Duration) -> Result<Output, String> {
        let status = self.wait_or_kill(timeout)?;
        let out = self.output();
        if !status.success() {
            return Err(format!(
                "`{}` failed with {status}\n--- stderr ---\n{}\n--- stdout ---\n{}",
                self.shown,
                tail(&out.stderr),
                tail(&out.stdout)
            ));
        }
        Ok(out)
    }

    /// SIGKILL (no chance to flush anything) and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends signal `sig` (`kill(1)`: the workspace forbids `unsafe`).
    pub fn signal(&self, sig: i32) {
        let pid = self.child.id();
        let st = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().expect("kill");
        assert!(st.success(), "kill -{sig} {pid} failed");
    }

    /// The HTTP API address the job logged (`HTTP API listening on http://ADDR/`).
    pub fn api_addr(&mut self, timeout: Duration) -> String {
        let until = Instant::now() + timeout;
        loop {
            let log = self.log();
            if let Some(rest) = log.split("HTTP API listening on http://").nth(1) {
                return rest.split('/').next().unwrap().to_string();
            }
            if let Some(st) = self.try_wait() {
                panic!("job exited with {st} before serving:\n{log}");
            }
            assert!(Instant::now() < until, "job did not log its API address within {timeout:?}:\n{log}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_lossy(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned()
}

/// The last 20,000 bytes of `s` (on a char boundary), for failure messages.
pub fn tail(s: &str) -> &str {
    const MAX: usize = 20_000;
    if s.len() <= MAX {
        return s;
    }
    let mut start = s.len() - MAX;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

//! Running the real `shipdeck` binary with a bound on how long it may take.
//!
//! A command that should stop on its own (a headless deploy reaching a gate) is
//! given a generous bound, polled with `try_wait`; past it the child is killed and
//! the output so far returned with `timed_out`, so a stall fails the test with
//! what the program said instead of hanging the suite.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often a bounded run checks whether the child has exited.
const POLL: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub struct Bounded {
    /// None when killed at the bound (or by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Bounded {
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// What a finished process said, stdout then stderr (lossy UTF-8).
pub fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `shipdeck --state-dir STATE ARGS…` as the tests run it: the built-in config,
/// operator alice, from the crate root.
pub fn shipdeck_command(state: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    cmd.arg("--state-dir")
        .arg(state)
        .args(args)
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("SHIPDECK_STATE_DIR")
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` to its end, or kills it after `bound`.
pub fn run_bounded(mut cmd: Command, bound: Duration) -> Bounded {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child: Child = cmd.spawn().expect("spawn shipdeck");
    let out = drain(child.stdout.take().expect("stdout"));
    let err = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + bound;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(POLL);
    };
    Bounded {
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        timed_out,
    }
}

/// The first text between backticks that starts with `shipdeck ` and contains
/// `word`: a hint as printed, ready to paste.
pub fn hint(text: &str, word: &str) -> Option<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .find(|h| h.starts_with("shipdeck ") && h.contains(word))
        .map(str::to_string)
}

/// Runs a printed hint as a person pasting it into a shell would: `sh -c`, with
/// `shipdeck` being the binary under test.
pub fn paste(hint: &str, bound: Duration) -> Bounded {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_shipdeck"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(hint)
        .env("PATH", path)
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("SHIPDECK_STATE_DIR")
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    run_bounded(cmd, bound)
}

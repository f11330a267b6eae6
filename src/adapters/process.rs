//! The one child-process runner behind command health probes, checklist checks and
//! (next) command deployers and notifiers.
//!
//! A program runs without a shell, in its own process group, with stdin closed (or
//! fed the given bytes). Both output pipes are read while it runs, so a chatty child
//! never blocks on a full pipe, and each is capped. A timeout kills the whole group:
//! a script (`sh -c 'curl …'`) that hangs must not leave a hung `curl` behind. If the
//! future is dropped (a round abandoned, a cancelled effect, shutdown) the group is
//! killed too — unless the caller detached it first (`detach`): a deploy the
//! operator chose to leave running keeps running.
//!
//! Output can also be streamed as it arrives (`on_output`, for deploy logs), and the
//! last bytes of each stream are kept whatever the cap, so the verdict a chatty
//! program prints last is never lost.

use std::ffi::OsString;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::health::fmt_duration;

/// Receives output as it is read: which stream, and the bytes.
pub type OutputSink = Arc<dyn Fn(Stream, &[u8]) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Bytes of each stream kept at the end, past any cap.
pub const TAIL_BYTES: usize = 4096;

/// What to run.
#[derive(Clone, Default)]
pub struct ProcessSpec {
    pub program: String,
    pub args: Vec<String>,
    /// Extra environment variables (the rest is inherited).
    pub env: Vec<(String, OsString)>,
    /// Bytes written to stdin (then closed); `None` closes stdin at once.
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
    /// Bytes kept of each of stdout and stderr.
    pub max_output: usize,
    /// Past `max_output`, keep reading stdout (and discard) rather than closing the
    /// pipe. A drained pipe lets a chatty child finish normally; a closed one makes
    /// it fail with EPIPE (right when stdout is a document that is already too big).
    pub drain_stdout: bool,
    /// Every chunk read, as it arrives (past `max_output` too, while draining).
    pub on_output: Option<OutputSink>,
    /// When fired, `run` returns [`ProcessError::Detached`] at once and leaves the
    /// process group running.
    pub detach: Option<CancellationToken>,
}

impl std::fmt::Debug for ProcessSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `env` may carry secrets: names only.
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ProcessSpec")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &env)
            .field("timeout", &self.timeout)
            .field("max_output", &self.max_output)
            .finish_non_exhaustive()
    }
}

/// Output of a finished process.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Capped,
    pub stderr: Capped,
}

#[derive(Debug, Default)]
pub struct Capped {
    pub bytes: Vec<u8>,
    /// More was written than was kept.
    pub exceeded: bool,
    /// The last [`TAIL_BYTES`] written (equal to the end of `bytes` unless exceeded).
    pub tail: Vec<u8>,
    /// Every byte written, kept or not.
    pub total: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot run `{program}`: {why}")]
    Spawn { program: String, why: String },
    #[error("timed out after {}; the process was killed", fmt_duration(*.0))]
    TimedOut(Duration),
    #[error("cannot read the output of `{program}`: {source}")]
    Io {
        program: String,
        source: std::io::Error,
    },
    #[error("left running (detached)")]
    Detached,
}

impl Finished {
    /// `exit 3`, `killed by signal 9`: how the process ended, in an operator's words.
    pub fn status_text(&self) -> String {
        status_text(&self.status)
    }

    /// The last non-empty line of stdout, else of stderr (what a deploy script says
    /// last is usually its verdict). Read from the kept tail, so a capped output
    /// still gives its real last line.
    pub fn last_line(&self) -> Option<String> {
        [&self.stdout, &self.stderr].into_iter().find_map(|c| {
            let text = if c.exceeded { &c.tail } else { &c.bytes };
            String::from_utf8_lossy(text)
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
                .map(str::to_string)
        })
    }

    /// The first non-empty line of `which`.
    pub fn first_line(which: &Capped) -> Option<String> {
        String::from_utf8_lossy(&which.bytes)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    }
}

pub fn status_text(status: &ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit {code}"),
        None => {
            use std::os::unix::process::ExitStatusExt;
            match status.signal() {
                Some(sig) => format!("killed by signal {sig}"),
                None => "exited abnormally".to_string(),
            }
        }
    }
}

/// Runs `spec` to its end, its timeout, or until the future is dropped.
pub async fn run(spec: &ProcessSpec) -> Result<Finished, ProcessError> {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // With `detach`, the group guard alone kills (and can be disarmed).
        .kill_on_drop(spec.detach.is_none())
        .process_group(0);
    for (k, v) in &spec.env {
        command.env(k, v);
    }
    let mut child = command.spawn().map_err(|e| ProcessError::Spawn {
        program: spec.program.clone(),
        why: match e.kind() {
            std::io::ErrorKind::NotFound => "not found".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string(),
        },
    })?;
    // Dropping this (timeout, cancellation) kills the group, not only the child.
    let mut group = GroupGuard(child.id());
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ProcessError::Spawn {
            program: spec.program.clone(),
            why: "its output pipes were not opened".to_string(),
        });
    };
    let stdin = child.stdin.take();
    let input = spec.stdin.clone();
    let feed = async move {
        if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
            // A child that does not read its stdin is not an error of ours.
            let _ = pipe.write_all(&bytes).await;
            let _ = pipe.shutdown().await;
        }
    };
    let max = spec.max_output;
    let sink = spec.on_output.as_ref();
    let work = async {
        let (out, err, status, ()) = tokio::join!(
            read_capped(stdout, max, spec.drain_stdout, Stream::Stdout, sink),
            read_capped(stderr, max, true, Stream::Stderr, sink),
            child.wait(),
            feed,
        );
        (out, err, status)
    };
    let detached = async {
        match &spec.detach {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let (out, err, status) = tokio::select! {
        biased;
        () = detached => {
            group.disarm();
            return Err(ProcessError::Detached);
        }
        done = tokio::time::timeout(spec.timeout, work) => match done {
            Ok(done) => done,
            Err(_) => return Err(ProcessError::TimedOut(spec.timeout)),
        },
    };
    let io = |source| ProcessError::Io {
        program: spec.program.clone(),
        source,
    };
    let status = status.map_err(io)?;
    // The child has exited; its group may live on (a daemonised grandchild holding
    // no pipe). Those are killed too: nothing a check or a deploy starts outlives it.
    drop(group);
    Ok(Finished {
        status,
        stdout: out.unwrap_or_default(),
        stderr: err.unwrap_or_default(),
    })
}

/// Kills the process group on drop.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    /// The group is left running.
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// Reads up to `max` bytes. Past that it keeps draining (discarding) when `drain`,
/// else stops and drops the pipe (the child then gets EPIPE instead of blocking).
async fn read_capped(
    mut pipe: impl AsyncRead + Unpin,
    max: usize,
    drain: bool,
    stream: Stream,
    sink: Option<&OutputSink>,
) -> std::io::Result<Capped> {
    let mut kept = Capped::default();
    let mut buf = [0u8; 8192];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            return Ok(kept);
        }
        if let Some(sink) = sink {
            sink(stream, &buf[..n]);
        }
        kept.total += n as u64;
        kept.tail.extend_from_slice(&buf[..n]);
        if kept.tail.len() > TAIL_BYTES {
            let cut = kept.tail.len() - TAIL_BYTES;
            kept.tail.drain(..cut);
        }
        let room = max.saturating_sub(kept.bytes.len());
        kept.bytes.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            kept.exceeded = true;
            if !drain {
                return Ok(kept);
            }
        }
    }
}

/// Kills the child's process group (the child and anything it started).
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals the process group created with
    // `process_group(0)` (its id is the child's pid); it touches no memory of ours.
    // A group id is not handed out again while the group has members, so this reaches
    // the child and its descendants or, if they are all gone, nobody (ESRCH).
    let rc = unsafe { libc::kill(-pid, libc::SIGKILL) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::debug!(pid, error = %err, "cannot kill process group");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> ProcessSpec {
        ProcessSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            timeout: Duration::from_secs(10),
            max_output: 1024,
            drain_stdout: true,
            ..ProcessSpec::default()
        }
    }

    #[tokio::test]
    async fn exit_codes_lines_and_stdin() {
        let done = run(&sh("echo one; echo two; exit 3")).await.unwrap();
        assert_eq!(done.status_text(), "exit 3");
        assert_eq!(done.last_line().as_deref(), Some("two"));
        let mut cat = sh("cat");
        cat.stdin = Some(b"{\"hello\":1}\n".to_vec());
        let done = run(&cat).await.unwrap();
        assert_eq!(done.stdout.bytes, b"{\"hello\":1}\n");
        let mut env = sh("echo \"$SHIPDECK_X\"");
        env.env.push(("SHIPDECK_X".into(), "v9".into()));
        assert_eq!(run(&env).await.unwrap().last_line().as_deref(), Some("v9"));
    }

    #[tokio::test]
    async fn output_is_capped_and_a_missing_program_is_named() {
        let done = run(&sh("head -c 100000 /dev/zero | tr '\\0' x"))
            .await
            .unwrap();
        assert!(done.status.success());
        assert_eq!(done.stdout.bytes.len(), 1024);
        assert!(done.stdout.exceeded);
        let missing = ProcessSpec {
            program: "/nonexistent/deployer".into(),
            timeout: Duration::from_secs(1),
            ..ProcessSpec::default()
        };
        let err = run(&missing).await.unwrap_err().to_string();
        assert_eq!(err, "cannot run `/nonexistent/deployer`: not found");
    }

    #[tokio::test]
    async fn a_timeout_kills_the_grandchildren_too() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let mut spec = sh(&format!(
            "sleep 300 & echo $! > {}; wait",
            pidfile.display()
        ));
        spec.timeout = Duration::from_millis(300);
        let err = run(&spec).await.unwrap_err();
        assert!(matches!(err, ProcessError::TimedOut(_)), "{err}");
        let pid: libc::pid_t = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed (a zombie until init reaps it) or gone. Polled with a bound: the
        // kernel delivers SIGKILL asynchronously.
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| !s.contains(") Z "))
                .unwrap_or(false)
        };
        for _ in 0..500 {
            if !alive() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let zombie_or_gone = !alive();
        assert!(zombie_or_gone, "grandchild {pid} survived the timeout");
    }
}

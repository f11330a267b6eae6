//! The `command` health source: run a program (no shell) under a deadline; exit 0 is
//! up. Optional JSON on stdout is read with the same pointers as an HTTP body.
//!
//! The child runs in its own process group, and a timeout kills the whole group: a
//! health script (`sh -c 'curl …'`) that hangs must not leave a hung `curl` behind,
//! one per probe, every few seconds. Its output is read while it runs (both pipes at
//! once, so a chatty child never blocks on a full pipe) and capped.
//!
//! A command's run time is not the service's latency (it is mostly process start-up),
//! so unlike the HTTP probe, latency only comes from `latency_pointer`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::pointer::{self, Pointers, Read};
use super::{ProbeLimits, fmt_bytes, fmt_duration, truncate_chars};
use crate::domain::{HealthSample, ProbeOutcome};

pub(super) async fn probe(
    limits: &ProbeLimits,
    program: &str,
    args: &[String],
    timeout: Duration,
    pointers: Pointers<'_>,
) -> ProbeOutcome {
    let down = |reason: String| ProbeOutcome::Down { reason };
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // If this future is dropped (a round abandoned, the program shutting down),
        // the child goes with it.
        .kill_on_drop(true)
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let why = match e.kind() {
                std::io::ErrorKind::NotFound => "not found".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            return down(format!("cannot run `{program}`: {why}"));
        }
    };
    let pid = child.id();
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return down(format!(
            "cannot run `{program}`: its output pipes were not opened"
        ));
    };

    let max = limits.max_body_bytes;
    // Without pointers stdout is only drained (a chatty healthy script stays healthy);
    // with them it is the document, and an oversized one fails like an HTTP body.
    let run = async {
        tokio::join!(
            read_capped(stdout, max, !pointers.any()),
            read_capped(stderr, max, true),
            child.wait(),
        )
    };
    let (stdout, stderr, status) = match tokio::time::timeout(timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            kill_group(pid);
            return down(format!(
                "timed out after {}; the process was killed",
                fmt_duration(timeout)
            ));
        }
    };
    let status = match status {
        Ok(status) => status,
        Err(e) => return down(format!("cannot wait for `{program}`: {e}")),
    };
    // An oversized document is the cause; the SIGPIPE exit that follows from our
    // closing the pipe on it is only a consequence.
    if pointers.any() && matches!(stdout, Ok((_, true))) {
        return down(format!("stdout exceeds {}", fmt_bytes(max)));
    }
    if !status.success() {
        let what = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                match status.signal() {
                    Some(sig) => format!("killed by signal {sig}"),
                    None => "exited abnormally".to_string(),
                }
            }
        };
        let stderr = stderr.map(|(bytes, _)| bytes).unwrap_or_default();
        let text = String::from_utf8_lossy(&stderr);
        return match text.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) => down(format!(
                "{what}: {}",
                truncate_chars(line, limits.max_reason_chars)
            )),
            None => down(what),
        };
    }
    if !pointers.any() {
        return ProbeOutcome::Up {
            sample: HealthSample::default(),
        };
    }
    let stdout = match stdout {
        Ok((bytes, _)) => bytes,
        Err(e) => return down(format!("cannot read stdout of `{program}`: {e}")),
    };
    match pointer::read_figures(&stdout, "stdout", pointers) {
        Err(reason) => down(reason),
        Ok(Read::NoData(reason)) => ProbeOutcome::Inconclusive { reason },
        Ok(Read::Figures(f)) => ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: f.error_rate,
                latency_p95_ms: f.latency_p95_ms,
            },
        },
    }
}

/// Reads up to `max` bytes. Past that it keeps draining (discarding) when `drain`,
/// else stops and drops the pipe (the child then gets EPIPE instead of blocking).
/// Returns the bytes kept and whether there were more.
async fn read_capped(
    mut pipe: impl AsyncRead + Unpin,
    max: usize,
    drain: bool,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut exceeded = false;
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, exceeded));
        }
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        if n > room {
            exceeded = true;
            if !drain {
                return Ok((kept, exceeded));
            }
        }
    }
}

/// Kills the child's process group (the child and anything it started).
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals the process group we created with
    // `process_group(0)` (its id is the child's pid); it touches no memory of ours.
    // A group id is not handed out again while the group has members, so this reaches
    // the child and its descendants or, if they are all gone, nobody (ESRCH).
    let rc = unsafe { libc::kill(-pid, libc::SIGKILL) };
    if rc != 0 {
        tracing::debug!(pid, error = %std::io::Error::last_os_error(), "cannot kill probe process group");
    }
}

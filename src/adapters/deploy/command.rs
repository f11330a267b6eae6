//! The `command` deployer: a program asked to bring one customer to a version.
//!
//! It runs through the one process runner (no shell, its own process group, the
//! group killed on timeout, capped output), with the release's facts in its
//! arguments (placeholders) and in `SHIPDECK_*` variables. Exit 0 is deployed; the
//! last non-empty line it printed is the detail (of stdout when it succeeded, of
//! stderr when it failed, where tools write their errors). Exit codes the config marks
//! retryable are retried with a doubling backoff, each retry journaled first, so a
//! resume goes on with the same attempt count. What it prints goes to the deploy
//! log as it comes.
//!
//! A deploy command is asked to *reach* version V, not to "deploy once": after a
//! crash, the same deploy is issued again (same `SHIPDECK_IDEMPOTENCY_KEY`), and it
//! must then find V already there, or finish getting there. `kubectl set image`,
//! `helm upgrade --install` and Argo's `set image` are all of this kind.

use std::sync::Arc;
use std::time::Duration;

use super::{
    DeployContext, MAX_DETAIL_CHARS, Verification, action, attempt_note, backoff, env_vars,
    printable, render,
};
use crate::adapters::health::truncate_chars;
use crate::adapters::process::{self, OutputSink, ProcessError, ProcessSpec};
use crate::domain::CommandTarget;
use crate::domain::deploy::command_line;
use crate::runtime::effects::{BoxFuture, DeployRequest, Deployer, Outcome};

/// A command target, resolved: durations as `std` ones (tests use milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandDeploy {
    pub program: String,
    pub args: Vec<String>,
    /// `None`: the deploy command itself, with the previous version.
    pub rollback: Option<(String, Vec<String>)>,
    /// Real time one attempt may take.
    pub timeout: Duration,
    pub retries: u32,
    pub retry_exit_codes: Vec<i32>,
    /// Release time before the first retry (doubling).
    pub backoff: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(5);
/// Bytes of each stream held in memory (the log gets everything up to its cap).
const KEEP_IN_MEMORY: usize = 64 * 1024;

impl CommandDeploy {
    pub fn from_target(t: &CommandTarget) -> CommandDeploy {
        CommandDeploy {
            program: t.program.clone(),
            args: t.args.clone(),
            rollback: t
                .rollback
                .as_ref()
                .map(|r| (r.program.clone(), r.args.clone())),
            timeout: t
                .timeout
                .filter(|t| !t.is_zero())
                .map_or(DEFAULT_TIMEOUT, |t| Duration::from_secs(t.as_secs())),
            retries: t.retries,
            retry_exit_codes: t.retry_exit_codes.clone(),
            backoff: t
                .backoff
                .map_or(DEFAULT_BACKOFF, |b| Duration::from_secs(b.as_secs())),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CommandDeployer {
    pub spec: CommandDeploy,
    pub verify: Option<Verification>,
    pub ctx: DeployContext,
}

impl Deployer for CommandDeployer {
    fn deploy(&self, request: DeployRequest) -> BoxFuture<Outcome> {
        let this = self.clone();
        Box::pin(async move { this.run(request).await })
    }
}

impl CommandDeployer {
    async fn run(&self, mut request: DeployRequest) -> Outcome {
        let log = self.ctx.log_for(&request);
        let (program, args) = match (&self.spec.rollback, request.rollback) {
            (Some((p, a)), true) => (p, a),
            _ => (&self.spec.program, &self.spec.args),
        };
        let total = self.spec.retries + 1;
        let first = request.attempt.clamp(1, total);
        let sink_log = log.clone();
        let sink: OutputSink = Arc::new(move |_, bytes| sink_log.output(bytes));
        let mut attempt = first;
        let done = loop {
            request.attempt = attempt;
            let argv: Vec<String> = args.iter().map(|a| render(a, &request, attempt)).collect();
            let program = render(program, &request, attempt);
            log.line(&format!(
                "=== {}: {}{}: {} (idempotency key {})",
                request.customer,
                action(&request),
                attempt_note(attempt, total),
                command_line(&program, &argv),
                request.idempotency_key
            ));
            let spec = ProcessSpec {
                program: program.clone(),
                args: argv,
                env: env_vars(&request, attempt),
                timeout: self.spec.timeout,
                max_output: KEEP_IN_MEMORY,
                drain_stdout: true,
                on_output: Some(sink.clone()),
                detach: Some(request.control.detached().clone()),
                ..ProcessSpec::default()
            };
            let note = attempt_note(attempt, total);
            let run = process::run(&spec).await;
            let (reason, retryable) = match run {
                Err(ProcessError::Detached) => {
                    log.line("left running: shipdeck stopped without waiting for it");
                    return Outcome::failed("left running (detached)");
                }
                Err(e @ ProcessError::TimedOut(_)) => {
                    log.line(&format!("`{program}` {e}"));
                    let note = if attempt > 1 { note.as_str() } else { "" };
                    (format!("`{program}` {e}{note}"), false)
                }
                Err(e) => {
                    log.line(&e.to_string());
                    let note = if attempt > 1 { note.as_str() } else { "" };
                    (format!("{e}{note}"), false)
                }
                Ok(finished) => {
                    log.end_output(&[
                        ("stdout", &finished.stdout.tail),
                        ("stderr", &finished.stderr.tail),
                    ]);
                    let status = finished.status_text();
                    // The verdict: what it said last on stdout when it succeeded, on
                    // stderr when it failed (where tools write their errors); else
                    // the other stream.
                    let (first, second) = if finished.status.success() {
                        (&finished.stdout, &finished.stderr)
                    } else {
                        (&finished.stderr, &finished.stdout)
                    };
                    let last = last_line(&first.tail)
                        .or_else(|| last_line(&second.tail))
                        .map(|l| truncate_chars(&printable(&l), MAX_DETAIL_CHARS));
                    log.line(&format!("`{program}` {status}"));
                    if finished.status.success() {
                        break last.unwrap_or_else(|| status.clone());
                    }
                    let code = finished.status.code();
                    let retryable = code.is_some_and(|c| self.spec.retry_exit_codes.contains(&c));
                    // The count matters when it was retried or could have been.
                    let note = if retryable || attempt > 1 {
                        note.as_str()
                    } else {
                        ""
                    };
                    let text = match last {
                        Some(l) => format!("{status}: {l}{note}"),
                        None => format!("{status}{note}"),
                    };
                    (text, retryable)
                }
            };
            if !retryable || attempt >= total {
                log.line(&format!("FAILED: {reason}"));
                return Outcome::failed(reason);
            }
            let wait = backoff(self.spec.backoff, attempt - first + 1);
            attempt += 1;
            request.control.retrying(attempt, &reason);
            log.line(&format!(
                "retrying in {} (release time): attempt {attempt} of {total}",
                crate::adapters::health::fmt_duration(wait)
            ));
            if !self.ctx.pause(wait, &request).await {
                return Outcome::failed("left running (detached)");
            }
        };
        let detail = done;
        match &self.verify {
            None => {
                log.line(&format!("done: {detail}"));
                Outcome::ok(detail)
            }
            Some(v) => match v.run(&self.ctx, &request, &log).await {
                None => Outcome::failed("left running (detached)"),
                Some(Ok(seen)) => {
                    let detail = format!("{detail}; {seen}");
                    log.line(&format!("done: {detail}"));
                    Outcome::ok(detail)
                }
                Some(Err(why)) => {
                    log.line(&format!("FAILED: {why}"));
                    Outcome::failed(why)
                }
            },
        }
    }
}

fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map(str::to_string)
}

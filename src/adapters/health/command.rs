//! The `command` health source: run a program (no shell) under a deadline; exit 0 is
//! up. Optional JSON on stdout is read with the same pointers as an HTTP body.
//!
//! It runs through the one child-process runner (`adapters::process`): own process
//! group killed on timeout, both pipes read while it runs, output capped.
//!
//! A command's run time is not the service's latency (it is mostly process start-up),
//! so unlike the HTTP probe, latency only comes from `latency_pointer`.

use std::time::Duration;

use super::pointer::{self, Pointers, Read};
use super::{ProbeLimits, fmt_bytes, truncate_chars};
use crate::adapters::process::{self, Finished, ProcessSpec};
use crate::domain::{HealthSample, ProbeOutcome};

pub(super) async fn probe(
    limits: &ProbeLimits,
    program: &str,
    args: &[String],
    timeout: Duration,
    pointers: Pointers<'_>,
) -> ProbeOutcome {
    let down = |reason: String| ProbeOutcome::Down { reason };
    let max = limits.max_body_bytes;
    let spec = ProcessSpec {
        program: program.to_string(),
        args: args.to_vec(),
        timeout,
        max_output: max,
        // Without pointers stdout is only drained (a chatty healthy script stays
        // healthy); with them it is the document, and an oversized one fails like an
        // HTTP body.
        drain_stdout: !pointers.any(),
        ..ProcessSpec::default()
    };
    let Finished {
        status,
        stdout,
        stderr,
    } = match process::run(&spec).await {
        Ok(done) => done,
        Err(e) => return down(e.to_string()),
    };
    // An oversized document is the cause; the SIGPIPE exit that follows from our
    // closing the pipe on it is only a consequence.
    if pointers.any() && stdout.exceeded {
        return down(format!("stdout exceeds {}", fmt_bytes(max)));
    }
    if !status.success() {
        let what = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => process::status_text(&status),
        };
        return match Finished::first_line(&stderr) {
            Some(line) => down(format!(
                "{what}: {}",
                truncate_chars(&line, limits.max_reason_chars)
            )),
            None => down(what),
        };
    }
    if !pointers.any() {
        return ProbeOutcome::Up {
            sample: HealthSample::default(),
        };
    }
    match pointer::read_figures(&stdout.bytes, "stdout", pointers) {
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

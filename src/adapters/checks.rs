//! Checklist items bound to a command: run it (no shell) through the one process
//! runner; exit 0 ticks the item. The first line of its output is the detail.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::process::{self, Finished, ProcessError, ProcessSpec};
use crate::domain::CheckCommand;
use crate::runtime::effects::{BoxFuture, CheckRunner, Outcome};

const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(300);
/// Bytes kept of a check's output: only its first line is shown.
const MAX_OUTPUT: usize = 64 * 1024;
const MAX_DETAIL_CHARS: usize = 200;

/// Runs checks as child processes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessChecks;

impl ProcessChecks {
    pub fn shared() -> Arc<dyn CheckRunner> {
        Arc::new(ProcessChecks)
    }
}

impl CheckRunner for ProcessChecks {
    fn run(&self, command: CheckCommand) -> BoxFuture<Outcome> {
        Box::pin(async move { run_check(&command).await })
    }
}

/// Runs a check command; the first line of stdout (else stderr) is the detail.
pub async fn run_check(command: &CheckCommand) -> Outcome {
    let spec = ProcessSpec {
        program: command.program.clone(),
        args: command.args.clone(),
        timeout: command
            .timeout
            .map_or(DEFAULT_CHECK_TIMEOUT, |t| Duration::from_secs(t.as_secs())),
        max_output: MAX_OUTPUT,
        drain_stdout: true,
        ..ProcessSpec::default()
    };
    match process::run(&spec).await {
        Err(e @ ProcessError::TimedOut(_)) => Outcome::failed(format!("`{}` {e}", command.program)),
        Err(e) => Outcome::failed(e.to_string()),
        Ok(done) => {
            let first = Finished::first_line(&done.stdout)
                .or_else(|| Finished::first_line(&done.stderr))
                .map(|l| l.chars().take(MAX_DETAIL_CHARS).collect::<String>());
            let status = done.status_text();
            Outcome {
                ok: done.status.success(),
                detail: match first {
                    Some(line) => format!("{status}: {line}"),
                    None => status,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_run_real_processes() {
        let ok = CheckCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "echo fine".into()],
            timeout: None,
        };
        assert_eq!(run_check(&ok).await, Outcome::ok("exit 0: fine"));
        let bad = CheckCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "echo broken >&2; exit 3".into()],
            timeout: None,
        };
        assert_eq!(run_check(&bad).await, Outcome::failed("exit 3: broken"));
        let missing = CheckCommand {
            program: "/nonexistent/scanner".into(),
            args: vec![],
            timeout: None,
        };
        let out = run_check(&missing).await;
        assert!(!out.ok && out.detail.starts_with("cannot run"), "{out:?}");
    }
}

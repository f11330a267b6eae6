//! Real deployers behind the runtime's deployer port: `command` (a child process
//! through the one process runner) and `webhook` (HTTP POST, optional status
//! polling), each optionally followed by a verify step that reads the live version.
//!
//! Why it is shaped so:
//! - A deployer never returns an error: every way a deploy can go wrong (a missing
//!   program, exit 3, a timeout, HTTP 500 three times, a status of `build_failed`,
//!   the wrong live version) *is* its outcome, a failed deploy with a reason an
//!   operator can act on. The engine's failed-deploy rule does the rest (roll that
//!   customer back, pause).
//! - Timeouts of one exchange (a command attempt, an HTTP request) are real time;
//!   backoffs, poll intervals and deadlines are release time (`Clock`), so a drill
//!   at `--speed 60` polls its loopback fleet sixty times as often.
//! - Secrets (header values, secret hook URLs) are read from the environment when a
//!   deploy starts and never formatted into a reason, a log line or a `Debug`.
//! - External text (what a command printed, what a server answered) is escaped of
//!   control characters before it reaches a reason ([`printable`]); the per-deploy
//!   log keeps the raw bytes, and `shipdeck logs` escapes them when it prints.

pub mod command;
pub mod log;
pub mod verify;
pub mod webhook;

use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

pub use command::{CommandDeploy, CommandDeployer};
pub use log::{DeployLog, printable};
pub use verify::{Verification, VerifyHow};
pub use webhook::{PollSpec, StatusUrl, WebhookDeploy, WebhookDeployer};

use crate::adapters::health::EnvLookup;
use crate::runtime::clock::Clock;
use crate::runtime::effects::DeployRequest;

/// What every deployer of a release shares.
#[derive(Clone)]
pub struct DeployContext {
    /// The release clock: backoffs, poll intervals and deadlines count on it.
    pub clock: Clock,
    /// Where per-deploy logs go (`releases/<label>/deploys`).
    pub logs: PathBuf,
    /// Reads secrets (header values, secret URLs) at deploy time.
    pub env: EnvLookup,
    /// The HTTP client for webhooks and verify reads (no redirects followed).
    pub http: reqwest::Client,
}

impl std::fmt::Debug for DeployContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployContext")
            .field("clock", &self.clock)
            .field("logs", &self.logs)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for deploys: {0}")]
pub struct DeploySetupError(String);

static CRYPTO: Once = Once::new();

impl DeployContext {
    pub fn new(clock: Clock, logs: PathBuf) -> Result<DeployContext, DeploySetupError> {
        CRYPTO.call_once(|| {
            // reqwest is built without a default rustls provider; install ring once
            // (or keep one the host program installed first).
            let _already = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            // A deploy hook that redirects is misconfigured (or a login page): say
            // so instead of POSTing somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("shipdeck/", env!("CARGO_PKG_VERSION"), " deploy"))
            .build()
            .map_err(|e| DeploySetupError(crate::adapters::health::error_chain(&e)))?;
        Ok(DeployContext {
            clock,
            logs,
            env: Arc::new(|name: &str| std::env::var(name)),
            http,
        })
    }

    /// Reads secrets through `env` instead of the process environment (tests).
    pub fn with_env_lookup(mut self, env: EnvLookup) -> DeployContext {
        self.env = env;
        self
    }

    /// Sleeps `release` of release time, or until the operator detaches. `false`
    /// when detached.
    pub(crate) async fn pause(&self, release: Duration, request: &DeployRequest) -> bool {
        tokio::select! {
            biased;
            _ = request.control.detached().cancelled() => false,
            _ = tokio::time::sleep(self.clock.real_for(release)) => true,
        }
    }

    pub(crate) fn log_for(&self, request: &DeployRequest) -> DeployLog {
        DeployLog::open(
            &self.logs,
            request.customer.as_str(),
            self.clock.clone(),
            LOG_CAP,
        )
    }
}

/// Output bytes one deploy (all its attempts, and its verify) keeps in its log; the
/// last lines are kept past it.
pub const LOG_CAP: u64 = 512 * 1024;

/// The longest reason detail taken from external text.
pub const MAX_DETAIL_CHARS: usize = 200;

/// Wait before retry `n` (1 = the first retry): `base` doubling, at most 10 minutes.
pub fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 1u32 << retry.saturating_sub(1).min(10);
    base.saturating_mul(factor).min(Duration::from_secs(600))
}

/// The request's facts by placeholder name (see `domain::deploy::PLACEHOLDERS`).
pub fn placeholder(request: &DeployRequest, attempt: u32, name: &str) -> Option<String> {
    Some(match name {
        "version" => request.version.to_string(),
        "version_number" => request
            .version
            .to_string()
            .trim_start_matches('v')
            .to_string(),
        "previous_version" => request.previous_version.to_string(),
        "customer" => request.customer.to_string(),
        "customer_name" => request.customer_name.clone(),
        "tier" => request.tier.to_string(),
        "release" => request.release.clone(),
        "attempt" => attempt.to_string(),
        "idempotency_key" => request.idempotency_key.clone(),
        "operator" => request.operator.clone(),
        _ => return None,
    })
}

/// Fills a template with the request's facts.
pub fn render(template: &str, request: &DeployRequest, attempt: u32) -> String {
    crate::domain::deploy::render_template(template, &|n| placeholder(request, attempt, n))
}

/// The `SHIPDECK_*` variables a deploy or verify command gets.
pub fn env_vars(request: &DeployRequest, attempt: u32) -> Vec<(String, std::ffi::OsString)> {
    [
        ("SHIPDECK_VERSION", request.version.to_string()),
        (
            "SHIPDECK_PREVIOUS_VERSION",
            request.previous_version.to_string(),
        ),
        ("SHIPDECK_CUSTOMER", request.customer.to_string()),
        ("SHIPDECK_CUSTOMER_NAME", request.customer_name.clone()),
        ("SHIPDECK_TIER", request.tier.to_string()),
        ("SHIPDECK_RELEASE", request.release.clone()),
        ("SHIPDECK_ATTEMPT", attempt.to_string()),
        ("SHIPDECK_OPERATOR", request.operator.clone()),
        ("SHIPDECK_IDEMPOTENCY_KEY", request.idempotency_key.clone()),
        (
            "SHIPDECK_ACTION",
            if request.rollback {
                "rollback"
            } else {
                "deploy"
            }
            .to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into()))
    .collect()
}

/// `deploy v1.0.2` or `rollback to v1.0.1`.
pub fn action(request: &DeployRequest) -> String {
    if request.rollback {
        format!("rollback to {}", request.version)
    } else {
        format!("deploy {}", request.version)
    }
}

/// ` (attempt 2 of 3)`, or nothing when there is one attempt in all.
pub fn attempt_note(attempt: u32, total: u32) -> String {
    if total > 1 {
        format!(" (attempt {attempt} of {total})")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 1), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(4));
        assert_eq!(backoff(b, 3), Duration::from_secs(8));
        assert_eq!(backoff(b, 40), Duration::from_secs(600));
    }
}

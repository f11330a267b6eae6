//! Health probes: one check of one customer, over real HTTP, a real child process, or
//! the simulated baseline, turned into a [`ProbeOutcome`] the engine judges.
//!
//! Why it is shaped so:
//! - A probe never returns an error: every way a check can go wrong (refused, reset,
//!   hung, garbage, a wrong-typed figure, a missing secret) *is* its verdict, a `Down`
//!   with a reason an operator can act on. Only "the service said nothing to judge by"
//!   is `Inconclusive`, because no data must hold a rollout, never roll it back.
//! - Every probe carries its own deadline, so one hung customer cannot stall a round
//!   ([`Prober::probe_round`] fans out with a bound on concurrency).
//! - Secrets (header values read from the environment) are read at probe time and are
//!   never formatted into a reason, a log line or a `Debug` output.

mod command;
mod http;
mod pointer;
mod simulated;

use std::fmt;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;

use crate::domain::{CustomerId, HealthSource, ProbeOutcome};

pub use simulated::SimulatedHealth;

/// Bounds every probe works within.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeLimits {
    /// Used when a source names no timeout (or names `0s`).
    pub default_timeout: Duration,
    /// The largest body (HTTP) or stdout (command) read; more is a failed check.
    pub max_body_bytes: usize,
    /// How much of the first line of a failing command's stderr goes into the reason.
    pub max_reason_chars: usize,
}

impl Default for ProbeLimits {
    fn default() -> Self {
        ProbeLimits {
            default_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            max_reason_chars: 200,
        }
    }
}

/// Looks up an environment variable by name. Injected so that tests need not mutate
/// the process environment (which is `unsafe` in edition 2024).
pub type EnvLookup = Arc<dyn Fn(&str) -> Result<String, std::env::VarError> + Send + Sync>;

/// The prober could not be built (the HTTP client could not load its TLS setup).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP health client: {0}")]
pub struct ProbeSetupError(String);

/// Runs health checks. Cheap to clone (the HTTP client's connection pool is shared).
#[derive(Clone)]
pub struct Prober {
    client: reqwest::Client,
    limits: ProbeLimits,
    env: EnvLookup,
    sim: Option<Arc<dyn SimulatedHealth>>,
}

impl fmt::Debug for Prober {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prober")
            .field("limits", &self.limits)
            .field("simulated_context", &self.sim.is_some())
            .finish_non_exhaustive()
    }
}

static CRYPTO: Once = Once::new();

/// reqwest is built without a default rustls provider (no aws-lc C build); it panics
/// when building a client unless one is installed process-wide. Install ring once. If
/// the host program installed another provider first, that one stays.
pub(crate) fn install_crypto_provider() {
    CRYPTO.call_once(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Prober {
    pub fn new(limits: ProbeLimits) -> Result<Prober, ProbeSetupError> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            // A health endpoint should answer itself; following a redirect would
            // probe something else (often a login page that says 200).
            .redirect(reqwest::redirect::Policy::none())
            // No connect or request timeout here: each probe runs under its own
            // source's deadline, which covers connecting too.
            // Probes are small, frequent and to few hosts: keep connections warm.
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .user_agent(concat!(
                "shipdeck/",
                env!("CARGO_PKG_VERSION"),
                " health-probe"
            ))
            .build()
            .map_err(|e| ProbeSetupError(error_chain(&e)))?;
        Ok(Prober {
            client,
            limits,
            env: Arc::new(|name: &str| std::env::var(name)),
            sim: None,
        })
    }

    /// Reads header secrets through `env` instead of the process environment.
    pub fn with_env_lookup(mut self, env: EnvLookup) -> Prober {
        self.env = env;
        self
    }

    /// Answers `simulated` sources of known customers from `sim` (the demo fleet's
    /// state, faults included) instead of their bare baseline.
    pub fn with_simulated(mut self, sim: Arc<dyn SimulatedHealth>) -> Prober {
        self.sim = Some(sim);
        self
    }

    pub fn limits(&self) -> &ProbeLimits {
        &self.limits
    }

    /// The deadline a probe of `source` runs under.
    pub fn timeout_for(&self, source: &HealthSource) -> Duration {
        let configured = match source {
            HealthSource::Http { timeout, .. } | HealthSource::Command { timeout, .. } => *timeout,
            HealthSource::Simulated { .. } => None,
        };
        match configured {
            Some(t) if !t.is_zero() => Duration::from_secs(t.as_secs()),
            _ => self.limits.default_timeout,
        }
    }

    /// One check of a source that belongs to no particular customer (the simulated
    /// kind answers its baseline).
    pub async fn probe(&self, source: &HealthSource) -> ProbeOutcome {
        self.check(None, source).await
    }

    /// One check of `customer`'s health source.
    pub async fn probe_customer(
        &self,
        customer: &CustomerId,
        source: &HealthSource,
    ) -> ProbeOutcome {
        let outcome = self.check(Some(customer), source).await;
        match &outcome {
            ProbeOutcome::Up { sample } => tracing::debug!(%customer, ?sample, "probe up"),
            ProbeOutcome::Down { reason } => tracing::info!(%customer, %reason, "probe down"),
            ProbeOutcome::Inconclusive { reason } => {
                tracing::info!(%customer, %reason, "probe inconclusive")
            }
        }
        outcome
    }

    async fn check(&self, customer: Option<&CustomerId>, source: &HealthSource) -> ProbeOutcome {
        let timeout = self.timeout_for(source);
        match source {
            HealthSource::Simulated {
                baseline_error_rate,
                baseline_latency_ms,
            } => {
                let from_context = match (customer, &self.sim) {
                    (Some(id), Some(sim)) => sim.check(id, timeout),
                    _ => None,
                };
                from_context.unwrap_or_else(|| {
                    simulated::baseline(*baseline_error_rate, *baseline_latency_ms)
                })
            }
            HealthSource::Http {
                url,
                headers,
                error_rate_pointer,
                latency_pointer,
                ..
            } => {
                let pointers = pointer::Pointers {
                    error_rate: error_rate_pointer.as_deref(),
                    latency: latency_pointer.as_deref(),
                };
                http::probe(self, url, headers, timeout, pointers).await
            }
            HealthSource::Command {
                program,
                args,
                error_rate_pointer,
                latency_pointer,
                ..
            } => {
                let pointers = pointer::Pointers {
                    error_rate: error_rate_pointer.as_deref(),
                    latency: latency_pointer.as_deref(),
                };
                command::probe(&self.limits, program, args, timeout, pointers).await
            }
        }
    }

    /// Checks every target, at most `concurrency` at once (0 is taken as 1), and
    /// returns each outcome with how long its check took, in the order of `targets`.
    ///
    /// Each probe runs under its own deadline (plus a backstop one second later), so
    /// a round takes about the slowest deadline, never the sum of them.
    pub async fn probe_round(
        &self,
        targets: &[(CustomerId, HealthSource)],
        concurrency: usize,
    ) -> Vec<(CustomerId, ProbeOutcome, Duration)> {
        let mut results: Vec<(usize, ProbeOutcome, Duration)> =
            stream::iter(targets.iter().enumerate())
                .map(|(index, (id, source))| async move {
                    let started = Instant::now();
                    let timeout = self.timeout_for(source);
                    let backstop = timeout + Duration::from_secs(1);
                    let outcome =
                        match tokio::time::timeout(backstop, self.probe_customer(id, source)).await
                        {
                            Ok(outcome) => outcome,
                            Err(_) => ProbeOutcome::Down {
                                reason: format!("timed out after {}", fmt_duration(timeout)),
                            },
                        };
                    (index, outcome, started.elapsed())
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        // Completion order is noise; callers line results up with their targets.
        results.sort_unstable_by_key(|(index, _, _)| *index);
        results
            .into_iter()
            .map(|(index, outcome, took)| (targets[index].0.clone(), outcome, took))
            .collect()
    }
}

/// `200ms`, `5s`, `1.5s`: how a deadline reads in a reason.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `64 KiB` or `1000 bytes`: how a size limit reads in a reason.
pub(crate) fn fmt_bytes(n: usize) -> String {
    if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// An error and its causes, joined by ": ", without repeating a message a wrapper
/// already quoted from its cause.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let msg = cause.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        source = cause.source();
    }
    out
}

/// Keeps at most `max` characters of `s`, marking the cut with `…`.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(fmt_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(fmt_duration(Duration::from_secs(5)), "5s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_bytes(65536), "64 KiB");
        assert_eq!(fmt_bytes(1000), "1000 bytes");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("ok", 5), "ok");
    }
}

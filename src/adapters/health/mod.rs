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
mod prometheus;
mod simulated;

use std::fmt;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream;

use crate::domain::promql::{self, Shape, Subject};
use crate::domain::{CustomerId, HealthSource, ProbeOutcome, PrometheusSource};

pub use prometheus::MAX_BATCH as PROMETHEUS_MAX_BATCH;
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
    /// Plain `http://` URLs without credentials, when no proxy is configured in the
    /// environment: hyper's client without reqwest's layers (see [`http`]).
    plain: Option<http::PlainClient>,
    limits: ProbeLimits,
    env: EnvLookup,
    sim: Option<Arc<dyn SimulatedHealth>>,
    /// Prometheus: what was logged once, and templates found not to batch.
    prom: prometheus::SharedState,
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
            .user_agent(http::PROBE_AGENT)
            .build()
            .map_err(|e| ProbeSetupError(error_chain(&e)))?;
        Ok(Prober {
            client,
            plain: http::plain_client(),
            limits,
            env: Arc::new(|name: &str| std::env::var(name)),
            sim: None,
            prom: prometheus::SharedState::default(),
        })
    }

    /// Sends every HTTP probe through reqwest, plain `http://` ones included (as
    /// when a proxy is configured): for comparing the two clients.
    pub fn through_reqwest_only(mut self) -> Prober {
        self.plain = None;
        self
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
            HealthSource::Prometheus(p) => p.timeout,
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
        self.check(None, source, None).await
    }

    /// One check of `customer`'s health source.
    pub async fn probe_customer(
        &self,
        customer: &CustomerId,
        source: &HealthSource,
    ) -> ProbeOutcome {
        self.probe_parsed(customer, source, None).await
    }

    /// [`Prober::probe_customer`] with an http source's URL already parsed.
    async fn probe_parsed(
        &self,
        customer: &CustomerId,
        source: &HealthSource,
        url: Option<&reqwest::Url>,
    ) -> ProbeOutcome {
        let outcome = self.check(Some(customer), source, url).await;
        match &outcome {
            ProbeOutcome::Up { sample } => tracing::debug!(%customer, ?sample, "probe up"),
            // Reasons quote stderr and HTTP reason phrases: escaped in the log file.
            ProbeOutcome::Down { reason } => {
                tracing::info!(%customer, reason = %crate::domain::escape(reason), "probe down")
            }
            ProbeOutcome::Inconclusive { reason } => {
                tracing::info!(%customer, reason = %crate::domain::escape(reason), "probe inconclusive")
            }
        }
        outcome
    }

    async fn check(
        &self,
        customer: Option<&CustomerId>,
        source: &HealthSource,
        parsed: Option<&reqwest::Url>,
    ) -> ProbeOutcome {
        // Sentinel figures (-1, NaN, 150 %) are no data, whatever the source.
        self.check_raw(customer, source, parsed).await.judged()
    }

    async fn check_raw(
        &self,
        customer: Option<&CustomerId>,
        source: &HealthSource,
        parsed: Option<&reqwest::Url>,
    ) -> ProbeOutcome {
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
                // A source probed outside a round is parsed here, so that every
                // plain-HTTP probe takes the same client; one that does not parse
                // goes as text, for reqwest to say why.
                let parsed_now = parsed
                    .is_none()
                    .then(|| reqwest::Url::parse(url).ok())
                    .flatten();
                let url = parsed
                    .or(parsed_now.as_ref())
                    .map_or(http::Url::Text(url), http::Url::Parsed);
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
            HealthSource::Prometheus(p) => {
                // Without a target, the id stands in for the name and the tier is
                // empty; a release probes through [`Prober::probe_target`].
                let id = customer.map_or("", |c| c.as_str());
                let member = prometheus::Member {
                    subject: Subject {
                        id,
                        name: id,
                        tier: "",
                    },
                };
                let mut out = prometheus::probe_batch(self, p, &[member], None, timeout).await;
                out.pop().unwrap_or_else(|| ProbeOutcome::Down {
                    reason: "no answer".into(),
                })
            }
        }
    }

    /// Checks every target, at most `concurrency` at once (0 is taken as 1), and
    /// returns each outcome with how long its check took, in the order of `targets`.
    /// Without names and tiers: a prometheus query's `{customer_name}` reads as the
    /// id and `{tier}` as empty ([`Prober::probe_targets`] knows them).
    ///
    /// Each probe runs under its own deadline (plus a backstop one second later), so
    /// a round takes about the slowest deadline, never the sum of them.
    pub async fn probe_round(
        &self,
        targets: &[(CustomerId, HealthSource)],
        concurrency: usize,
    ) -> Vec<(CustomerId, ProbeOutcome, Duration)> {
        let targets: Vec<ProbeTarget> = targets
            .iter()
            .map(|(id, source)| ProbeTarget::new(id.clone(), id.as_str(), "", source.clone()))
            .collect();
        self.probe_targets(&targets, concurrency).await
    }

    /// One round over `targets`: those that share a batching source (a
    /// [`BatchKey`]) are answered together by [`Prober::probe_batch`], the others
    /// one by one; at most `concurrency` checks or batches at once (0 is taken as 1).
    /// Each outcome comes with how long its check (or its batch) took, in the order
    /// of `targets`.
    pub async fn probe_targets(
        &self,
        targets: &[ProbeTarget],
        concurrency: usize,
    ) -> Vec<(CustomerId, ProbeOutcome, Duration)> {
        let mut units: Vec<Vec<usize>> = Vec::new();
        let mut groups: std::collections::HashMap<BatchKey, usize> =
            std::collections::HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            match BatchKey::of(t) {
                Some(key) => match groups.get(&key) {
                    Some(&u) => units[u].push(i),
                    None => {
                        groups.insert(key, units.len());
                        units.push(vec![i]);
                    }
                },
                None => units.push(vec![i]),
            }
        }
        let mut results: Vec<(usize, ProbeOutcome, Duration)> = stream::iter(units)
            // Boxed: the set moves each future it takes in, and a probe's is kilobytes.
            .map(|unit| {
                Box::pin(async move {
                    let started = Instant::now();
                    // A single target is probed where it lies; a batch's members
                    // are gathered into one slice.
                    let outcomes = match unit.as_slice() {
                        [one] => {
                            self.probe_batch_bounded(std::slice::from_ref(&targets[*one]))
                                .await
                        }
                        _ => {
                            let members: Vec<ProbeTarget> =
                                unit.iter().map(|&i| targets[i].clone()).collect();
                            self.probe_batch_bounded(&members).await
                        }
                    };
                    let took = started.elapsed();
                    unit.into_iter()
                        .zip(outcomes)
                        .map(|(i, o)| (i, o, took))
                        .collect::<Vec<_>>()
                })
            })
            .buffer_unordered(concurrency.max(1))
            .flat_map(stream::iter)
            .collect()
            .await;
        // Completion order is noise; callers line results up with their targets.
        results.sort_unstable_by_key(|(index, _, _)| *index);
        results
            .into_iter()
            .map(|(index, outcome, took)| (targets[index].id.clone(), outcome, took))
            .collect()
    }

    /// [`Prober::probe_batch`] under a backstop over its deadline: a batch that
    /// overruns is a failed check of each member.
    pub async fn probe_batch_bounded(&self, targets: &[ProbeTarget]) -> Vec<ProbeOutcome> {
        let Some(first) = targets.first() else {
            return Vec::new();
        };
        let budget = self.batch_deadline(&first.source, targets.len());
        match tokio::time::timeout(budget, self.probe_batch(targets)).await {
            Ok(outcomes) => outcomes,
            Err(_) => {
                let reason = format!("timed out after {}", fmt_duration(budget));
                targets
                    .iter()
                    .map(|_| ProbeOutcome::Down {
                        reason: reason.clone(),
                    })
                    .collect()
            }
        }
    }

    /// The most a batch of `n` targets of `source` may take: its deadline for each
    /// round of requests it may need (queries that do not batch are asked per
    /// customer, 16 at once), plus a second.
    pub fn batch_deadline(&self, source: &HealthSource, n: usize) -> Duration {
        let timeout = self.timeout_for(source);
        let rounds = match source {
            HealthSource::Prometheus(_) => u32::try_from(n.div_ceil(16).max(1)).unwrap_or(u32::MAX),
            _ => 1,
        };
        timeout.saturating_mul(rounds) + Duration::from_secs(1)
    }

    /// One check of one target.
    pub async fn probe_target(&self, target: &ProbeTarget) -> ProbeOutcome {
        let mut out = self.probe_batch(std::slice::from_ref(target)).await;
        out.pop().unwrap_or_else(|| ProbeOutcome::Down {
            reason: "no answer".into(),
        })
    }

    /// Checks `targets`, one outcome each, in order. Targets that share a
    /// prometheus source (a [`BatchKey`]) are answered with one request per query
    /// (per [`PROMETHEUS_MAX_BATCH`] customers); any other target is checked on its
    /// own, one after another (callers batch only what shares a key).
    pub async fn probe_batch(&self, targets: &[ProbeTarget]) -> Vec<ProbeOutcome> {
        // Usually one group; partitioned here so that a mixed slice is still right.
        let mut groups: Vec<Group<'_>> = Vec::new();
        let mut out: Vec<Option<ProbeOutcome>> = vec![None; targets.len()];
        for (i, t) in targets.iter().enumerate() {
            let HealthSource::Prometheus(source) = &t.source else {
                out[i] = Some(self.probe_parsed(&t.id, &t.source, t.url.as_ref()).await);
                continue;
            };
            let key = BatchKey::of(t);
            match groups.iter_mut().find(|g| key.is_some() && g.key == key) {
                Some(g) => g.members.push(i),
                None => groups.push(Group {
                    source,
                    at: t.at,
                    key,
                    members: vec![i],
                }),
            }
        }
        for Group {
            source,
            at,
            members,
            ..
        } in groups
        {
            let subjects: Vec<prometheus::Member<'_>> = members
                .iter()
                .map(|&i| prometheus::Member {
                    subject: targets[i].subject(),
                })
                .collect();
            let timeout = self.timeout_for(&targets[members[0]].source);
            let outcomes = prometheus::probe_batch(self, source, &subjects, at, timeout).await;
            let (mut up, mut down, mut unsure) = (0usize, 0usize, 0usize);
            for (&i, outcome) in members.iter().zip(outcomes) {
                match &outcome {
                    ProbeOutcome::Up { sample } => {
                        up += 1;
                        tracing::debug!(customer = %targets[i].id, ?sample, "probe up");
                    }
                    ProbeOutcome::Down { reason } => {
                        down += 1;
                        tracing::debug!(customer = %targets[i].id, %reason, "probe down");
                    }
                    ProbeOutcome::Inconclusive { reason } => {
                        unsure += 1;
                        tracing::debug!(customer = %targets[i].id, %reason, "probe inconclusive");
                    }
                }
                out[i] = Some(outcome);
            }
            tracing::info!(
                server = %source.url,
                customers = members.len(),
                up,
                down,
                inconclusive = unsure,
                at = ?at,
                "prometheus batch"
            );
        }
        out.into_iter()
            .map(|o| {
                o.unwrap_or_else(|| ProbeOutcome::Down {
                    reason: "no answer".into(),
                })
            })
            .collect()
    }

    /// The refused-query errors seen so far by this prober and its clones, each once
    /// (they are logged once too): for a report to show above its per-customer rows.
    pub fn config_errors(&self) -> Vec<String> {
        prometheus::config_errors(&self.prom)
    }
}

/// Targets of one prometheus source answered together by [`Prober::probe_batch`].
struct Group<'a> {
    source: &'a PrometheusSource,
    at: Option<DateTime<Utc>>,
    key: Option<BatchKey>,
    members: Vec<usize>,
}

/// One customer to check, with what its source's queries may name.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeTarget {
    pub id: CustomerId,
    pub name: String,
    pub tier: String,
    pub source: HealthSource,
    /// Evaluate at this instant rather than now: a pre-deploy baseline is read at the
    /// instant the journal recorded, so a resumed release reads the same figures.
    /// Sources that can only look at the present (http, command) ignore it.
    pub at: Option<DateTime<Utc>>,
    /// An http source's URL, parsed once here rather than on every probe (parsing
    /// was a tenth of a 10,000-customer round). `None` for other sources and for a
    /// URL that does not parse, which the probe then reports.
    url: Option<reqwest::Url>,
}

impl ProbeTarget {
    pub fn new(
        id: CustomerId,
        name: impl Into<String>,
        tier: impl Into<String>,
        source: HealthSource,
    ) -> ProbeTarget {
        let url = match &source {
            HealthSource::Http { url, .. } => reqwest::Url::parse(url).ok(),
            _ => None,
        };
        ProbeTarget {
            id,
            name: name.into(),
            tier: tier.into(),
            source,
            at: None,
            url,
        }
    }

    /// The same target, evaluated at `at`.
    pub fn at(mut self, at: Option<DateTime<Utc>>) -> ProbeTarget {
        self.at = at;
        self
    }

    fn subject(&self) -> Subject<'_> {
        Subject {
            id: self.id.as_str(),
            name: &self.name,
            tier: &self.tier,
        }
    }
}

/// Targets with equal keys are answered together: one prometheus source (server,
/// headers, timeout, queries), one tier where a query names `{tier}`, one instant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BatchKey {
    source: PrometheusSource,
    tier: Option<String>,
    at: Option<DateTime<Utc>>,
}

impl BatchKey {
    /// `target`'s group, when its source answers many customers at once (some query
    /// of it is not per customer).
    pub fn of(target: &ProbeTarget) -> Option<BatchKey> {
        let HealthSource::Prometheus(p) = &target.source else {
            return None;
        };
        let queries = p.queries();
        if queries
            .iter()
            .all(|(_, q)| promql::shape(q) == Shape::PerCustomer)
        {
            return None;
        }
        let tier = queries
            .iter()
            .any(|(_, q)| promql::uses(q, "tier"))
            .then(|| target.tier.clone());
        Some(BatchKey {
            source: p.clone(),
            tier,
            at: target.at,
        })
    }

    /// The same text for every instant of one group, to place the group's probes on
    /// one phase of the interval (so that its members come due together).
    pub fn phase(&self) -> String {
        let queries: Vec<&str> = self.source.queries().iter().map(|(_, q)| *q).collect();
        format!(
            "prometheus {} {} {}",
            self.source.url,
            queries.join("\u{1f}"),
            self.tier.as_deref().unwrap_or("")
        )
    }

    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.at
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

//! The effect ports: how the runtime reaches the outside world without knowing it.
//!
//! The engine asks for effects (deploy this customer, run this check, tell people
//! this); the [`Executor`] carries them out through three ports, each a trait object:
//!
//! - [`Deployer`], one per customer (its deploy target, as recorded in the plan);
//! - [`CheckRunner`], for checklist items bound to a command;
//! - [`Notifier`], for notices.
//!
//! The implementations live in `adapters` (child processes, files, HTTP) and in `sim`
//! (the demo's simulated deploys); they are chosen in one place, the CLI's wiring
//! ([`Wiring`]). The runtime never imports either, so a real deployer and the demo's
//! simulated one are the same thing to it.

pub mod executor;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use executor::Executor;

use super::clock::Clock;
use crate::domain::{CheckCommand, CustomerId, Role, TierName, Version};
use crate::engine::{EffectResult, NoticeKind, ReleasePlan};

/// A boxed future, for trait objects.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How an effect ended, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub detail: String,
}

impl Outcome {
    pub fn ok(detail: impl Into<String>) -> Outcome {
        Outcome {
            ok: true,
            detail: detail.into(),
        }
    }
    pub fn failed(detail: impl Into<String>) -> Outcome {
        Outcome {
            ok: false,
            detail: detail.into(),
        }
    }
}

/// One deploy (or rollback) of one customer.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployRequest {
    /// The release's label (`v1.0.2`).
    pub release: String,
    /// The release's seed: simulated targets draw their dice from it.
    pub seed: u64,
    pub customer: CustomerId,
    pub customer_name: String,
    pub tier: TierName,
    /// The version to reach.
    pub version: Version,
    /// The version the customer leaves: its version before the release for a
    /// deploy, the release's version for a rollback.
    pub previous_version: Version,
    /// A rollback to `version` rather than a deploy of it.
    pub rollback: bool,
    /// The attempt to start with: 1, or on resume the journaled attempt that was in
    /// flight (re-issued with the same number).
    pub attempt: u32,
    /// The same for every issue of this deploy, across crashes and resumes: derived
    /// from journaled facts (see [`idempotency_key`]).
    pub idempotency_key: String,
    /// Who runs the process that issues the deploy.
    pub operator: String,
    pub control: DeployControl,
}

/// What a deployer may tell the runtime while it works, and how it learns that
/// the process is leaving without waiting for it.
#[derive(Clone, Default)]
pub struct DeployControl {
    results: Option<(mpsc::UnboundedSender<EffectResult>, CustomerId)>,
    detach: CancellationToken,
}

impl DeployControl {
    pub fn new(
        results: mpsc::UnboundedSender<EffectResult>,
        customer: CustomerId,
        detach: CancellationToken,
    ) -> DeployControl {
        DeployControl {
            results: Some((results, customer)),
            detach,
        }
    }

    /// A control that reports nowhere and is never detached (tests, tools).
    pub fn none() -> DeployControl {
        DeployControl::default()
    }

    /// Says that attempt `attempt` is about to start because the last one failed
    /// for `reason`; the runtime journals it (`deploy_retried`), so a resume carries
    /// on with the same count.
    pub fn retrying(&self, attempt: u32, reason: &str) {
        if let Some((tx, customer)) = &self.results {
            let _ = tx.send(EffectResult::DeployRetrying {
                customer: customer.clone(),
                attempt,
                reason: reason.to_string(),
            });
        }
    }

    /// Fires when the process leaves without waiting for deploys in flight (a
    /// second Ctrl-C): a deployer stops watching and leaves the work running
    /// (a command's process group is not killed). Its result is not journaled; the
    /// deploy stays in flight and a resume re-issues it.
    pub fn detached(&self) -> &CancellationToken {
        &self.detach
    }
}

impl std::fmt::Debug for DeployControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployControl")
            .field("reports", &self.results.is_some())
            .field("detached", &self.detach.is_cancelled())
            .finish()
    }
}

/// Controls are plumbing, not part of what a request asks for.
impl PartialEq for DeployControl {
    fn eq(&self, _: &DeployControl) -> bool {
        true
    }
}

/// The idempotency key of one deploy or rollback: a hash (FNV-1a, 128 bits) of the
/// release, customer, version, direction and the instant its `deploy_started` (or
/// `rollback_started`) event was journaled. The same deploy re-issued after a crash
/// gets the same key; a new deploy never does. No randomness, no clock.
pub fn idempotency_key(
    release: &str,
    customer: &CustomerId,
    version: &Version,
    rollback: bool,
    started_at: DateTime<Utc>,
) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    let text = format!(
        "{release}\u{1f}{customer}\u{1f}{version}\u{1f}{}\u{1f}{}",
        if rollback { "rollback" } else { "deploy" },
        started_at.timestamp_nanos_opt().unwrap_or_default()
    );
    for b in text.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    format!("shipdeck-{h:032x}")
}

/// Brings a customer to a version. Asked to *reach* a version, so a resumed runtime
/// may ask again for a deploy that was in flight when it stopped (same idempotency
/// key, same attempt).
pub trait Deployer: Send + Sync {
    fn deploy(&self, request: DeployRequest) -> BoxFuture<Outcome>;
}

/// Runs a checklist item's command.
pub trait CheckRunner: Send + Sync {
    fn run(&self, command: CheckCommand) -> BoxFuture<Outcome>;
}

/// One delivery of a notice the engine queued: to one destination (a channel, or
/// `channel>#contact`).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// When it is being sent (release time).
    pub at: DateTime<Utc>,
    /// The dedupe key (`v1.0.2/standard/pre_deploy`): receivers that dedupe get it
    /// (`Idempotency-Key`, `dedupe_key`), so a resend after a crash in the instant
    /// between their answer and our journal line is recognisable.
    pub key: String,
    pub to: String,
    pub kind: NoticeKind,
    pub wave: Option<TierName>,
    pub customer: Option<CustomerId>,
    pub customers: Vec<CustomerId>,
    pub message: String,
    pub eta: Option<DateTime<Utc>>,
    pub roles: Vec<Role>,
}

/// How a delivery ended, after the notifier's own retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub ok: bool,
    pub attempts: u32,
    /// The receiver's answer or why there was none: capped, with control
    /// characters escaped and no secret in it.
    pub answer: String,
}

/// Tells people. Retries are the notifier's (backoff, `Retry-After`); the outcome
/// is journaled, and nothing in the release waits for it.
pub trait Notifier: Send + Sync {
    fn notify(&self, notice: Notice) -> BoxFuture<Delivery>;
}

/// The ports one release's executor uses.
#[derive(Clone)]
pub struct EffectPorts {
    /// By customer; a customer without one fails its deploys with a reason.
    pub deployers: HashMap<CustomerId, Arc<dyn Deployer>>,
    pub checks: Arc<dyn CheckRunner>,
    pub notifier: Arc<dyn Notifier>,
}

/// What a wiring may need besides the plan.
#[derive(Debug, Clone)]
pub struct PortContext {
    /// The release clock (simulated deploys take release time).
    pub clock: Clock,
    /// The state dir's notification log.
    pub notifications: PathBuf,
    /// The release's own directory in the state dir.
    pub release_dir: PathBuf,
    /// Where per-deploy logs go (`<release dir>/deploys`, created 0700 on use).
    pub deploy_logs: PathBuf,
}

/// Builds a release's ports from its plan: the one place that chooses adapters.
/// Called once the journal is open, so the plan is the journaled one, not whatever
/// the config says today.
pub trait Wiring: Send + Sync {
    fn ports(&self, plan: &Arc<ReleasePlan>, ctx: &PortContext) -> EffectPorts;
}

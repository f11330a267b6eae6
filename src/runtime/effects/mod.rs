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

pub use executor::Executor;

use super::clock::Clock;
use crate::domain::{CheckCommand, CustomerId, Role, TierName, Version};
use crate::engine::{NoticeKind, ReleasePlan};

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
    /// The version to reach.
    pub version: Version,
    /// A rollback to `version` rather than a deploy of it.
    pub rollback: bool,
}

/// Brings a customer to a version. Asked to *reach* a version, so a resumed runtime
/// may ask again for a deploy that was in flight when it stopped.
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
}

/// Builds a release's ports from its plan: the one place that chooses adapters.
/// Called once the journal is open, so the plan is the journaled one, not whatever
/// the config says today.
pub trait Wiring: Send + Sync {
    fn ports(&self, plan: &ReleasePlan, ctx: &PortContext) -> EffectPorts;
}

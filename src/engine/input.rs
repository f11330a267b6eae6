//! What the engine is asked to decide on: operator commands, results of effects,
//! clock ticks, and the runtime attaching to a release.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::RollbackScope;
use crate::domain::{CustomerId, HealthSummary, ProbeOutcome, Role, TierName};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Time passed: start what is due.
    Tick,
    /// A process (re)opened this release: hold waves that came due while away.
    Attached,
    Command {
        actor: String,
        command: Command,
    },
    Result(EffectResult),
    /// Steady healthy samples the runtime summarised over `from..to` (see
    /// `query::steady_sample`), to be journaled as one summary.
    Summaries {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        customers: Vec<HealthSummary>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    TickItem {
        checklist: Option<String>,
        item: String,
        on_word: bool,
    },
    /// Untick an item ticked by mistake (a reason is required), while the phase
    /// it gates has not started.
    UntickItem {
        checklist: Option<String>,
        item: String,
        reason: String,
    },
    /// Sign a wave's gate; `wave` None = the next wave with a pending gate, `role`
    /// None = the first unsigned role the actor holds.
    Approve {
        wave: Option<TierName>,
        role: Option<Role>,
    },
    SkipWait {
        wave: Option<TierName>,
        reason: String,
    },
    Pause {
        reason: String,
    },
    Resume {
        reason: String,
    },
    Rollback {
        scope: RollbackScope,
        reason: String,
        force: bool,
    },
    Abort {
        reason: String,
    },
    Emergency {
        reason: String,
        /// Customers held to their maintenance window (`window_only`) that the
        /// operator names to deploy outside it; every other keeps its window.
        #[serde(default)]
        override_windows: Vec<CustomerId>,
    },
    ReportIssue {
        customer: CustomerId,
        reason: String,
    },
    ConfirmOverdue,
    /// Queue every failed notice delivery again (`shipdeck notify retry`); allowed
    /// on a finished release too.
    RetryNotices,
    /// Become the release's captain (needs the captain role in the roster).
    TakeOver,
}

impl Command {
    /// Ticks an item named as `list/item` (or a bare `item`, which the engine looks
    /// up across the plan's checklists) — the form people type and the journal keys.
    pub fn tick(key: &str, on_word: bool) -> Command {
        let (checklist, item) = match key.split_once('/') {
            Some((list, item)) => (Some(list.to_string()), item.to_string()),
            None => (None, key.to_string()),
        };
        Command::TickItem {
            checklist,
            item,
            on_word,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EffectResult {
    CheckFinished {
        item: String,
        ok: bool,
        detail: String,
    },
    DeployFinished {
        customer: CustomerId,
        ok: bool,
        detail: String,
    },
    RollbackFinished {
        customer: CustomerId,
        ok: bool,
        detail: String,
    },
    /// The deployer of `customer`'s deploy or rollback in flight is about to make
    /// attempt `attempt` because the last one failed for `reason`.
    DeployRetrying {
        customer: CustomerId,
        attempt: u32,
        reason: String,
    },
    Probed {
        customer: CustomerId,
        outcome: ProbeOutcome,
    },
    /// How one delivery of a notice ended, after the notifier's retries.
    NoticeDelivered {
        key: String,
        to: String,
        ok: bool,
        attempts: u32,
        answer: String,
    },
}

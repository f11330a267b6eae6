//! What the engine is asked to decide on: operator commands, results of effects,
//! clock ticks, and the runtime attaching to a release.

use serde::{Deserialize, Serialize};

use super::event::RollbackScope;
use crate::domain::{CustomerId, ProbeOutcome, Role, TierName};

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    TickItem {
        checklist: Option<String>,
        item: String,
        on_word: bool,
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
    },
    ReportIssue {
        customer: CustomerId,
        reason: String,
    },
    ConfirmOverdue,
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
    Probed {
        customer: CustomerId,
        outcome: ProbeOutcome,
    },
}

//! Events: the facts a release is made of, in the order they happened. They are
//! journaled before their effects run; the state is the fold of them. Versioned by
//! the journal envelope (`v`); add variants, never change the meaning of one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::plan::ReleasePlan;
use super::triggers::{Evidence, TriggerKind};
use crate::domain::{CustomerId, GatedPhase, HealthSample, ProbeOutcome, Role, TierName, Version};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub event: EventKind,
}

/// What a rollback covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackScope {
    Customer(CustomerId),
    Wave(TierName),
    /// Everything deployed so far; the release ends rolled back.
    All,
}

impl std::fmt::Display for RollbackScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollbackScope::Customer(c) => write!(f, "customer {c}"),
            RollbackScope::Wave(t) => write!(f, "wave {t}"),
            RollbackScope::All => f.write_str("everything deployed"),
        }
    }
}

/// Why a release is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseCause {
    Operator,
    /// After a rollback, until someone resumes with a reason.
    RollbackLock,
    ValidationFailed,
    DeployFailed,
    Trigger,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    PreDeploy,
    PostDeploy,
    WaveStarting,
    WeeklySummary,
    Emergency,
    Rollback,
    GateWaiting,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ReleasePlanned {
        plan: Box<ReleasePlan>,
        actor: String,
    },
    ItemTicked {
        checklist: String,
        item: String,
        actor: String,
        /// Ticked on the operator's word (`--yes`), not checked item by item.
        on_word: bool,
    },
    ValidationStarted,
    CheckStarted {
        item: String,
    },
    CheckFinished {
        item: String,
        ok: bool,
        detail: String,
    },
    ValidationPassed,
    ValidationFailed {
        failed: Vec<String>,
    },
    /// A gated phase stands waiting for checklist items.
    PhaseHeld {
        phase: GatedPhase,
        items: Vec<String>,
    },
    WaveStarted {
        wave: TierName,
    },
    WaveCompleted {
        wave: TierName,
    },
    ApprovalSigned {
        wave: TierName,
        role: Role,
        actor: String,
    },
    WaitSkipped {
        wave: TierName,
        actor: String,
        reason: String,
    },
    /// Came due while shipdeck was not running: waits for a person.
    WaveHeldOverdue {
        wave: TierName,
    },
    OverdueConfirmed {
        waves: Vec<TierName>,
        actor: String,
    },
    CustomerWaitingForWindow {
        customer: CustomerId,
        opens_at: DateTime<Utc>,
    },
    DeployStarted {
        customer: CustomerId,
        version: Version,
    },
    DeployFinished {
        customer: CustomerId,
        ok: bool,
        detail: String,
    },
    CustomerHealthy {
        customer: CustomerId,
    },
    CustomerFailed {
        customer: CustomerId,
        reason: String,
    },
    HealthSampled {
        customer: CustomerId,
        outcome: ProbeOutcome,
    },
    BaselineRecorded {
        customer: CustomerId,
        baseline: HealthSample,
    },
    TriggerFired {
        customer: CustomerId,
        trigger: TriggerKind,
        evidence: Evidence,
    },
    RollbackRequested {
        scope: RollbackScope,
        actor: String,
        reason: String,
        forced: bool,
    },
    RollbackStarted {
        customer: CustomerId,
        to: Version,
    },
    RollbackFinished {
        customer: CustomerId,
        ok: bool,
        detail: String,
    },
    Paused {
        actor: String,
        reason: String,
        cause: PauseCause,
    },
    Resumed {
        actor: String,
        reason: String,
        /// How long the countdowns stood still; waiting waves move by this much.
        paused_for_secs: i64,
    },
    EmergencyDeclared {
        actor: String,
        reason: String,
        approvals_skipped: Vec<TierName>,
    },
    Notified {
        kind: NoticeKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wave: Option<TierName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<CustomerId>,
        message: String,
    },
    RolloutCompleted {
        monitoring_until: DateTime<Utc>,
        rollback_window_until: DateTime<Utc>,
    },
    Completed,
    RolledBack,
    Aborted {
        actor: String,
        reason: String,
    },
    /// The runtime took over a stale lock left by a dead process.
    LockTakenOver {
        pid: u32,
        host: String,
    },
    /// A command reached the release through its socket: the name it was decided
    /// under, the peer's uid and OS user as the kernel reported them, and the kind
    /// of client. Journaled right before the events of the command it vouches for.
    ActedFrom {
        actor: String,
        uid: u32,
        user: String,
        via: String,
    },
    /// Someone holding the captain role took the release over as its captain.
    CaptainChanged {
        from: String,
        to: String,
    },
    /// The process that ran the release handed it to another one (a cockpit to a
    /// background runner) without letting go of its lock in between.
    HandedOver {
        from_pid: u32,
        to_pid: u32,
        host: String,
        actor: String,
    },
}

/// One line of the decision log: who, when, what, why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub what: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The actor the engine itself acts as (automatic gates, triggers).
pub const SYSTEM: &str = "shipdeck";

impl Event {
    /// The decision this event records, if it is one (commands, overrides, triggers,
    /// rollbacks). Routine progress (a deploy finished) is not a decision.
    pub fn decision(&self) -> Option<Decision> {
        let d = |actor: &str, what: String, reason: &str| {
            Some(Decision {
                at: self.at,
                actor: actor.to_string(),
                what,
                reason: reason.to_string(),
            })
        };
        match &self.event {
            EventKind::ReleasePlanned { plan, actor } => d(
                actor,
                format!(
                    "started {} {}{}",
                    plan.version,
                    plan.release_type,
                    if plan.emergency { " (emergency)" } else { "" }
                ),
                "",
            ),
            EventKind::ItemTicked {
                checklist,
                item,
                actor,
                on_word,
            } => d(
                actor,
                format!(
                    "ticked {checklist}/{item}{}",
                    if *on_word {
                        " on the operator's word"
                    } else {
                        ""
                    }
                ),
                "",
            ),
            EventKind::ApprovalSigned { wave, role, actor } => {
                d(actor, format!("approved wave {wave} as {role}"), "")
            }
            EventKind::WaitSkipped {
                wave,
                actor,
                reason,
            } => d(
                actor,
                format!("skipped the wait of wave {wave} (override)"),
                reason,
            ),
            EventKind::OverdueConfirmed { waves, actor } => {
                let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
                d(
                    actor,
                    format!("confirmed overdue waves {}", names.join(", ")),
                    "",
                )
            }
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => d(
                SYSTEM,
                format!("trigger fired on {customer}: {}", trigger.describe()),
                &evidence.summary,
            ),
            EventKind::RollbackRequested {
                scope,
                actor,
                reason,
                forced,
            } => d(
                actor,
                format!(
                    "rollback of {scope}{}",
                    if *forced {
                        " (forced past the rollback window)"
                    } else {
                        ""
                    }
                ),
                reason,
            ),
            EventKind::Paused {
                actor,
                reason,
                cause,
            } => d(
                actor,
                match cause {
                    PauseCause::Operator => "paused".to_string(),
                    PauseCause::RollbackLock => "paused after rollback (lock)".to_string(),
                    PauseCause::ValidationFailed => "paused: validation failed".to_string(),
                    PauseCause::DeployFailed => "paused: a deploy failed".to_string(),
                    PauseCause::Trigger => "paused by a health trigger".to_string(),
                },
                reason,
            ),
            EventKind::Resumed { actor, reason, .. } => d(actor, "resumed".to_string(), reason),
            EventKind::EmergencyDeclared {
                actor,
                reason,
                approvals_skipped,
            } => {
                let what = if approvals_skipped.is_empty() {
                    "declared emergency".to_string()
                } else {
                    let names: Vec<&str> = approvals_skipped.iter().map(|w| w.as_str()).collect();
                    format!(
                        "declared emergency; approvals skipped for {}",
                        names.join(", ")
                    )
                };
                d(actor, what, reason)
            }
            EventKind::Aborted { actor, reason } => {
                d(actor, "aborted the release".to_string(), reason)
            }
            EventKind::LockTakenOver { pid, host } => d(
                SYSTEM,
                format!("took over the stale lock of pid {pid} on {host}"),
                "",
            ),
            EventKind::CaptainChanged { from, to } => {
                d(to, format!("took over as captain from {from}"), "")
            }
            EventKind::HandedOver {
                from_pid,
                to_pid,
                actor,
                ..
            } => d(
                actor,
                format!(
                    "handed the release to a background runner (pid {from_pid} to pid {to_pid})"
                ),
                "",
            ),
            _ => None,
        }
    }
}

impl EventKind {
    /// Routine samples are many; everything else goes to the log file.
    pub fn is_loggable(&self) -> bool {
        !matches!(self, EventKind::HealthSampled { .. })
    }
}

/// One line a person can read, for headless output and the log file.
pub fn describe(e: &Event) -> String {
    let what = match &e.event {
        EventKind::ReleasePlanned { plan, actor } => format!(
            "{actor} started {} {}{} for {} customers in {} waves",
            plan.version,
            plan.release_type,
            if plan.emergency { " (EMERGENCY)" } else { "" },
            plan.customer_count(),
            plan.waves.len()
        ),
        EventKind::ItemTicked {
            checklist,
            item,
            actor,
            on_word,
        } => format!(
            "{actor} ticked {checklist}/{item}{}",
            if *on_word {
                " (on the operator's word)"
            } else {
                ""
            }
        ),
        EventKind::ValidationStarted => "validation started".into(),
        EventKind::CheckStarted { item } => format!("check {item} started"),
        EventKind::CheckFinished { item, ok, detail } => {
            format!(
                "check {item} {}: {detail}",
                if *ok { "passed" } else { "FAILED" }
            )
        }
        EventKind::ValidationPassed => "validation passed".into(),
        EventKind::ValidationFailed { failed } => {
            format!("validation FAILED: {}", failed.join(", "))
        }
        EventKind::PhaseHeld { phase, items } => {
            format!(
                "{} waits for checklist items: {}",
                phase.as_str(),
                items.join(", ")
            )
        }
        EventKind::WaveStarted { wave } => format!("wave {wave} started"),
        EventKind::WaveCompleted { wave } => format!("wave {wave} completed"),
        EventKind::ApprovalSigned { wave, role, actor } => {
            format!("{actor} approved wave {wave} as {role}")
        }
        EventKind::WaitSkipped {
            wave,
            actor,
            reason,
        } => {
            format!("{actor} skipped the wait of wave {wave}: {reason}")
        }
        EventKind::WaveHeldOverdue { wave } => {
            format!("wave {wave} came due while shipdeck was not running: waiting for confirmation")
        }
        EventKind::OverdueConfirmed { waves, actor } => {
            let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
            format!("{actor} confirmed overdue waves {}", names.join(", "))
        }
        EventKind::CustomerWaitingForWindow { customer, opens_at } => format!(
            "{customer} waits for its maintenance window at {}",
            opens_at.format("%Y-%m-%d %H:%M UTC")
        ),
        EventKind::DeployStarted { customer, version } => {
            format!("deploying {version} to {customer}")
        }
        EventKind::DeployFinished {
            customer,
            ok,
            detail,
        } => {
            format!(
                "deploy to {customer} {}: {detail}",
                if *ok { "done" } else { "FAILED" }
            )
        }
        EventKind::CustomerHealthy { customer } => format!("{customer} healthy"),
        EventKind::CustomerFailed { customer, reason } => format!("{customer} FAILED: {reason}"),
        EventKind::HealthSampled { customer, outcome } => format!("{customer} probed: {outcome:?}"),
        EventKind::BaselineRecorded { customer, baseline } => format!(
            "{customer} baseline: error rate {}, p95 {}",
            baseline
                .error_rate
                .map_or("n/a".into(), |v| format!("{v:.2}%")),
            baseline
                .latency_p95_ms
                .map_or("n/a".into(), |v| format!("{v:.0} ms"))
        ),
        EventKind::TriggerFired {
            customer,
            trigger,
            evidence,
        } => {
            format!(
                "TRIGGER on {customer}: {}: {}",
                trigger.describe(),
                evidence.summary
            )
        }
        EventKind::RollbackRequested {
            scope,
            actor,
            reason,
            forced,
        } => format!(
            "{actor} requested rollback of {scope}{}: {reason}",
            if *forced { " (forced)" } else { "" }
        ),
        EventKind::RollbackStarted { customer, to } => format!("rolling back {customer} to {to}"),
        EventKind::RollbackFinished {
            customer,
            ok,
            detail,
        } => {
            format!(
                "rollback of {customer} {}: {detail}",
                if *ok { "done" } else { "FAILED" }
            )
        }
        EventKind::Paused { actor, reason, .. } => format!("{actor} paused the release: {reason}"),
        EventKind::Resumed {
            actor,
            reason,
            paused_for_secs,
        } => format!(
            "{actor} resumed after {}{}",
            crate::domain::HumanDuration::from_secs(paused_for_secs.unsigned_abs()),
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            }
        ),
        EventKind::EmergencyDeclared { actor, reason, .. } => {
            format!("{actor} declared EMERGENCY: {reason}")
        }
        EventKind::Notified { kind, message, .. } => format!("notice ({kind:?}): {message}"),
        EventKind::RolloutCompleted {
            monitoring_until, ..
        } => format!(
            "all customers patched; monitoring until {}",
            monitoring_until.format("%Y-%m-%d %H:%M UTC")
        ),
        EventKind::Completed => "release completed".into(),
        EventKind::RolledBack => "release rolled back".into(),
        EventKind::Aborted { actor, reason } => format!("{actor} aborted the release: {reason}"),
        EventKind::LockTakenOver { pid, host } => {
            format!("took over the stale lock of pid {pid} on {host}")
        }
        EventKind::ActedFrom {
            actor,
            uid,
            user,
            via,
        } => format!("{actor} acts through the socket (uid {uid}, OS user {user}, {via})"),
        EventKind::CaptainChanged { from, to } => {
            format!("{to} took over as captain from {from}")
        }
        EventKind::HandedOver {
            from_pid,
            to_pid,
            host,
            actor,
        } => format!(
            "{actor} handed the release from pid {from_pid} to a background runner, pid {to_pid} on {host}"
        ),
    };
    format!("{} {what}", e.at.format("%Y-%m-%d %H:%M:%S"))
}

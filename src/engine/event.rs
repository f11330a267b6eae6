//! Events: the facts a release is made of, in the order they happened. They are
//! journaled before their effects run; the state is the fold of them. Versioned by
//! the journal envelope (`v`); add variants, never change the meaning of one.
//!
//! Why one file (~830 lines): the enum is the journal's schema, and `decision` and
//! `describe` are its decision-log entry and one-line text; a new variant changes all
//! three, so they stay side by side. More than half is those two matches.

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

/// What a notice is about; lives in `domain` beside the routes that choose by it.
pub use crate::domain::NoticeKind;

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
    /// A tick taken back: it was given by mistake.
    ItemUnticked {
        checklist: String,
        item: String,
        actor: String,
        reason: String,
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
        /// Customers whose missed maintenance window was confirmed: each waits for
        /// its next window (absent in journals written before windows could be missed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        customers: Vec<CustomerId>,
    },
    CustomerWaitingForWindow {
        customer: CustomerId,
        opens_at: DateTime<Utc>,
    },
    /// A maintenance window opened and closed without the customer being deployed
    /// (shipdeck was not running, was paused, or its clock jumped past the window):
    /// the customer is held until a person confirms (then it waits for `next`) or
    /// skips its window wait.
    CustomerWindowMissed {
        customer: CustomerId,
        /// When the window that passed had opened.
        missed: DateTime<Utc>,
        /// The next opening, which a confirmed customer waits for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<DateTime<Utc>>,
    },
    /// An operator let these customers deploy outside their maintenance windows.
    WindowWaitSkipped {
        wave: TierName,
        customers: Vec<CustomerId>,
        actor: String,
        reason: String,
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
    /// A deploy (or rollback) in flight starts its attempt `attempt` (2, 3, …)
    /// after the one before failed for `reason`. Journaled so that a resumed
    /// runtime re-issues it with the same attempt count.
    DeployRetried {
        customer: CustomerId,
        attempt: u32,
        reason: String,
    },
    CustomerHealthy {
        customer: CustomerId,
    },
    CustomerFailed {
        customer: CustomerId,
        reason: String,
    },
    /// Steady healthy samples over `from..to`, summarised per customer instead of
    /// journaled one by one.
    HealthSummarized {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        customers: Vec<crate::domain::HealthSummary>,
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
        /// Window-bound customers the operator named to deploy outside their
        /// windows; the others keep them, emergency or not.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        windows_overridden: Vec<CustomerId>,
    },
    /// A notice is queued: journaled with its dedupe key and the destinations it
    /// must reach, before any delivery is tried (the outbox).
    Notified {
        kind: NoticeKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wave: Option<TierName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<CustomerId>,
        message: String,
        /// `release/wave/kind` (`#n` from the second of the same): one delivery per
        /// destination and key, across crashes. Empty in journals written before
        /// the outbox (those notices count as delivered).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        key: String,
        /// The customers it is about (one notice per wave and kind lists them all).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        customers: Vec<CustomerId>,
        /// When the wave it announces may start (pre-deploy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        eta: Option<DateTime<Utc>>,
        /// Roles whose signatures are awaited (approval needed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        roles: Vec<Role>,
        /// Destinations (channels, `channel>#contact`), as routed when queued.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
    },
    /// A destination accepted a notice (the receiver's answer, capped and redacted).
    NoticeSent {
        key: String,
        to: String,
        attempts: u32,
        answer: String,
    },
    /// A destination did not accept a notice after every attempt; `notify retry`
    /// queues it again.
    NoticeFailed {
        key: String,
        to: String,
        attempts: u32,
        answer: String,
    },
    /// Failed deliveries queued again by a person.
    NoticesRequeued {
        deliveries: Vec<(String, String)>,
        actor: String,
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
    /// Someone chose to go on with a journal whose hash chain is broken at these
    /// lines (edited after they were written): `--accept-tampered`.
    TamperAccepted {
        lines: Vec<usize>,
        actor: String,
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
            EventKind::ReleasePlanned { plan, actor } => match &plan.version_override {
                None => d(
                    actor,
                    format!(
                        "started {} {}{}",
                        plan.version,
                        plan.release_type,
                        if plan.emergency { " (emergency)" } else { "" }
                    ),
                    "",
                ),
                Some(o) => d(
                    actor,
                    format!(
                        "started {} {}{} past the version check (override: {})",
                        plan.version,
                        plan.release_type,
                        if plan.emergency { " (emergency)" } else { "" },
                        o.problems.join("; ")
                    ),
                    &o.reason,
                ),
            },
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
            EventKind::ItemUnticked {
                checklist,
                item,
                actor,
                reason,
            } => d(actor, format!("unticked {checklist}/{item}"), reason),
            EventKind::WaitSkipped {
                wave,
                actor,
                reason,
            } => d(
                actor,
                format!("skipped the wait of wave {wave} (override)"),
                reason,
            ),
            EventKind::OverdueConfirmed {
                waves,
                actor,
                customers,
            } => d(actor, confirmed_what(waves, customers), ""),
            EventKind::WindowWaitSkipped {
                wave,
                customers,
                actor,
                reason,
            } => d(
                actor,
                format!(
                    "skipped the maintenance window of {} in wave {wave} (override)",
                    join_ids(customers)
                ),
                reason,
            ),
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => d(
                SYSTEM,
                // The evidence (the reason) names the rule with its figures first.
                format!(
                    "trigger fired on {customer}{}",
                    if *trigger == TriggerKind::CustomerReported {
                        ": customer-reported issue"
                    } else {
                        ""
                    }
                ),
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
                windows_overridden,
            } => {
                let mut what = "declared emergency".to_string();
                if !approvals_skipped.is_empty() {
                    let names: Vec<&str> = approvals_skipped.iter().map(|w| w.as_str()).collect();
                    what.push_str(&format!("; approvals skipped for {}", names.join(", ")));
                }
                if !windows_overridden.is_empty() {
                    let names: Vec<&str> = windows_overridden.iter().map(|c| c.as_str()).collect();
                    what.push_str(&format!(
                        "; maintenance windows overridden for {}",
                        names.join(", ")
                    ));
                }
                d(actor, what, reason)
            }
            EventKind::Aborted { actor, reason } => {
                d(actor, "aborted the release".to_string(), reason)
            }
            EventKind::NoticesRequeued { deliveries, actor } => d(
                actor,
                format!("queued {} failed notice deliveries again", deliveries.len()),
                "",
            ),
            EventKind::LockTakenOver { pid, host } => d(
                SYSTEM,
                format!("took over the stale lock of pid {pid} on {host}"),
                "",
            ),
            EventKind::TamperAccepted { lines, actor } => d(
                actor,
                format!(
                    "accepted a journal changed after it was written (chain broken at {})",
                    line_list(lines)
                ),
                "--accept-tampered",
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
        !matches!(
            self,
            EventKind::HealthSampled { .. } | EventKind::HealthSummarized { .. }
        )
    }
}

/// "line 7" or "lines 7, 8, 9" (the first ten, then a count).
fn line_list(lines: &[usize]) -> String {
    let shown: Vec<String> = lines.iter().take(10).map(|l| l.to_string()).collect();
    let more = if lines.len() > 10 {
        format!(" and {} more", lines.len() - 10)
    } else {
        String::new()
    };
    match lines.len() {
        1 => format!("line {}", shown.join("")),
        _ => format!("lines {}{more}", shown.join(", ")),
    }
}

fn join_ids(ids: &[CustomerId]) -> String {
    let names: Vec<&str> = ids.iter().map(|c| c.as_str()).collect();
    names.join(", ")
}

/// "confirmed overdue waves startup; missed windows of acme-corp".
fn confirmed_what(waves: &[TierName], customers: &[CustomerId]) -> String {
    let mut parts = Vec::new();
    if !waves.is_empty() {
        let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
        parts.push(format!("confirmed overdue waves {}", names.join(", ")));
    }
    if !customers.is_empty() {
        parts.push(format!(
            "confirmed the missed maintenance windows of {} (each waits for its next window)",
            join_ids(customers)
        ));
    }
    if parts.is_empty() {
        "confirmed nothing overdue".to_string()
    } else {
        parts.join("; ")
    }
}

/// One line a person can read, for headless output and the log file.
pub fn describe(e: &Event) -> String {
    let what = match &e.event {
        EventKind::ReleasePlanned { plan, actor } => format!(
            "{actor} started {} {}{} for {} customers in {} waves{}",
            plan.version,
            plan.release_type,
            if plan.emergency { " (EMERGENCY)" } else { "" },
            plan.customer_count(),
            plan.waves.len(),
            plan.version_override
                .as_ref()
                .map(|o| format!(
                    "; version check OVERRIDDEN ({}): {}",
                    o.problems.join("; "),
                    o.reason
                ))
                .unwrap_or_default()
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
        EventKind::ItemUnticked {
            checklist,
            item,
            actor,
            reason,
        } => format!("{actor} unticked {checklist}/{item}: {reason}"),
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
            // Names the way out wherever the line is read (deploy's output, the log,
            // the cockpit): a person confirms, from a shell or with `c`.
            format!(
                "wave {wave} came due while shipdeck was not running: waiting for confirmation (`shipdeck confirm`, or `c` in the cockpit)"
            )
        }
        EventKind::OverdueConfirmed {
            waves,
            actor,
            customers,
        } => format!("{actor} {}", confirmed_what(waves, customers)),
        EventKind::CustomerWaitingForWindow { customer, opens_at } => format!(
            "{customer} waits for its maintenance window at {}",
            opens_at.format("%Y-%m-%d %H:%M UTC")
        ),
        EventKind::CustomerWindowMissed {
            customer,
            missed,
            next,
        } => format!(
            "{customer}: its maintenance window at {} came and went while shipdeck was not watching (came due while away): waiting for confirmation; next window {}",
            missed.format("%Y-%m-%d %H:%M UTC"),
            next.map_or_else(
                || "unknown".to_string(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
            )
        ),
        EventKind::WindowWaitSkipped {
            wave,
            customers,
            actor,
            reason,
        } => format!(
            "{actor} skipped the maintenance window of {} in wave {wave}: {reason}",
            join_ids(customers)
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
        EventKind::DeployRetried {
            customer,
            attempt,
            reason,
        } => format!("{customer}: attempt {attempt} after {reason}"),
        EventKind::CustomerHealthy { customer } => format!("{customer} healthy"),
        EventKind::CustomerFailed { customer, reason } => format!("{customer} FAILED: {reason}"),
        EventKind::HealthSampled { customer, outcome } => format!("{customer} probed: {outcome:?}"),
        EventKind::HealthSummarized { customers, .. } => format!(
            "steady health of {} customer(s) summarised ({} checks)",
            customers.len(),
            customers.iter().map(|c| c.count).sum::<u64>()
        ),
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
        EventKind::EmergencyDeclared {
            actor,
            reason,
            windows_overridden,
            ..
        } => {
            let overridden = if windows_overridden.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = windows_overridden.iter().map(|c| c.as_str()).collect();
                format!(" (maintenance windows overridden for {})", names.join(", "))
            };
            format!("{actor} declared EMERGENCY: {reason}{overridden}")
        }
        EventKind::Notified { kind, message, .. } => format!("notice ({kind}): {message}"),
        EventKind::NoticeSent {
            key, to, attempts, ..
        } => format!("notice {key} delivered to {to} (attempt {attempts})"),
        EventKind::NoticeFailed {
            key,
            to,
            attempts,
            answer,
        } => format!("notice {key} NOT delivered to {to} after {attempts} attempts: {answer}"),
        EventKind::NoticesRequeued { deliveries, actor } => {
            format!(
                "{actor} queued {} failed notice deliveries again",
                deliveries.len()
            )
        }
        EventKind::RolloutCompleted {
            monitoring_until, ..
        } => format!(
            // Not "all customers patched": some may have been rolled back or failed
            // (the headless run's last line counts them).
            "rollout finished: every wave done; monitoring until {}",
            monitoring_until.format("%Y-%m-%d %H:%M UTC")
        ),
        EventKind::Completed => "release completed".into(),
        EventKind::RolledBack => "release rolled back".into(),
        EventKind::Aborted { actor, reason } => format!("{actor} aborted the release: {reason}"),
        EventKind::LockTakenOver { pid, host } => {
            format!("took over the stale lock of pid {pid} on {host}")
        }
        EventKind::TamperAccepted { lines, actor } => format!(
            "{actor} accepted a journal changed after it was written (chain broken at {}) with --accept-tampered",
            line_list(lines)
        ),
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
    // Names, reasons and probe or deploy output are external text: one line, with
    // control characters escaped, whatever they hold.
    format!(
        "{} {}",
        e.at.format("%Y-%m-%d %H:%M:%S"),
        crate::domain::escape(&what)
    )
}

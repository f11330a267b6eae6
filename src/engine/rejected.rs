//! Refusals: a command that makes no sense now changes nothing and says why, in
//! words an operator can act on.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{CustomerId, Role, TierName};

/// Serializes as `{"<variant>": …}`; what crosses a wire to another terminal is
/// [`Refusal`], its stable code and its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejected {
    #[error("the release is {0}; nothing more can change it")]
    Final(&'static str),
    #[error("a reason is required for {0} (say why; it goes in the decision log)")]
    ReasonRequired(&'static str),
    #[error("no checklist item `{0}` in this release's checklists")]
    UnknownItem(String),
    #[error("`{0}` is checked automatically during validation; it cannot be ticked by hand")]
    AutomaticItem(String),
    #[error("`{0}` is already ticked")]
    AlreadyTicked(String),
    #[error("`{0}` is not ticked")]
    NotTicked(String),
    #[error("`{item}` gates {phase}, which has already started; it can no longer be unticked")]
    PhaseStarted { item: String, phase: &'static str },
    #[error("no wave `{0}` in this release")]
    UnknownWave(TierName),
    #[error("no wave is waiting for an approval")]
    NoPendingGate,
    /// No wave named, and more than one gate waits for signatures.
    #[error("{} gates wait for signatures ({}); name the wave to sign", .0.len(), describe_gates(.0))]
    WhichGate(Vec<(TierName, Vec<Role>)>),
    #[error("wave {wave} does not need {role} (its gate needs {needed})")]
    RoleNotNeeded {
        wave: TierName,
        role: Role,
        needed: String,
    },
    #[error("{actor} does not hold the role {role} (roster.json gives {actor}: {holds})")]
    DoesNotHoldRole {
        actor: String,
        role: Role,
        holds: String,
    },
    #[error("wave {0} has already started")]
    WaveStarted(TierName),
    #[error("wave {0} needs no approval (its gate is {1})")]
    NoApprovalNeeded(TierName, String),
    #[error("{0} is not in the roster; add them to roster.json to let them sign")]
    UnknownPerson(String),
    #[error("{actor} does not hold a role wave {wave} still needs ({needed})")]
    LacksRole {
        actor: String,
        wave: TierName,
        needed: String,
    },
    #[error(
        "{actor} started this release and may not approve its gates (policy: starter_may_approve is off)"
    )]
    StarterMayNotApprove { actor: String },
    #[error(
        "{actor} already signed wave {wave} as {signed}; one person may not sign two roles of one gate"
    )]
    OnePersonOneRole {
        actor: String,
        wave: TierName,
        signed: Role,
    },
    #[error("role {role} of wave {wave} is already signed by {by}")]
    AlreadySigned {
        wave: TierName,
        role: Role,
        by: String,
    },
    #[error("wave {0} has no wait left to skip")]
    NothingToSkip(TierName),
    #[error("the release is already paused (by {by}: {reason})")]
    AlreadyPaused { by: String, reason: String },
    #[error("the release is not paused")]
    NotPaused,
    #[error("no customer `{0}` in this release")]
    UnknownCustomer(CustomerId),
    #[error("nothing to roll back in {0}: no customer there has the new version")]
    NothingToRollBack(String),
    #[error("the rollback window closed at {} UTC; force it with a reason if you must", closed.format("%Y-%m-%d %H:%M"))]
    RollbackWindowClosed { closed: DateTime<Utc> },
    #[error("the release is already in emergency mode")]
    AlreadyEmergency,
    #[error("emergency mode applies to patch types only")]
    EmergencyNotPatch,
    #[error("every wave has already started; emergency mode would change nothing")]
    EmergencyTooLate,
    #[error("{0} is not held to a maintenance window; there is no window to override")]
    NotWindowBound(CustomerId),
    #[error("{0} has not been deployed in this release; nothing to report against")]
    NotDeployed(CustomerId),
    #[error("no wave is waiting for confirmation")]
    NothingOverdue,
    #[error("no notice delivery has failed; nothing to retry")]
    NothingToRetry,
    #[error(
        "{actor} does not hold the {role} role in the roster; only a release captain can take over"
    )]
    NotCaptainRole { actor: String, role: Role },
    #[error("{0} is already the captain")]
    AlreadyCaptain(String),
    /// A refusal decided by the engine of another process (the one that runs the
    /// release) and relayed over its socket: its code and words, as decided there.
    #[error("{0}")]
    Relayed(Refusal),
}

/// `startup (qa_lead), standard (qa_lead + product_owner)`.
pub fn describe_gates(gates: &[(TierName, Vec<Role>)]) -> String {
    gates
        .iter()
        .map(|(wave, roles)| {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!("{wave} needs {}", names.join(" + "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Rejected {
    /// The refusal's stable code (`lacks_role`, `rollback_window_closed`, …), the
    /// same whether it was decided here or relayed from another process.
    pub fn code(&self) -> String {
        Refusal::from(self).code
    }
}

/// A refusal as another process receives it: the variant's name as a stable code
/// (`reason_required`, `lacks_role`, …) and the engine's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<&Rejected> for Refusal {
    fn from(r: &Rejected) -> Refusal {
        if let Rejected::Relayed(relayed) = r {
            return relayed.clone();
        }
        let code = match serde_json::to_value(r) {
            Ok(serde_json::Value::String(s)) => s,
            Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        };
        Refusal {
            code,
            message: r.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_keeps_its_code_and_words_across_a_wire() {
        let r = Rejected::LacksRole {
            actor: "bob".into(),
            wave: TierName::new("enterprise"),
            needed: "qa_lead".into(),
        };
        let wire = serde_json::to_string(&Refusal::from(&r)).unwrap();
        let back: Refusal = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.code, "lacks_role");
        assert_eq!(back.message, r.to_string());
        assert_eq!(Refusal::from(&Rejected::NotPaused).code, "not_paused");
    }
}

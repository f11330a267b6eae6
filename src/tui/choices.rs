//! Dialogs whose content the engine decides: which gates the operator can sign
//! now (and as which role), and what an emergency would do to customers held to
//! maintenance windows or owed a notice. The cockpit asks the engine (a dry
//! `decide`, the emergency impact query) and shows the answer; it never works a
//! rule out itself.

use chrono::{DateTime, TimeDelta, Utc};

use super::app::{Choice, Dialog, DialogKind, Field};
use super::view::countdown;
use crate::domain::TierName;
use crate::engine::{self, Command, EventKind, Gate, Input, Rejected, ReleaseState};

/// The approve dialog: the selected wave's gate when it waits for signatures,
/// else every pending gate to choose from; each with the role the engine would
/// record for `operator`. Err: why nothing can be signed (the engine's words).
pub fn approve_dialog(
    state: &ReleaseState,
    operator: &str,
    selected: Option<usize>,
    now: DateTime<Utc>,
) -> Result<Dialog, String> {
    let pending = engine::decide::pending_gates(state);
    if pending.is_empty() {
        return Err(Rejected::NoPendingGate.to_string());
    }
    let chosen = selected
        .and_then(|i| state.waves.get(i))
        .map(|w| w.tier.clone())
        .filter(|t| pending.iter().any(|(p, _)| p == t));
    let targets: Vec<TierName> = match chosen {
        Some(t) => vec![t],
        None => pending.into_iter().map(|(t, _)| t).collect(),
    };
    let mut choices = Vec::new();
    let mut refusal = None;
    for wave in targets {
        let input = Input::Command {
            actor: operator.to_string(),
            command: Command::Approve {
                wave: Some(wave.clone()),
                role: None,
            },
        };
        match engine::decide(state, &input, now) {
            Ok(d) => {
                let role = d.events.iter().find_map(|e| match &e.event {
                    EventKind::ApprovalSigned { role, .. } => Some(role.clone()),
                    _ => None,
                });
                if let Some(role) = role {
                    let title = state.plan.roster.role_title(&role);
                    choices.push(Choice {
                        label: format!(
                            "wave {wave} as {role} ({title}) · {}",
                            when(state, &wave, now)
                        ),
                        checked: false,
                        wave: Some(wave),
                        role: Some(role),
                        customer: None,
                    });
                }
            }
            Err(r) => {
                refusal.get_or_insert_with(|| r.to_string());
            }
        }
    }
    if choices.is_empty() {
        return Err(refusal.unwrap_or_else(|| Rejected::NoPendingGate.to_string()));
    }
    let mut d = Dialog::new(DialogKind::Approve);
    if choices.len() == 1 {
        d.notes.push("Sign this gate?".into());
        d.field = Field::Buttons;
    } else {
        d.notes
            .push("Several gates wait for signatures. Which one (j/k)?".into());
        d.field = Field::Choice;
    }
    d.choices = choices;
    Ok(d)
}

/// When a waiting wave may start, as a person reads it: what it waits behind and
/// how long its delay has left.
fn when(state: &ReleaseState, wave: &TierName, now: DateTime<Utc>) -> String {
    let Some(wi) = state.wave_index(wave) else {
        return String::new();
    };
    let mut parts = Vec::new();
    let g = engine::gate(state, wi, now);
    if matches!(
        g,
        Gate::AfterPrevious(_) | Gate::NotValidated | Gate::Paused | Gate::HeldOverdue
    ) {
        parts.push(g.describe());
    }
    match state.wait_left(wi, now) {
        Some(left) if left > TimeDelta::zero() => parts.push(format!("due in {}", countdown(left))),
        Some(_) => parts.push("due now".into()),
        None => {}
    }
    if parts.is_empty() {
        "its turn has come".into()
    } else {
        parts.join(", ")
    }
}

/// The emergency dialog: what declaring one would do to customers (notices cut
/// short, tiers deployed outside their windows), and the customers held to their
/// own windows as a list to tick (space) for the ones to deploy outside them.
pub fn emergency_dialog(state: &ReleaseState, now: DateTime<Utc>) -> Dialog {
    use crate::engine::emergency::{Consequence, impact};
    let mut d = Dialog::new(DialogKind::Emergency);
    let mut skipped: Vec<(TierName, usize)> = Vec::new();
    for a in impact(state, &[], now) {
        match &a.consequence {
            Consequence::KeepsWindow { window, .. } => d.choices.push(Choice {
                label: format!("{} ({}) · window {window}", a.name, a.wave),
                checked: false,
                wave: None,
                role: None,
                customer: Some(a.customer.clone()),
            }),
            Consequence::TierWindowSkipped { .. } => match skipped.last_mut() {
                Some((w, n)) if *w == a.wave => *n += 1,
                _ => skipped.push((a.wave.clone(), 1)),
            },
            _ => d.notes.push(a.describe()),
        }
    }
    for (wave, n) in skipped {
        d.notes.push(format!(
            "wave {wave}: {n} customer{} deployed outside their maintenance windows",
            if n == 1 { "" } else { "s" }
        ));
    }
    d
}

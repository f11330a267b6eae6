//! What declaring an emergency would do to customers, before anyone declares it:
//! the confirmation (cockpit dialog, CLI, dry run) lists every customer whose
//! maintenance window or contractual notice is affected.
//!
//! An emergency skips approvals and delays, and the maintenance windows of tiers
//! that deploy in windows; a customer held to its own window (`window_only`: a
//! regulated bank, clinical systems) keeps it unless the operator names it. A
//! customer owed notice before a deploy gets none worth the name: its wave starts
//! right after the demo wave.

use chrono::{DateTime, Utc};

use super::state::{CustomerStatus, ReleaseState, WaveStatus};
use crate::domain::{CustomerId, NotifyTiming, TierName, escape};

/// How an emergency touches one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consequence {
    /// Held to its own window by policy: keeps it, unless overridden by name.
    KeepsWindow {
        window: String,
        opens: Option<DateTime<Utc>>,
    },
    /// Held to its own window, and named to deploy outside it.
    WindowOverridden { window: String },
    /// Its tier deploys in maintenance windows; the emergency does not wait.
    TierWindowSkipped { window: String },
    /// Owed `lead` of notice before a deploy; the emergency cuts it short.
    NoticeCut { lead: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub customer: CustomerId,
    pub name: String,
    pub wave: TierName,
    pub consequence: Consequence,
    /// The policy's note for this customer (deployment-policies.json), if any.
    pub note: String,
}

impl Affected {
    /// One line a person reads before confirming.
    pub fn describe(&self) -> String {
        let what = match &self.consequence {
            Consequence::KeepsWindow { window, opens } => format!(
                "keeps its maintenance window ({window}{}); name it to deploy now",
                opens
                    .map(|t| format!(", next opens {}", t.format("%a %Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default()
            ),
            Consequence::WindowOverridden { window } => {
                format!("deploys OUTSIDE its maintenance window ({window}): overridden")
            }
            Consequence::TierWindowSkipped { window } => {
                format!("deploys outside its maintenance window ({window})")
            }
            Consequence::NoticeCut { lead } => format!("{lead} pre-deploy notice cut short"),
        };
        // The name and the note are configuration text: shown through the one
        // escaping rule, so that a note with an escape sequence or a line break
        // cannot drive the terminal or forge a line of the notice.
        let note = if self.note.is_empty() {
            String::new()
        } else {
            format!(" — {}", escape(&self.note))
        };
        format!(
            "{} ({}): {what}{note}",
            escape(&self.name),
            escape(self.wave.as_str())
        )
    }
}

/// Every customer not deployed yet whose window or notice an emergency declared
/// at `now` would affect, with `overrides` named to deploy outside their windows;
/// in rollout order.
pub fn impact(state: &ReleaseState, overrides: &[CustomerId], now: DateTime<Utc>) -> Vec<Affected> {
    let mut out = Vec::new();
    for (wi, w) in state.waves.iter().enumerate() {
        if wi == 0 || matches!(w.status, WaveStatus::Completed | WaveStatus::Cancelled) {
            continue;
        }
        let Some(plan) = state.plan.waves.get(wi) else {
            continue;
        };
        for (c, cp) in state.wave_customers(wi).iter().zip(&plan.customers) {
            if !matches!(
                c.status,
                CustomerStatus::Pending | CustomerStatus::WaitingWindow
            ) {
                continue;
            }
            let affected = |consequence| Affected {
                customer: c.id.clone(),
                name: c.name.clone(),
                wave: w.tier.clone(),
                consequence,
                note: cp.note.clone(),
            };
            let window = cp.window.as_ref().map(|w| w.describe());
            if let (true, Some(window)) = (cp.window_only, window.clone()) {
                if overrides.contains(&c.id) {
                    out.push(affected(Consequence::WindowOverridden { window }));
                } else {
                    let opens = cp.window.as_ref().and_then(|w| w.next_open(now));
                    out.push(affected(Consequence::KeepsWindow { window, opens }));
                }
            } else if let (true, Some(window)) = (plan.in_windows() && !state.emergency, window) {
                out.push(affected(Consequence::TierWindowSkipped { window }));
            }
            let lead = cp.notify.lead.filter(|l| l.as_secs() > 0);
            if let (NotifyTiming::PreDeploy, Some(lead)) = (cp.notify.timing, lead) {
                out.push(affected(Consequence::NoticeCut {
                    lead: lead.to_string(),
                }));
            }
        }
    }
    out
}

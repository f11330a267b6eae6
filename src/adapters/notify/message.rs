//! What a notice says, worked out from the engine's notice and the release's plan:
//! what happened, who is affected, when (each customer's ETA, in its own time zone
//! when it deploys in a window), what to do, and a link. Every channel writes this
//! one message in its own shape (Slack blocks, generic JSON, a log line).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::notify::split_destination;
use crate::domain::{NoticeKind, TierName};
use crate::engine::ReleasePlan;
use crate::runtime::effects::Notice;

/// One customer in a notice.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerLine {
    pub id: String,
    pub name: String,
    pub tier: String,
    /// When its deploy may start (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    /// The same instant in the customer's maintenance-window time zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// The message every channel renders. Also the generic JSON of `webhook` and
/// `command` channels (stable field names).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Message {
    pub dedupe_key: String,
    pub kind: NoticeKind,
    pub title: String,
    /// The one-line summary (Slack's `text` fallback).
    pub text: String,
    pub version: String,
    pub release_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    pub customers: Vec<CustomerLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    /// What the reader should do.
    pub what_to_do: String,
    /// A command to run (approvals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Release notes (Markdown or Slack mrkdwn), with pre-deploy notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The same notes as Slack mrkdwn (Slack does not render Markdown headings).
    #[serde(skip)]
    pub notes_slack: Option<String>,
    pub at: DateTime<Utc>,
}

/// Renders notices for one release: the plan, and the notes each wave is told.
#[derive(Debug, Clone)]
pub struct Renderer {
    /// Shared with the release's state: one copy of 10,000 customers' plan.
    pub plan: std::sync::Arc<ReleasePlan>,
    /// Notes per wave (cumulative since the version the tier runs), as Markdown.
    pub notes_by_wave: HashMap<TierName, String>,
    /// The same as Slack mrkdwn.
    pub notes_slack_by_wave: HashMap<TierName, String>,
}

impl Renderer {
    pub fn new(plan: impl Into<std::sync::Arc<ReleasePlan>>) -> Renderer {
        Renderer {
            plan: plan.into(),
            notes_by_wave: HashMap::new(),
            notes_slack_by_wave: HashMap::new(),
        }
    }

    pub fn message(&self, n: &Notice) -> Message {
        let plan = &self.plan;
        let (_, contact) = split_destination(&n.to);
        let windowed = |wi: usize, c: &crate::engine::plan::CustomerPlan| {
            plan.waves.get(wi).is_some_and(|w| w.in_windows()) || c.window_only
        };
        let mut customers = Vec::new();
        for id in &n.customers {
            let Some(wi) = plan.wave_of(id) else { continue };
            let Some(c) = plan.customer(id) else { continue };
            // A notice sent to one contact channel lists that channel's customers.
            if let Some(contact) = contact {
                if !c
                    .contacts
                    .iter()
                    .any(|k| k.slack.as_deref() == Some(contact))
                {
                    continue;
                }
            }
            let (eta, local, tz) = match (n.eta, &c.window) {
                (Some(eta), Some(win)) if windowed(wi, c) && !plan.emergency => {
                    let at = win.next_open(eta).unwrap_or(eta);
                    let local = at.with_timezone(&win.timezone);
                    (
                        Some(at),
                        Some(local.format("%a %d %b %H:%M %Z").to_string()),
                        Some(win.timezone.name().to_string()),
                    )
                }
                (eta, _) => (eta, None, None),
            };
            customers.push(CustomerLine {
                id: id.to_string(),
                name: c.name.clone(),
                tier: plan.waves[wi].tier.to_string(),
                eta,
                eta_local: local,
                timezone: tz,
            });
        }
        let version = plan.version.to_string();
        let command = match (n.kind, &n.wave) {
            (NoticeKind::ApprovalNeeded | NoticeKind::GateWaiting, Some(w)) => {
                Some(format!("shipdeck approve --version {version} --wave {w}"))
            }
            _ => None,
        };
        let roles: Vec<String> = n.roles.iter().map(|r| r.to_string()).collect();
        let eta_words = n
            .eta
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let what_to_do = match n.kind {
            NoticeKind::PreDeploy => format!(
                "No action needed. If the time does not suit you, tell your account contact before {eta_words}."
            ),
            NoticeKind::PostDeploy => {
                format!("Nothing to do. If something looks wrong, report it quoting {version}.")
            }
            NoticeKind::WaveStarting => "No action needed; the deploy is under way.".into(),
            NoticeKind::Emergency => {
                "Watch your services closely and report anything unusual at once.".into()
            }
            NoticeKind::Rollback => "Nothing to do; the previous version is being restored.".into(),
            NoticeKind::TriggerFired => format!(
                "The release acted as its policy says; see `shipdeck status --version {version}`."
            ),
            NoticeKind::ApprovalNeeded | NoticeKind::GateWaiting => {
                let who = if roles.is_empty() {
                    "someone with the role".to_string()
                } else {
                    roles.join(" + ")
                };
                format!("{who} must sign: `{}`", command.clone().unwrap_or_default())
            }
            NoticeKind::ReleaseCompleted => "Nothing to do; monitoring continues.".into(),
            NoticeKind::WeeklySummary => "Nothing to do.".into(),
        };
        let (notes, notes_slack) = match (n.kind, &n.wave) {
            (NoticeKind::PreDeploy | NoticeKind::ApprovalNeeded, Some(w)) => (
                self.notes_by_wave.get(w).cloned(),
                self.notes_slack_by_wave.get(w).cloned(),
            ),
            _ => (None, None),
        };
        let mut title = format!("{} · {} {}", n.kind.title(), version, plan.release_type);
        if let Some(w) = &n.wave {
            title.push_str(&format!(" · {w}"));
        }
        if plan.emergency || n.kind == NoticeKind::Emergency {
            title = format!("[EMERGENCY] {title}");
        }
        // A message to one contact channel speaks of that channel's customers only.
        let text = match contact {
            Some(_) if customers.len() < n.customers.len() => {
                let names: Vec<&str> = customers.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "{} of {} ({}) for {}{}",
                    n.kind.title(),
                    version,
                    plan.release_type,
                    names.join(", "),
                    n.eta
                        .map(|t| format!(", from {}", t.format("%Y-%m-%d %H:%M UTC")))
                        .unwrap_or_default()
                )
            }
            _ => n.message.clone(),
        };
        Message {
            dedupe_key: n.key.clone(),
            kind: n.kind,
            title,
            text,
            version: version.clone(),
            release_type: plan.release_type.to_string(),
            wave: n.wave.as_ref().map(|w| w.to_string()),
            customers,
            eta: n.eta,
            what_to_do,
            command,
            roles,
            link: plan.notifications.link_for(&version),
            notes,
            notes_slack,
            at: n.at,
        }
    }
}

/// External text made safe to print: control characters escaped with the one
/// escaping rule (`domain::escape`; a receiver's answer could carry terminal
/// escapes), line breaks and tabs flattened to spaces, capped at `max` characters.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut flat = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= max {
            flat.push('…');
            break;
        }
        flat.push(if c == '\n' || c == '\t' { ' ' } else { c });
    }
    crate::domain::escape(flat.trim()).into_owned()
}

/// Truncates to `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_escapes_terminal_control() {
        assert_eq!(sanitize("ok\x1b[31mred\x07", 100), "ok\\x1b[31mred\\x07");
        assert_eq!(sanitize("a\nb", 100), "a b");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}

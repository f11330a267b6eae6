//! Telling people: the kinds of notice, the channels they go out on, and the routes
//! that pick channels for a notice (`notifications.json`).
//!
//! Plain data and one pure rule, [`Notifications::destinations`]: which channels
//! (and, for routes to customer contacts, which contact channels) a notice goes to.
//! The engine calls it when it queues a notice, so the journal records where each
//! notice must be delivered, and a resumed release re-sends exactly the deliveries
//! that have no result yet. Secrets (webhook URLs, tokens) are named by environment
//! variable only; they never sit in config, plans or journals.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{CustomerId, HeaderFromEnv, HumanDuration, TierName};

/// What a notice is about. Routes choose channels by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A wave will be deployed (sent when the demo wave completes), with its ETA.
    PreDeploy,
    /// A wave's customers are deployed and healthy (one notice per wave).
    PostDeploy,
    /// An automatic-with-notification wave starts now.
    WaveStarting,
    /// The weekly summary (`shipdeck digest --send`).
    WeeklySummary,
    /// Emergency mode was declared.
    Emergency,
    /// Something is being rolled back.
    Rollback,
    /// A gate has waited longer than the policy's approval timeout.
    GateWaiting,
    /// A health trigger fired on a customer.
    TriggerFired,
    /// A wave waits for signatures: which roles, and the command to run.
    ApprovalNeeded,
    /// Every customer has the release; monitoring continues.
    ReleaseCompleted,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 10] = [
        NoticeKind::PreDeploy,
        NoticeKind::PostDeploy,
        NoticeKind::WaveStarting,
        NoticeKind::WeeklySummary,
        NoticeKind::Emergency,
        NoticeKind::Rollback,
        NoticeKind::GateWaiting,
        NoticeKind::TriggerFired,
        NoticeKind::ApprovalNeeded,
        NoticeKind::ReleaseCompleted,
    ];

    /// The name used in config and dedupe keys (`pre_deploy`).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::PreDeploy => "pre_deploy",
            NoticeKind::PostDeploy => "post_deploy",
            NoticeKind::WaveStarting => "wave_starting",
            NoticeKind::WeeklySummary => "weekly_summary",
            NoticeKind::Emergency => "emergency",
            NoticeKind::Rollback => "rollback",
            NoticeKind::GateWaiting => "gate_waiting",
            NoticeKind::TriggerFired => "trigger_fired",
            NoticeKind::ApprovalNeeded => "approval_needed",
            NoticeKind::ReleaseCompleted => "release_completed",
        }
    }

    /// A title for people (`Pre-deployment notice`).
    pub fn title(self) -> &'static str {
        match self {
            NoticeKind::PreDeploy => "Upcoming deployment",
            NoticeKind::PostDeploy => "Deployed",
            NoticeKind::WaveStarting => "Deploying now",
            NoticeKind::WeeklySummary => "Weekly summary",
            NoticeKind::Emergency => "EMERGENCY release",
            NoticeKind::Rollback => "Rollback",
            NoticeKind::GateWaiting => "Approval overdue",
            NoticeKind::TriggerFired => "Health trigger fired",
            NoticeKind::ApprovalNeeded => "Approval needed",
            NoticeKind::ReleaseCompleted => "Release completed",
        }
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where notices can go. Secrets by environment variable name only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    /// A Slack-compatible incoming webhook: `text` (the fallback) plus `blocks`.
    Slack {
        /// The variable holding the webhook URL (it is a secret).
        url_env: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<HumanDuration>,
    },
    /// Generic JSON, POSTed (Teams/Mattermost/PagerDuty-style receivers, in-house tools).
    Webhook {
        url_env: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<HeaderFromEnv>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<HumanDuration>,
    },
    /// A program that gets the notice as JSON on stdin; exit 0 is delivered.
    Command {
        program: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        args: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<HumanDuration>,
    },
    /// The state dir's notification log (one line per notice).
    File,
}

impl Channel {
    pub fn kind_str(&self) -> &'static str {
        match self {
            Channel::Slack { .. } => "slack",
            Channel::Webhook { .. } => "webhook",
            Channel::Command { .. } => "command",
            Channel::File => "file",
        }
    }
}

/// Picks channels for notices: a route matches a notice when each of its filters
/// does (an empty filter matches everything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Notice kinds; empty: every kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<NoticeKind>,
    /// Waves (tiers); empty: every notice. A notice about the whole release (no
    /// wave: an emergency, a rollback of everything) matches only routes without tiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierName>,
    /// The channel (a key of `channels`).
    pub channel: String,
    /// Slack channels only: one message per distinct contact channel of the notice's
    /// customers (customers.json `contacts[].slack`), each listing its customers,
    /// sent with the webhook's `channel` field.
    #[serde(default)]
    pub to_contacts: bool,
}

/// How deliveries are retried: `attempts` in all, waiting `first`, doubling up to
/// `max` (a receiver's `Retry-After` is honoured, within `max_retry_after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    #[serde(default = "default_first")]
    pub first: HumanDuration,
    #[serde(default = "default_max")]
    pub max: HumanDuration,
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after: HumanDuration,
}

fn default_attempts() -> u32 {
    6
}
fn default_first() -> HumanDuration {
    HumanDuration::from_secs(2)
}
fn default_max() -> HumanDuration {
    HumanDuration::from_secs(300)
}
fn default_max_retry_after() -> HumanDuration {
    HumanDuration::from_secs(3600)
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: default_attempts(),
            first: default_first(),
            max: default_max(),
            max_retry_after: default_max_retry_after(),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` (n ≥ 1 attempts made), without a Retry-After.
    pub fn backoff(&self, attempts_made: u32) -> HumanDuration {
        let shift = attempts_made.saturating_sub(1).min(30);
        let secs = self.first.as_secs().saturating_mul(1u64 << shift);
        HumanDuration::from_secs(secs.min(self.max.as_secs()))
    }
}

/// `notifications.json`: channels, routes, a link, retries. Optional: without it,
/// every notice goes to the state dir's notification log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    pub channels: BTreeMap<String, Channel>,
    pub routes: Vec<Route>,
    /// A link put in every notice; `{version}` is replaced by the release's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default)]
    pub retry: RetryPolicy,
}

/// The channel name the default configuration uses for the notification log.
pub const LOG_CHANNEL: &str = "log";

impl Default for Notifications {
    /// Everything to the notification log, as before channels existed.
    fn default() -> Self {
        Notifications {
            channels: BTreeMap::from([(LOG_CHANNEL.to_string(), Channel::File)]),
            routes: vec![Route {
                kinds: Vec::new(),
                tiers: Vec::new(),
                channel: LOG_CHANNEL.to_string(),
                to_contacts: false,
            }],
            link: None,
            retry: RetryPolicy::default(),
        }
    }
}

/// A customer as routing sees it: who, and its contacts' Slack channels.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    pub id: &'a CustomerId,
    pub slack: &'a [String],
}

/// Separates a channel name from a contact channel in a destination
/// (`customers-slack>#acme-ops`).
pub const CONTACT_SEPARATOR: char = '>';

impl Notifications {
    /// Where a notice goes: channel names, and `channel>#contact` for routes to
    /// contacts, in a stable order without repeats. Pure: the engine journals it.
    pub fn destinations(
        &self,
        kind: NoticeKind,
        wave: Option<&TierName>,
        customers: &[Addressee<'_>],
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |d: String| {
            if !out.contains(&d) {
                out.push(d);
            }
        };
        for route in &self.routes {
            if !route.kinds.is_empty() && !route.kinds.contains(&kind) {
                continue;
            }
            if !route.tiers.is_empty() && !wave.is_some_and(|w| route.tiers.contains(w)) {
                continue;
            }
            if !self.channels.contains_key(&route.channel) {
                continue;
            }
            if route.to_contacts {
                let mut contacts: Vec<&String> =
                    customers.iter().flat_map(|c| c.slack.iter()).collect();
                contacts.sort();
                contacts.dedup();
                for c in contacts {
                    push(format!("{}{CONTACT_SEPARATOR}{c}", route.channel));
                }
            } else {
                push(route.channel.clone());
            }
        }
        out
    }

    /// The link for `version`, if one is configured.
    pub fn link_for(&self, version: &str) -> Option<String> {
        self.link.as_ref().map(|l| l.replace("{version}", version))
    }
}

/// Splits a destination into its channel name and contact channel, if any.
pub fn split_destination(dest: &str) -> (&str, Option<&str>) {
    match dest.split_once(CONTACT_SEPARATOR) {
        Some((channel, contact)) => (channel, Some(contact)),
        None => (dest, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Notifications {
        serde_json::from_str(
            r##"{
              "channels": {
                "ops": {"kind": "slack", "url_env": "OPS_HOOK"},
                "cust": {"kind": "slack", "url_env": "CUST_HOOK"},
                "pager": {"kind": "webhook", "url_env": "PD_URL"},
                "log": {"kind": "file"}
              },
              "routes": [
                {"kinds": ["emergency", "rollback", "trigger_fired"], "channel": "pager"},
                {"tiers": ["enterprise"], "kinds": ["pre_deploy"], "channel": "cust", "to_contacts": true},
                {"channel": "ops"},
                {"channel": "log"}
              ]
            }"##,
        )
        .unwrap()
    }

    #[test]
    fn routes_pick_channels_by_kind_tier_and_contact() {
        let n = cfg();
        let acme = CustomerId::new("acme");
        let glob = CustomerId::new("globex");
        let slack_a = vec!["#acme".to_string(), "#shared".to_string()];
        let slack_g = vec!["#shared".to_string()];
        let who = [
            Addressee {
                id: &acme,
                slack: &slack_a,
            },
            Addressee {
                id: &glob,
                slack: &slack_g,
            },
        ];
        let ent = TierName::new("enterprise");
        assert_eq!(
            n.destinations(NoticeKind::PreDeploy, Some(&ent), &who),
            ["cust>#acme", "cust>#shared", "ops", "log"]
        );
        let std = TierName::new("standard");
        assert_eq!(
            n.destinations(NoticeKind::PreDeploy, Some(&std), &who),
            ["ops", "log"]
        );
        assert_eq!(
            n.destinations(NoticeKind::Emergency, None, &[]),
            ["pager", "ops", "log"]
        );
        assert_eq!(split_destination("cust>#acme"), ("cust", Some("#acme")));
        assert_eq!(split_destination("ops"), ("ops", None));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RetryPolicy {
            attempts: 8,
            first: HumanDuration::from_secs(2),
            max: HumanDuration::from_secs(10),
            max_retry_after: HumanDuration::from_secs(60),
        };
        let waits: Vec<u64> = (1..6).map(|n| r.backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
    }

    #[test]
    fn default_sends_everything_to_the_log() {
        let n = Notifications::default();
        assert_eq!(n.destinations(NoticeKind::Rollback, None, &[]), ["log"]);
    }
}

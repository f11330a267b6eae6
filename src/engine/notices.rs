//! The outbox: notices as the engine queues them, and what became of each delivery.
//!
//! A notice is one message per wave and kind (never one per customer), journaled as
//! `Notified` with a dedupe key (`v1.0.2/standard/pre_deploy`; `#2`, `#3` for a
//! second and third of the same, e.g. two rollbacks in one wave) and the
//! destinations its routes chose, *before* any delivery is tried. Each destination's
//! outcome comes back as a result and is journaled as `NoticeSent` or
//! `NoticeFailed` with the receiver's answer. A resumed release re-sends exactly the
//! deliveries that have neither ([`undelivered`]); a failed one waits for a person
//! (`shipdeck notify retry`, [`requeue`]).
//!
//! Delivery never gates anything: no rule reads the outbox, so a receiver that is
//! down cannot hold a wave.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::effect::Effect;
use super::event::{Event, EventKind, NoticeKind};
use super::input::EffectResult;
use super::rejected::Rejected;
use super::state::ReleaseState;
use crate::domain::notify::Addressee;
use crate::domain::{CustomerId, Role, TierName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Queued,
    Sent,
    Failed,
}

/// One destination of one notice.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Delivery {
    pub to: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The receiver's answer (or why there was none), capped and redacted.
    pub answer: String,
    pub at: Option<DateTime<Utc>>,
}

/// A queued notice and its deliveries.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct QueuedNotice {
    pub at: DateTime<Utc>,
    pub key: String,
    pub kind: NoticeKind,
    pub wave: Option<TierName>,
    pub customer: Option<CustomerId>,
    pub customers: Vec<CustomerId>,
    pub message: String,
    pub eta: Option<DateTime<Utc>>,
    pub roles: Vec<Role>,
    pub deliveries: Vec<Delivery>,
}

impl QueuedNotice {
    /// The effect that delivers it to `to`.
    pub fn effect(&self, to: Vec<String>) -> Effect {
        Effect::Notify {
            kind: self.kind,
            wave: self.wave.clone(),
            customer: self.customer.clone(),
            message: self.message.clone(),
            key: self.key.clone(),
            customers: self.customers.clone(),
            eta: self.eta,
            roles: self.roles.clone(),
            to,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Outbox {
    pub notices: Vec<QueuedNotice>,
}

impl Outbox {
    pub fn get(&self, key: &str) -> Option<&QueuedNotice> {
        self.notices.iter().find(|n| n.key == key)
    }

    fn delivery_mut(&mut self, key: &str, to: &str) -> Option<&mut Delivery> {
        self.notices
            .iter_mut()
            .find(|n| n.key == key)?
            .deliveries
            .iter_mut()
            .find(|d| d.to == to)
    }

    /// Deliveries in `status`, as (notice, delivery).
    pub fn with_status(
        &self,
        status: DeliveryStatus,
    ) -> impl Iterator<Item = (&QueuedNotice, &Delivery)> {
        self.notices.iter().flat_map(move |n| {
            n.deliveries
                .iter()
                .filter(move |d| d.status == status)
                .map(move |d| (n, d))
        })
    }

    /// How many deliveries failed for good (until someone retries them).
    pub fn failed(&self) -> usize {
        self.with_status(DeliveryStatus::Failed).count()
    }

    pub fn queued(&self) -> usize {
        self.with_status(DeliveryStatus::Queued).count()
    }

    pub fn sent(&self) -> usize {
        self.with_status(DeliveryStatus::Sent).count()
    }

    /// Folds the outbox's events; others are ignored.
    pub fn apply(&mut self, e: &Event) {
        match &e.event {
            EventKind::Notified {
                kind,
                wave,
                customer,
                message,
                key,
                customers,
                eta,
                roles,
                to,
            } if !key.is_empty() => self.notices.push(QueuedNotice {
                at: e.at,
                key: key.clone(),
                kind: *kind,
                wave: wave.clone(),
                customer: customer.clone(),
                customers: customers.clone(),
                message: message.clone(),
                eta: *eta,
                roles: roles.clone(),
                deliveries: to
                    .iter()
                    .map(|t| Delivery {
                        to: t.clone(),
                        status: DeliveryStatus::Queued,
                        attempts: 0,
                        answer: String::new(),
                        at: None,
                    })
                    .collect(),
            }),
            EventKind::NoticeSent {
                key,
                to,
                attempts,
                answer,
            }
            | EventKind::NoticeFailed {
                key,
                to,
                attempts,
                answer,
            } => {
                let sent = matches!(e.event, EventKind::NoticeSent { .. });
                if let Some(d) = self.delivery_mut(key, to) {
                    d.status = if sent {
                        DeliveryStatus::Sent
                    } else {
                        DeliveryStatus::Failed
                    };
                    d.attempts = *attempts;
                    d.answer = answer.clone();
                    d.at = Some(e.at);
                }
            }
            EventKind::NoticesRequeued { deliveries, .. } => {
                for (key, to) in deliveries {
                    if let Some(d) = self.delivery_mut(key, to) {
                        d.status = DeliveryStatus::Queued;
                    }
                }
            }
            _ => {}
        }
    }

    /// How many notices with this base key were queued before.
    fn count_base(&self, base: &str) -> usize {
        self.notices
            .iter()
            .filter(|n| same_base(&n.key, base))
            .count()
    }
}

fn same_base(key: &str, base: &str) -> bool {
    key == base
        || key
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('#'))
}

/// What a notice says, before it gets its key and destinations.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub kind: NoticeKind,
    pub wave: Option<TierName>,
    pub customer: Option<CustomerId>,
    pub customers: Vec<CustomerId>,
    pub message: String,
    pub eta: Option<DateTime<Utc>>,
    pub roles: Vec<Role>,
}

impl Draft {
    pub fn new(kind: NoticeKind, wave: Option<TierName>, message: String) -> Draft {
        Draft {
            kind,
            wave,
            customer: None,
            customers: Vec::new(),
            message,
            eta: None,
            roles: Vec::new(),
        }
    }

    pub fn customers(mut self, customers: Vec<CustomerId>) -> Draft {
        self.customers = customers;
        self
    }

    /// About one customer (a trigger, a report): listed, and named.
    pub fn about(mut self, customer: CustomerId) -> Draft {
        self.customers = vec![customer.clone()];
        self.customer = Some(customer);
        self
    }

    pub fn eta(mut self, eta: DateTime<Utc>) -> Draft {
        self.eta = Some(eta);
        self
    }

    pub fn roles(mut self, roles: Vec<Role>) -> Draft {
        self.roles = roles;
        self
    }

    /// The `Notified` event: keyed (counting those queued already and those in
    /// `pending`, decided in the same round) and routed by the plan's routes.
    pub fn queue(self, s: &ReleaseState, pending: &[EventKind]) -> EventKind {
        let base = format!(
            "{}/{}/{}",
            s.plan.version,
            self.wave.as_ref().map_or("release", |w| w.as_str()),
            self.kind.as_str()
        );
        let earlier = s.outbox.count_base(&base)
            + pending
                .iter()
                .filter(|e| matches!(e, EventKind::Notified { key, .. } if same_base(key, &base)))
                .count();
        let key = if earlier == 0 {
            base
        } else {
            format!("{base}#{}", earlier + 1)
        };
        // Each listed customer's contacts' Slack channels, for routes to contacts.
        let lists: Vec<(&CustomerId, Vec<String>)> = self
            .customers
            .iter()
            .map(|id| {
                let slack = s
                    .plan
                    .customer(id)
                    .map(|c| c.contacts.iter().filter_map(|k| k.slack.clone()).collect())
                    .unwrap_or_default();
                (id, slack)
            })
            .collect();
        let addressees: Vec<Addressee<'_>> = lists
            .iter()
            .map(|(id, slack)| Addressee { id, slack })
            .collect();
        let to = s
            .plan
            .notifications
            .destinations(self.kind, self.wave.as_ref(), &addressees);
        EventKind::Notified {
            kind: self.kind,
            wave: self.wave,
            customer: self.customer,
            message: self.message,
            key,
            customers: self.customers,
            eta: self.eta,
            roles: self.roles,
            to,
        }
    }
}

/// Deliveries queued and not answered: what a resumed runtime sends (again).
pub fn undelivered(state: &ReleaseState) -> Vec<Effect> {
    state
        .outbox
        .notices
        .iter()
        .filter_map(|n| {
            let to: Vec<String> = n
                .deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Queued)
                .map(|d| d.to.clone())
                .collect();
            (!to.is_empty()).then(|| n.effect(to))
        })
        .collect()
}

/// A delivery's result, journaled if the delivery still waits for one (a late
/// duplicate of an answered delivery changes nothing).
pub(super) fn delivered(s: &ReleaseState, result: &EffectResult) -> Vec<EventKind> {
    let EffectResult::NoticeDelivered {
        key,
        to,
        ok,
        attempts,
        answer,
    } = result
    else {
        return Vec::new();
    };
    let queued = s
        .outbox
        .get(key)
        .and_then(|n| n.deliveries.iter().find(|d| &d.to == to))
        .is_some_and(|d| d.status == DeliveryStatus::Queued);
    if !queued {
        return Vec::new();
    }
    let (key, to, attempts, answer) = (key.clone(), to.clone(), *attempts, answer.clone());
    vec![if *ok {
        EventKind::NoticeSent {
            key,
            to,
            attempts,
            answer,
        }
    } else {
        EventKind::NoticeFailed {
            key,
            to,
            attempts,
            answer,
        }
    }]
}

/// `notify retry`: every failed delivery queued again, one event per notice (so
/// each carries the effect that resends it).
pub(super) fn requeue(s: &ReleaseState, actor: &str) -> Result<Vec<EventKind>, Rejected> {
    let mut by_key: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (n, d) in s.outbox.with_status(DeliveryStatus::Failed) {
        let pair = (n.key.clone(), d.to.clone());
        match by_key.iter_mut().find(|(k, _)| k == &n.key) {
            Some((_, v)) => v.push(pair),
            None => by_key.push((n.key.clone(), vec![pair])),
        }
    }
    if by_key.is_empty() {
        return Err(Rejected::NothingToRetry);
    }
    Ok(by_key
        .into_iter()
        .map(|(_, deliveries)| EventKind::NoticesRequeued {
            deliveries,
            actor: actor.to_string(),
        })
        .collect())
}

/// The effect a requeue starts: the notice, to the destinations queued again.
pub(super) fn requeued_effect(s: &ReleaseState, deliveries: &[(String, String)]) -> Option<Effect> {
    let (key, _) = deliveries.first()?;
    let n = s.outbox.get(key)?;
    let to: Vec<String> = deliveries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, t)| t.clone())
        .collect();
    Some(n.effect(to))
}

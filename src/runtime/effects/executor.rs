//! Carries out the engine's effects through the ports and reports their results as
//! inputs on the runtime's results channel.
//!
//! Every effect runs as a tracked task (`TaskTracker`), so that shutdown is a choice
//! made on purpose rather than a runtime timeout:
//! - checks are cancelled when the loop starts to stop ([`Executor::stop_checks`]:
//!   their child's process group is killed); a resumed runtime runs them again,
//!   since their event has no result;
//! - deploys and rollbacks are **never killed halfway**: they have a tracker of their
//!   own, the loop waits for them ([`Executor::deploys_settled`]) and journals their
//!   results. Only a [`Executor::detach`] (the operator leaving without waiting: a
//!   second Ctrl-C or `q`) lets go of them: the deployers stop watching and leave
//!   the work running (no process group is killed), their results are not
//!   reported, and the journal keeps them in flight, so a resume re-issues them
//!   with the same idempotency key and attempt count;
//! - notices get a short grace to be written, then are cancelled.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{DeployControl, DeployRequest, EffectPorts, Notice, Outcome, idempotency_key};
use crate::domain::{CustomerId, TierName, Version};
use crate::engine::{Effect, EffectResult, ReleaseState};
use crate::runtime::clock::Clock;

/// How long deployers get to let go after a detach before their tasks are dropped.
const DETACH_GRACE: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Clock,
    results: mpsc::UnboundedSender<EffectResult>,
    ports: EffectPorts,
    release: String,
    seed: u64,
    operator: String,
    /// Checks and notices.
    tracker: TaskTracker,
    /// Deploys and rollbacks: waited for, never cancelled on shutdown.
    deploys: TaskTracker,
    cancel_checks: CancellationToken,
    cancel_notices: CancellationToken,
    /// Fired when the process leaves without waiting for deploys.
    detach: CancellationToken,
}

/// What a deploy effect needs from the state it was decided on.
struct DeployFacts {
    customer_name: String,
    tier: TierName,
    previous_version: Version,
    attempt: u32,
    idempotency_key: String,
}

impl Executor {
    pub fn new(
        clock: Clock,
        results: mpsc::UnboundedSender<EffectResult>,
        ports: EffectPorts,
        release: &str,
        seed: u64,
        operator: &str,
    ) -> Executor {
        Executor {
            inner: Arc::new(Inner {
                clock,
                results,
                ports,
                release: release.to_string(),
                seed,
                operator: operator.to_string(),
                tracker: TaskTracker::new(),
                deploys: TaskTracker::new(),
                cancel_checks: CancellationToken::new(),
                cancel_notices: CancellationToken::new(),
                detach: CancellationToken::new(),
            }),
        }
    }

    /// The token that [`Executor::detach`] fires.
    pub fn detach_token(&self) -> CancellationToken {
        self.inner.detach.clone()
    }

    /// Starts the effect in the background; its result arrives on the results
    /// channel. `state` is the state the effect was decided on (after its event was
    /// applied): deploys read their journaled start instant and attempt from it.
    pub fn spawn(&self, effect: Effect, state: &ReleaseState) {
        if let Effect::Notify { to, .. } = &effect {
            if to.len() > 1 {
                for dest in to.clone() {
                    let mut one = effect.clone();
                    if let Effect::Notify { to, .. } = &mut one {
                        *to = vec![dest];
                    }
                    self.spawn(one, state);
                }
                return;
            }
        }
        // One line per effect started, with this process: a handover or a resume
        // can be checked to have started each effect where it should, once.
        match &effect {
            Effect::Deploy {
                customer, version, ..
            } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %customer, %version, "deploy started")
            }
            Effect::Rollback { customer, to, .. } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %customer, %to, "rollback started")
            }
            Effect::RunCheck { item, .. } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %item, "check started")
            }
            _ => {}
        }
        let inner = self.inner.clone();
        match effect {
            Effect::Deploy { .. } | Effect::Rollback { .. } => {
                let facts = self.facts(&effect, state);
                self.inner.deploys.spawn(async move {
                    let result = inner.deploy(effect, facts).await;
                    // After a detach the outcome is not ours to report: the deploy
                    // stays in flight in the journal.
                    if let Some(r) = result.filter(|_| !inner.detach.is_cancelled()) {
                        // The runtime has stopped: the deploy is re-issued on resume.
                        let _ = inner.results.send(r);
                    }
                });
            }
            Effect::RunCheck { .. } | Effect::Notify { .. } => {
                let cancel = if matches!(effect, Effect::Notify { .. }) {
                    inner.cancel_notices.clone()
                } else {
                    inner.cancel_checks.clone()
                };
                self.inner.tracker.spawn(async move {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => {}
                        result = inner.carry_out(effect) => {
                            if let Some(r) = result {
                                let _ = inner.results.send(r);
                            }
                        }
                    }
                });
            }
        }
    }

    fn facts(&self, effect: &Effect, state: &ReleaseState) -> Option<DeployFacts> {
        let (customer, version, rollback) = match effect {
            Effect::Deploy { customer, version } => (customer, version, false),
            Effect::Rollback { customer, to } => (customer, to, true),
            _ => return None,
        };
        let c = state.customer(customer)?;
        let started = if rollback {
            c.rollback_started_at
        } else {
            c.deploy_started_at
        }
        // A journal always has the instant; the release start is a stable stand-in.
        .unwrap_or(state.started_at);
        Some(DeployFacts {
            customer_name: c.name.clone(),
            tier: state
                .waves
                .get(c.wave)
                .map(|w| w.tier.clone())
                .unwrap_or_else(|| TierName::new("")),
            previous_version: if rollback {
                state.plan.version.clone()
            } else {
                c.from_version.clone()
            },
            attempt: c.attempt.max(1),
            idempotency_key: idempotency_key(
                &self.inner.release,
                customer,
                version,
                rollback,
                started,
            ),
        })
    }

    /// Effects still running.
    pub fn in_flight(&self) -> usize {
        self.inner.tracker.len() + self.inner.deploys.len()
    }

    /// Deploys and rollbacks still running.
    pub fn deploys_in_flight(&self) -> usize {
        self.inner.deploys.len()
    }

    /// The loop starts to stop: no new effects; running checks are cancelled.
    pub fn stop_checks(&self) {
        self.inner.tracker.close();
        self.inner.deploys.close();
        self.inner.cancel_checks.cancel();
    }

    /// Resolves when every deploy and rollback has ended (after `stop_checks`).
    pub async fn deploys_settled(&self) {
        self.inner.deploys.wait().await;
    }

    /// Leaves deploys in flight running without us (see the module doc).
    pub fn detach(&self) {
        self.inner.detach.cancel();
    }

    /// Stops on purpose once the loop is done with deploys: notices get `grace`
    /// to be delivered; after a detach, deployers get a moment to let go.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        self.stop_checks();
        if inner.detach.is_cancelled()
            && tokio::time::timeout(DETACH_GRACE, inner.deploys.wait())
                .await
                .is_err()
        {
            tracing::warn!(
                running = inner.deploys.len(),
                "deployers did not let go in time after the detach; their tasks end with the process"
            );
        }
        if tokio::time::timeout(grace, inner.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                undelivered = inner.tracker.len(),
                "notices still being delivered at shutdown were dropped"
            );
            inner.cancel_notices.cancel();
            inner.tracker.wait().await;
        }
    }
}

impl Inner {
    async fn carry_out(&self, effect: Effect) -> Option<EffectResult> {
        match effect {
            Effect::RunCheck { item, command } => {
                let Outcome { ok, detail } = self.ports.checks.run(command).await;
                Some(EffectResult::CheckFinished { item, ok, detail })
            }
            Effect::Notify {
                kind,
                wave,
                customer,
                message,
                key,
                customers,
                eta,
                roles,
                to,
            } => {
                let to = to.into_iter().next()?;
                let notice = Notice {
                    at: self.clock.now(),
                    key: key.clone(),
                    to: to.clone(),
                    kind,
                    wave,
                    customer,
                    customers,
                    message,
                    eta,
                    roles,
                };
                let d = self.ports.notifier.notify(notice).await;
                Some(EffectResult::NoticeDelivered {
                    key,
                    to,
                    ok: d.ok,
                    attempts: d.attempts,
                    answer: d.answer,
                })
            }
            Effect::Deploy { .. } | Effect::Rollback { .. } => None,
        }
    }

    async fn deploy(&self, effect: Effect, facts: Option<DeployFacts>) -> Option<EffectResult> {
        let (customer, version, rollback) = match effect {
            Effect::Deploy { customer, version } => (customer, version, false),
            Effect::Rollback { customer, to } => (customer, to, true),
            _ => return None,
        };
        let Outcome { ok, detail } = match facts {
            Some(facts) => self.request(&customer, version, rollback, facts).await,
            None => Outcome::failed(format!("{customer} is not in the release")),
        };
        Some(if rollback {
            EffectResult::RollbackFinished {
                customer,
                ok,
                detail,
            }
        } else {
            EffectResult::DeployFinished {
                customer,
                ok,
                detail,
            }
        })
    }

    async fn request(
        &self,
        customer: &CustomerId,
        version: Version,
        rollback: bool,
        facts: DeployFacts,
    ) -> Outcome {
        let Some(deployer) = self.ports.deployers.get(customer) else {
            return Outcome::failed(format!("no deploy target configured for {customer}"));
        };
        deployer
            .deploy(DeployRequest {
                release: self.release.clone(),
                seed: self.seed,
                customer: customer.clone(),
                customer_name: facts.customer_name,
                tier: facts.tier,
                version,
                previous_version: facts.previous_version,
                rollback,
                attempt: facts.attempt,
                idempotency_key: facts.idempotency_key,
                operator: self.operator.clone(),
                control: DeployControl::new(
                    self.results.clone(),
                    customer.clone(),
                    self.detach.clone(),
                ),
            })
            .await
    }
}

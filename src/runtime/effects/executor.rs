//! Carries out the engine's effects through the ports and reports their results as
//! inputs on the runtime's results channel.
//!
//! Every effect runs as a tracked task (`TaskTracker`), so that shutdown is a choice
//! made on purpose rather than a runtime timeout ([`Executor::shutdown`]):
//! - checks are cancelled at once (their child's process group is killed); a resumed
//!   runtime runs them again, since their event has no result;
//! - notices get a short grace to be written, then are cancelled;
//! - deploys and rollbacks are cancelled at once, like checks, and re-issued on
//!   resume with the same request (deployers are asked to *reach* a version).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{DeployRequest, EffectPorts, Notice, Outcome};
use crate::engine::{Effect, EffectResult};
use crate::runtime::clock::Clock;

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
    tracker: TaskTracker,
    /// Cancels checks, deploys and rollbacks (re-issued on resume).
    cancel_work: CancellationToken,
    /// Cancels notices still being delivered after the grace.
    cancel_notices: CancellationToken,
}

impl Executor {
    pub fn new(
        clock: Clock,
        results: mpsc::UnboundedSender<EffectResult>,
        ports: EffectPorts,
        release: &str,
        seed: u64,
    ) -> Executor {
        Executor {
            inner: Arc::new(Inner {
                clock,
                results,
                ports,
                release: release.to_string(),
                seed,
                tracker: TaskTracker::new(),
                cancel_work: CancellationToken::new(),
                cancel_notices: CancellationToken::new(),
            }),
        }
    }

    /// Starts the effect in the background; its result arrives on the results channel.
    pub fn spawn(&self, effect: Effect) {
        // One line per effect started, with this process: a handover or a resume
        // can be checked to have started each effect where it should, once.
        match &effect {
            Effect::Deploy { customer, version } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %customer, %version, "deploy started")
            }
            Effect::Rollback { customer, to } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %customer, %to, "rollback started")
            }
            Effect::RunCheck { item, .. } => {
                tracing::info!(target: "shipdeck::effect", pid = std::process::id(), %item, "check started")
            }
            Effect::Notify { .. } => {}
        }
        let inner = self.inner.clone();
        let cancel = if matches!(effect, Effect::Notify { .. }) {
            inner.cancel_notices.clone()
        } else {
            inner.cancel_work.clone()
        };
        self.inner.tracker.spawn(async move {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                result = inner.carry_out(effect) => {
                    if let Some(r) = result {
                        // The runtime has stopped: the result is lost here, and the
                        // effect is re-issued on resume because its event has no
                        // result yet.
                        let _ = inner.results.send(r);
                    }
                }
            }
        });
    }

    /// Effects still running.
    pub fn in_flight(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Stops on purpose: checks, deploys and rollbacks are cancelled at once (and
    /// re-issued on resume); notices get `grace` to be delivered.
    pub async fn shutdown(&self, grace: Duration) {
        let inner = &self.inner;
        inner.tracker.close();
        inner.cancel_work.cancel();
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
            Effect::Deploy { customer, version } => {
                let Outcome { ok, detail } = self.deploy(&customer, version, false).await;
                Some(EffectResult::DeployFinished {
                    customer,
                    ok,
                    detail,
                })
            }
            Effect::Rollback { customer, to } => {
                let Outcome { ok, detail } = self.deploy(&customer, to, true).await;
                Some(EffectResult::RollbackFinished {
                    customer,
                    ok,
                    detail,
                })
            }
            Effect::RunCheck { item, command } => {
                let Outcome { ok, detail } = self.ports.checks.run(command).await;
                Some(EffectResult::CheckFinished { item, ok, detail })
            }
            Effect::Notify {
                kind,
                wave,
                customer,
                message,
            } => {
                let notice = Notice {
                    at: self.clock.now(),
                    kind,
                    wave,
                    customer,
                    message,
                };
                self.ports.notifier.notify(notice).await;
                None
            }
        }
    }

    async fn deploy(
        &self,
        customer: &crate::domain::CustomerId,
        version: crate::domain::Version,
        rollback: bool,
    ) -> Outcome {
        let Some(deployer) = self.ports.deployers.get(customer) else {
            return Outcome::failed(format!("no deploy target configured for {customer}"));
        };
        deployer
            .deploy(DeployRequest {
                release: self.release.clone(),
                seed: self.seed,
                customer: customer.clone(),
                version,
                rollback,
            })
            .await
    }
}

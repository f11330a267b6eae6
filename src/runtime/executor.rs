//! Carries out the engine's effects and reports their results as inputs.
//!
//! Deploys and rollbacks go to the customer's deploy target (the `simulated` kind
//! for now: it takes the configured time on the release clock and fails reproducibly
//! from the release seed); checks run as real child processes without a shell;
//! notices are appended to the state dir's notification log.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::clock::Clock;
use crate::domain::{CheckCommand, Customer, CustomerId, DeployTarget, Version};
use crate::engine::{Effect, EffectResult};
use crate::sim::fleet::FleetHandle;

const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Clock,
    results: mpsc::UnboundedSender<EffectResult>,
    targets: HashMap<CustomerId, DeployTarget>,
    seed: u64,
    notifications: PathBuf,
    fleet: Option<FleetHandle>,
}

impl Executor {
    pub fn new(
        clock: Clock,
        results: mpsc::UnboundedSender<EffectResult>,
        customers: &[Customer],
        seed: u64,
        notifications: PathBuf,
        fleet: Option<FleetHandle>,
    ) -> Executor {
        let targets = customers
            .iter()
            .map(|c| (c.id.clone(), c.deploy.clone()))
            .collect();
        Executor {
            inner: Arc::new(Inner {
                clock,
                results,
                targets,
                seed,
                notifications,
                fleet,
            }),
        }
    }

    /// Starts the effect in the background; its result arrives on the results channel.
    pub fn spawn(&self, effect: Effect) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let result = match effect {
                Effect::Deploy { customer, version } => {
                    let (ok, detail) = inner.deploy(&customer, &version, false).await;
                    Some(EffectResult::DeployFinished {
                        customer,
                        ok,
                        detail,
                    })
                }
                Effect::Rollback { customer, to } => {
                    let (ok, detail) = inner.deploy(&customer, &to, true).await;
                    Some(EffectResult::RollbackFinished {
                        customer,
                        ok,
                        detail,
                    })
                }
                Effect::RunCheck { item, command } => {
                    let (ok, detail) = run_check(&command).await;
                    Some(EffectResult::CheckFinished { item, ok, detail })
                }
                Effect::Notify {
                    kind,
                    wave,
                    customer,
                    message,
                } => {
                    inner.notify(
                        &format!("{kind:?}"),
                        wave.as_ref().map(|w| w.as_str()),
                        customer.as_ref(),
                        &message,
                    );
                    None
                }
            };
            if let Some(r) = result {
                // The runtime has stopped: the result is lost here, and the effect
                // is re-issued on resume because its event has no result yet.
                let _ = inner.results.send(r);
            }
        });
    }
}

impl Inner {
    async fn deploy(
        &self,
        customer: &CustomerId,
        version: &Version,
        rollback: bool,
    ) -> (bool, String) {
        let Some(target) = self.targets.get(customer) else {
            return (false, format!("no deploy target configured for {customer}"));
        };
        match target {
            DeployTarget::Simulated {
                duration,
                failure_rate,
            } => {
                let real = self.clock.real_for(Duration::from_secs(duration.as_secs()));
                tokio::time::sleep(real).await;
                // Rollbacks of the simulation always succeed: the drill is about the deploy.
                let fails = !rollback && unit_hash(self.seed, customer.as_str()) < *failure_rate;
                if fails {
                    return (false, format!("simulated failure deploying {version}"));
                }
                if let Some(fleet) = &self.fleet {
                    if let Err(e) = fleet.set_version(customer, version.clone()) {
                        tracing::warn!("fleet did not take {version} for {customer}: {e}");
                    }
                }
                (
                    true,
                    format!(
                        "{} {version} (simulated)",
                        if rollback {
                            "rolled back to"
                        } else {
                            "deployed"
                        }
                    ),
                )
            }
        }
    }

    fn notify(&self, kind: &str, wave: Option<&str>, customer: Option<&CustomerId>, message: &str) {
        // One line per notice, whatever a name or reason holds (issue 11: a name with
        // a newline forged a line here).
        let line = format!(
            "{} {kind} {} {}\n",
            self.clock.now().format("%Y-%m-%dT%H:%M:%SZ"),
            crate::domain::escape(customer.map(|c| c.as_str()).or(wave).unwrap_or("all")),
            crate::domain::escape(message),
        );
        tracing::info!(target: "shipdeck::notify", "{}", line.trim_end());
        // Mode 0600, never through a symlink (issue 11).
        let written = super::state_dir::open_state_file(&self.notifications, true)
            .and_then(|(mut f, _)| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            tracing::warn!(
                "cannot write notification to {}: {e}",
                self.notifications.display()
            );
        }
    }
}

/// A number in [0, 1) from the seed and a key: the simulated world's dice.
pub fn unit_hash(seed: u64, key: &str) -> f64 {
    let mut h: u64 = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs a check command without a shell; the first line of its output is the detail.
pub async fn run_check(command: &CheckCommand) -> (bool, String) {
    let timeout = command
        .timeout
        .map(|t| Duration::from_secs(t.as_secs()))
        .unwrap_or(DEFAULT_CHECK_TIMEOUT);
    let child = tokio::process::Command::new(&command.program)
        .args(&command.args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(timeout, child).await {
        Err(_) => (
            false,
            format!(
                "`{}` timed out after {}s",
                command.program,
                timeout.as_secs()
            ),
        ),
        Ok(Err(e)) => (false, format!("cannot run `{}`: {e}", command.program)),
        Ok(Ok(out)) => {
            let text = if out.stdout.is_empty() {
                &out.stderr
            } else {
                &out.stdout
            };
            let first = String::from_utf8_lossy(text)
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect::<String>();
            let status = out
                .status
                .code()
                .map_or_else(|| "killed by a signal".to_string(), |c| format!("exit {c}"));
            (
                out.status.success(),
                if first.is_empty() {
                    status
                } else {
                    format!("{status}: {first}")
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_hash_is_stable_and_spread() {
        assert_eq!(unit_hash(7, "acme"), unit_hash(7, "acme"));
        assert_ne!(unit_hash(7, "acme"), unit_hash(8, "acme"));
        let below: usize = (0..1000)
            .filter(|i| unit_hash(1, &format!("c{i}")) < 0.25)
            .count();
        assert!((150..350).contains(&below), "{below}");
    }

    #[tokio::test]
    async fn checks_run_real_processes() {
        let ok = CheckCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "echo fine".into()],
            timeout: None,
        };
        assert_eq!(run_check(&ok).await, (true, "exit 0: fine".to_string()));
        let bad = CheckCommand {
            program: "sh".into(),
            args: vec!["-c".into(), "echo broken >&2; exit 3".into()],
            timeout: None,
        };
        assert_eq!(run_check(&bad).await, (false, "exit 3: broken".to_string()));
        let missing = CheckCommand {
            program: "/nonexistent/scanner".into(),
            args: vec![],
            timeout: None,
        };
        let (ok, detail) = run_check(&missing).await;
        assert!(!ok && detail.starts_with("cannot run"), "{detail}");
    }
}

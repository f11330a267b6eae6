//! The one place that chooses the adapters behind the runtime's effect ports, and
//! where a release's customers are probed.
//!
//! Deploy targets and health sources come from the journaled plan, so a config edit
//! never changes a running release behind its journal's back; what differs from the
//! config today is reported ([`CliWiring::drift`]) rather than taken. Plans journaled
//! before they recorded targets fall back to the config's.
//!
//! With a demo fleet, `simulated` targets set the version the fleet serves and
//! `simulated` health sources are probed over real HTTP at the fleet's endpoint, so
//! injected faults reach the real probe code.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::adapters::checks::ProcessChecks;
use crate::adapters::deploy::{
    CommandDeploy, CommandDeployer, DeployContext, Verification, VerifyHow, WebhookDeploy,
    WebhookDeployer, verify,
};
use crate::adapters::health::{ProbeLimits, Prober};
use crate::adapters::notify::{Outbox, Renderer};
use crate::domain::{Customer, CustomerId, DeployTarget, HealthSource, Verify};
use crate::engine::ReleasePlan;
use crate::engine::plan::CustomerPlan;
use crate::runtime::driver::ReleaseHandle;
use crate::runtime::effects::{
    BoxFuture, DeployRequest, Deployer, EffectPorts, Outcome, PortContext, Wiring,
};
use crate::runtime::probe_scheduler;
use crate::sim::{FleetHandle, SimulatedDeployer};

/// Chooses adapters for the CLI's commands, the cockpit and the demo.
#[derive(Clone)]
pub struct CliWiring {
    /// The configured customers by id: the fallback for plans that did not record
    /// targets, and what [`CliWiring::drift`] compares against (looked up once per
    /// deploy and per probe source: a map, for 10,000 customers).
    config: HashMap<CustomerId, Customer>,
    fleet: Option<FleetHandle>,
    earlier: Vec<crate::present::notes::NotesSource>,
    templates: std::collections::BTreeMap<String, String>,
}

impl CliWiring {
    pub fn new(config: &[Customer], fleet: Option<FleetHandle>) -> CliWiring {
        CliWiring {
            config: config.iter().map(|c| (c.id.clone(), c.clone())).collect(),
            fleet,
            earlier: Vec::new(),
            templates: Default::default(),
        }
    }

    pub fn shared(config: &[Customer], fleet: Option<FleetHandle>) -> Arc<CliWiring> {
        Arc::new(CliWiring::new(config, fleet))
    }

    fn configured(&self, id: &CustomerId) -> Option<&Customer> {
        self.config.get(id)
    }

    fn target_of<'a>(&'a self, c: &'a CustomerPlan) -> Option<&'a DeployTarget> {
        c.deploy
            .as_ref()
            .or_else(|| self.configured(&c.id).map(|c| &c.deploy))
    }

    fn source_of<'a>(&'a self, c: &'a CustomerPlan) -> Option<&'a HealthSource> {
        c.health
            .as_ref()
            .or_else(|| self.configured(&c.id).map(|c| &c.health))
    }

    /// Each customer's health source as probed: the plan's, with `simulated` ones
    /// pointed at the demo fleet when there is one.
    pub fn health_sources(&self, plan: &ReleasePlan) -> HashMap<CustomerId, HealthSource> {
        plan_customers(plan)
            .filter_map(|c| {
                let source = match (self.source_of(c)?, &self.fleet) {
                    (HealthSource::Simulated { .. }, Some(f)) => f.http_source(&c.id),
                    (source, _) => source.clone(),
                };
                Some((c.id.clone(), source))
            })
            .collect()
    }

    /// Starts probing the release behind `handle`. `None` when the HTTP client
    /// cannot be built (logged): the release still runs, only without triggers.
    pub fn start_probing(&self, handle: &ReleaseHandle) -> Option<JoinHandle<()>> {
        let sources = self.health_sources(&handle.snapshot().state.plan);
        let prober = match Prober::new(ProbeLimits::default()) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("health probing is off: {e}");
                return None;
            }
        };
        Some(probe_scheduler::start_probing(handle, sources, prober))
    }

    /// What the configuration says today that the release's plan does not: deploy
    /// targets and health sources changed since it was planned. The release keeps
    /// its plan; this is for the operator to see.
    pub fn drift(&self, plan: &ReleasePlan) -> Vec<String> {
        let mut out = Vec::new();
        for c in plan_customers(plan) {
            let Some(now) = self.configured(&c.id) else {
                out.push(format!(
                    "{} is no longer in the configuration; the release keeps it",
                    c.id
                ));
                continue;
            };
            if c.deploy.as_ref().is_some_and(|d| d != &now.deploy) {
                out.push(format!(
                    "{}: deploy target changed in the configuration since the release was planned; the release keeps the planned one",
                    c.id
                ));
            }
            if c.health.as_ref().is_some_and(|h| h != &now.health) {
                out.push(format!(
                    "{}: health source changed in the configuration since the release was planned; the release keeps the planned one",
                    c.id
                ));
            }
        }
        out
    }
}

impl CliWiring {
    /// What notices are written from: the plan, and each wave's release notes
    /// (cumulative since the version the tier runs, from the earlier releases).
    pub fn renderer(&self, plan: &Arc<ReleasePlan>) -> Renderer {
        let mut r = Renderer::new(Arc::clone(plan));
        for (tier, (md, slack)) in
            crate::cli::notes::notes_by_wave(plan, &self.earlier, &self.templates)
        {
            r.notes_by_wave.insert(tier.clone(), md);
            r.notes_slack_by_wave.insert(tier, slack);
        }
        r
    }

    /// Earlier releases' notes and the configuration's templates, for the notes
    /// pre-deploy and approval notices carry.
    pub fn with_notes(
        mut self,
        earlier: Vec<crate::present::notes::NotesSource>,
        templates: std::collections::BTreeMap<String, String>,
    ) -> CliWiring {
        self.earlier = earlier;
        self.templates = templates;
        self
    }
}

fn plan_customers(plan: &ReleasePlan) -> impl Iterator<Item = &CustomerPlan> {
    plan.waves.iter().flat_map(|w| w.customers.iter())
}

/// A deployer that cannot be set up: every deploy fails with why.
struct Unavailable(String);

impl Deployer for Unavailable {
    fn deploy(&self, _: DeployRequest) -> BoxFuture<Outcome> {
        let why = self.0.clone();
        Box::pin(async move { Outcome::failed(why) })
    }
}

impl CliWiring {
    /// How `v` reads the live version of customer `id` whose health is `health`.
    fn verification(
        &self,
        id: &CustomerId,
        v: &Verify,
        health: Option<&HealthSource>,
    ) -> Verification {
        let how = match (&v.pointer, &v.program) {
            (Some(pointer), _) => {
                let from_health = match (health, &self.fleet) {
                    (Some(HealthSource::Http { url, headers, .. }), _) => {
                        Some((url.clone(), headers.clone()))
                    }
                    (Some(HealthSource::Simulated { .. }), Some(fleet)) => {
                        Some((fleet.url_for(id), Vec::new()))
                    }
                    _ => None,
                };
                match (&v.url, from_health) {
                    (Some(url), _) => VerifyHow::Pointer {
                        url: url.clone(),
                        headers: Vec::new(),
                        pointer: pointer.clone(),
                    },
                    (None, Some((url, headers))) => VerifyHow::Pointer {
                        url,
                        headers,
                        pointer: pointer.clone(),
                    },
                    (None, None) => VerifyHow::Impossible(format!(
                        "{id} has no health URL to read {pointer} from; give verify a `url`"
                    )),
                }
            }
            (None, Some(program)) => VerifyHow::Command {
                program: program.clone(),
                args: v.args.clone(),
            },
            (None, None) => VerifyHow::Impossible("verify names no pointer or program".into()),
        };
        let dur = |d: Option<crate::domain::HumanDuration>, default| {
            d.filter(|d| !d.is_zero())
                .map_or(default, |d| Duration::from_secs(d.as_secs()))
        };
        Verification {
            how,
            deadline: dur(v.deadline, verify::DEFAULT_DEADLINE),
            interval: dur(v.interval, verify::DEFAULT_INTERVAL),
            read_timeout: verify::READ_TIMEOUT,
        }
    }
}

impl Wiring for CliWiring {
    fn ports(&self, plan: &Arc<ReleasePlan>, ctx: &PortContext) -> EffectPorts {
        let mut deployers: HashMap<CustomerId, Arc<dyn Deployer>> = HashMap::new();
        let real = DeployContext::new(ctx.clock.clone(), ctx.deploy_logs.clone());
        for c in plan_customers(plan) {
            let Some(target) = self.target_of(c) else {
                continue;
            };
            let health = self.source_of(c);
            let verify = target.verify().map(|v| self.verification(&c.id, v, health));
            let deployer: Arc<dyn Deployer> = match (target, &real) {
                (
                    DeployTarget::Simulated {
                        duration,
                        failure_rate,
                    },
                    _,
                ) => Arc::new(SimulatedDeployer {
                    clock: ctx.clock.clone(),
                    duration: Duration::from_secs(duration.as_secs()),
                    failure_rate: *failure_rate,
                    fleet: self.fleet.clone(),
                }),
                (_, Err(e)) => Arc::new(Unavailable(e.to_string())),
                (DeployTarget::Command(t), Ok(dctx)) => Arc::new(CommandDeployer {
                    spec: CommandDeploy::from_target(t),
                    verify,
                    ctx: dctx.clone(),
                }),
                (DeployTarget::Webhook(t), Ok(dctx)) => Arc::new(WebhookDeployer {
                    spec: WebhookDeploy::from_target(t),
                    verify,
                    ctx: dctx.clone(),
                }),
            };
            deployers.insert(c.id.clone(), deployer);
        }
        EffectPorts {
            deployers,
            checks: ProcessChecks::shared(),
            notifier: Arc::new(Outbox::new(
                self.renderer(plan),
                ctx.clock.clone(),
                ctx.notifications.clone(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ReleaseType, Version};
    use crate::engine::Selection;

    #[test]
    fn the_plan_records_targets_and_a_config_edit_is_reported_not_taken() {
        let mut cfg = crate::config::load_builtin().expect("embedded config");
        let plan = ReleasePlan::build(
            &cfg,
            Version::new(1, 0, 3),
            ReleaseType::BugFix,
            Selection::All,
            false,
        )
        .expect("plan");
        let first = plan.waves[0].customers[0].id.clone();
        let planned = plan.waves[0].customers[0].deploy.clone();
        assert!(planned.is_some(), "the plan records the deploy target");
        let wiring = CliWiring::new(&cfg.customers, None);
        assert!(wiring.drift(&plan).is_empty());

        let edited = cfg
            .customers
            .iter_mut()
            .find(|c| c.id == first)
            .expect("customer");
        edited.deploy = DeployTarget::Simulated {
            duration: crate::domain::HumanDuration::from_secs(1),
            failure_rate: 1.0,
        };
        let wiring = CliWiring::new(&cfg.customers, None);
        let drift = wiring.drift(&plan);
        assert_eq!(drift.len(), 1, "{drift:?}");
        assert!(drift[0].starts_with(&format!("{first}: deploy target changed")));
        // The release keeps what it planned.
        let c = &plan.waves[0].customers[0];
        assert_eq!(wiring.target_of(c), planned.as_ref());
    }
}

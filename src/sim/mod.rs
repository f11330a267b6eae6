//! The demo fleet: simulated customers on loopback with health endpoints and fault
//! injection, and the scenario scripts that make trouble on cue.
//!
//! It is the outside world in miniature, for the demo, drills, integration tests and
//! benchmarks: real sockets, so the probes are tested as they run in production.

pub mod demo_world;
pub mod deployer;
pub mod fault;
pub mod fleet;
pub mod fleet_deploys;
pub mod metrics;
pub mod scenario;

pub use deployer::{SimulatedDeployer, fleet_clock};
pub use fault::{ActiveFault, Fault, FaultId, Reply, SimCustomer};
pub use fleet::{Clock, FleetError, FleetHandle, serve, system_clock};
pub use fleet_deploys::{DeployFault, DeployState, FleetDeploy};
pub use scenario::{Scenario, ScenarioError, ScenarioRun, Step, StepChange, drive};

use crate::domain::{
    Customer, CustomerId, DeployTarget, HealthSource, HumanDuration, TierName, Version,
};

/// `n` made-up customers (`c-00001`, …) for load demos and benchmarks: 1 % demo,
/// 20 % startup, 50 % standard, the rest enterprise, each with a simulated baseline
/// that varies a little from customer to customer, all on v1.0.0. Deterministic.
pub fn synthetic_customers(n: usize) -> Vec<Customer> {
    (1..=n)
        .map(|i| {
            let bucket = i % 100;
            let tier = match bucket {
                0 => "demo",
                1..=20 => "startup",
                21..=70 => "standard",
                _ => "enterprise",
            };
            // Spread baselines so that a fleet view is not a wall of identical rows.
            let error_rate = 0.1 + f64::from(u32::try_from(i * 7 % 10).unwrap_or(0)) * 0.1;
            let latency = 80.0 + f64::from(u32::try_from(i * 13 % 120).unwrap_or(0));
            Customer {
                id: CustomerId(format!("c-{i:05}")),
                name: format!("Customer {i:05}"),
                tier: TierName::new(tier),
                version: Version::new(1, 0, 0),
                health: HealthSource::Simulated {
                    baseline_error_rate: (error_rate * 100.0).round() / 100.0,
                    baseline_latency_ms: latency,
                },
                deploy: DeployTarget::Simulated {
                    duration: HumanDuration::from_secs(30),
                    failure_rate: 0.0,
                },
                maintenance_window: None,
                contacts: Vec::new(),
            }
        })
        .collect()
}

/// Gets a freshly planned release through its pre-release gates the way a drill
/// does: `actor` ticks every manual item that gates a phase (on their word), and
/// every automatic check reports success. For benchmarks, tests and the demo's
/// scripted start; returns the events this produced.
pub fn pass_pre_release(
    state: &mut crate::engine::ReleaseState,
    actor: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<crate::engine::Event> {
    use crate::engine::{self, Command, EffectResult, Input};
    let mut events = Vec::new();
    for key in state.unticked_gating_all() {
        let tick = Input::Command {
            actor: actor.to_string(),
            command: Command::tick(&key, true),
        };
        if let Ok(d) = engine::step(state, &tick, now) {
            events.extend(d.events);
        }
    }
    let checks: Vec<String> = state.checks.keys().cloned().collect();
    for item in checks {
        let done = Input::Result(EffectResult::CheckFinished {
            item,
            ok: true,
            detail: "ok (drill)".to_string(),
        });
        if let Ok(d) = engine::step(state, &done, now) {
            events.extend(d.events);
        }
    }
    events
}

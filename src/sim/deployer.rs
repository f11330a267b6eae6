//! The `simulated` deploy target behind the runtime's deployer port: a deploy takes
//! the configured time on the release clock and fails reproducibly from the release
//! seed; with a demo fleet, a finished deploy sets the version the fleet serves.

use std::time::Duration;

use crate::domain::dice::unit_hash;
use crate::runtime::clock::Clock;
use crate::runtime::effects::{BoxFuture, DeployRequest, Deployer, Outcome};
use crate::sim::fleet::FleetHandle;

#[derive(Debug, Clone)]
pub struct SimulatedDeployer {
    pub clock: Clock,
    pub duration: Duration,
    /// 0.0–1.0: deploys whose dice (seed, customer id) fall below it fail.
    pub failure_rate: f64,
    pub fleet: Option<FleetHandle>,
}

impl Deployer for SimulatedDeployer {
    fn deploy(&self, request: DeployRequest) -> BoxFuture<Outcome> {
        let this = self.clone();
        Box::pin(async move {
            let DeployRequest {
                seed,
                customer,
                version,
                rollback,
                ..
            } = request;
            tokio::time::sleep(this.clock.real_for(this.duration)).await;
            // Rollbacks of the simulation always succeed: the drill is about the deploy.
            if !rollback && unit_hash(seed, customer.as_str()) < this.failure_rate {
                return Outcome::failed(format!("simulated failure deploying {version}"));
            }
            if let Some(fleet) = &this.fleet {
                if let Err(e) = fleet.set_version(&customer, version.clone()) {
                    tracing::warn!("fleet did not take {version} for {customer}: {e}");
                }
            }
            let verb = if rollback {
                "rolled back to"
            } else {
                "deployed"
            };
            Outcome::ok(format!("{verb} {version} (simulated)"))
        })
    }
}

/// The release clock as the demo fleet reads it, so that faults that evolve over
/// time (a climbing error rate) follow release time.
pub fn fleet_clock(clock: &Clock) -> crate::sim::fleet::Clock {
    let clock = clock.clone();
    std::sync::Arc::new(move || clock.now())
}

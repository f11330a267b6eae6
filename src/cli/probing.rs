//! Starts health probing for a running release (the scheduler lives in the runtime).

use tokio::task::JoinHandle;

use crate::adapters::health::{ProbeLimits, Prober};
use crate::domain::Customer;
use crate::runtime::driver::ReleaseHandle;
use crate::runtime::probe_scheduler;
use crate::sim::fleet::FleetHandle;

/// None when the HTTP client cannot be built (logged): the release still runs,
/// only without health triggers.
pub fn start(
    handle: &ReleaseHandle,
    customers: &[Customer],
    fleet: Option<&FleetHandle>,
) -> Option<JoinHandle<()>> {
    match Prober::new(ProbeLimits::default()) {
        Ok(prober) => Some(probe_scheduler::start_probing(
            handle, customers, fleet, prober,
        )),
        Err(e) => {
            tracing::error!("health probing is off: {e}");
            None
        }
    }
}

//! The demo world in one call: the loopback fleet for the configured customers,
//! on the release clock, with a built-in scenario playing against it.
//!
//! `shipdeck demo` (and drills) need the same three things every time: a fleet that
//! answers for each customer, a clock shared with the release so that a fault "two
//! minutes in" lands two minutes of *release* time in, and the scenario driver. Doing
//! it here keeps the CLI thin and lets the integration tests build the same world.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::fleet::{Clock, FleetHandle, serve};
use super::scenario::{Scenario, ScenarioRun, drive};
use crate::domain::Customer;

/// How often (real time) the scenario driver looks at the clock. Steps are dated at
/// their scheduled instant whatever the lateness, so this only bounds how late a
/// fault becomes visible; 100 ms is under two release seconds even at `--speed 15`.
pub const SCENARIO_TICK: Duration = Duration::from_millis(100);

/// Serves `customers` on `127.0.0.1` (a free port) with `clock` (the release clock,
/// see `runtime::probe_scheduler::fleet_clock`) and plays the built-in scenario
/// `scenario` (`default`, `flaky`, `outage`) from now. Returns the fleet and the
/// scenario driver's task (it ends when the scenario is settled; abort it to stop
/// early). Errors say what is wrong: an unknown scenario (with the known names), a
/// scenario naming a customer that is not configured, a port that cannot be bound.
pub async fn start_demo_world(
    customers: &[Customer],
    clock: Clock,
    scenario: &str,
) -> Result<(FleetHandle, JoinHandle<()>), String> {
    start_demo_world_from(customers, clock, scenario, None).await
}

/// [`start_demo_world`] for a demo that is already under way (a background runner
/// taking over the demo's release): the scenario is played from `start`, the
/// release's start, so its steps land where they would have.
pub async fn start_demo_world_from(
    customers: &[Customer],
    clock: Clock,
    scenario: &str,
    start: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(FleetHandle, JoinHandle<()>), String> {
    let scenario = Scenario::builtin(scenario).map_err(|e| e.to_string())?;
    let file = format!("assets/demo/{}.json", scenario.name);
    scenario
        .check_customers(customers, &file)
        .map_err(|e| e.to_string())?;
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let fleet = serve(customers, bind, clock.clone())
        .await
        .map_err(|e| format!("cannot start the demo fleet on 127.0.0.1: {e}"))?;
    tracing::info!(scenario = %scenario.name, addr = %fleet.addr(), "demo world started");
    let run = ScenarioRun::new(scenario, start.unwrap_or_else(|| clock()));
    let driver = drive(run, fleet.clone(), clock, SCENARIO_TICK);
    Ok((fleet, driver))
}

/// The demo's configuration: the built-in one with every customer on v1.0.1, no
/// window-only customers, and a bug-fix policy whose enterprise gate needs two
/// signatures, the release captain's and the product owner's. Alone, the demo's
/// operator (alice, who holds both roles here) signs both; with friends attached,
/// bob (a second captain in the demo) and carol (product owner) sign one each.
pub fn demo_config() -> Result<crate::domain::Configuration, crate::config::ConfigErrors> {
    use crate::domain::{Approval, ReleaseType, Role, Version};
    let mut cfg = crate::config::load_builtin()?;
    for c in &mut cfg.customers {
        c.version = Version::new(1, 0, 1);
    }
    for o in cfg.deployment.overrides.values_mut() {
        o.window_only = false;
    }
    // In the demo every person of the roster is played by whoever runs it: a
    // second terminal may attach `--as bob`, and `approve --as carol` works.
    let me = crate::runtime::endpoint::user_name(crate::runtime::endpoint::current_uid());
    for p in &mut cfg.roster.people {
        p.os_users = vec![me.clone()];
        let extra = match p.name.as_str() {
            "alice" => Some("product_owner"),
            "bob" => Some("release_captain"),
            _ => None,
        };
        if let Some(role) = extra.map(Role::new) {
            if !p.roles.contains(&role) {
                p.roles.push(role);
            }
        }
    }
    if let Some(p) = cfg.policies.get_mut(&ReleaseType::BugFix) {
        p.approvals.starter_may_approve = true;
        p.approvals.one_person_many_roles = true;
        if let Some(w) = p.waves.iter_mut().find(|w| w.tier.as_str() == "enterprise") {
            w.approval = Approval::Manual {
                roles: vec![Role::new("release_captain"), Role::new("product_owner")],
            };
        }
    }
    Ok(cfg)
}

/// Puts the demo on the real deploy path: every customer deploys through the
/// `webhook` deployer to the fleet's `POST /deploy/{customer}`, polls the deploy's
/// status (from the `Location` header) until `live` or `failed`, and verifies the
/// live version at `/version` of the fleet's `/health/{customer}`. A deploy takes
/// the customer's configured simulated duration on the fleet. Call it once the
/// fleet runs (the URL holds its port), before planning.
pub fn deploy_through_fleet(cfg: &mut crate::domain::Configuration, fleet: &FleetHandle) {
    use crate::domain::{DeployTarget, HumanDuration, StatusPolling, Verify, WebhookTarget};
    for c in &mut cfg.customers {
        let took = c
            .deploy
            .expected_duration()
            .unwrap_or(HumanDuration::from_secs(30));
        c.deploy = DeployTarget::Webhook(WebhookTarget {
            url: Some(fleet.deploy_url_template()),
            url_env: None,
            query: Default::default(),
            headers: Vec::new(),
            body: None,
            timeout: Some(HumanDuration::from_secs(5)),
            retries: Some(2),
            backoff: Some(HumanDuration::from_secs(10)),
            status: Some(StatusPolling {
                url: None,
                url_pointer: None,
                headers: None,
                field: "/status".into(),
                success: vec!["live".into()],
                failure: vec!["failed".into()],
                interval: Some(HumanDuration::from_secs(10)),
                deadline: Some(HumanDuration::from_secs(took.as_secs() * 3 + 300)),
            }),
            verify: Some(Verify {
                pointer: Some("/version".into()),
                url: None,
                program: None,
                args: Vec::new(),
                deadline: Some(HumanDuration::from_secs(120)),
                interval: Some(HumanDuration::from_secs(5)),
            }),
            expected_duration: Some(took),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::domain::CustomerId;

    #[tokio::test]
    async fn serves_the_customers_and_refuses_unknown_scenarios() {
        let cfg = config::load_builtin().unwrap();
        let clock: Clock = std::sync::Arc::new(chrono::Utc::now);
        let err = start_demo_world(&cfg.customers, clock.clone(), "meltdown")
            .await
            .unwrap_err();
        assert!(err.contains("default"), "{err}");
        let few: Vec<Customer> = cfg
            .customers
            .iter()
            .filter(|c| c.tier.as_str() == "demo")
            .cloned()
            .collect();
        let err = start_demo_world(&few, clock.clone(), "default")
            .await
            .unwrap_err();
        assert!(err.contains("techstart"), "{err}");
        let (fleet, driver) = start_demo_world(&cfg.customers, clock, "default")
            .await
            .unwrap();
        assert!(fleet.customers().contains(&CustomerId::new("techstart")));
        driver.abort();
        fleet.shutdown().await;
    }
}

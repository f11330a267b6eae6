//! `shipdeck fleet [--customers N] [--port P] [--scenario NAME]`: serves the demo
//! fleet on loopback until Ctrl-C.
//!
//! For trying health sources by hand (curl, a browser, `shipdeck health` against an
//! `http` source), for load tests (wrk against 10,000 customers) and for drills run
//! from another shell. It serves `N` synthetic customers; a scenario names real
//! customers from the built-in configuration (`techstart`, `acme-corp`), so with one
//! those are served too.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use super::error::{CliError, CliResult, EXIT_OK};
use crate::config;
use crate::domain::Customer;
use crate::sim::{self, FleetHandle, Scenario, ScenarioRun, synthetic_customers, system_clock};

/// Serves `customers` synthetic customers on `127.0.0.1:port` (0: any free port),
/// playing the built-in `scenario` if given, until Ctrl-C.
pub async fn run(
    customers: usize,
    port: u16,
    scenario: Option<&str>,
    out: &mut dyn Write,
) -> CliResult {
    let mut served = synthetic_customers(customers);
    let scenario = match scenario {
        Some(name) => {
            let s = Scenario::builtin(name).map_err(|e| CliError::error(e.to_string()))?;
            let builtin = config::load_builtin().map_err(|e| {
                CliError::error(format!("the built-in configuration does not load: {e}"))
            })?;
            served.extend(builtin.customers);
            s.check_customers(&served, &format!("assets/demo/{}.json", s.name))
                .map_err(|e| CliError::error(e.to_string()))?;
            Some(s)
        }
        None => None,
    };
    if served.is_empty() {
        return Err(CliError::error(
            "nothing to serve: give --customers N with N of 1 or more",
        ));
    }
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let fleet = sim::serve(&served, bind, system_clock())
        .await
        .map_err(|e| CliError::error(format!("cannot listen on {bind}: {e}")).context("fleet"))?;
    let driver = scenario.map(|s| {
        let run = ScenarioRun::new(s, fleet.now());
        sim::drive(
            run,
            fleet.clone(),
            system_clock(),
            sim::demo_world::SCENARIO_TICK,
        )
    });
    // Watched before the banner: whoever reads the address may stop us at once,
    // and a signal then must end the fleet cleanly, not by its default action.
    let mut stops = crate::tui::terminal::shutdown_signals()
        .map_err(|e| CliError::error(format!("cannot wait for Ctrl-C: {e}")));
    let shown =
        banner(&fleet, &served, out).map_err(|e| CliError::error(format!("cannot write: {e}")));
    let waited = match (shown, stops.as_mut()) {
        (Ok(()), Ok(stops)) => {
            stops.recv().await;
            Ok(())
        }
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(CliError::error(e.to_string())),
    };
    if let Some(d) = driver {
        d.abort();
    }
    fleet.shutdown().await;
    waited?;
    let _ = writeln!(out, "fleet stopped");
    Ok(EXIT_OK)
}

fn banner(fleet: &FleetHandle, served: &[Customer], out: &mut dyn Write) -> std::io::Result<()> {
    let base = format!("http://{}", fleet.addr());
    writeln!(
        out,
        "demo fleet: {} customers at {base}/health/{{id}}",
        served.len()
    )?;
    if let Some(first) = served.first() {
        writeln!(out, "try: curl -s {}", fleet.url_for(&first.id))?;
    }
    writeln!(out, "Ctrl-C stops it.")?;
    out.flush()
}

//! The demo fleet as a plain server, for measuring it from outside (wrk) until
//! `shipdeck fleet` exists. Ignored: it serves for a while instead of asserting.
//!
//! ```text
//! SHIPDECK_FLEET_PORT=18080 SHIPDECK_FLEET_SECS=30 \
//!   cargo test --release --test fleet_serve -- --ignored --nocapture &
//! wrk -t2 -c256 -d5s http://127.0.0.1:18080/health/c-00001
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use shipdeck::sim;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "serves the fleet for SHIPDECK_FLEET_SECS seconds for an outside load tool"]
async fn serve_fleet_for_load_tools() {
    let port: u16 = std::env::var("SHIPDECK_FLEET_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let secs: u64 = std::env::var("SHIPDECK_FLEET_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let customers = sim::synthetic_customers(10_000);
    let bind = SocketAddr::from(([127, 0, 0, 1], port));
    let fleet = sim::serve(&customers, bind, sim::system_clock())
        .await
        .unwrap();
    println!(
        "fleet of {} customers: {}",
        customers.len(),
        fleet.url_for(&customers[0].id)
    );
    tokio::time::sleep(Duration::from_secs(secs)).await;
    fleet.shutdown().await;
}

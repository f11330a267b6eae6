//! The demo on the real deploy path: its customers deploy through the `webhook`
//! deployer to the loopback fleet's `POST /deploy/{customer}`, poll the deploy's
//! status and verify the live version at the fleet's `/health/{customer}`. A
//! scripted wrong version is caught by verify and rolled back, and the release
//! pauses. Real sockets, a scaled release clock, bounded waits.

use std::time::Duration;

use shipdeck::cli::wiring::CliWiring;
use shipdeck::domain::{CustomerId, DeployTarget, ReleaseType, Version};
use shipdeck::engine::{Command, CustomerStatus, EventKind, PauseCause, ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::journal::read_all;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::sim::DeployFault;
use shipdeck::sim::demo_world::{demo_config, deploy_through_fleet, start_demo_world};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_deploys_through_the_webhook_deployer_and_verifies_the_live_version() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = demo_config().unwrap();
    let clock = Clock::with_speed(Some(600.0), None);
    let (fleet, scenario) = start_demo_world(
        &cfg.customers,
        shipdeck::sim::fleet_clock(&clock),
        "default",
    )
    .await
    .unwrap();
    deploy_through_fleet(&mut cfg, &fleet);
    assert!(
        cfg.customers
            .iter()
            .all(|c| matches!(c.deploy, DeployTarget::Webhook(_)))
    );
    let sales = CustomerId::new("demo-sales");
    fleet.script_deploys(&sales, Some(DeployFault::WrongVersion));
    let plan = ReleasePlan::build(
        &cfg,
        Version::new(1, 0, 2),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .unwrap();
    let wiring = CliWiring::shared(&cfg.customers, Some(fleet.clone()));
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(tmp.path()),
            clock,
            wiring: wiring.clone(),
        },
        "v1.0.2",
        Some(plan),
        "alice",
    )
    .unwrap();
    let probing = wiring.start_probing(&handle);
    for key in handle.snapshot().state.unticked_gating_all() {
        handle
            .send("alice", Command::tick(&key, true))
            .await
            .unwrap();
    }
    // Until the demo wave's two deploys are settled (bounded, real time).
    let mut snaps = handle.snapshots();
    let settled = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let s = handle.snapshot().state;
            let demo = s.wave_customers(0);
            if demo.iter().all(|c| {
                matches!(
                    c.status,
                    CustomerStatus::Verifying
                        | CustomerStatus::Healthy
                        | CustomerStatus::RolledBack
                        | CustomerStatus::Failed
                )
            }) && s.is_paused()
            {
                return;
            }
            let _ = snaps.changed().await;
        }
    })
    .await;
    if let Some(p) = probing {
        p.abort();
    }
    let state = handle.stop().await.unwrap();
    scenario.abort();
    assert!(
        settled.is_ok(),
        "the demo wave did not settle: {:?}",
        state
            .customers
            .iter()
            .map(|c| (&c.id, c.status))
            .collect::<Vec<_>>()
    );
    let events: Vec<EventKind> =
        read_all::<shipdeck::engine::Event>(&tmp.path().join("releases/v1.0.2/journal.jsonl"))
            .unwrap()
            .into_events()
            .map(|e| e.event)
            .collect();
    let detail = |id: &str| {
        events.iter().find_map(|e| match e {
            EventKind::DeployFinished {
                customer,
                ok,
                detail,
            } if customer.as_str() == id => Some((*ok, detail.clone())),
            _ => None,
        })
    };
    let (ok, main) = detail("demo-main").expect("demo-main deployed");
    assert!(ok, "{main}");
    assert!(
        main.starts_with("status \"live\" at /deploy/demo-main/status/")
            && main.ends_with("; live version v1.0.2"),
        "{main}"
    );
    assert_eq!(
        fleet.version(&CustomerId::new("demo-main")),
        Some(Version::new(1, 0, 2))
    );
    let main_deploys = fleet.deploys(&CustomerId::new("demo-main"));
    assert_eq!(main_deploys.len(), 1);
    assert_eq!(main_deploys[0].requests, 1);
    let (ok, sales_detail) = detail("demo-sales").expect("demo-sales finished");
    assert!(!ok);
    assert!(
        sales_detail.starts_with("live version is v1.0.1, expected v1.0.2"),
        "{sales_detail}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, EventKind::RollbackStarted { customer, .. } if customer == &sales)
        )
    );
    assert!(events.iter().any(|e| matches!(
        e,
        EventKind::Paused {
            cause: PauseCause::DeployFailed,
            ..
        }
    )));
    fleet.shutdown().await;
}

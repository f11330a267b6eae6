//! The runtime decides on a burst of effect results (a probe round over the fleet)
//! and journals them together: one fsync and one snapshot per burst, not per result,
//! and no result lost.

use chrono::Utc;
use shipdeck::config;
use shipdeck::domain::{CustomerId, ProbeOutcome, ReleaseType};
use shipdeck::engine::{EffectResult, Event, EventKind, ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::journal;
use shipdeck::runtime::state_dir::StateDir;

const BURST: usize = 1_000;

#[tokio::test(start_paused = true)]
async fn a_burst_of_results_is_journaled_in_full_with_few_snapshots() {
    let cfg = config::load_builtin().expect("built-in config");
    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = StateDir::at(dir.path());
    let path = state_dir.journal_path("v1.0.1");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("version"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let opts = RuntimeOptions {
        state_dir,
        clock: Clock::scaled(Utc::now(), 1.0),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    let handle = driver::open(opts, "v1.0.1", Some(plan), "alice").expect("open");
    let ids: Vec<CustomerId> = cfg.customers.iter().map(|c| c.id.clone()).collect();
    let before = handle.snapshot();
    let (serial_before, applied_before) = (before.serial, before.state.events_applied);
    // The release waits on its pre-release checklist, so customers are pending and
    // every probe is recorded. On this single-threaded runtime the loop cannot run
    // until the test awaits, so the whole burst is queued before it looks.
    for i in 0..BURST {
        handle
            .results
            .send(EffectResult::Probed {
                customer: ids[i % ids.len()].clone(),
                outcome: ProbeOutcome::Down {
                    reason: format!("probe {i}: connection refused"),
                },
            })
            .expect("runtime running");
    }
    let mut rx = handle.snapshots();
    let samples = |events: Vec<Event>| {
        events
            .iter()
            .filter(|e| matches!(e.event, EventKind::HealthSampled { .. }))
            .count()
    };
    loop {
        let applied = rx.borrow_and_update().state.events_applied;
        if applied >= applied_before + BURST as u64 {
            break;
        }
        rx.changed().await.expect("runtime running");
    }
    let published = handle.snapshot().serial - serial_before;
    assert!(
        published <= (BURST / 100) as u64,
        "{published} snapshots for a burst of {BURST} results: each result published alone"
    );
    handle.stop().await.expect("clean stop");
    let replay = journal::read_all::<Event>(&path).expect("journal");
    assert_eq!(
        samples(replay.into_events().collect()),
        BURST,
        "every result is on disk"
    );
}

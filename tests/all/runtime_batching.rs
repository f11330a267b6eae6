//! The runtime decides on a burst of effect results (a probe round over the fleet)
//! and journals them together: one fsync and one snapshot per burst, not per result,
//! and no result lost. The fsyncs are counted through the journal's `Durability`
//! seam.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use shipdeck::config;
use shipdeck::domain::{CustomerId, ProbeOutcome, ReleaseType};
use shipdeck::engine::{EffectResult, Event, EventKind, ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::journal;
use shipdeck::runtime::state_dir::StateDir;

const BURST: usize = 1_000;

/// Counts `fdatasync`s of journals (and does them).
#[derive(Default)]
struct CountSyncs(AtomicUsize);

impl journal::Durability for CountSyncs {
    fn sync_data(&self, file: &std::fs::File) -> std::io::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        file.sync_data()
    }

    fn sync_dir(&self, dir: &std::path::Path) -> std::io::Result<()> {
        shipdeck::runtime::state_dir::sync_dir(dir)
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_results_is_journaled_with_one_fsync_and_one_snapshot() {
    let cfg = config::load_builtin().expect("built-in config");
    let dir = tempfile::tempdir().expect("tempdir");
    let syncs = Arc::new(CountSyncs::default());
    let _counted = journal::use_durability_under(dir.path(), syncs.clone());
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
    let syncs_before = syncs.0.load(Ordering::SeqCst);
    assert!(syncs_before >= 1, "opening the release journaled its start");
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
    let synced = syncs.0.load(Ordering::SeqCst) - syncs_before;
    // The whole burst was queued before the loop looked (and is under its batch
    // limit of 1,024): one decision round, one write, one fsync, one snapshot.
    assert_eq!(synced, 1, "{synced} fsyncs for a burst of {BURST} results");
    assert_eq!(
        published, 1,
        "{published} snapshots for a burst of {BURST} results"
    );
    handle.stop().await.expect("clean stop");
    let replay = journal::read_all::<Event>(&path).expect("journal");
    assert_eq!(
        samples(replay.into_events().collect()),
        BURST,
        "every result is on disk"
    );
}

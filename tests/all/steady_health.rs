//! Journal what decides, summarise the rest: steady healthy samples of healthy
//! customers are tallied and journaled once an hour as summaries; samples a rule
//! reads (baselines, soaking customers, an armed trigger window) stay exact.

use chrono::{TimeDelta, Utc};
use shipdeck::config;
use shipdeck::domain::{CustomerId, HealthSample, ProbeOutcome, ReleaseType};
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::{
    CustomerStatus, EffectResult, Event, EventKind, Input, Phase, ReleasePlan, Selection, query,
};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::journal;
use shipdeck::runtime::state_dir::StateDir;

fn up(e: f64, l: f64) -> ProbeOutcome {
    ProbeOutcome::Up {
        sample: HealthSample {
            error_rate: Some(e),
            latency_p95_ms: Some(l),
        },
    }
}

fn plan() -> ReleasePlan {
    let cfg = config::load_builtin().expect("config");
    ReleasePlan::build(
        &cfg,
        "v1.0.3".parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan")
}

/// A security drill played into monitoring, every customer probed healthy enough
/// times to have a baseline and a journaled healthy last check.
fn monitored() -> Drill {
    let t0 = "2026-11-16T10:00:00Z".parse().expect("t0");
    let mut d = Drill::new(plan(), "alice", t0).expect("drill");
    d.tick_gating_items("alice");
    for _ in 0..6 {
        for id in ids(&d) {
            let _ = d.input(Input::Result(EffectResult::Probed {
                customer: id,
                outcome: up(0.5, 100.0),
            }));
        }
        d.advance(TimeDelta::minutes(30));
    }
    d.advance(TimeDelta::hours(20));
    d
}

fn ids(d: &Drill) -> Vec<CustomerId> {
    d.state.customers.iter().map(|c| c.id.clone()).collect()
}

#[test]
fn only_a_healthy_customers_samples_in_an_unarmed_window_are_steady() {
    let mut d = monitored();
    let healthy: Vec<CustomerId> = d
        .state
        .customers
        .iter()
        .filter(|c| c.status == CustomerStatus::Healthy)
        .map(|c| c.id.clone())
        .collect();
    assert!(!healthy.is_empty(), "no healthy customer to probe");
    let acme = healthy[0].clone();
    // A journaled healthy check first: `last` must be healthy.
    d.input(Input::Result(EffectResult::Probed {
        customer: acme.clone(),
        outcome: up(0.5, 100.0),
    }))
    .expect("probe");
    assert!(query::steady_sample(&d.state, &acme, &up(0.6, 105.0)).is_some());
    // Past a threshold, a failure, no data: not steady.
    assert!(query::steady_sample(&d.state, &acme, &up(40.0, 100.0)).is_none());
    assert!(query::steady_sample(&d.state, &acme, &up(0.5, 900.0)).is_none());
    let down = ProbeOutcome::Down {
        reason: "HTTP 503".into(),
    };
    assert!(query::steady_sample(&d.state, &acme, &down).is_none());
    assert!(query::steady_sample(&d.state, &acme, &up(-1.0, 100.0)).is_none());
    // Once a failure is in the window, every sample counts until it is gone.
    d.input(Input::Result(EffectResult::Probed {
        customer: acme.clone(),
        outcome: down,
    }))
    .expect("probe");
    assert!(
        query::steady_sample(&d.state, &acme, &up(0.5, 100.0)).is_none(),
        "an armed window sees every sample"
    );
}

#[tokio::test(start_paused = true)]
async fn steady_samples_become_hourly_summaries_and_the_rest_stays_exact() {
    let cfg = config::load_builtin().expect("config");
    let dir = tempfile::tempdir().expect("dir");
    let state_dir = StateDir::at(dir.path());
    let path = state_dir.journal_path("v1.0.3");
    // Play the release into monitoring on the manual clock, then hand the journal
    // to the real runtime.
    let d = monitored();
    assert!(
        matches!(d.state.phase, Phase::Rollout | Phase::Monitoring),
        "{:?}",
        d.state.phase
    );
    {
        let (mut w, _) = journal::JournalWriter::<Event>::open(&path).expect("journal");
        w.append_batch(&d.log).expect("append");
    }
    let opts = RuntimeOptions {
        state_dir,
        // Speed 2: a scaled clock on tokio's paused time (speed 1 is the system clock).
        clock: Clock::scaled(d.now, 2.0),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    let handle = driver::open(opts, "v1.0.3", None, "alice").expect("open");
    let healthy: Vec<CustomerId> = handle
        .snapshot()
        .state
        .customers
        .iter()
        .filter(|c| c.status == CustomerStatus::Healthy)
        .map(|c| c.id.clone())
        .collect();
    let before = handle.snapshot().next_seq;
    // 30 rounds of healthy probes, ten seconds apart: 30 × N samples.
    for _ in 0..30 {
        for id in &healthy {
            handle
                .results
                .send(EffectResult::Probed {
                    customer: id.clone(),
                    outcome: up(0.5, 101.0),
                })
                .expect("running");
        }
        tokio::time::advance(std::time::Duration::from_secs(10)).await;
    }
    // One failure is journaled exactly.
    handle
        .results
        .send(EffectResult::Probed {
            customer: healthy[0].clone(),
            outcome: ProbeOutcome::Down {
                reason: "HTTP 503".into(),
            },
        })
        .expect("running");
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    let during = handle.snapshot().next_seq - before;
    // An hour later the next steady sample closes the period.
    tokio::time::advance(std::time::Duration::from_secs(3600)).await;
    let mut snaps = handle.snapshots();
    snaps.borrow_and_update();
    handle
        .results
        .send(EffectResult::Probed {
            customer: healthy[1].clone(),
            outcome: up(0.5, 99.0),
        })
        .expect("running");
    // The period closes when that sample is taken: wait for its summary.
    let summarised_any = |h: &driver::ReleaseHandle| {
        h.snapshot()
            .state
            .customers
            .iter()
            .any(|c| c.health.summarized > 0)
    };
    for _ in 0..50 {
        if summarised_any(&handle) {
            break;
        }
        snaps.changed().await.expect("running");
    }
    assert!(summarised_any(&handle), "no summary while running");
    let summarised = handle.snapshot().next_seq;
    handle.stop().await.expect("stop");

    let events: Vec<Event> = journal::read_all::<Event>(&path)
        .expect("read")
        .into_events()
        .collect();
    let tail = &events[before as usize..];
    let sampled = tail
        .iter()
        .filter(|e| matches!(e.event, EventKind::HealthSampled { .. }))
        .count();
    assert_eq!(sampled, 1, "only the failure is journaled one by one");
    assert!(
        during <= 2,
        "{during} events for {} samples",
        30 * healthy.len()
    );
    let summaries: Vec<&Event> = tail
        .iter()
        .filter(|e| matches!(e.event, EventKind::HealthSummarized { .. }))
        .collect();
    assert!(!summaries.is_empty(), "the period was summarised");
    let counted: u64 = summaries
        .iter()
        .map(|e| match &e.event {
            EventKind::HealthSummarized { customers, .. } => {
                customers.iter().map(|c| c.count).sum::<u64>()
            }
            _ => 0,
        })
        .sum();
    assert_eq!(
        counted,
        30 * healthy.len() as u64 + 1,
        "every steady sample counted"
    );
    assert!(
        events[..summarised as usize]
            .iter()
            .any(|e| matches!(e.event, EventKind::HealthSummarized { .. })),
        "the hour closed the period while running, not only at stop"
    );
    let _ = Utc::now();
}

//! Rollback triggers end to end: the real runtime (`driver::open`, journal in a temp
//! state dir), the real loopback fleet, the real prober over HTTP, and the probe
//! scheduler in between. The release clock runs `SPEED` times real time, so a release
//! of several minutes passes in a second or two; tests wait on snapshots (bounded),
//! never sleep on the wall clock. Real sockets need real time (tokio's paused time
//! would jump over a reply in flight), so nothing here depends on how fast the
//! machine is: the outlier is a blip of fixed release time that ends by itself,
//! probes time out after a generous half second, and the tests wait for what must
//! happen, in order, rather than count what happened within some time.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::adapters::health::{ProbeLimits, Prober};
use shipdeck::cli::wiring::CliWiring;
use shipdeck::config;
use shipdeck::domain::{
    CustomerId, DeployTarget, HumanDuration, ProbeOutcome, ReleaseType, TriggerAction, Version,
};
use shipdeck::engine::triggers::TriggerKind;
use shipdeck::engine::{
    CustomerStatus, Event, EventKind, PauseCause, Phase, ReleasePlan, ReleaseState, Selection,
    WaveStatus,
};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions, Snapshot};
use shipdeck::runtime::journal;
use shipdeck::runtime::probe_scheduler;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::sim::fleet_clock;
use shipdeck::sim::{self, Fault, FleetHandle};
use tokio::task::JoinHandle;

/// Release seconds per real second: a 10 s probe interval is 50 ms of real time.
const SPEED: f64 = 200.0;
/// The most any wait may take in real time; the tests need about 2 s each.
const PATIENCE: Duration = Duration::from_secs(20);
const LABEL: &str = "v1.0.1";

fn id(s: &str) -> CustomerId {
    CustomerId::new(s)
}

fn v101() -> Version {
    Version::new(1, 0, 1)
}

struct World {
    _dir: tempfile::TempDir,
    handle: ReleaseHandle,
    fleet: FleetHandle,
    scheduler: JoinHandle<()>,
    journal: PathBuf,
}

/// A security release of v1.0.1 to demo-main, TechStart and Nimbus Analytics:
/// deploys take 10 s, soak 90 s, startup starts 2 min after demo, probes every 10 s,
/// a baseline of 3 samples, triggers over a window of 3, monitoring 8 min.
async fn start() -> World {
    let mut cfg = config::load_builtin().expect("built-in config");
    cfg.customers
        .retain(|c| ["demo-main", "techstart", "nimbus-analytics"].contains(&c.id.as_str()));
    for c in &mut cfg.customers {
        c.deploy = DeployTarget::Simulated {
            duration: HumanDuration::from_secs(10),
            failure_rate: 0.0,
        };
    }
    // No manual gates: these tests are about health, not checklists.
    cfg.checklists.clear();
    let policy = cfg
        .policies
        .get_mut(&ReleaseType::Security)
        .expect("security policy");
    policy.soak = HumanDuration::from_secs(90);
    policy.rollback_window = HumanDuration::from_mins(10);
    // Long enough that a busy machine still injects its fault while monitoring.
    policy.monitoring.period = HumanDuration::from_mins(8);
    policy.monitoring.enhanced = false;
    policy.monitoring.probe_interval = HumanDuration::from_secs(10);
    for w in &mut policy.waves {
        if w.tier.as_str() != "demo" {
            w.delay = HumanDuration::from_mins(2);
        }
    }
    policy.triggers.baseline_samples = 3;
    policy.triggers.window = 3;
    policy.triggers.consecutive_failures = 3;
    assert_eq!(
        policy.triggers.action,
        TriggerAction::RollbackCustomerAndPause
    );
    assert_eq!(policy.triggers.error_rate_points, 5.0);

    let dir = tempfile::tempdir().expect("tempdir");
    let state_dir = StateDir::at(dir.path());
    let journal = state_dir.journal_path(LABEL);
    let clock = Clock::scaled(Utc::now(), SPEED);
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let fleet = sim::serve(&cfg.customers, bind, fleet_clock(&clock))
        .await
        .expect("fleet");
    let plan = ReleasePlan::build(&cfg, v101(), ReleaseType::Security, Selection::All, false)
        .expect("plan");
    let opts = RuntimeOptions {
        state_dir,
        clock,
        wiring: CliWiring::shared(&cfg.customers, Some(fleet.clone())),
    };
    let handle = driver::open(opts, LABEL, Some(plan), "alice").expect("open");
    // Hangs fail after half a second of real time (100 s of release time), not 5 s:
    // long enough that a busy machine does not time out a healthy probe.
    let limits = ProbeLimits {
        default_timeout: Duration::from_millis(500),
        ..ProbeLimits::default()
    };
    let prober = Prober::new(limits).expect("prober");
    let scheduler = probe_scheduler::start_probing(
        &handle,
        CliWiring::new(&cfg.customers, Some(fleet.clone())).health_sources(&plan_of(&handle)),
        prober,
    );
    World {
        _dir: dir,
        handle,
        fleet,
        scheduler,
        journal,
    }
}

impl World {
    /// Waits (bounded, on snapshots) until `pred` holds; returns that snapshot.
    async fn until(&self, what: &str, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let mut rx = self.handle.snapshots();
        let waited = tokio::time::timeout(PATIENCE, async {
            loop {
                {
                    let snap = rx.borrow_and_update();
                    if pred(&snap) {
                        return Some(snap.clone());
                    }
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        })
        .await;
        match waited {
            Ok(Some(s)) => s,
            _ => {
                let s = self.handle.snapshot();
                let statuses: Vec<String> = s
                    .state
                    .customers
                    .iter()
                    .map(|c| format!("{} {:?} last={:?}", c.id, c.status, c.health.last))
                    .collect();
                panic!(
                    "gave up waiting for {what}; phase {:?}, paused {:?}, {statuses:#?}",
                    s.state.phase, s.state.pause
                );
            }
        }
    }

    fn events(&self) -> Vec<Event> {
        journal::read_all::<Event>(&self.journal)
            .expect("journal")
            .into_events()
            .collect()
    }

    async fn finish(self) -> Arc<ReleaseState> {
        self.scheduler.abort();
        let state = self.handle.stop().await.expect("runtime stops cleanly");
        self.fleet.shutdown().await;
        state
    }
}

fn status(s: &Snapshot, c: &str) -> CustomerStatus {
    s.state
        .customer(&id(c))
        .map(|c| c.status)
        .expect("customer in plan")
}

fn triggers(
    events: &[Event],
) -> Vec<(
    DateTime<Utc>,
    CustomerId,
    TriggerKind,
    shipdeck::engine::triggers::Evidence,
)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => Some((e.at, customer.clone(), *trigger, evidence.clone())),
            _ => None,
        })
        .collect()
}

fn position(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> Option<usize> {
    events.iter().position(|e| pred(&e.event))
}

fn error_rate_of(o: &ProbeOutcome) -> Option<f64> {
    match o {
        ProbeOutcome::Up { sample } => sample.error_rate,
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_climb_rolls_back_techstart_only_and_pauses() {
    let w = start().await;
    w.fleet
        .inject_when(
            &id("techstart"),
            Fault::ErrorRateClimb {
                to: 12.0,
                over: HumanDuration::from_secs(20),
            },
            v101(),
        )
        .expect("inject");
    let snap = w
        .until("TechStart rolled back", |s| {
            status(s, "techstart") == CustomerStatus::RolledBack
        })
        .await;

    let events = w.events();
    let fired = triggers(&events);
    assert_eq!(fired.len(), 1, "one trigger, on TechStart only: {fired:#?}");
    let (_, customer, kind, evidence) = &fired[0];
    assert_eq!(
        (customer.as_str(), *kind),
        ("techstart", TriggerKind::ErrorRate)
    );
    let baseline = evidence.baseline.expect("baseline in evidence");
    let base_rate = baseline.error_rate.expect("baseline error rate");
    assert!(
        (base_rate - 0.4).abs() < 0.01,
        "baseline is TechStart's pre-deploy mean: {baseline:?}"
    );
    assert_eq!(
        evidence.samples.len(),
        3,
        "the window's samples: {evidence:?}"
    );
    for s in &evidence.samples {
        let rate = error_rate_of(s).expect("up samples with figures");
        assert!(
            rate > base_rate + 5.0,
            "every sample in the window is over the threshold: {evidence:?}"
        );
    }
    assert!(
        evidence.summary.contains("baseline 0.4%"),
        "{}",
        evidence.summary
    );

    // The baseline was taken before TechStart's deploy started.
    let baseline_at = position(
        &events,
        |e| matches!(e, EventKind::BaselineRecorded { customer, .. } if customer.as_str() == "techstart"),
    );
    let deploy_at = position(
        &events,
        |e| matches!(e, EventKind::DeployStarted { customer, .. } if customer.as_str() == "techstart"),
    );
    assert!(baseline_at.expect("baseline recorded") < deploy_at.expect("deployed"));

    // Default action: roll back that customer and pause the release.
    let pause = snap
        .state
        .pause
        .as_ref()
        .expect("paused after the rollback");
    assert_eq!(pause.cause, PauseCause::RollbackLock);
    assert!(pause.reason.contains("error rate"), "{}", pause.reason);
    assert_eq!(
        w.fleet.version(&id("techstart")),
        Some(Version::new(1, 0, 0)),
        "the fleet runs the old version again"
    );
    // Others untouched.
    assert!(matches!(
        status(&snap, "nimbus-analytics"),
        CustomerStatus::Verifying | CustomerStatus::Healthy
    ));
    assert_eq!(status(&snap, "demo-main"), CustomerStatus::Healthy);
    assert_eq!(w.fleet.version(&id("nimbus-analytics")), Some(v101()));
    let rollbacks = events
        .iter()
        .filter(|e| matches!(e.event, EventKind::RollbackStarted { .. }))
        .count();
    assert_eq!(rollbacks, 1);
    w.finish().await;
}

fn error_rate_samples(events: &[Event], customer: &str) -> Vec<(DateTime<Utc>, f64)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::HealthSampled {
                customer: c,
                outcome,
            } if c.as_str() == customer => error_rate_of(outcome).map(|r| (e.at, r)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_outlier_does_not_trip() {
    let w = start().await;
    w.until("TechStart verifying with a post-deploy sample", |s| {
        s.state
            .customer(&id("techstart"))
            .is_some_and(|c| c.status == CustomerStatus::Verifying && !c.health.recent.is_empty())
    })
    .await;
    // A blip of 12 % errors (baseline 0.4 %, limit 5.4 %) lasting one probe interval
    // of release time, gone by itself. The scheduler probes a customer at most once
    // per slot of its interval, so however late anything runs, at most two probes
    // fall in the blip: fewer than the window of three. A blip no probe happened to
    // see is tried again, once a normal sample shows it over.
    let mut outliers = 0;
    for attempt in 1..=5 {
        let until = w.fleet.now() + TimeDelta::seconds(10);
        w.fleet
            .inject_until(
                &id("techstart"),
                Fault::ErrorRateClimb {
                    to: 12.0,
                    over: HumanDuration::ZERO,
                },
                until,
            )
            .expect("inject");
        let journal = w.journal.clone();
        w.until("a normal sample after the blip", |s| {
            s.now > until
                && error_rate_samples(
                    &journal::read_all::<Event>(&journal)
                        .map(|r| r.into_events().collect::<Vec<_>>())
                        .unwrap_or_default(),
                    "techstart",
                )
                .iter()
                .any(|(at, rate)| *at >= until && *rate < 5.4)
        })
        .await;
        outliers = error_rate_samples(&w.events(), "techstart")
            .iter()
            .filter(|(_, rate)| *rate > 5.4)
            .count();
        if outliers > 0 {
            break;
        }
        assert!(attempt < 5, "no probe saw any of five blips");
    }
    assert!(
        (1..3).contains(&outliers),
        "{outliers} outliers: fewer than the window"
    );
    w.until("TechStart healthy after its soak", |s| {
        status(s, "techstart") == CustomerStatus::Healthy
    })
    .await;

    let events = w.events();
    assert!(
        triggers(&events).is_empty(),
        "no trigger: {:#?}",
        triggers(&events)
    );
    assert_eq!(w.fleet.version(&id("techstart")), Some(v101()));
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_and_server_error_trip_consecutive_failures_with_the_reason() {
    let w = start().await;
    w.fleet
        .inject_when(&id("techstart"), Fault::Hang, v101())
        .expect("inject");
    w.fleet
        .inject_when(&id("nimbus-analytics"), Fault::ServerError, v101())
        .expect("inject");
    let snap = w
        .until("both rolled back", |s| {
            status(s, "techstart") == CustomerStatus::RolledBack
                && status(s, "nimbus-analytics") == CustomerStatus::RolledBack
        })
        .await;
    let fired = triggers(&w.events());
    assert_eq!(fired.len(), 2, "{fired:#?}");
    for (_, customer, kind, evidence) in &fired {
        assert_eq!(*kind, TriggerKind::ConsecutiveFailures);
        assert_eq!(evidence.samples.len(), 3);
        assert!(
            evidence.samples.iter().all(ProbeOutcome::is_down),
            "{evidence:?}"
        );
        let reason = match customer.as_str() {
            "techstart" => "timed out after 500ms",
            "nimbus-analytics" => "HTTP 500",
            other => panic!("trigger on {other}"),
        };
        assert!(
            evidence.summary.contains(reason),
            "{customer}: {}",
            evidence.summary
        );
        assert!(
            evidence.summary.starts_with("3 consecutive failed checks"),
            "{}",
            evidence.summary
        );
    }
    assert!(
        snap.state.pause.is_some(),
        "paused after the first rollback"
    );
    assert_eq!(status(&snap, "demo-main"), CustomerStatus::Healthy);
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_data_holds_the_customer_and_says_why() {
    let w = start().await;
    w.fleet
        .inject_when(&id("techstart"), Fault::NoData, v101())
        .expect("inject");
    // Well past TechStart's soak, with Nimbus done.
    let snap = w
        .until("soak over for TechStart", |s| {
            let Some(c) = s.state.customer(&id("techstart")) else {
                return false;
            };
            c.soak_until
                .is_some_and(|t| s.now > t + TimeDelta::seconds(40))
                && status(s, "nimbus-analytics") == CustomerStatus::Healthy
        })
        .await;
    let c = snap.state.customer(&id("techstart")).expect("techstart");
    assert_eq!(c.status, CustomerStatus::Verifying, "held, not healthy");
    match &c.health.last {
        Some(ProbeOutcome::Inconclusive { reason }) => {
            assert!(reason.starts_with("no data"), "{reason}")
        }
        other => panic!("last outcome {other:?}"),
    }
    assert_eq!(
        snap.state.waves[1].status,
        WaveStatus::Running,
        "the startup wave waits on TechStart"
    );
    assert_eq!(snap.state.phase, Phase::Rollout);
    assert!(snap.state.pause.is_none(), "holding is not pausing");
    let events = w.events();
    assert!(triggers(&events).is_empty(), "no data never rolls back");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, EventKind::RollbackStarted { .. }))
    );
    let inconclusive = events
        .iter()
        .filter(|e| matches!(&e.event, EventKind::HealthSampled { customer, outcome: ProbeOutcome::Inconclusive { .. } }
            if customer.as_str() == "techstart"))
        .count();
    assert!(
        inconclusive >= 3,
        "the journal says why it holds: {inconclusive} inconclusive samples"
    );

    // Data again: the hold lifts and the rollout completes.
    w.fleet.clear_faults(&id("techstart")).expect("clear");
    w.until("monitoring", |s| s.state.phase == Phase::Monitoring)
        .await;
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_keeps_probing_rolls_back_inside_the_window_and_ends() {
    let w = start().await;
    let snap = w
        .until("rollout complete", |s| s.state.phase == Phase::Monitoring)
        .await;
    let rolled_out = snap.state.rollout_completed_at.expect("completed at");
    let until = snap.state.monitoring_until.expect("monitoring until");
    assert_eq!(until - rolled_out, TimeDelta::minutes(8));
    // Probing goes on in monitoring: every customer sampled twice after the rollout
    // completed (waited for, not counted against the clock). A sample is journaled
    // one by one, or steady and tallied for the hourly summary.
    let steady = |s: &Snapshot, c: &str| {
        s.state
            .customer(&CustomerId::new(c))
            .map_or(0, |c| c.health.steady_seen)
    };
    let at_rollout = w.handle.snapshot();
    let journal = w.journal.clone();
    let probed_twice = move |s: &Snapshot| {
        let events = journal::read_all::<Event>(&journal)
            .map(|r| r.into_events().collect::<Vec<_>>())
            .unwrap_or_default();
        ["demo-main", "techstart", "nimbus-analytics"].iter().all(|c| {
            let journaled = events
                .iter()
                .filter(|e| {
                    e.at > rolled_out
                        && matches!(&e.event, EventKind::HealthSampled { customer, .. } if customer.as_str() == *c)
                })
                .count() as u64;
            journaled + steady(s, c) - steady(&at_rollout, c) >= 2
        })
    };
    let snap = w
        .until("every customer probed twice in monitoring", probed_twice)
        .await;
    assert_eq!(snap.state.phase, Phase::Monitoring, "still monitoring");

    // Trouble in monitoring, inside the rollback window: rolled back, no pause.
    w.fleet
        .inject(&id("nimbus-analytics"), Fault::ServerError)
        .expect("inject");
    let snap = w
        .until("Nimbus rolled back", |s| {
            status(s, "nimbus-analytics") == CustomerStatus::RolledBack
        })
        .await;
    let fired = triggers(&w.events());
    assert_eq!(fired.len(), 1, "{fired:#?}");
    assert!(fired[0].0 > rolled_out && fired[0].1.as_str() == "nimbus-analytics");
    assert_eq!(fired[0].2, TriggerKind::ConsecutiveFailures);
    assert_eq!(snap.state.phase, Phase::Monitoring);
    assert!(snap.state.pause.is_none());

    // The period ends: Completed, and the scheduler's task ends by itself.
    let World {
        _dir,
        handle,
        fleet,
        scheduler,
        journal: _,
    } = w;
    tokio::time::timeout(PATIENCE, scheduler)
        .await
        .expect("scheduler ends with monitoring")
        .expect("no panic");
    let state = tokio::time::timeout(PATIENCE, handle.task)
        .await
        .expect("runtime ends")
        .expect("no panic")
        .expect("ok");
    assert_eq!(state.phase, Phase::Completed);
    assert!(state.ended_at.is_some_and(|t| t >= until));
    fleet.shutdown().await;
}

fn plan_of(handle: &ReleaseHandle) -> shipdeck::engine::ReleasePlan {
    shipdeck::engine::ReleasePlan::clone(&handle.snapshot().state.plan)
}

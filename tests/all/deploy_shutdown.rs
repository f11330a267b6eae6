//! A deploy is never killed halfway on shutdown: stopping the runtime waits for the
//! deploys in flight and journals their results; detaching (a second Ctrl-C or `q`)
//! leaves them running and in flight in the journal, and a resume re-issues them
//! with the same idempotency key and the journaled attempt. The cockpit says what
//! it waits for. On paused tokio time, with a deployer the test opens and closes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::{mpsc, watch};

use shipdeck::config;
use shipdeck::domain::{CheckCommand, ReleaseType};
use shipdeck::engine::{Command, CustomerStatus, EventKind, ReleasePlan, ReleaseState, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions};
use shipdeck::runtime::effects::{
    BoxFuture, CheckRunner, DeployRequest, Deployer, EffectPorts, Notice, Notifier, Outcome,
    PortContext, Wiring,
};
use shipdeck::runtime::journal::read_all;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::tui::cockpit::{self, CockpitExit, CockpitOptions};
use shipdeck::tui::theme::Theme;

fn t0() -> DateTime<Utc> {
    "2026-11-24T09:00:00Z".parse().unwrap()
}

/// Deploys that wait until the test opens the gate; every request is recorded.
#[derive(Clone)]
struct Gated {
    open: watch::Receiver<bool>,
    seen: Arc<Mutex<Vec<DeployRequest>>>,
    /// Report a retry (attempt 2) before waiting, as a real deployer would.
    retry_first: bool,
    detached: Arc<Mutex<u32>>,
}

impl Deployer for Gated {
    fn deploy(&self, request: DeployRequest) -> BoxFuture<Outcome> {
        let mut open = self.open.clone();
        let this = self.clone();
        Box::pin(async move {
            this.seen.lock().unwrap().push(request.clone());
            if this.retry_first && request.attempt == 1 {
                request.control.retrying(2, "HTTP 503 from the hook");
            }
            tokio::select! {
                _ = request.control.detached().cancelled() => {
                    *this.detached.lock().unwrap() += 1;
                    Outcome::failed("left running (detached)")
                }
                _ = open.wait_for(|o| *o) => Outcome::ok(format!("reached {}", request.version)),
            }
        })
    }
}

struct Pass;
impl CheckRunner for Pass {
    fn run(&self, _: CheckCommand) -> BoxFuture<Outcome> {
        Box::pin(async { Outcome::ok("ok") })
    }
}
struct Quiet;
impl Notifier for Quiet {
    fn notify(&self, _: Notice) -> BoxFuture<shipdeck::runtime::effects::Delivery> {
        Box::pin(async {
            shipdeck::runtime::effects::Delivery {
                ok: true,
                attempts: 1,
                answer: "quiet".into(),
            }
        })
    }
}

struct TestWiring(Gated);
impl Wiring for TestWiring {
    fn ports(&self, plan: &Arc<ReleasePlan>, _: &PortContext) -> EffectPorts {
        EffectPorts {
            deployers: plan
                .waves
                .iter()
                .flat_map(|w| &w.customers)
                .map(|c| (c.id.clone(), Arc::new(self.0.clone()) as Arc<dyn Deployer>))
                .collect(),
            checks: Arc::new(Pass),
            notifier: Arc::new(Quiet),
        }
    }
}

struct World {
    dir: tempfile::TempDir,
    gate: watch::Sender<bool>,
    deployer: Gated,
}

fn world(retry_first: bool) -> World {
    let (gate, open) = watch::channel(false);
    World {
        dir: tempfile::tempdir().unwrap(),
        gate,
        deployer: Gated {
            open,
            seen: Arc::default(),
            retry_first,
            detached: Arc::default(),
        },
    }
}

fn open(w: &World, plan: bool) -> ReleaseHandle {
    let cfg = config::load_builtin().unwrap();
    let plan = plan.then(|| {
        ReleasePlan::build(
            &cfg,
            "v1.0.1".parse().unwrap(),
            ReleaseType::Security,
            Selection::All,
            false,
        )
        .unwrap()
    });
    let opts = RuntimeOptions {
        state_dir: StateDir::at(w.dir.path()),
        clock: Clock::scaled(t0(), 60.0),
        wiring: Arc::new(TestWiring(w.deployer.clone())),
    };
    driver::open(opts, "v1.0.1", plan, "alice").unwrap()
}

/// Ticks the gating items and waits (on paused time) until the demo wave deploys.
async fn until_deploying(handle: &ReleaseHandle) -> Vec<String> {
    for key in handle.snapshot().state.unticked_gating_all() {
        handle
            .send("alice", Command::tick(&key, true))
            .await
            .unwrap();
    }
    let mut snaps = handle.snapshots();
    loop {
        let now = in_flight(&handle.snapshot().state);
        if !now.is_empty() {
            return now;
        }
        tokio::time::timeout(Duration::from_secs(3600), snaps.changed())
            .await
            .expect("deploys start")
            .unwrap();
    }
}

fn in_flight(s: &ReleaseState) -> Vec<String> {
    s.customers
        .iter()
        .filter(|c| c.status == CustomerStatus::Deploying)
        .map(|c| c.id.to_string())
        .collect()
}

fn journal(w: &World) -> Vec<EventKind> {
    read_all::<shipdeck::engine::Event>(&w.dir.path().join("releases/v1.0.1/journal.jsonl"))
        .unwrap()
        .into_events()
        .map(|e| e.event)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn stopping_waits_for_deploys_in_flight_and_journals_their_results() {
    let w = world(false);
    let handle = open(&w, true);
    let deploying = until_deploying(&handle).await;
    let started_before = journal(&w)
        .iter()
        .filter(|e| matches!(e, EventKind::DeployStarted { .. }))
        .count();
    let stopped = tokio::spawn(handle.stop());
    // An hour of (paused) time later, it still waits: nothing was killed.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        !stopped.is_finished(),
        "the runtime stopped with deploys in flight"
    );
    w.gate.send_replace(true);
    let state = stopped.await.unwrap().unwrap();
    for id in &deploying {
        let c = state
            .customers
            .iter()
            .find(|c| c.id.as_str() == id)
            .unwrap();
        assert_eq!(c.status, CustomerStatus::Verifying, "{id}");
    }
    let events = journal(&w);
    let finished: Vec<&EventKind> = events
        .iter()
        .filter(|e| matches!(e, EventKind::DeployFinished { ok: true, .. }))
        .collect();
    assert_eq!(finished.len(), deploying.len());
    // Nothing new started while stopping.
    let started_after = events
        .iter()
        .filter(|e| matches!(e, EventKind::DeployStarted { .. }))
        .count();
    assert_eq!(started_before, started_after);
    assert_eq!(*w.deployer.detached.lock().unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn detaching_leaves_deploys_in_flight_and_a_resume_reissues_them_with_the_same_key_and_attempt()
 {
    let w = world(true);
    let handle = open(&w, true);
    let deploying = until_deploying(&handle).await;
    // The retry is journaled before anything else happens to the deploy.
    let mut snaps = handle.snapshots();
    while !handle
        .snapshot()
        .state
        .customers
        .iter()
        .filter(|c| c.status == CustomerStatus::Deploying)
        .all(|c| c.attempt == 2)
    {
        snaps.changed().await.unwrap();
    }
    let detach = handle.detach.clone();
    let stopped = tokio::spawn(handle.stop());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!stopped.is_finished());
    detach.cancel();
    let state = stopped.await.unwrap().unwrap();
    assert_eq!(in_flight(&state), deploying, "still in flight");
    assert_eq!(
        *w.deployer.detached.lock().unwrap() as usize,
        deploying.len()
    );
    let events = journal(&w);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EventKind::DeployFinished { .. }))
    );
    let retried = events
        .iter()
        .filter(|e| matches!(e, EventKind::DeployRetried { attempt: 2, .. }))
        .count();
    assert_eq!(retried, deploying.len());
    let first: Vec<DeployRequest> = w.deployer.seen.lock().unwrap().drain(..).collect();

    // Resume: the same deploys again, same key, attempt 2; no new deploy_started.
    let handle = open(&w, false);
    let mut resumed = Vec::new();
    for _ in 0..100 {
        resumed = w.deployer.seen.lock().unwrap().clone();
        if resumed.len() == first.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(resumed.len(), first.len());
    for r in &resumed {
        let before = first.iter().find(|f| f.customer == r.customer).unwrap();
        assert_eq!(r.idempotency_key, before.idempotency_key);
        assert!(r.idempotency_key.starts_with("shipdeck-"));
        assert_eq!((before.attempt, r.attempt), (1, 2));
    }
    w.gate.send_replace(true);
    let state = handle.stop().await.unwrap();
    let started = journal(&w)
        .iter()
        .filter(|e| matches!(e, EventKind::DeployStarted { .. }))
        .count();
    assert_eq!(started, deploying.len(), "no second deploy_started");
    assert!(in_flight(&state).is_empty());
}

/// Keys the test sends while the cockpit runs.
fn key_channel() -> (
    mpsc::UnboundedSender<KeyEvent>,
    impl futures_util::Stream<Item = std::io::Result<TermEvent>> + Unpin,
) {
    let (tx, rx) = mpsc::unbounded_channel::<KeyEvent>();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|k| (Ok(TermEvent::Key(k)), rx))
    });
    (tx, Box::pin(stream))
}

fn press(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn opts(handle: &shipdeck::runtime::driver::ReleaseHandle) -> CockpitOptions {
    CockpitOptions {
        operator: "alice".into(),
        readonly: false,
        theme: Theme::monochrome(),
        demo: None,
        deploy_logs: None,
        stop: Some(shipdeck::cli::cockpit::stop_controls(handle)),
        report: None,
        hosting: shipdeck::tui::cockpit::Hosting::Here,
    }
}

#[tokio::test(start_paused = true)]
async fn the_cockpit_says_what_it_waits_for_and_leaves_when_the_deploys_are_done() {
    let w = world(false);
    let handle = open(&w, true);
    let deploying = until_deploying(&handle).await;
    let (keys, stream) = key_channel();
    let mut term = Terminal::new(TestBackend::new(200, 40)).unwrap();
    keys.send(press('q')).unwrap();
    keys.send(press('y')).unwrap();
    let gate = w.gate.clone();
    let opener = tokio::spawn(async move {
        // A few frames' worth: the cockpit draws while it waits.
        tokio::time::sleep(Duration::from_secs(3)).await;
        gate.send_replace(true);
    });
    let exit = cockpit::run_with(
        handle.link(),
        opts(&handle),
        &mut term,
        stream,
        std::future::pending(),
    )
    .await
    .unwrap();
    opener.await.unwrap();
    assert_eq!(exit, CockpitExit::Quit);
    let screen = term.backend().to_string();
    assert!(
        screen.contains(&format!(
            "waiting for {} deploys in flight to finish",
            deploying.len()
        )) || screen.contains("deploy in flight to finish"),
        "{screen}"
    );
    let state = handle.stop().await.unwrap();
    assert!(deploying_ok(&state, &deploying));
    drop(keys);
}

fn deploying_ok(state: &ReleaseState, ids: &[String]) -> bool {
    ids.iter().all(|id| {
        state
            .customers
            .iter()
            .any(|c| c.id.as_str() == id && c.status == CustomerStatus::Verifying)
    })
}

#[tokio::test(start_paused = true)]
async fn a_second_q_leaves_the_deploys_running() {
    let w = world(false);
    let handle = open(&w, true);
    let deploying = until_deploying(&handle).await;
    let (keys, stream) = key_channel();
    let mut term = Terminal::new(TestBackend::new(200, 40)).unwrap();
    keys.send(press('q')).unwrap();
    keys.send(press('y')).unwrap();
    let k = keys.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = k.send(press('q'));
    });
    let exit = cockpit::run_with(
        handle.link(),
        opts(&handle),
        &mut term,
        stream,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(exit, CockpitExit::Quit);
    assert!(handle.detach.is_cancelled());
    let state = handle.stop().await.unwrap();
    let still: Vec<String> = state
        .customers
        .iter()
        .filter(|c| c.status == CustomerStatus::Deploying)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(still, deploying, "left in flight, journaled as such");
    drop(keys);
}

#[tokio::test(start_paused = true)]
async fn an_abort_lets_the_deploys_in_flight_finish_and_journals_them() {
    let w = world(false);
    let handle = open(&w, true);
    let deploying = until_deploying(&handle).await;
    handle
        .send(
            "alice",
            Command::Abort {
                reason: "wrong build".into(),
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        !handle.task.is_finished(),
        "the runtime left deploys behind"
    );
    assert_eq!(*w.deployer.detached.lock().unwrap(), 0);
    w.gate.send_replace(true);
    let mut snaps = handle.snapshots();
    while !in_flight(&handle.snapshot().state).is_empty() {
        snaps.changed().await.unwrap();
    }
    let state = handle.stop().await.unwrap();
    assert_eq!(state.phase, shipdeck::engine::Phase::Aborted);
    let events = journal(&w);
    let aborted_at = events
        .iter()
        .position(|e| matches!(e, EventKind::Aborted { .. }))
        .unwrap();
    let finished_after = events[aborted_at..]
        .iter()
        .filter(|e| matches!(e, EventKind::DeployFinished { ok: true, .. }))
        .count();
    assert_eq!(finished_after, deploying.len());
}

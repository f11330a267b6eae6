//! The release link: committed events carry their journal sequence number, the
//! snapshot says where the journal stands, verdicts come back through the link, and
//! a face keeps working while a verdict is still owed.

use std::time::Duration;

use chrono::Utc;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::config;
use shipdeck::domain::ReleaseType;
use shipdeck::engine::{Command, Event, ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions, SendError};
use shipdeck::runtime::journal;
use shipdeck::runtime::link::{ReleaseLink, Snapshot};
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::tui::cockpit::{self, CockpitExit, CockpitOptions};
use shipdeck::tui::input::{key, scripted_keys};
use shipdeck::tui::terminal::ShutdownSignal;
use shipdeck::tui::theme::Theme;

fn open(dir: &std::path::Path) -> ReleaseHandle {
    let cfg = config::load_builtin().expect("config");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let opts = RuntimeOptions {
        state_dir: StateDir::at(dir),
        clock: Clock::scaled(Utc::now(), 1.0),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    driver::open(opts, "v1.0.1", Some(plan), "alice").expect("open")
}

#[tokio::test(start_paused = true)]
async fn committed_events_carry_their_journal_sequence_numbers() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path());
    let link = handle.link().clone();
    let opened = handle.snapshot().next_seq;
    assert_eq!(opened as usize, handle.opened.len(), "plan + first steps");
    let mut events = link.subscribe();

    link.send(
        "alice",
        Command::Pause {
            reason: "checking a dashboard".into(),
        },
    )
    .await
    .expect("pause accepted");
    let refused = link
        .send(
            "alice",
            Command::Pause {
                reason: "again".into(),
            },
        )
        .await;
    assert!(
        matches!(&refused, Err(SendError::Rejected(r)) if r.to_string().starts_with("the release is already paused")),
        "{refused:?}"
    );

    let first = events.recv().await.expect("committed");
    assert_eq!(
        first.seq, opened,
        "the pause is the next line of the journal"
    );
    let snap = link.snapshot();
    assert_eq!(snap.next_seq, opened + 1, "the refusal journaled nothing");
    drop(handle.stop().await.expect("stop"));

    let on_disk: Vec<Event> = journal::read_all(&StateDir::at(dir.path()).journal_path("v1.0.1"))
        .expect("journal")
        .into_events()
        .collect();
    assert_eq!(on_disk.len() as u64, snap.next_seq);
    assert_eq!(on_disk[first.seq as usize], *first.event);
}

/// A link whose release never answers: the cockpit must keep taking keys and
/// drawing while the verdict is owed (it used to await it inside the key handler).
#[tokio::test(start_paused = true)]
async fn the_cockpit_keeps_drawing_while_a_verdict_is_owed() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path());
    let snap: Snapshot = handle.snapshot();
    let (commands, mut unanswered) = tokio::sync::mpsc::channel(8);
    let (_snap_tx, snapshots) = tokio::sync::watch::channel(snap);
    let (events, _) = tokio::sync::broadcast::channel(8);
    let stalled = ReleaseLink::new(commands, snapshots, events, handle.clock().clone());
    // Holds requests without replying, as a release busy elsewhere would.
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(r) = unanswered.recv().await {
            kept.push(r);
        }
        kept.len()
    });

    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    // `p` sends a pause (never answered), then `?` opens the help overlay.
    let keys = scripted_keys(vec![
        key(crossterm::event::KeyCode::Char('p')),
        key(crossterm::event::KeyCode::Char('?')),
    ])
    .chain(futures_util::stream::pending());
    let signal = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        ShutdownSignal::Terminate
    };
    let opts = CockpitOptions {
        operator: "alice".into(),
        readonly: false,
        theme: Theme::monochrome(),
        demo: None,
        deploy_logs: None,
        stop: None,
        report: None,
        hosting: shipdeck::tui::cockpit::Hosting::Here,
    };
    let exit = cockpit::run_with(&stalled, opts, &mut term, keys, signal)
        .await
        .expect("run");
    assert_eq!(exit, CockpitExit::Signal(ShutdownSignal::Terminate));
    let screen = term.backend().to_string();
    assert!(
        screen.contains(shipdeck::tui::strings::HELP_TITLE.trim()),
        "help overlay not drawn:\n{screen}"
    );
    drop(stalled);
    drop(handle.stop().await.expect("stop"));
    assert_eq!(held.await.expect("held"), 1, "the pause was sent");
}

use futures_util::StreamExt;

fn open_at(dir: &std::path::Path, clock: Clock, plan: bool) -> ReleaseHandle {
    let cfg = config::load_builtin().expect("config");
    let plan = plan.then(|| {
        ReleasePlan::build(
            &cfg,
            "v1.0.1".parse().expect("v"),
            ReleaseType::Security,
            Selection::All,
            false,
        )
        .expect("plan")
    });
    let opts = RuntimeOptions {
        state_dir: StateDir::at(dir),
        clock,
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    driver::open(opts, "v1.0.1", plan, "alice").expect("open")
}

/// A drill records its speed in the plan; resumed without a speed (the system
/// clock) it runs at that speed again, from where its release time stood; resumed
/// at an explicit real speed, its release time still never runs backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_resumes_at_its_speed_and_its_clock_never_runs_backwards() {
    let dir = tempfile::tempdir().expect("dir");
    // Release time well ahead of the wall clock, as after hours of a fast drill.
    let ahead = Utc::now() + chrono::TimeDelta::hours(6);
    let handle = open_at(dir.path(), Clock::scaled(ahead, 600.0), true);
    assert_eq!(handle.snapshot().state.plan.drill_speed, Some(600.0));
    let state = handle.stop().await.expect("stop");
    let stood = state.last_event_at;
    assert!(stood >= ahead);

    let resumed = open_at(dir.path(), Clock::System, false);
    let clock = resumed.link().clock().clone();
    assert_eq!(
        clock.speed(),
        600.0,
        "a resume without --speed keeps the drill's"
    );
    assert!(clock.now() >= stood, "release time went back");
    drop(resumed.stop().await.expect("stop"));

    let real = open_at(dir.path(), Clock::with_speed(Some(1.0), None), false);
    let clock = real.link().clock().clone();
    assert_eq!(clock.speed(), 1.0, "--speed 1 is real speed");
    assert!(clock.now() >= stood, "release time went back at real speed");
    let state = real.stop().await.expect("stop");
    let events: Vec<Event> =
        journal::read_all::<Event>(&StateDir::at(dir.path()).journal_path("v1.0.1"))
            .expect("journal")
            .into_events()
            .collect();
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "the journal's times never run backwards"
    );
    assert!(state.last_event_at >= stood);
}

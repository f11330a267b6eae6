//! The cockpit at gates, through its real loop: a runtime on paused tokio time,
//! scripted keys, a `TestBackend`. Which gate `a` signs (and that it asks first),
//! the checklists that hold a wave, and an emergency's effect on customers held to
//! their maintenance windows.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::config;
use shipdeck::domain::{Configuration, ReleaseType};
use shipdeck::engine::{ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions};
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::tui::cockpit::{self, CockpitOptions};
use shipdeck::tui::input::{key, scripted_keys, typed};
use shipdeck::tui::theme::Theme;

pub fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("time")
}

pub fn open_with(
    dir: &std::path::Path,
    cfg: &Configuration,
    t: ReleaseType,
    version: &str,
    starter: &str,
) -> ReleaseHandle {
    let plan = ReleasePlan::build(cfg, version.parse().expect("v"), t, Selection::All, false)
        .expect("plan");
    let opts = RuntimeOptions {
        state_dir: StateDir::at(dir),
        clock: Clock::scaled(t0(), 60.0),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    driver::open(opts, version, Some(plan), starter).expect("open")
}

pub async fn drive(
    handle: &ReleaseHandle,
    operator: &str,
    keys: Vec<KeyEvent>,
    size: (u16, u16),
) -> String {
    let mut term = Terminal::new(TestBackend::new(size.0, size.1)).expect("t");
    let opts = CockpitOptions {
        operator: operator.into(),
        readonly: false,
        theme: Theme::monochrome(),
        demo: None,
        deploy_logs: None,
        stop: None,
        report: None,
        hosting: shipdeck::tui::cockpit::Hosting::Here,
    };
    cockpit::run_with(
        handle.link(),
        opts,
        &mut term,
        scripted_keys(keys),
        std::future::pending(),
    )
    .await
    .expect("run");
    term.backend().to_string()
}

/// Issue 10, item 3: `a` with nothing selected that needs a signature lists the
/// pending gates; the operator picks one; the gate signed is that one, as the
/// role shown, and the message line names both.
#[tokio::test(start_paused = true)]
async fn a_lets_the_operator_pick_the_gate_and_names_wave_and_role() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config::load_builtin().expect("config");
    let handle = open_with(dir.path(), &cfg, ReleaseType::Minor, "v1.1.0", "alice");
    // Demo is selected on the timeline: it needs no signature.
    let mut keys = typed("a");
    keys.extend(typed("jj"));
    keys.extend([key(KeyCode::Enter), key(KeyCode::Right)]);
    let screen = drive(&handle, "bob", keys, (100, 30)).await;
    assert!(screen.contains(" Sign a gate "), "{screen}");
    for wave in ["startup", "standard", "enterprise"] {
        assert!(
            screen.contains(&format!("wave {wave} as qa_lead (QA lead)")),
            "{wave}: {screen}"
        );
    }
    assert!(
        handle
            .snapshot()
            .state
            .waves
            .iter()
            .all(|w| w.approvals.is_empty()),
        "nothing signed before the confirm button"
    );
    let mut keys = typed("a");
    keys.extend(typed("jj"));
    keys.extend([
        key(KeyCode::Enter),
        key(KeyCode::Right),
        key(KeyCode::Enter),
    ]);
    let screen = drive(&handle, "bob", keys, (100, 30)).await;
    let s = handle.snapshot().state;
    let signed: Vec<(String, usize)> = s
        .waves
        .iter()
        .map(|w| (w.tier.to_string(), w.approvals.len()))
        .collect();
    assert_eq!(
        signed,
        [
            ("demo".to_string(), 0),
            ("startup".to_string(), 0),
            ("standard".to_string(), 0),
            ("enterprise".to_string(), 1)
        ]
    );
    assert!(
        screen.contains("signed wave enterprise as qa_lead"),
        "{screen}"
    );
    handle.stop().await.expect("stop");
}

/// Issue 10, item 5: `e` shows, before anyone confirms, every customer whose
/// window or contractual notice an emergency affects; window-bound customers keep
/// their windows unless ticked in the dialog, and only the ticked one is
/// overridden (journaled with the reason).
#[tokio::test(start_paused = true)]
async fn emergency_dialog_lists_windows_and_notices_and_overrides_only_what_is_ticked() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config::load_builtin().expect("config");
    let handle = open_with(dir.path(), &cfg, ReleaseType::BugFix, "v1.0.1", "alice");
    let screen = drive(&handle, "erin", typed("e"), (80, 24)).await;
    for text in [
        " Declare an emergency ",
        "ACME Corp (enterprise): 72h pre-deploy notice cut short",
        "[ ] Umbrella Health (standard)",
        "[ ] Contoso Bank (enterprise)",
        "keeps it",
    ] {
        assert!(screen.contains(text), "{text:?} in\n{screen}");
    }
    // Shift-Tab to the list, space ticks Umbrella Health; the reason; confirm.
    let mut keys = typed("e");
    keys.push(KeyEvent::new(
        KeyCode::BackTab,
        crossterm::event::KeyModifiers::SHIFT,
    ));
    keys.push(key(KeyCode::Char(' ')));
    keys.push(key(KeyCode::Tab));
    keys.extend(typed("clinical data exposed"));
    keys.extend([key(KeyCode::Enter), key(KeyCode::Right)]);
    let screen = drive(&handle, "erin", keys.clone(), (80, 24)).await;
    assert!(
        screen.contains("[x] Umbrella Health (standard)") && screen.contains("deploys NOW"),
        "{screen}"
    );
    assert!(!handle.snapshot().state.emergency, "not before the confirm");
    keys.push(key(KeyCode::Enter));
    let screen = drive(&handle, "erin", keys, (80, 24)).await;
    let s = handle.snapshot().state;
    assert!(s.emergency, "{screen}");
    let overridden: Vec<&str> = s.windows_overridden.iter().map(|c| c.as_str()).collect();
    assert_eq!(overridden, ["umbrella-health"]);
    let d = s
        .decisions
        .iter()
        .find(|d| d.what.starts_with("declared emergency"))
        .expect("decision");
    assert_eq!(d.actor, "erin");
    assert_eq!(d.reason, "clinical data exposed");
    assert!(d.what.contains("overridden for umbrella-health"), "{d:?}");
    assert!(
        screen.contains("windows overridden for umbrella-health"),
        "{screen}"
    );
    handle.stop().await.expect("stop");
}

/// Issue 10, item 2: in emergency mode the waves wait on *deployment* items
/// while the hotfix list is the one that matters; from the cockpit (no offline
/// `shipdeck tick`) the operator sees and ticks them.
#[tokio::test(start_paused = true)]
async fn in_an_emergency_the_items_holding_the_waves_are_tickable_from_the_cockpit() {
    use shipdeck::engine::Command;
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config::load_builtin().expect("config");
    let handle = open_with(dir.path(), &cfg, ReleaseType::Security, "v1.0.1", "alice");
    handle
        .send(
            "alice",
            Command::Emergency {
                reason: "exploited".into(),
                override_windows: Vec::new(),
            },
        )
        .await
        .expect("emergency");
    // Everything but the deployment checklist, ticked elsewhere.
    for key in handle.snapshot().state.unticked_gating_all() {
        if !key.starts_with("deployment/") {
            handle
                .send("alice", Command::tick(&key, false))
                .await
                .expect("tick");
        }
    }
    let open = handle.snapshot().state.unticked_gating_all();
    assert!(!open.is_empty() && open.iter().all(|k| k.starts_with("deployment/")));
    let screen = drive(&handle, "alice", vec![key(KeyCode::Tab)], (100, 30)).await;
    assert!(screen.contains("Deployment window"), "{screen}");
    let mut keys = vec![key(KeyCode::Tab)];
    keys.extend(std::iter::repeat_n(key(KeyCode::Char('x')), open.len()));
    let screen = drive(&handle, "alice", keys, (100, 30)).await;
    assert!(
        handle.snapshot().state.unticked_gating_all().is_empty(),
        "{screen}"
    );
    handle.stop().await.expect("stop");
}

//! Cockpit screens as insta snapshots on a `TestBackend`, built from engine states
//! driven deterministically on a manual clock; and the cockpit loop end to end with
//! a real `ReleaseHandle` on paused tokio time and scripted keys.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::config;
use shipdeck::domain::{HealthSample, HealthSource, ProbeOutcome, ReleaseType};
use shipdeck::engine::testkit::{Drill, Probing};
use shipdeck::engine::{
    self, Command, EffectResult, Input, ReleasePlan, ReleaseState, RollbackScope, Selection,
    WaveStatus,
};
use shipdeck::tui::app::App;
use shipdeck::tui::input::key;
use shipdeck::tui::theme::Theme;
use shipdeck::tui::view;

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("time")
}

/// A release planned by alice at `t0` on the engine's test kit, its world probing
/// every customer every 5 minutes: one health sample each, a deterministic wobble
/// around the customer's simulated baseline. Those probes are the checks a customer
/// is declared healthy on (the world answers no first check after a deploy).
fn start(t: ReleaseType) -> Drill {
    let cfg = config::load_builtin().expect("built-in config");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("version"),
        t,
        Selection::All,
        false,
    )
    .expect("plan");
    let mut d = Drill::new(plan, "alice", t0()).expect("drill");
    d.answers.checked_after_deploy = None;
    d.probing = Some(Probing::new(TimeDelta::minutes(5), move |round, i, id| {
        let (err, lat) = match &cfg.customer(id).expect("customer").health {
            HealthSource::Simulated {
                baseline_error_rate,
                baseline_latency_ms,
            } => (*baseline_error_rate, *baseline_latency_ms),
            _ => (0.5, 100.0),
        };
        let wobble = f64::from((round + i as u32 * 3) % 5) / 10.0;
        let sample = HealthSample {
            error_rate: Some(err + wobble),
            latency_p95_ms: Some(lat * (1.0 + wobble / 4.0)),
        };
        ProbeOutcome::Up { sample }
    }));
    d
}

/// What these screens do with a drill beyond the kit.
trait Screens {
    /// Ticks every gating manual item outside the hotfix list, as alice.
    fn tick_gating(&mut self);
    /// Runs results, deadlines and probes up to `limit`; the clock then reads `limit`.
    fn run_to(&mut self, limit: DateTime<Utc>);
    fn demo_done(&self) -> DateTime<Utc>;
}

impl Screens for Drill {
    fn tick_gating(&mut self) {
        let items: Vec<(String, String)> = self
            .state
            .plan
            .checklists
            .iter()
            .filter(|c| c.kind != shipdeck::domain::ChecklistKind::Hotfix)
            .flat_map(|c| {
                c.items
                    .iter()
                    .filter(|i| i.gates.is_some() && i.check.is_none())
                    .map(move |i| (c.id.clone(), i.id.clone()))
            })
            .collect();
        for (list, item) in items {
            let _ = self.cmd(
                "alice",
                Command::TickItem {
                    checklist: Some(list),
                    item,
                    on_word: false,
                },
            );
        }
    }

    fn run_to(&mut self, limit: DateTime<Utc>) {
        self.run_until(limit);
        self.now = limit;
        self.input(Input::Tick).expect("tick");
    }

    fn demo_done(&self) -> DateTime<Utc> {
        self.state.anchor.expect("demo completed")
    }
}

fn screen(
    state: &ReleaseState,
    now: DateTime<Utc>,
    app: &App,
    theme: &Theme,
    w: u16,
    h: u16,
) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| view::render(f, state, now, app, theme))
        .expect("draw");
    terminal
}

fn text(state: &ReleaseState, now: DateTime<Utc>, app: &App) -> String {
    screen(state, now, app, &Theme::ansi16(), 80, 24)
        .backend()
        .to_string()
}

/// Security release: demo done, startup deploying, standard and enterprise waiting.
fn rolling_out() -> Drill {
    let mut d = start(ReleaseType::Security);
    d.tick_gating();
    d.run_to(t0() + TimeDelta::minutes(30));
    let anchor = d.demo_done();
    d.run_to(anchor + TimeDelta::minutes(16));
    assert_eq!(
        d.state.waves[1].status,
        WaveStatus::Running,
        "startup deploying"
    );
    d
}

fn app() -> App {
    App::new("alice", false, false)
}

#[test]
fn rolling_out_screen() {
    let d = rolling_out();
    insta::assert_snapshot!("rolling_out", text(&d.state, d.now, &app()));
}

#[test]
fn rolling_out_screen_100x30() {
    let d = rolling_out();
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    a.customer_sel = 3;
    let t = screen(&d.state, d.now, &a, &Theme::ansi16(), 100, 30);
    insta::assert_snapshot!("rolling_out_100x30", t.backend().to_string());
}

#[test]
fn waiting_for_approval_screen() {
    let mut d = start(ReleaseType::Minor);
    d.tick_gating();
    d.run_to(t0() + TimeDelta::hours(3));
    d.run_to(d.demo_done() + TimeDelta::hours(25));
    let shown = text(&d.state, d.now, &app());
    assert!(shown.contains("needs qa_lead approval"), "{shown}");
    insta::assert_snapshot!("waiting_for_approval", shown);
}

#[test]
fn paused_screen() {
    let mut d = rolling_out();
    d.cmd(
        "alice",
        Command::Pause {
            reason: "customer call at 10:45".into(),
        },
    )
    .expect("pause");
    d.now += TimeDelta::minutes(3);
    let shown = text(&d.state, d.now, &app());
    assert!(shown.contains("PAUSED by alice"), "{shown}");
    assert!(shown.contains("remaining"), "{shown}");
    insta::assert_snapshot!("paused", shown);
}

#[test]
fn rollback_dialog_screen() {
    let d = rolling_out();
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    a.customer_sel = 2;
    let press = |a: &mut App, k: KeyEvent| a.on_key(k, &d.state, d.now);
    press(&mut a, key(KeyCode::Char('r')));
    for k in [KeyCode::Down, KeyCode::Down, KeyCode::Enter] {
        press(&mut a, key(k));
    }
    for c in "p95 up 40%".chars() {
        press(&mut a, key(KeyCode::Char(c)));
    }
    press(&mut a, key(KeyCode::Enter));
    for c in "v1.0.1".chars() {
        press(&mut a, key(KeyCode::Char(c)));
    }
    press(&mut a, key(KeyCode::Enter));
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("[ Cancel ]"), "{shown}");
    insta::assert_snapshot!("rollback_dialog", shown);
}

#[test]
fn rolling_back_screen() {
    let mut d = rolling_out();
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::All,
            reason: "p95 up 40% on startup".into(),
            force: false,
        },
    )
    .expect("rollback");
    d.now += TimeDelta::seconds(30);
    let shown = text(&d.state, d.now, &app());
    assert!(shown.contains("ROLLING BACK"), "{shown}");
    insta::assert_snapshot!("rolling_back", shown);
}

#[test]
fn completed_screen() {
    let mut d = start(ReleaseType::Security);
    d.tick_gating();
    d.run_to(t0() + TimeDelta::days(10));
    assert!(d.state.phase.is_final());
    insta::assert_snapshot!("completed", text(&d.state, d.now, &app()));
}

#[test]
fn help_overlay_screen() {
    let d = rolling_out();
    let mut a = app();
    a.on_key(key(KeyCode::Char('?')), &d.state, d.now);
    let shown = text(&d.state, d.now, &a);
    assert!(
        shown.contains("tick / untick (asks why) the selected checklist item"),
        "{shown}"
    );
    insta::assert_snapshot!("help_overlay", shown);
}

/// `v` on a customer whose error-rate trigger fired through a prometheus source:
/// the trigger, its baseline and samples, the query as judged for that customer and
/// the values it gave.
#[test]
fn evidence_view_screen() {
    let mut d = rolling_out();
    let later = d.now + TimeDelta::minutes(20);
    d.run_to(later);
    let i = d
        .state
        .customers
        .iter()
        .position(|c| {
            matches!(
                c.status,
                shipdeck::engine::CustomerStatus::Verifying
                    | shipdeck::engine::CustomerStatus::Healthy
            ) && c.health.baseline.is_some()
        })
        .expect("a startup customer under watch");
    let id = d.state.customers[i].id.clone();
    // As if the customer had been planned with a prometheus source.
    for w in &mut std::sync::Arc::make_mut(&mut d.state.plan).waves {
        for c in &mut w.customers {
            if c.id == id {
                c.health = Some(HealthSource::Prometheus(
                    shipdeck::domain::PrometheusSource {
                        url: "http://prometheus:9090".into(),
                        error_rate: Some(
                            r#"sum by (customer) (rate(http_requests_total{customer="{customer}",code=~"5.."}[5m])) / sum by (customer) (rate(http_requests_total{customer="{customer}"}[5m])) * 100"#.into(),
                        ),
                        latency_p95: None,
                        min_traffic: None,
                        headers: Vec::new(),
                        timeout: None,
                    },
                ));
            }
        }
    }
    for err in [12.5, 13.25, 14.0] {
        d.input(Input::Result(EffectResult::Probed {
            customer: id.clone(),
            outcome: ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(err),
                    latency_p95_ms: Some(120.0),
                },
            },
        }))
        .expect("probe");
    }
    let fired = d.state.customers[i]
        .health
        .last_trigger
        .as_ref()
        .expect("the trigger fired");
    assert_eq!(fired.trigger, engine::triggers::TriggerKind::ErrorRate);
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    a.customer_sel = i;
    a.on_key(key(KeyCode::Char('v')), &d.state, d.now);
    let shown = text(&d.state, d.now, &a);
    let source = fired.evidence.source.as_ref().expect("prometheus evidence");
    assert!(
        source.queries[0]
            .query
            .contains(&format!(r#"{{customer="{id}",code=~"5.."}}"#)),
        "{source:?}"
    );
    assert!(shown.contains("error_rate"), "{shown}");
    assert!(shown.contains("values: 12.5 · 13.25 · 14"), "{shown}");
    insta::assert_snapshot!("evidence_view", shown);
    // esc closes it.
    a.on_key(key(KeyCode::Esc), &d.state, d.now);
    assert!(a.evidence.is_none());
}

#[test]
fn too_small_screen() {
    let d = rolling_out();
    let t = screen(&d.state, d.now, &app(), &Theme::ansi16(), 60, 20);
    let shown = t.backend().to_string();
    assert!(shown.contains("terminal too small"), "{shown}");
    insta::assert_snapshot!("too_small", shown);
}

#[test]
fn monochrome_screen_uses_no_colour_and_keeps_the_words() {
    let d = rolling_out();
    let t = screen(&d.state, d.now, &app(), &Theme::monochrome(), 80, 24);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "colour in monochrome at {:?}",
            cell.symbol()
        );
        assert_eq!(cell.bg, ratatui::style::Color::Reset);
    }
    insta::assert_debug_snapshot!("monochrome", buf);
}

#[test]
fn ten_thousand_customers_render_only_the_visible_rows() {
    let mut d = rolling_out();
    let template = d.state.customers[5].clone();
    // Widen the plan's view of the fleet without the engine: rendering only reads.
    d.state.customers.extend((0..10_000).map(|i| {
        let mut c = template.clone();
        c.name = format!("Customer {i:05}");
        c
    }));
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    a.customer_sel = 9_000;
    let shown = screen(&d.state, d.now, &a, &Theme::ansi16(), 100, 30)
        .backend()
        .to_string();
    assert!(shown.contains("Customer 08"), "{shown}");
}

#[test]
fn filter_narrows_the_health_list() {
    let d = rolling_out();
    let mut a = app();
    for k in std::iter::once(key(KeyCode::Char('/')))
        .chain("acme".chars().map(|c| key(KeyCode::Char(c))))
    {
        a.on_key(k, &d.state, d.now);
    }
    a.on_key(key(KeyCode::Enter), &d.state, d.now);
    assert_eq!(a.visible_customers(&d.state).len(), 1);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("filter: acme"), "{shown}");
    assert!(shown.contains("ACME Corp"), "{shown}");
    assert!(!shown.contains("TechStart"), "{shown}");
}

/// Presses `keys` (plain presses; upper case with Shift) on the app.
fn keys(a: &mut App, state: &ReleaseState, now: DateTime<Utc>, codes: &[KeyCode]) {
    for k in codes {
        let ev = match k {
            KeyCode::Char(c) if c.is_uppercase() => KeyEvent::new(*k, KeyModifiers::SHIFT),
            _ => key(*k),
        };
        a.on_key(ev, state, now);
    }
}

fn chars(text: &str) -> Vec<KeyCode> {
    text.chars().map(KeyCode::Char).collect()
}

#[test]
fn quit_dialog_screen_marks_the_focused_button() {
    let d = rolling_out();
    let mut a = app();
    keys(&mut a, &d.state, d.now, &[KeyCode::Char('q')]);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains(">[ Cancel ]   [ Quit ]"), "{shown}");
    keys(&mut a, &d.state, d.now, &[KeyCode::Tab]);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains(" [ Cancel ]  >[ Quit ]"), "{shown}");
    assert!(shown.contains("y quits"), "{shown}");
    insta::assert_snapshot!("quit_dialog", shown);
}

#[test]
fn abort_dialog_screen() {
    let d = rolling_out();
    let mut a = app();
    keys(&mut a, &d.state, d.now, &[KeyCode::Char('A')]);
    keys(&mut a, &d.state, d.now, &chars("wrong artefact"));
    keys(&mut a, &d.state, d.now, &[KeyCode::Enter]);
    keys(&mut a, &d.state, d.now, &chars("v1.0.1"));
    keys(&mut a, &d.state, d.now, &[KeyCode::Enter]);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("Abort the release"), "{shown}");
    assert!(shown.contains(">[ Cancel ]"), "{shown}");
    insta::assert_snapshot!("abort_dialog", shown);
}

/// After the rollback window: the engine refuses, and the dialog comes back
/// offering to force the same rollback, reason kept, Cancel focused.
#[test]
fn rollback_after_the_window_offers_force() {
    let mut d = start(ReleaseType::Security);
    d.tick_gating();
    d.run_to(t0() + TimeDelta::days(10));
    assert!(d.state.phase.is_final());
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    a.customer_sel = 2;
    let (state, now) = (d.state.clone(), d.now);
    keys(&mut a, &state, now, &[KeyCode::Char('r'), KeyCode::Tab]);
    keys(&mut a, &state, now, &chars("late p95 regression"));
    keys(&mut a, &state, now, &[KeyCode::Enter]);
    let out = a.on_key(key(KeyCode::Char('y')), &state, now);
    let Some(shipdeck::tui::app::Outgoing::Command(cmd)) = out else {
        panic!("no command: {out:?}");
    };
    let verdict = d.cmd("alice", cmd.clone());
    assert!(
        matches!(verdict, Err(engine::Rejected::RollbackWindowClosed { .. })),
        "{verdict:?}"
    );
    a.on_command_result(
        &cmd,
        verdict.map_err(shipdeck::runtime::driver::SendError::Rejected),
    );
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("[ Force roll back ]"), "{shown}");
    assert!(
        shown.contains("refused: the rollback window closed"),
        "{shown}"
    );
    insta::assert_snapshot!("rollback_force_dialog", shown);
    let out = a.on_key(key(KeyCode::Char('y')), &d.state, d.now);
    let Some(shipdeck::tui::app::Outgoing::Command(cmd)) = out else {
        panic!("no command: {out:?}");
    };
    assert!(
        matches!(cmd, Command::Rollback { force: true, .. }),
        "{cmd:?}"
    );
    d.cmd("alice", cmd).expect("forced rollback accepted");
    let last = d.state.decisions.last().expect("decision");
    assert!(last.what.contains("forced"), "{}", last.what);
    assert_eq!(last.reason, "late p95 regression");
}

mod cockpit_loop {
    //! The loop on a real runtime: paused tokio time, scripted keys, a TestBackend.

    use super::*;
    use futures_util::StreamExt;
    use shipdeck::runtime::clock::Clock;
    use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions};
    use shipdeck::runtime::state_dir::StateDir;
    use shipdeck::tui::cockpit::{self, CockpitExit, CockpitOptions, DemoControls};
    use shipdeck::tui::input::{scripted_events, scripted_keys, typed};

    fn open(dir: &std::path::Path, t: ReleaseType) -> ReleaseHandle {
        let cfg = config::load_builtin().expect("config");
        let plan = ReleasePlan::build(&cfg, "v1.0.1".parse().expect("v"), t, Selection::All, false)
            .expect("plan");
        let opts = RuntimeOptions {
            state_dir: StateDir::at(dir),
            clock: Clock::scaled(t0(), 60.0),
            wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
        };
        driver::open(opts, "v1.0.1", Some(plan), "alice").expect("open")
    }

    fn opts(readonly: bool) -> CockpitOptions {
        CockpitOptions {
            deploy_logs: None,
            operator: "alice".into(),
            readonly,
            theme: Theme::monochrome(),
            demo: None,
            stop: None,
            report: None,
            hosting: shipdeck::tui::cockpit::Hosting::Here,
        }
    }

    fn shown(t: &Terminal<TestBackend>) -> String {
        t.backend().to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn approve_with_no_pending_gate_shows_the_engines_refusal() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        // Input that never ends: the refusal must not end the cockpit either.
        let keys =
            scripted_keys(vec![key(KeyCode::Char('a'))]).chain(futures_util::stream::pending());
        let run = cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            keys,
            std::future::pending(),
        );
        let stayed = tokio::time::timeout(std::time::Duration::from_secs(5), run).await;
        assert!(stayed.is_err(), "the cockpit ended on a refusal");
        let s = shown(&term);
        assert!(
            s.contains("refused: no wave is waiting for an approval"),
            "{s}"
        );
        handle.stop().await.expect("stop");
    }

    #[tokio::test(start_paused = true)]
    async fn ticking_an_item_and_pausing_reach_the_engine() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let keys = scripted_keys(vec![
            key(KeyCode::Tab),
            key(KeyCode::Char('x')),
            key(KeyCode::Char('p')),
        ]);
        cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            keys,
            std::future::pending(),
        )
        .await
        .expect("run");
        let snap = handle.snapshot();
        assert!(
            snap.state
                .ticks
                .contains_key("pre-release-security/vuln-confirmed"),
            "{:?}",
            snap.state.ticks.keys()
        );
        let pause = snap.state.pause.clone().expect("paused");
        assert_eq!(pause.actor, "alice");
        let s = shown(&term);
        assert!(s.contains("PAUSED by alice"), "{s}");
        handle.stop().await.expect("stop");
    }

    #[tokio::test(start_paused = true)]
    async fn readonly_refuses_every_action_key_with_a_note() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let mut pressed = typed("aprsxieycA");
        pressed.push(key(KeyCode::Char('r')));
        let keys = scripted_keys(pressed);
        cockpit::run_with(
            handle.link(),
            opts(true),
            &mut term,
            keys,
            std::future::pending(),
        )
        .await
        .expect("run");
        let snap = handle.snapshot();
        assert!(snap.state.pause.is_none());
        assert!(
            snap.state
                .decisions
                .iter()
                .all(|d| d.actor != "alice" || d.what.starts_with("started"))
        );
        let s = shown(&term);
        assert!(
            s.contains("read-only: `r rollback` is not available"),
            "{s}"
        );
        handle.stop().await.expect("stop");
    }

    #[tokio::test(start_paused = true)]
    async fn quit_while_running_asks_first_and_q_again_quits() {
        // q opens the question; Enter on the default (Cancel) closes it; Ctrl-C asks
        // again: none of that quits, and the loop stays on input that never ends.
        let asked = vec![
            key(KeyCode::Char('q')),
            key(KeyCode::Enter),
            KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ];
        assert_eq!(
            quits_on(asked.clone()).await,
            None,
            "asking is not quitting"
        );
        // q in the question confirms.
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let mut keys = asked;
        keys.push(key(KeyCode::Char('q')));
        let events = scripted_keys(keys).chain(futures_util::stream::pending());
        let run = cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            events,
            std::future::pending(),
        );
        let exit = tokio::time::timeout(std::time::Duration::from_secs(5), run)
            .await
            .expect("the second q quit the loop")
            .expect("run");
        assert_eq!(exit, CockpitExit::Quit);
        // The runtime is the caller's: still running.
        assert!(!handle.task.is_finished());
        handle.stop().await.expect("stop");
    }

    /// Runs the loop on `keys` followed by input that never ends: only a real quit
    /// (not the end of the script) ends the loop. The keys are handled at once;
    /// five seconds of (paused, auto-advancing) time later the loop is either gone
    /// or staying.
    async fn quits_on(keys: Vec<KeyEvent>) -> Option<CockpitExit> {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let events = scripted_keys(keys).chain(futures_util::stream::pending());
        let run = cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            events,
            std::future::pending(),
        );
        let exit = tokio::time::timeout(std::time::Duration::from_secs(5), run)
            .await
            .ok()
            .map(|r| r.expect("run"));
        handle.stop().await.expect("stop");
        exit
    }

    /// The bug seen in tmux: q, then Tab, y, Enter did not quit.
    #[tokio::test(start_paused = true)]
    async fn quit_dialog_tab_and_enter_quit() {
        let keys = vec![
            key(KeyCode::Char('q')),
            key(KeyCode::Tab),
            key(KeyCode::Enter),
        ];
        assert_eq!(quits_on(keys).await, Some(CockpitExit::Quit));
    }

    #[tokio::test(start_paused = true)]
    async fn quit_dialog_y_quits() {
        let keys = vec![key(KeyCode::Char('q')), key(KeyCode::Char('y'))];
        assert_eq!(quits_on(keys).await, Some(CockpitExit::Quit));
        let keys = vec![
            key(KeyCode::Char('q')),
            key(KeyCode::Tab),
            key(KeyCode::Char('y')),
            key(KeyCode::Enter),
        ];
        assert_eq!(quits_on(keys).await, Some(CockpitExit::Quit));
    }

    #[tokio::test(start_paused = true)]
    async fn quit_dialog_enter_on_cancel_n_and_esc_stay() {
        for stay in [KeyCode::Enter, KeyCode::Char('n'), KeyCode::Esc] {
            let keys = vec![key(KeyCode::Char('q')), key(stay)];
            assert_eq!(quits_on(keys).await, None, "{stay:?} quit");
        }
        let keys = vec![
            key(KeyCode::Char('q')),
            key(KeyCode::Right),
            key(KeyCode::Left),
            key(KeyCode::Enter),
        ];
        assert_eq!(quits_on(keys).await, None, "Left back to Cancel");
    }

    #[tokio::test(start_paused = true)]
    async fn resume_asks_why_and_the_reason_reaches_the_journal() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let mut keys = vec![key(KeyCode::Char('p')), key(KeyCode::Char('p'))];
        keys.extend(typed("call with acme over"));
        keys.push(key(KeyCode::Enter));
        cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            scripted_keys(keys),
            std::future::pending(),
        )
        .await
        .expect("run");
        let snap = handle.snapshot();
        assert!(snap.state.pause.is_none(), "{}", shown(&term));
        let d = snap.state.decisions.last().expect("decision");
        assert_eq!(
            (d.what.as_str(), d.reason.as_str()),
            ("resumed", "call with acme over")
        );
        handle.stop().await.expect("stop");
        let journal = std::fs::read_to_string(StateDir::at(dir.path()).journal_path("v1.0.1"))
            .expect("journal");
        assert!(journal.contains("call with acme over"), "{journal}");
    }

    #[tokio::test(start_paused = true)]
    async fn abort_needs_reason_version_and_confirm_then_ends_the_release() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let mut keys = typed("A");
        keys.extend(typed("bad artefact"));
        keys.push(key(KeyCode::Enter));
        keys.extend(typed("v1.0.1"));
        // Enter → buttons on Cancel; y confirms (with the checks).
        keys.extend([key(KeyCode::Enter), key(KeyCode::Char('y'))]);
        cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            scripted_keys(keys),
            std::future::pending(),
        )
        .await
        .expect("run");
        let snap = handle.snapshot();
        assert_eq!(snap.state.phase, engine::Phase::Aborted, "{}", shown(&term));
        let d = snap.state.decisions.last().expect("decision");
        assert_eq!(d.reason, "bad artefact");
        let _ = handle.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_ends_the_loop_with_its_name() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let never = futures_util::stream::pending();
        let sig = async { shipdeck::tui::terminal::ShutdownSignal::Hangup };
        let exit = cockpit::run_with(handle.link(), opts(false), &mut term, never, sig)
            .await
            .expect("run");
        assert_eq!(
            exit,
            CockpitExit::Signal(shipdeck::tui::terminal::ShutdownSignal::Hangup)
        );
        handle.stop().await.expect("stop");
    }

    #[tokio::test(start_paused = true)]
    async fn emergency_needs_a_reason_and_an_explicit_confirm() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let mut keys = vec![key(KeyCode::Char('e'))];
        keys.extend(typed("exploit in the wild"));
        // Enter moves to the buttons (Cancel focused); Right to Declare; Enter.
        keys.extend([
            key(KeyCode::Enter),
            key(KeyCode::Right),
            key(KeyCode::Enter),
        ]);
        cockpit::run_with(
            handle.link(),
            opts(false),
            &mut term,
            scripted_keys(keys),
            std::future::pending(),
        )
        .await
        .expect("run");
        let snap = handle.snapshot();
        assert!(snap.state.emergency, "{}", shown(&term));
        let d = snap.state.decisions.last().expect("decision");
        assert_eq!(d.reason, "exploit in the wild");
        handle.stop().await.expect("stop");
    }

    #[tokio::test(start_paused = true)]
    async fn demo_fault_key_calls_the_injector_with_the_selected_customer() {
        let dir = tempfile::tempdir().expect("dir");
        let handle = open(dir.path(), ReleaseType::Security);
        let mut term = Terminal::new(TestBackend::new(100, 30)).expect("t");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        let demo = DemoControls {
            inject_fault: Box::new(move |id| {
                log.lock().expect("lock").push(id.to_string());
                Ok(format!("fault injected into {id}"))
            }),
        };
        let o = CockpitOptions {
            deploy_logs: None,
            demo: Some(demo),
            hosting: shipdeck::tui::cockpit::Hosting::Here,
            ..opts(false)
        };
        let keys = vec![key(KeyCode::Char('j')), key(KeyCode::Char('f'))];
        let mut events: Vec<crossterm::event::Event> = vec![
            crossterm::event::Event::Key(key(KeyCode::Tab)),
            crossterm::event::Event::Key(key(KeyCode::Tab)),
        ];
        events.extend(keys.into_iter().map(crossterm::event::Event::Key));
        cockpit::run_with(
            handle.link(),
            o,
            &mut term,
            scripted_events(events),
            std::future::pending(),
        )
        .await
        .expect("run");
        assert_eq!(seen.lock().expect("lock").as_slice(), ["demo-sales"]);
        assert!(shown(&term).contains("fault injected into demo-sales"));
        let _ = HashMap::<u8, u8>::new();
        handle.stop().await.expect("stop");
    }
}

/// Issue 10, item 2: the demo wave waits on a *deployment* item while the
/// pre-release list still has an item open for later: the pane shows both, with
/// the wave each holds, instead of the pre-release list alone.
#[test]
fn the_checklist_pane_shows_what_holds_the_next_wave_whichever_list() {
    let mut d = start(ReleaseType::Security);
    for item in [
        "vuln-confirmed",
        "fix-complete",
        "no-new-vulns",
        "emergency-comms",
    ] {
        d.cmd(
            "alice",
            Command::tick(&format!("pre-release-security/{item}"), false),
        )
        .expect("tick");
    }
    d.run_to(t0() + TimeDelta::minutes(5));
    assert_eq!(d.state.phase, engine::Phase::Rollout, "validated");
    assert_eq!(d.state.waves[0].status, WaveStatus::Waiting, "demo held");
    let shown = text(&d.state, d.now, &app());
    let row = |needle: &str| {
        shown
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not shown:\n{shown}"))
            .to_string()
    };
    // The checklist pane is the left column: what each row holds ends it.
    let holds = |needle: &str| {
        row(needle)
            .split('│')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    };
    assert!(holds("Deployment wind").ends_with("demo"), "{shown}");
    assert!(holds("Enhanced monito").ends_with("startup"), "{shown}");
    assert!(shown.contains("gating next 2/6"), "{shown}");
    insta::assert_snapshot!("checklist_gating_view", shown);
}

/// Issue 10, item 2: after a rollback ended the release, the rollback
/// checklist is on screen and its items can still be ticked.
#[test]
fn the_rollback_checklist_stays_reachable_after_the_release_rolled_back() {
    let mut d = rolling_out();
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::All,
            reason: "data corruption".into(),
            force: false,
        },
    )
    .expect("rollback");
    d.run_to(d.now + TimeDelta::hours(1));
    assert_eq!(d.state.phase, engine::Phase::RolledBack);
    let mut a = app();
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("Rollback checklist 0/7"), "{shown}");
    a.on_key(key(KeyCode::Tab), &d.state, d.now);
    let out = a.on_key(key(KeyCode::Char('x')), &d.state, d.now);
    let Some(shipdeck::tui::app::Outgoing::Command(cmd)) = out else {
        panic!("no command: {out:?}");
    };
    d.cmd("alice", cmd)
        .expect("a follow-up item is tickable after the end");
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("Rollback checklist 1/7"), "{shown}");
    // And every list is a key away: ] cycles through them.
    a.on_key(key(KeyCode::Char(']')), &d.state, d.now);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("gating next 0/0"), "{shown}");
    assert!(shown.contains("nothing gates what comes next"), "{shown}");
    a.on_key(key(KeyCode::Char(']')), &d.state, d.now);
    let shown = text(&d.state, d.now, &a);
    assert!(shown.contains("Pre-release: security patch"), "{shown}");
}

/// The timeline row of a wave (column 0 holds the selection mark).
fn wave_line(shown: &str, tier: &str) -> String {
    shown
        .lines()
        .find(|l| {
            l.get(2..)
                .is_some_and(|rest| rest.starts_with(&format!("{tier} ")))
        })
        .unwrap_or_else(|| panic!("no {tier} row:\n{shown}"))
        .to_string()
}

/// Issue 10, item 7: words that said the wrong thing.
#[test]
fn labels_say_what_is_happening() {
    // Validation passed, the demo wave held by an item: "passed", not "stopped".
    let mut d = start(ReleaseType::Security);
    for item in ["vuln-confirmed", "fix-complete"] {
        d.cmd(
            "alice",
            Command::tick(&format!("pre-release-security/{item}"), false),
        )
        .expect("tick");
    }
    d.run_to(t0() + TimeDelta::minutes(5));
    let shown = text(&d.state, d.now, &app());
    assert!(
        wave_line(&shown, "validation").contains("+ passed"),
        "{shown}"
    );

    // Soaking, not "deploying": the demo wave's deploys are done at +6m and it
    // soaks 5 minutes.
    let mut d = start(ReleaseType::Security);
    d.tick_gating();
    d.run_to(t0() + TimeDelta::minutes(8));
    let shown = text(&d.state, d.now, &app());
    let demo = wave_line(&shown, "demo");
    assert!(
        demo.contains("0/2 healthy · 2 soaking, 3:00 left"),
        "{demo}"
    );

    // Rolling back is not deploying; reverted is not waiting; a reverted
    // customer shows no figures of the version it left.
    let mut d = rolling_out();
    d.cmd(
        "alice",
        Command::Rollback {
            scope: RollbackScope::Wave(shipdeck::domain::TierName::new("startup")),
            reason: "p95 up".into(),
            force: false,
        },
    )
    .expect("rollback");
    d.now += TimeDelta::seconds(30);
    let shown = text(&d.state, d.now, &app());
    let startup = wave_line(&shown, "startup");
    assert!(
        startup.contains("0/4 healthy · 4 rolling back"),
        "{startup}"
    );
    assert!(!startup.contains("deploying"), "{startup}");
    d.run_to(d.now + TimeDelta::minutes(5));
    let mut a = app();
    a.focus = shipdeck::tui::app::Focus::Health;
    let shown = screen(&d.state, d.now, &a, &Theme::ansi16(), 100, 30)
        .backend()
        .to_string();
    let gauge = shown
        .lines()
        .find(|l| l.contains("ok 0") && l.contains("back 4"))
        .unwrap_or_else(|| panic!("no `back 4` in the gauges:\n{shown}"));
    assert!(gauge.contains("wait 0"), "{gauge}");
    let techstart = shown
        .lines()
        .find(|l| l.contains("TechStart"))
        .expect("TechStart row");
    assert!(techstart.contains("reverted"), "{techstart}");
    assert!(
        !techstart.contains('%') && !techstart.contains("ms"),
        "figures of the failed version: {techstart}"
    );
}

/// Issue 10, item 7: a paused release's planned bars stay at or after now.
#[test]
fn planned_bars_are_never_drawn_in_the_past_while_paused() {
    let mut d = rolling_out();
    d.cmd(
        "alice",
        Command::Pause {
            reason: "long call".into(),
        },
    )
    .expect("pause");
    d.now += TimeDelta::hours(3);
    let shown = text(&d.state, d.now, &app());
    let axis = shown.lines().find(|l| l.contains('▼')).expect("axis line");
    let now_col = axis.chars().position(|c| c == '▼').expect("now");
    for tier in ["standard", "enterprise"] {
        let row = wave_line(&shown, tier);
        let bar = row.chars().position(|c| c == '░').expect("a planned bar");
        assert!(bar >= now_col, "{tier} drawn before now:\n{shown}");
    }
}

/// Issue 10, item 7: monitoring says until when; after completion the footer
/// offers only keys that still work.
#[test]
fn monitoring_says_until_when_and_a_completed_footer_offers_working_keys() {
    let mut d = start(ReleaseType::Security);
    d.tick_gating();
    // Contoso Bank deploys in its Sunday window (Saturday 14:00 UTC).
    d.run_to(t0() + TimeDelta::days(6));
    let until = d.state.monitoring_until;
    assert_eq!(d.state.phase, engine::Phase::Monitoring, "{until:?}");
    let shown = screen(&d.state, d.now, &app(), &Theme::ansi16(), 120, 30)
        .backend()
        .to_string();
    let want = format!(
        "MONITORING until {} UTC",
        until.expect("until").format("%a %H:%M")
    );
    assert!(shown.contains(&want), "{want} in\n{shown}");
    d.run_to(t0() + TimeDelta::days(10));
    assert_eq!(d.state.phase, engine::Phase::Completed);
    let shown = text(&d.state, d.now, &app());
    let footer = shown.lines().last().expect("footer");
    assert!(footer.contains("r rollback"), "{footer}");
    for dead in ["a approve", "p pause", "s skip", "A abort"] {
        assert!(!footer.contains(dead), "{dead} offered: {footer}");
    }
}

/// Issue 10, item 8: at 120 columns the pause banner and the log lines were cut
/// mid-figure. The banner wraps; the log keeps the figures near the start of the
/// line, and Enter shows a line in full.
#[test]
fn long_reasons_are_read_whole_at_120_columns() {
    let mut d = rolling_out();
    d.run_to(d.demo_done() + TimeDelta::minutes(22));
    let techstart = shipdeck::domain::CustomerId::new("techstart");
    assert_eq!(
        d.state.customer(&techstart).expect("techstart").status,
        engine::CustomerStatus::Verifying
    );
    for _ in 0..3 {
        d.input(Input::Result(EffectResult::Probed {
            customer: techstart.clone(),
            outcome: ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(12.0),
                    latency_p95_ms: Some(120.0),
                },
            },
        }))
        .expect("probe");
    }
    let pause = d.state.pause.clone().expect("paused by the rollback lock");
    assert!(pause.reason.contains("on 3 checks"), "{pause:?}");
    let mut a = app();
    let shown = screen(&d.state, d.now, &a, &Theme::ansi16(), 120, 40)
        .backend()
        .to_string();
    // The banner, every row of it, says the whole reason.
    let banner: String = shown
        .lines()
        .skip(1)
        .take_while(|l| !l.contains("Timeline"))
        .map(|l| l.trim_matches('"').trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(banner.contains("= PAUSED by shipdeck"), "{shown}");
    assert!(banner.contains("on 3 checks"), "{banner}");
    assert!(banner.ends_with("— p resumes"), "{banner}");
    let log_line = shown
        .lines()
        .find(|l| l.contains("trigger fired on techstart"))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(log_line.contains("error rate 12.0% > limit"), "{log_line}");
    // Enter on the selected line: the whole decision.
    a.focus = shipdeck::tui::app::Focus::Log;
    let index = d.state.decisions.len() - 1;
    // Newest first: step down to the trigger's line.
    while d.state.decisions[index - a.log_scroll].what != "trigger fired on techstart" {
        a.on_key(key(KeyCode::Char('j')), &d.state, d.now);
    }
    a.on_key(key(KeyCode::Enter), &d.state, d.now);
    assert!(a.log_detail.is_some());
    let shown = screen(&d.state, d.now, &a, &Theme::ansi16(), 120, 40)
        .backend()
        .to_string();
    assert!(shown.contains(" Decision "), "{shown}");
    let why: String = shown
        .lines()
        .skip_while(|l| !l.contains(" why "))
        .take(3)
        .collect();
    assert!(
        why.contains("points)") && why.contains("on 3 checks"),
        "{shown}"
    );
    insta::assert_snapshot!("decision_in_full_120x40", shown);
    a.on_key(key(KeyCode::Esc), &d.state, d.now);
    assert!(a.log_detail.is_none());
}

/// Configuration text that got past validation (defence in depth): a checklist
/// item with an ESC and a line break is drawn escaped, as wide as it is counted,
/// and the pane keeps its right border in place on every row.
#[test]
fn a_checklist_item_with_control_characters_is_drawn_escaped_and_keeps_the_border() {
    let mut cfg = config::load_builtin().expect("built-in config");
    let list = cfg
        .checklists
        .iter_mut()
        .find(|c| c.id == "pre-release-security")
        .expect("security checklist");
    list.items[0].text = "a\u{1b}[41mRED\r\nX".into();
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("version"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let first = engine::plan_event(plan, "alice", t0());
    let state = ReleaseState::fold([&first]).expect("fold");
    let t = screen(&state, t0(), &app(), &Theme::ansi16(), 120, 24);
    let buf = t.backend().buffer();
    let row_text = |y: u16| -> String { (0..120).map(|x| buf[(x, y)].symbol()).collect() };
    let rows: Vec<String> = (0..24).map(row_text).collect();
    let item_row = rows
        .iter()
        .position(|r| r.contains("a\\x1b[41mRED"))
        .unwrap_or_else(|| panic!("the item, escaped:\n{}", rows.join("\n")));
    assert!(
        rows[item_row].contains("a\\x1b[41mRED\\r\\nX"),
        "{}",
        rows[item_row]
    );
    // The left pane's right border: the same column on the item's row as on the
    // next item's row.
    let border = |r: &str| r.chars().position(|c| c == '│');
    assert!(border(&rows[item_row]).is_some(), "{}", rows.join("\n"));
    assert_eq!(
        border(&rows[item_row]),
        border(&rows[item_row + 1]),
        "\n{}\n{}",
        rows[item_row],
        rows[item_row + 1]
    );
    assert!(
        (0..24).all(|y| (0..120).all(|x| !buf[(x, y)].symbol().contains(char::is_control))),
        "no control character reaches a cell"
    );
}

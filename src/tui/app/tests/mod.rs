//! The cockpit app's tests: helpers here, one module per area.

use super::*;
use crate::domain::{ReleaseType, TierName};
use crate::engine::{self, Input, Rejected, ReleasePlan, Selection};
use crate::tui::input::key;
use crossterm::event::KeyModifiers;

mod actions;
mod dialogs;
mod navigation;

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("time")
}

fn state(t: ReleaseType) -> (ReleaseState, DateTime<Utc>) {
    let cfg = crate::config::load_builtin().expect("config");
    let plan = ReleasePlan::build(&cfg, "v1.0.1".parse().expect("v"), t, Selection::All, false)
        .expect("plan");
    let first = engine::plan_event(plan, "alice", t0());
    (ReleaseState::fold([&first]).expect("fold"), t0())
}

/// The demo's release: bug fix, enterprise behind the release captain's
/// approval (alice may sign), gating items ticked, rolling out.
fn demo_state() -> (ReleaseState, DateTime<Utc>) {
    let cfg = crate::sim::demo_world::demo_config().expect("demo config");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.2".parse().expect("v"),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let first = engine::plan_event(plan, "alice", t0());
    let mut s = ReleaseState::fold([&first]).expect("fold");
    for key in s.unticked_gating_all() {
        let _ = run(&mut s, Command::tick(&key, true), t0());
    }
    let _ = engine::step(&mut s, &Input::Tick, t0());
    (s, t0())
}

fn run(s: &mut ReleaseState, command: Command, now: DateTime<Utc>) -> Result<(), Rejected> {
    let input = Input::Command {
        actor: "alice".into(),
        command,
    };
    engine::step(s, &input, now).map(drop)
}

/// What the cockpit loop does with a key's outcome: a command goes to the
/// engine, and its verdict comes back to the app.
fn deliver(
    app: &mut App,
    s: &mut ReleaseState,
    now: DateTime<Utc>,
    out: Option<Outgoing>,
) -> Option<Result<(), Rejected>> {
    let Some(Outgoing::Command(command)) = out else {
        return None;
    };
    let verdict = run(s, command.clone(), now);
    app.on_command_result(&command, verdict.clone().map_err(SendError::Rejected));
    Some(verdict)
}

fn press(app: &mut App, s: &ReleaseState, now: DateTime<Utc>, code: KeyCode) -> Option<Outgoing> {
    app.on_key(key(code), s, now)
}

fn typ(app: &mut App, s: &ReleaseState, now: DateTime<Utc>, text: &str) {
    for c in text.chars() {
        assert_eq!(press(app, s, now, KeyCode::Char(c)), None, "typing {c:?}");
    }
}

fn message(app: &App) -> (MessageKind, String) {
    let m = app.message.clone().expect("a message");
    (m.kind, m.text)
}

fn dialog(app: &App) -> &Dialog {
    app.dialog.as_ref().expect("a dialog is open")
}

/// Where the focus is in a dialog: a field, or which button.
fn focus_of(app: &App) -> &'static str {
    let d = dialog(app);
    match (d.field, d.confirm_focused) {
        (Field::Scope, _) => "scope",
        (Field::Choice, _) => "choice",
        (Field::Reason, _) => "reason",
        (Field::Version, _) => "version",
        (Field::Buttons, false) => "cancel",
        (Field::Buttons, true) => "confirm",
    }
}

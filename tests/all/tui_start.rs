//! The start screen of bare `shipdeck`: insta snapshots on a `TestBackend` over a
//! release history written as real journals, the form's keys through the screen's
//! loop with scripted input, and the real binary in tmux (start screen, plan,
//! cockpit on one terminal; quitting leaves the state dir untouched).

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use shipdeck::config;
use shipdeck::domain::{Configuration, ReleaseType, TierName, Version};
use shipdeck::engine::testkit;
use shipdeck::engine::{
    self, Command, EffectResult, Event as JournalEvent, Input, Phase, ReleasePlan, ReleaseState,
    RollbackScope, Selection,
};
use shipdeck::runtime::history;
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::tui::input::{key, scripted_events, scripted_keys, typed};
use shipdeck::tui::start::{self, StartOutcome};
use shipdeck::tui::start::{Field, Stage, StartExit, StartScreen};
use shipdeck::tui::start_loop::{self, StartOptions};
use shipdeck::tui::terminal::ShutdownSignal;
use shipdeck::tui::theme::Theme;
use shipdeck::tui::view;

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("time")
}

fn cfg() -> Configuration {
    config::load_builtin().expect("built-in config")
}

/// How a recorded release ends.
#[derive(Clone, Copy)]
enum Outcome {
    Completed,
    RolledBack,
    Aborted,
}

/// Plays a release on the engine's test kit ([`testkit::Drill`]: deploys, checks
/// and rollbacks answered after their planned time) with every customer probed
/// healthy every 5 minutes, and writes its journal.
struct Recorder {
    kit: testkit::Drill,
}

impl Recorder {
    fn start(version: &str, t: ReleaseType, actor: &str, at: DateTime<Utc>) -> Recorder {
        let plan = ReleasePlan::build(
            &cfg(),
            version.parse().expect("version"),
            t,
            Selection::All,
            false,
        )
        .expect("plan");
        Recorder {
            kit: testkit::Drill::new(plan, actor, at).expect("drill"),
        }
    }

    fn input(&mut self, input: Input) {
        self.kit.input(input).expect("accepted");
    }

    fn command(&mut self, actor: &str, command: Command) {
        self.input(Input::Command {
            actor: actor.into(),
            command,
        });
    }

    fn tick_gating_items(&mut self, actor: &str) {
        let items: Vec<(String, String)> = self
            .kit
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
            self.command(
                actor,
                Command::TickItem {
                    checklist: Some(list),
                    item,
                    on_word: false,
                },
            );
        }
    }

    fn probe_all(&mut self) {
        let ids: Vec<_> = self
            .kit
            .state
            .customers
            .iter()
            .map(|c| c.id.clone())
            .collect();
        for id in ids {
            let sample = shipdeck::domain::HealthSample {
                error_rate: Some(0.5),
                latency_p95_ms: Some(100.0),
            };
            self.input(Input::Result(EffectResult::Probed {
                customer: id,
                outcome: shipdeck::domain::ProbeOutcome::Up { sample },
            }));
        }
    }

    /// Answers results and deadlines up to `limit`, probing every 5 minutes.
    fn run_until(&mut self, limit: DateTime<Utc>) {
        self.input(Input::Tick);
        let mut next_probe = self.kit.now;
        loop {
            let next_result = self.kit.queue.iter().map(|(t, _)| *t).min();
            let next = [
                engine::next_deadline(&self.kit.state, self.kit.now),
                next_result,
                Some(next_probe),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|n| *n <= limit) else {
                break;
            };
            self.kit.now = self.kit.now.max(next);
            if self.kit.now >= next_probe {
                self.probe_all();
                next_probe = self.kit.now + TimeDelta::minutes(5);
            }
            let now = self.kit.now;
            let (due, rest): (Vec<_>, Vec<_>) =
                self.kit.queue.drain(..).partition(|(t, _)| *t <= now);
            self.kit.queue = rest;
            for (_, r) in due {
                self.input(Input::Result(r));
            }
            self.input(Input::Tick);
        }
        self.kit.now = limit;
        self.input(Input::Tick);
    }

    fn write(self, dir: &StateDir) -> ReleaseState {
        let label = self.kit.state.plan.version.to_string();
        let (mut journal, _) =
            JournalWriter::<JournalEvent>::open(&dir.journal_path(&label)).expect("journal");
        journal.append_batch(&self.kit.log).expect("append");
        self.kit.state
    }
}

/// Writes one release's journal into `dir`, ended as `outcome`.
fn record(
    dir: &StateDir,
    version: &str,
    t: ReleaseType,
    actor: &str,
    at: DateTime<Utc>,
    outcome: Outcome,
) {
    let mut r = Recorder::start(version, t, actor, at);
    match outcome {
        Outcome::Aborted => {
            r.kit.now += TimeDelta::minutes(20);
            r.command(
                actor,
                Command::Abort {
                    reason: "wrong build tagged".into(),
                },
            );
        }
        Outcome::Completed => {
            r.tick_gating_items(actor);
            r.run_until(at + TimeDelta::days(10));
        }
        Outcome::RolledBack => {
            r.tick_gating_items(actor);
            r.run_until(at + TimeDelta::hours(1));
            r.command(
                actor,
                Command::Rollback {
                    scope: RollbackScope::All,
                    reason: "p95 up 40% on the demo".into(),
                    force: false,
                },
            );
            r.run_until(at + TimeDelta::hours(2));
        }
    }
    let state = r.write(dir);
    let want = match outcome {
        Outcome::Completed => Phase::Completed,
        Outcome::RolledBack => Phase::RolledBack,
        Outcome::Aborted => Phase::Aborted,
    };
    assert_eq!(state.phase, want, "{version} did not end as intended");
}

/// A state dir with three releases: a security patch that completed, a bug fix
/// that was rolled back, a performance patch aborted before it reached anyone.
fn with_history() -> (tempfile::TempDir, StateDir) {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = StateDir::at(tmp.path());
    record(
        &dir,
        "v1.0.1",
        ReleaseType::Security,
        "alice",
        t0(),
        Outcome::Completed,
    );
    record(
        &dir,
        "v1.0.2",
        ReleaseType::BugFix,
        "bob",
        t0() + TimeDelta::days(3),
        Outcome::RolledBack,
    );
    record(
        &dir,
        "v1.0.3",
        ReleaseType::Performance,
        "alice",
        t0() + TimeDelta::days(5),
        Outcome::Aborted,
    );
    (tmp, dir)
}

fn screen_over(dir: &StateDir) -> StartScreen {
    StartScreen::new(cfg(), history::summaries(dir), "alice", "/srv/shipdeck")
}

fn empty_screen() -> StartScreen {
    StartScreen::new(cfg(), Vec::new(), "alice", "/srv/shipdeck")
}

fn draw(s: &StartScreen, theme: &Theme, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| {
            view::start::render(f, s, t0() + TimeDelta::days(6), theme);
        })
        .expect("draw");
    terminal
}

fn text(s: &StartScreen, w: u16, h: u16) -> String {
    draw(s, &Theme::ansi16(), w, h).backend().to_string()
}

fn press(s: &mut StartScreen, keys: Vec<KeyEvent>) -> Option<StartOutcome> {
    let mut last = None;
    for k in keys {
        last = s.on_key(k);
        if last.is_some() {
            break;
        }
    }
    last
}

fn backspaces(n: usize) -> Vec<KeyEvent> {
    vec![key(KeyCode::Backspace); n]
}

fn opts() -> StartOptions {
    StartOptions {
        theme: Theme::monochrome(),
        now: Some(t0() + TimeDelta::days(6)),
    }
}

/// Runs the screen's loop over `keys` on a TestBackend; returns how it ended.
async fn run(s: &mut StartScreen, keys: Vec<KeyEvent>, w: u16, h: u16) -> (StartExit, String) {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let exit = start_loop::run_with(
        s,
        &opts(),
        &mut term,
        scripted_keys(keys),
        std::future::pending(),
    )
    .await
    .expect("run");
    (exit, term.backend().to_string())
}

/// [`run`], but the keys are followed by input that never ends: `None` when the
/// loop is still running five (paused) seconds later, so only a key can quit.
async fn run_on(
    s: &mut StartScreen,
    keys: Vec<KeyEvent>,
    w: u16,
    h: u16,
) -> (Option<StartExit>, String) {
    use futures_util::StreamExt;
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    let events = scripted_keys(keys).chain(futures_util::stream::pending());
    let options = opts();
    let run = start_loop::run_with(s, &options, &mut term, events, std::future::pending());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(5), run)
        .await
        .ok()
        .map(|r| r.expect("run"));
    (exit, term.backend().to_string())
}

// ---------------------------------------------------------------- snapshots

#[test]
fn recent_releases_newest_first_with_their_outcome() {
    let (_tmp, dir) = with_history();
    let s = screen_over(&dir);
    let shown = text(&s, 100, 30);
    let pos = |needle: &str| {
        shown
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{shown}"))
    };
    assert!(pos("v1.0.3     performance") < pos("v1.0.2     bug_fix"));
    assert!(pos("v1.0.2     bug_fix") < pos("v1.0.1     security"));
    for word in ["+ completed", "x rolled back", "! aborted", "bob"] {
        assert!(shown.contains(word), "{word} missing:\n{shown}");
    }
    // The rolled-back and aborted numbers are spent: the next patch goes after them.
    assert_eq!(s.version, "v1.0.4");
    assert!(shown.contains("v1.0.4_"), "{shown}");
    assert!(shown.contains("after v1.0.3 (aborted)"), "{shown}");
    insta::assert_snapshot!("recent_releases", shown);
}

#[test]
fn empty_history_says_so_and_suggests_the_customers_next_patch() {
    let s = empty_screen();
    let shown = text(&s, 80, 24);
    assert!(
        shown.contains("No releases yet in /srv/shipdeck."),
        "{shown}"
    );
    // The customers run v1.0.0 per the built-in config.
    assert_eq!(s.version, "v1.0.1");
    assert!(shown.contains("customers run v1.0.0 (config)"), "{shown}");
    insta::assert_snapshot!("empty", shown);
}

#[test]
fn form_marks_every_problem_and_refuses_to_show_a_plan() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    let mut keys = backspaces(6);
    keys.extend(typed("v1.0.9"));
    keys.extend([key(KeyCode::Tab), key(KeyCode::Tab)]);
    keys.extend(backspaces(3));
    keys.extend(typed("Globex, Nobody"));
    keys.push(key(KeyCode::Enter));
    assert_eq!(press(&mut s, keys), None);
    assert_eq!(s.stage, Stage::Form, "a plan with problems is not shown");
    assert_eq!(s.field, Field::Version, "focus goes to the first problem");
    let shown = text(&s, 80, 24);
    assert!(
        shown.contains("a bug_fix release from v1.0.3 must be v1.0.4, not v1.0.9"),
        "{shown}"
    );
    assert!(shown.contains("unknown customer `Nobody`"), "{shown}");
    assert!(shown.contains("the plan needs the marked fields fixed first"));
    insta::assert_snapshot!("validation_error", shown);
}

#[test]
fn plan_preview_shows_waves_gates_and_checklists() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    assert_eq!(press(&mut s, vec![key(KeyCode::Enter)]), None);
    let Stage::Preview(plan) = &s.stage else {
        panic!("no preview: {:?}", s.message)
    };
    assert_eq!(plan.version.to_string(), "v1.0.4");
    let shown = text(&s, 100, 30);
    for needle in [
        "v1.0.4 bug_fix · urgency medium · 14 customers in 4 waves",
        "demo +2h",
        "Umbrella Health in sat,sun 01:00 Europe/London for 4h",
        "repro-documented, root-cause-fixed",
        "nothing has started yet",
    ] {
        assert!(shown.contains(needle), "{needle} missing:\n{shown}");
    }
    insta::assert_snapshot!("plan_preview", shown);
}

#[test]
fn plan_preview_of_a_minor_release_at_80x24_names_its_approvers_and_scrolls() {
    let mut s = empty_screen();
    // Type: bug_fix → performance → documentation → minor.
    let mut keys = vec![key(KeyCode::Tab)];
    keys.extend(vec![key(KeyCode::Right); 3]);
    keys.push(key(KeyCode::Enter));
    press(&mut s, keys);
    let Stage::Preview(plan) = &s.stage else {
        panic!("no preview: {:?}", s.message)
    };
    assert_eq!(plan.release_type, ReleaseType::Minor);
    assert_eq!(plan.version.to_string(), "v1.1.0");
    let top = text(&s, 80, 24);
    assert!(top.contains("approval: qa_lead"), "{top}");
    assert!(top.contains("j/k scroll"), "{top}");
    insta::assert_snapshot!("plan_preview_minor_80x24", top);
    // G goes to the last page; the loop keeps the clamped scroll.
    press(&mut s, vec![key(KeyCode::Char('G'))]);
    let mut term = draw(&s, &Theme::ansi16(), 80, 24);
    let drawn = {
        let mut d = view::start::Drawn::default();
        term.draw(|f| d = view::start::render(f, &s, t0(), &Theme::ansi16()))
            .expect("draw");
        d
    };
    assert!(drawn.scroll > 0 && drawn.scroll < u16::MAX, "{drawn:?}");
    let bottom = term.backend().to_string();
    assert!(bottom.contains("Triggers:"), "{bottom}");
}

#[test]
fn monochrome_start_screen_has_no_colour() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    s.show_plan();
    for stage_screen in [screen_over(&dir), s] {
        let t = draw(&stage_screen, &Theme::monochrome(), 100, 30);
        for cell in t.backend().buffer().content() {
            assert_eq!(cell.fg, ratatui::style::Color::Reset, "{:?}", cell.symbol());
            assert_eq!(cell.bg, ratatui::style::Color::Reset, "{:?}", cell.symbol());
        }
    }
}

#[test]
fn help_lists_the_start_screen_keys() {
    let mut s = empty_screen();
    press(&mut s, vec![key(KeyCode::Char('?'))]);
    let shown = text(&s, 80, 24);
    assert!(shown.contains("Keys: start screen"), "{shown}");
    assert!(
        shown.contains("show the plan (nothing starts yet)"),
        "{shown}"
    );
    // `?` does not type into the version field; Esc closes the help, not the screen.
    assert_eq!(s.version, "v1.0.1");
    assert_eq!(press(&mut s, vec![key(KeyCode::Esc)]), None);
    assert!(!s.help);
}

// ---------------------------------------------------------------- keys, through the loop

#[tokio::test(start_paused = true)]
async fn typing_a_version_replaces_the_suggestion() {
    let mut s = empty_screen();
    let mut keys = backspaces(3);
    keys.extend(typed("2.0"));
    let (exit, shown) = run(&mut s, keys, 100, 30).await;
    assert_eq!(exit, StartExit::Quit, "the input ended");
    assert_eq!(s.version, "v1.2.0");
    assert!(s.version_edited);
    assert!(shown.contains("v1.2.0_"), "{shown}");
    // A typed version stays when the type changes.
    press(&mut s, vec![key(KeyCode::Tab), key(KeyCode::Right)]);
    assert_eq!(s.release_type(), Some(ReleaseType::Performance));
    assert_eq!(s.version, "v1.2.0");
}

#[tokio::test(start_paused = true)]
async fn cycling_the_type_suggests_its_version_and_says_where_emergencies_start() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    assert_eq!(s.release_type(), Some(ReleaseType::BugFix));
    let mut keys = vec![key(KeyCode::Tab)];
    keys.extend(vec![key(KeyCode::Char(' ')); 3]);
    let (_, shown) = run(&mut s, keys, 100, 30).await;
    assert_eq!(s.release_type(), Some(ReleaseType::Minor));
    assert_eq!(s.version, "v1.1.0", "the suggestion follows the type");
    assert!(shown.contains("< minor >"), "{shown}");
    assert!(
        shown.contains("approval: qa_lead, product_owner"),
        "{shown}"
    );
    // Emergencies are for patches, and are declared in the cockpit.
    assert!(!shown.contains(start::text::EMERGENCY_HOWTO), "{shown}");
    // Left goes back; h too.
    press(&mut s, vec![key(KeyCode::Left), key(KeyCode::Char('h'))]);
    assert_eq!(s.release_type(), Some(ReleaseType::Performance));
    assert_eq!(s.version, "v1.0.4");
    let shown = text(&s, 100, 30);
    assert!(
        shown.contains("emergency: start it, then press e in the cockpit (asks why)"),
        "{shown}"
    );
    // Round the end: major → security.
    press(&mut s, vec![key(KeyCode::Left); 3]);
    assert_eq!(s.release_type(), Some(ReleaseType::Major));
    assert_eq!(s.version, "v2.0.0");
    press(&mut s, vec![key(KeyCode::Right)]);
    assert_eq!(s.release_type(), Some(ReleaseType::Security));
}

#[tokio::test(start_paused = true)]
async fn enter_shows_the_plan_and_esc_goes_back_to_the_form() {
    let mut s = empty_screen();
    let (exit, shown) = run(&mut s, vec![key(KeyCode::Enter)], 100, 30).await;
    assert_eq!(exit, StartExit::Quit);
    assert!(matches!(s.stage, Stage::Preview(_)));
    assert!(shown.contains("Plan · nothing has started yet"), "{shown}");
    assert!(shown.contains("enter/y start  esc back"), "{shown}");
    let (_, shown) = run(&mut s, vec![key(KeyCode::Esc)], 100, 30).await;
    assert_eq!(s.stage, Stage::Form);
    assert!(shown.contains("Start a release"), "{shown}");
    assert_eq!(s.version, "v1.0.1", "the form keeps what was typed");
}

#[tokio::test(start_paused = true)]
async fn enter_on_the_preview_returns_the_plan() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    // Security (Left from bug_fix), the startup tier, then show and start.
    let mut keys = vec![key(KeyCode::Tab), key(KeyCode::Left), key(KeyCode::Tab)];
    keys.extend(backspaces(3));
    keys.extend(typed("startup"));
    keys.extend([key(KeyCode::Enter), key(KeyCode::Enter)]);
    let (exit, _) = run(&mut s, keys, 100, 30).await;
    let StartExit::Start(plan) = exit else {
        panic!("not started: {exit:?}")
    };
    assert_eq!(plan.version, Version::new(1, 0, 4));
    assert_eq!(plan.release_type, ReleaseType::Security);
    assert_eq!(
        plan.selection,
        Selection::Tiers(vec![TierName::new("startup")])
    );
    assert!(!plan.emergency);
    let tiers: Vec<&str> = plan.waves.iter().map(|w| w.tier.as_str()).collect();
    assert_eq!(
        tiers,
        ["demo", "startup"],
        "the demo wave always goes first"
    );
    assert_eq!(plan.customer_count(), 6);
}

#[tokio::test(start_paused = true)]
async fn the_form_offers_no_emergency_for_any_type() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    let n = s.types.len();
    assert!(n > 1, "{:?}", s.types);
    for _ in 0..n {
        let t = s.release_type().expect("a type");
        assert_eq!(
            s.fields(),
            [
                Field::Version,
                Field::Type,
                Field::Customers,
                Field::ShowPlan
            ],
            "{t}"
        );
        let shown = text(&s, 100, 30);
        assert!(!shown.contains("Emergency"), "{t}:\n{shown}");
        assert!(!shown.contains("EMERGENCY"), "{t}:\n{shown}");
        assert_eq!(
            shown.contains(start::text::EMERGENCY_HOWTO),
            t.is_patch(),
            "{t}:\n{shown}"
        );
        press(&mut s, vec![key(KeyCode::Tab), key(KeyCode::Right)]);
        s.field = Field::Version;
    }
    // The keys that toggled emergency on a bug fix now reach the customers
    // field (a space changes nothing there), and the plan is an ordinary one.
    let mut s = empty_screen();
    let keys = vec![
        key(KeyCode::BackTab), // wraps to the button
        key(KeyCode::BackTab), // Customers
        key(KeyCode::Char(' ')),
        key(KeyCode::Enter),
        key(KeyCode::Char('y')),
    ];
    let (exit, _) = run(&mut s, keys, 100, 30).await;
    let StartExit::Start(plan) = exit else {
        panic!("not started: {exit:?}")
    };
    assert!(!plan.emergency);
    assert_eq!(plan.release_type, ReleaseType::BugFix);
    assert_eq!(plan.selection, Selection::All);
}

#[tokio::test(start_paused = true)]
async fn q_and_esc_quit_with_nothing_but_q_is_a_letter_in_a_text_field() {
    // q in the version field types a q.
    let mut s = empty_screen();
    let (exit, _) = run(&mut s, typed("q"), 100, 30).await;
    assert_eq!(exit, StartExit::Quit, "only because the input ended");
    assert_eq!(s.version, "v1.0.1q");
    // Esc in a text field quits.
    let mut s = empty_screen();
    let (exit, _) = run(
        &mut s,
        vec![key(KeyCode::Esc), key(KeyCode::Enter), key(KeyCode::Enter)],
        100,
        30,
    )
    .await;
    assert_eq!(exit, StartExit::Quit);
    assert_eq!(s.stage, Stage::Form, "nothing after Esc was read");
    // q on the type field quits, before the Enters that would start.
    let mut s = empty_screen();
    let keys = vec![
        key(KeyCode::Tab),
        key(KeyCode::Char('q')),
        key(KeyCode::Enter),
        key(KeyCode::Enter),
    ];
    let (exit, _) = run(&mut s, keys, 100, 30).await;
    assert_eq!(exit, StartExit::Quit);
    assert_eq!(s.stage, Stage::Form);
    // q on the preview quits too; Ctrl-C anywhere.
    let mut s = empty_screen();
    assert_eq!(
        press(&mut s, vec![key(KeyCode::Enter), key(KeyCode::Char('q'))]),
        Some(start::StartOutcome::Quit)
    );
    let mut s = empty_screen();
    assert_eq!(
        press(
            &mut s,
            vec![KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)]
        ),
        Some(start::StartOutcome::Quit)
    );
}

#[tokio::test(start_paused = true)]
async fn other_chords_do_nothing() {
    let mut s = empty_screen();
    let keys = vec![
        KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL),
        KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT),
    ];
    let (exit, _) = run_on(&mut s, keys, 100, 30).await;
    assert_eq!(exit, None, "no chord ends the start screen");
    assert_eq!(s.version, "v1.0.1");
    assert_eq!(s.stage, Stage::Form);
}

#[tokio::test(start_paused = true)]
async fn a_spent_version_is_refused_with_the_release_that_spent_it() {
    let (_tmp, dir) = with_history();
    let mut s = screen_over(&dir);
    let mut keys = backspaces(1);
    keys.extend(typed("2"));
    keys.push(key(KeyCode::Enter));
    let (_, shown) = run(&mut s, keys, 100, 30).await;
    assert_eq!(s.stage, Stage::Form);
    assert!(
        shown.contains("v1.0.2 was already started (2026-11-19 10:00 UTC by bob, rolled back)"),
        "{shown}"
    );
    // A version that does not parse says why.
    let mut s = screen_over(&dir);
    let mut keys = backspaces(6);
    keys.extend(typed("v1.x"));
    keys.push(key(KeyCode::Enter));
    let (_, shown) = run(&mut s, keys, 100, 30).await;
    assert!(
        shown.contains("`v1.x` is not a version like v1.0.1"),
        "{shown}"
    );
}

#[test]
fn customer_problems_say_how_to_fix_them() {
    let mut s = empty_screen();
    let mut keys = vec![key(KeyCode::Tab), key(KeyCode::Tab)];
    keys.extend(backspaces(3));
    keys.extend(typed("acme"));
    keys.push(key(KeyCode::Enter));
    press(&mut s, keys);
    assert_eq!(s.field, Field::Customers, "focus goes to the problem");
    let shown = text(&s, 100, 30);
    assert!(
        shown.contains("unknown customer `acme`: did you mean ACME Corp?"),
        "{shown}"
    );
    let mut keys = backspaces(4);
    keys.extend(typed("ACME Corp, startup"));
    keys.push(key(KeyCode::Enter));
    press(&mut s, keys);
    let shown = text(&s, 100, 30);
    assert!(
        shown.contains("`startup` is a tier: list tiers alone"),
        "{shown}"
    );
    assert_eq!(s.stage, Stage::Form);
}

#[tokio::test(start_paused = true)]
async fn enter_with_no_customers_refuses_instead_of_meaning_all() {
    let mut s = empty_screen();
    let mut keys = vec![key(KeyCode::Tab), key(KeyCode::Tab)];
    keys.extend(backspaces(3));
    keys.extend(typed(" , "));
    keys.extend([key(KeyCode::Enter), key(KeyCode::Enter)]);
    let (exit, shown) = run(&mut s, keys, 100, 30).await;
    assert_eq!(exit, StartExit::Quit, "only because the input ended");
    assert_eq!(
        s.stage,
        Stage::Form,
        "a blank customers field shows no plan"
    );
    assert_eq!(s.field, Field::Customers, "focus goes to the problem");
    assert!(
        shown.contains("x type all, a tier, or customer names"),
        "{shown}"
    );
    assert!(!shown.contains("→ 14 customers"), "{shown}");
    assert!(shown.contains("the plan needs the marked fields fixed first"));
    assert!(s.check().is_err());
}

#[tokio::test(start_paused = true)]
async fn all_next_to_names_or_tiers_is_refused() {
    for typed_customers in ["ACME Corp, all", "startup, ALL"] {
        let mut s = empty_screen();
        let mut keys = vec![key(KeyCode::Tab), key(KeyCode::Tab)];
        keys.extend(backspaces(3));
        keys.extend(typed(typed_customers));
        keys.extend([key(KeyCode::Enter), key(KeyCode::Enter)]);
        let (exit, shown) = run(&mut s, keys, 100, 30).await;
        assert_eq!(exit, StartExit::Quit, "{typed_customers}");
        assert_eq!(s.stage, Stage::Form, "{typed_customers}: no plan shown");
        assert_eq!(s.field, Field::Customers);
        assert!(shown.contains("x all stands alone"), "{shown}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_paste_goes_into_the_field_on_one_line() {
    let mut s = empty_screen();
    let events = vec![
        Event::Key(key(KeyCode::Tab)),
        Event::Key(key(KeyCode::Tab)),
        Event::Key(key(KeyCode::Backspace)),
        Event::Key(key(KeyCode::Backspace)),
        Event::Key(key(KeyCode::Backspace)),
        Event::Paste("ACME Corp,\nGlobex".into()),
    ];
    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    start_loop::run_with(
        &mut s,
        &opts(),
        &mut term,
        scripted_events(events),
        std::future::pending(),
    )
    .await
    .expect("run");
    assert_eq!(s.customers, "ACME Corp, Globex");
    let shown = term.backend().to_string();
    assert!(
        shown.contains("→ 4 customers: demo 2 · standard 1 · enterprise 1"),
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn too_small_shows_the_message_and_only_quitting_works() {
    let mut s = empty_screen();
    let (exit, shown) = run_on(&mut s, vec![key(KeyCode::Enter)], 60, 20).await;
    assert!(shown.contains("terminal too small"), "{shown}");
    assert_eq!(exit, None, "Enter neither quit nor started");
    assert_eq!(s.stage, Stage::Form, "Enter did nothing it could not show");
    let keys = vec![key(KeyCode::Enter), key(KeyCode::Char('q'))];
    let (exit, _) = run_on(&mut s, keys, 60, 20).await;
    assert_eq!(exit, Some(StartExit::Quit), "q quits");
}

#[tokio::test(start_paused = true)]
async fn a_signal_ends_the_start_screen() {
    let mut s = empty_screen();
    let mut term = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let exit = start_loop::run_with(
        &mut s,
        &opts(),
        &mut term,
        futures_util::stream::pending(),
        async { ShutdownSignal::Hangup },
    )
    .await
    .expect("run");
    assert_eq!(exit, StartExit::Signal(ShutdownSignal::Hangup));
}

// ---------------------------------------------------------------- the binary, in tmux

mod binary {
    use crate::support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

    fn command(state: &std::path::Path) -> String {
        format!(
            "{} --state-dir {} --config {} --as alice --no-color",
            shell_quote(env!("CARGO_BIN_EXE_shipdeck")),
            shell_quote(&state.display().to_string()),
            shell_quote(concat!(env!("CARGO_MANIFEST_DIR"), "/config")),
        )
    }

    #[test]
    fn bare_shipdeck_quits_the_start_screen_leaving_no_trace() {
        if !tmux_or_skip("bare_shipdeck_quits_the_start_screen_leaving_no_trace") {
            return;
        }
        let tmp = tempfile::tempdir().expect("dir");
        let state = tmp.path().join("state");
        let tmux =
            TmuxSession::start_probed("start-quit", 100, 30, &command(&state), &[]).expect("tmux");
        tmux.wait_for_text("Start a release", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no start screen:\n{screen}"));
        assert!(tmux.alternate_on().expect("alternate"));
        tmux.send_keys(&["Escape"]).expect("keys");
        let report = tmux.wait_for_exit(TIMEOUT).expect("exit");
        report.assert_restored();
        assert_eq!(report.status, 0, "{}", report.screen);
        assert!(!state.exists(), "the state dir was written to");
    }

    #[test]
    fn the_start_screen_hands_its_plan_to_the_cockpit_on_one_screen() {
        if !tmux_or_skip("the_start_screen_hands_its_plan_to_the_cockpit_on_one_screen") {
            return;
        }
        let tmp = tempfile::tempdir().expect("dir");
        let state = tmp.path().join("state");
        let tmux =
            TmuxSession::start_probed("start-plan", 100, 30, &command(&state), &[]).expect("tmux");
        tmux.wait_for_text("Start a release", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no start screen:\n{screen}"));
        tmux.send_keys(&["Enter"]).expect("keys");
        tmux.wait_for_text("Plan · nothing has started yet", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no preview:\n{screen}"));
        assert!(
            !state.exists(),
            "the preview wrote to the state dir before the start"
        );
        tmux.send_keys(&["Enter"]).expect("keys");
        tmux.wait_for_text("alice started v1.0.1 bug_fix", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no cockpit:\n{screen}"));
        assert!(tmux.alternate_on().expect("alternate"), "left the screen");
        assert!(state.join("releases/v1.0.1/journal.jsonl").exists());
        // q asks (the release is running), q again quits.
        tmux.send_keys(&["q"]).expect("keys");
        tmux.wait_for_text("Quit the cockpit", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no quit question:\n{screen}"));
        tmux.send_keys(&["q"]).expect("keys");
        let report = tmux.wait_for_exit(TIMEOUT).expect("exit");
        report.assert_restored();
        assert_eq!(report.status, 0, "{}", report.screen);
        assert!(
            report.screen.contains("v1.0.1 bug_fix: planned"),
            "{}",
            report.screen
        );
    }

    #[test]
    fn a_version_started_elsewhere_meanwhile_is_not_opened_as_this_plan() {
        if !tmux_or_skip("a_version_started_elsewhere_meanwhile_is_not_opened_as_this_plan") {
            return;
        }
        let tmp = tempfile::tempdir().expect("dir");
        let state = tmp.path().join("state");
        let tmux =
            TmuxSession::start_probed("start-race", 100, 30, &command(&state), &[]).expect("tmux");
        tmux.wait_for_text("Start a release", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no start screen:\n{screen}"));
        tmux.send_keys(&["Enter"]).expect("keys");
        tmux.wait_for_text("Plan · nothing has started yet", TIMEOUT)
            .unwrap_or_else(|screen| panic!("no preview:\n{screen}"));
        // A colleague starts the same version for the startup tier meanwhile.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
            .args(["--state-dir", &state.display().to_string(), "--as", "bob"])
            .args(["--config", concat!(env!("CARGO_MANIFEST_DIR"), "/config")])
            .args(["deploy", "--version", "v1.0.1", "--type", "bug_fix"])
            .args(["--customers", "startup", "--speed", "500000", "--yes"])
            .output()
            .expect("run deploy");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        tmux.send_keys(&["Enter"]).expect("keys");
        let report = tmux.wait_for_exit(TIMEOUT).expect("exit");
        report.assert_restored();
        assert_eq!(report.status, 1, "{}", report.screen);
        assert!(
            report.screen.contains("v1.0.1 was started by bob"),
            "{}",
            report.screen
        );
    }
}

//! `shipdeck demo`, `shipdeck cockpit` and bare `shipdeck`: open a release in the
//! runtime (in-process, as `deploy` does) and hand it to the full-screen cockpit.

use std::io::IsTerminal;

use crossterm::event::Event;
use futures_util::Stream;

use super::args::ReleaseArgs;
use super::context::Context;
use super::error::{CliError, CliResult, EXIT_ERROR, EXIT_OK};
use super::plan;
use super::runner;
use super::serve;
use super::wiring::CliWiring;
use crate::domain::{Configuration, ReleaseType, Version};
use crate::engine::{Command, ReleasePlan, Selection};
use crate::protocol::ServingKind;
use crate::runtime::clock::Clock;
use crate::runtime::driver::{self, ReleaseHandle, RuntimeOptions};
use crate::runtime::history;
use crate::runtime::state_dir::StateDir;
use crate::sim::fleet::FleetHandle;
use crate::tui::cockpit::{self, CockpitExit, CockpitOptions, DemoControls, Hosting};
use crate::tui::input::terminal_events;
use crate::tui::start::{StartExit, StartScreen};
use crate::tui::start_loop::{self, StartOptions};
use crate::tui::terminal::{self, ShutdownSignals, TerminalSession};
use crate::tui::theme::Theme;

/// The demo's world: the built-in config, customers on v1.0.1, a bug-fix release
/// whose enterprise wave needs the release captain's approval (which the demo
/// operator may give), and no customer held to a window days away.
fn theme(ctx: &Context) -> Theme {
    Theme::from_env(ctx.global.no_color, |k| std::env::var(k).ok())
}

/// Where the release's journal lives once the cockpit closes: what the last line
/// may promise.
enum Kept {
    /// In the state dir: `status` finds it (with the same global flags).
    StateDir,
    /// In the demo's temporary state dir, removed as the demo ends.
    Temporary,
}

/// ASCII bars in the report page when colour is off.
fn plain_report(ctx: &Context) -> bool {
    ctx.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// How a cockpit that runs its release serves it, and what a background runner
/// taking it over needs to know.
struct Serving {
    kind: ServingKind,
    speed: Option<f64>,
    /// The demo's scenario, for a runner taking over the demo.
    demo: Option<String>,
}

/// Runs the cockpit on a release this process runs, serving it on its socket.
/// Returns the exit code, and whether the release was handed to a background
/// runner (it then lives on after this process).
async fn run_cockpit(
    ctx: &Context,
    handle: ReleaseHandle,
    mut opts: CockpitOptions,
    shared: Option<SharedTerminal>,
    kept: Kept,
    serving: Serving,
) -> (CliResult, bool) {
    let server = serve::start(ctx, &handle, serving.kind, &opts.operator).await;
    let link = match &server {
        Some(s) => handle.link().clone().with_session(s.session()),
        None => handle.link().clone(),
    };
    opts.hosting = if server.is_some() {
        Hosting::HereOrBackground
    } else {
        Hosting::Here
    };
    let operator = opts.operator.clone();
    let result = match shared {
        Some(mut t) => {
            let result = cockpit::run_in_session(
                &link,
                opts,
                &mut t.session,
                &mut t.events,
                t.signals.recv(),
            )
            .await;
            // Restored before the summary line below is printed.
            let restored = t.session.restore();
            result.and_then(|exit| restored.map(|()| exit))
        }
        None => cockpit::run(&link, opts).await,
    };
    if let Ok(CockpitExit::Background) = result {
        let handover = runner::Handover {
            handle,
            server,
            operator,
            speed: serving.speed,
            demo: serving.demo,
        };
        let code = runner::hand_off(ctx, handover, &mut std::io::stdout()).await;
        return (code, true);
    }
    let label = handle.label.clone();
    if let Some(s) = &server {
        if !handle.snapshot().state.phase.is_final() {
            let why = match &result {
                Ok(CockpitExit::Signal(sig)) => format!("'s cockpit got {sig}"),
                _ => " quit the cockpit".to_string(),
            };
            s.farewell_on_end(serve::stopped(
                ctx,
                &handle.state_dir,
                &label,
                &operator,
                why.trim_start(),
            ));
        }
    }
    let mut stdout = std::io::stdout();
    let stopped = match super::stopping::interrupts() {
        Ok(mut interrupts) => {
            super::stopping::stop(
                handle,
                None,
                &mut |_, _| Ok(()),
                &mut stdout,
                false,
                &mut interrupts,
                None,
            )
            .await
        }
        Err(e) => {
            if let Some(s) = server {
                s.closed().await;
            }
            return (Err(e), false);
        }
    };
    if let Some(s) = server {
        s.closed().await;
    }
    let code = (|| {
        let exit = result.map_err(|e| CliError::error(format!("terminal: {e}")))?;
        let state = stopped.map_err(|e| CliError::error(e.to_string()))?;
        if let Some(w) = super::logging::take_warning() {
            eprintln!("shipdeck: {w}");
        }
        // Printed after the terminal is restored: where the release stands, and a
        // command that works when pasted (or none, when nothing is kept).
        let where_ = match kept {
            Kept::StateDir => format!(
                "journal kept; `{}`",
                ctx.command_line(&format!("status --version {}", state.plan.version))
            ),
            Kept::Temporary => "the demo ran in a temporary state dir, removed now; to keep a demo's journal, run `shipdeck demo --state-dir ./shipdeck-demo`".to_string(),
        };
        println!(
            "{} {}: {} ({where_})",
            state.plan.version,
            state.plan.release_type,
            state.phase.as_str(),
        );
        Ok(match exit {
            CockpitExit::Signal(sig) => sig.exit_code(),
            _ => EXIT_OK,
        })
    })();
    (code, false)
}

pub async fn run_demo(ctx: &Context, speed: f64, scenario: &str, readonly: bool) -> CliResult {
    let mut cfg =
        crate::sim::demo_world::demo_config().map_err(|e| CliError::error(e.to_string()))?;
    let (dir, tmp) = match &ctx.global.state_dir {
        Some(p) => (StateDir::at(p.clone()), None),
        None => {
            let tmp = tempdir()?;
            (StateDir::at(tmp.clone()), Some(TempDir(tmp)))
        }
    };
    super::logging::init(&dir);
    let operator = ctx
        .global
        .operator
        .clone()
        .unwrap_or_else(|| "alice".to_string());

    let clock = Clock::with_speed(Some(speed), None);
    let fleet_clock = crate::sim::fleet_clock(&clock);
    let (fleet, scenario_task) =
        crate::sim::demo_world::start_demo_world(&cfg.customers, fleet_clock, scenario)
            .await
            .map_err(CliError::error)?;
    // The real path: webhook deploys to the fleet, verified against its health.
    crate::sim::demo_world::deploy_through_fleet(&mut cfg, &fleet);
    let version = history::last_released(&dir).map_or(Version::new(1, 0, 2), |v| v.next_patch());
    let plan = ReleasePlan::build(
        &cfg,
        version.clone(),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .map_err(|e| CliError::error(e.to_string()))?;
    let report_dir = dir.clone();
    let wiring = CliWiring::shared(&cfg.customers, Some(fleet.clone()));
    let logs_dir = dir.deploy_logs_dir(&version.to_string());
    let handle = driver::open_accepting(
        RuntimeOptions {
            state_dir: dir,
            clock,
            wiring: wiring.clone(),
        },
        &version.to_string(),
        Some(plan),
        &operator,
        ctx.global.accept_tampered,
    )
    .map_err(|e| CliError::error(e.to_string()))?;
    let probing = wiring.start_probing(&handle);
    // A newcomer sees a rollout at once: the gating items are ticked on the demo's word.
    for key in handle.snapshot().state.unticked_gating_all() {
        let _ = handle.send(&operator, Command::tick(&key, true)).await;
    }
    let injector = fleet.clone();
    let demo = DemoControls {
        inject_fault: Box::new(move |id| {
            injector
                .inject(id, crate::sim::fault::Fault::ServerError)
                .map(|_| format!("injected: {id} now answers HTTP 500"))
                .map_err(|e| e.to_string())
        }),
    };
    let opts = CockpitOptions {
        operator,
        readonly,
        theme: theme(ctx),
        demo: Some(demo),
        deploy_logs: Some(logs_dir),
        stop: Some(stop_controls(&handle)),
        report: Some(super::report::report_source(report_dir, plain_report(ctx))),
        hosting: Hosting::Here,
    };
    let kept = if tmp.is_some() {
        Kept::Temporary
    } else {
        Kept::StateDir
    };
    let serving = Serving {
        kind: ServingKind::Demo,
        speed: Some(speed),
        demo: Some(scenario.to_string()),
    };
    let (code, handed_off) = run_cockpit(ctx, handle, opts, None, kept, serving).await;
    if let Some(p) = probing {
        p.abort();
    }
    scenario_task.abort();
    shutdown_fleet(fleet).await;
    if handed_off {
        // The demo's state dir now belongs to the runner that took it over.
        if let Some(tmp) = tmp {
            std::mem::forget(tmp);
        }
    }
    code
}

async fn shutdown_fleet(fleet: FleetHandle) {
    fleet.shutdown().await;
}

pub async fn run_release(
    ctx: &Context,
    release: &ReleaseArgs,
    speed: Option<f64>,
    readonly: bool,
    force_version: Option<&str>,
) -> CliResult {
    let dir = ctx.state_dir()?;
    let cfg = super::version_check::with_current_versions(ctx.config()?, Some(&dir));
    let mut plan = plan::build(&cfg, release)?;
    plan.notes = super::notes::gather(
        release.notes.as_deref(),
        release.git.as_deref(),
        &plan.version,
    )
    .await?;
    if !dir.journal_path(&plan.version.to_string()).exists() {
        // Printed before the screen takes over, so a forced start is seen.
        plan.version_override = super::deploy::version_gate(
            ctx,
            &cfg,
            &dir,
            &plan,
            force_version,
            &mut std::io::stderr(),
        )?;
    }
    super::logging::init(&dir);
    open_in_cockpit(
        ctx,
        &cfg,
        dir,
        &plan.version.to_string(),
        Some(plan),
        speed,
        readonly,
        None,
    )
    .await
}

/// Bare `shipdeck`: the active release in the cockpit (resumed), else the start
/// screen — recent releases and a form whose plan, once confirmed on its preview,
/// opens in the cockpit on the same terminal session. Quitting the start screen
/// starts nothing and writes nothing to the state dir.
pub async fn run_current(ctx: &Context) -> CliResult {
    let dir = ctx.state_dir()?;
    let summaries = history::summaries(&dir);
    let active = summaries
        .iter()
        .filter(|s| !s.phase.is_final())
        .max_by_key(|s| s.started_at)
        .map(|s| s.label.clone());
    if let Some(label) = active {
        if crate::runtime::lock::current_holder(&dir.lock_path(&label)).is_some() {
            // Another process runs it: be a client of that process.
            return super::attach::run(ctx, Some(&label), false, false).await;
        }
        let cfg = super::version_check::with_current_versions(ctx.config()?, Some(&dir));
        super::logging::init(&dir);
        return open_in_cockpit(ctx, &cfg, dir, &label, None, None, false, None).await;
    }
    if !std::io::stdout().is_terminal() {
        // A pipe or a file: no screen to draw on, so say it in words.
        print_no_active(ctx, &dir, &summaries);
        return Ok(EXIT_OK);
    }
    // The form counts versions and plans rollbacks from what customers run now.
    let cfg = super::version_check::with_current_versions(ctx.config()?, Some(&dir));
    // Signals first: once the terminal is raw, a SIGTERM must still find a handler.
    let mut signals = terminal::shutdown_signals().map_err(terminal_error)?;
    let mut session = TerminalSession::enter().map_err(terminal_error)?;
    let mut events: TerminalEvents = Box::new(terminal_events());
    let mut screen = StartScreen::new(
        cfg.clone(),
        summaries,
        &ctx.operator(),
        &dir.root.display().to_string(),
    );
    let opts = StartOptions {
        theme: theme(ctx),
        now: None,
    };
    let exit = start_loop::run_with(
        &mut screen,
        &opts,
        &mut session,
        &mut events,
        signals.recv(),
    )
    .await;
    let plan = match exit {
        Ok(StartExit::Start(plan)) => plan,
        Ok(StartExit::Quit) => {
            session.restore().map_err(terminal_error)?;
            return Ok(EXIT_OK);
        }
        Ok(StartExit::Signal(sig)) => {
            session.restore().map_err(terminal_error)?;
            return Ok(sig.exit_code());
        }
        Err(e) => {
            let _ = session.restore();
            return Err(terminal_error(e));
        }
    };
    let label = plan.version.to_string();
    if dir.journal_path(&label).exists() {
        // Started by someone else while the form was open: opening it here would
        // resume their release under this plan's name, not start this one.
        session.restore().map_err(terminal_error)?;
        let who = history::summaries(&dir)
            .into_iter()
            .find(|s| s.label == label)
            .map(|s| format!(" by {} ({})", s.started_by, s.phase.as_str()))
            .unwrap_or_default();
        return Err(CliError::refused(format!(
            "{label} was started{who} while the start screen was open; nothing was started. Run `{}` to open it, or start another version",
            ctx.command_line("")
        )));
    }
    // The terminal is raw here: a log-file warning waits until it is restored.
    let _ = super::logging::init_quiet(&dir);
    let shared = SharedTerminal {
        session,
        events,
        signals,
    };
    open_in_cockpit(
        ctx,
        &cfg,
        dir,
        &label,
        Some(*plan),
        None,
        false,
        Some(shared),
    )
    .await
}

/// What bare `shipdeck` says when it cannot draw (stdout is not a terminal).
fn print_no_active(ctx: &Context, dir: &StateDir, summaries: &[history::ReleaseSummary]) {
    let mut recent: Vec<&history::ReleaseSummary> = summaries.iter().collect();
    recent.sort_by_key(|s| std::cmp::Reverse(s.started_at));
    let recent: Vec<String> = recent
        .iter()
        .take(5)
        .map(|s| format!("  {} {} — {}", s.version, s.release_type, s.phase.as_str()))
        .collect();
    // A version that would pass the checks, so the line works when pasted.
    let next = ctx
        .config()
        .ok()
        .map(|cfg| super::version_check::with_current_versions(cfg, Some(dir)))
        .and_then(|cfg| super::version_check::base(&cfg, Some(dir)))
        .map_or(Version::new(1, 0, 1), |(v, _)| v.next_patch());
    println!(
        "No active release.{}\nStart one:  {} (in a terminal), or {}\nTry it:     shipdeck demo",
        if recent.is_empty() {
            String::new()
        } else {
            format!("\nRecent releases:\n{}", recent.join("\n"))
        },
        ctx.command_line(""),
        ctx.command_line(&format!("cockpit --version {next} --type bug_fix"))
    );
}

fn terminal_error(e: impl std::fmt::Display) -> CliError {
    CliError::error(format!("terminal: {e}"))
}

/// Terminal input, boxed so it can be handed from the start screen to the cockpit.
type TerminalEvents = Box<dyn Stream<Item = std::io::Result<Event>> + Unpin>;

/// The start screen's terminal, handed to the cockpit so the operator never sees
/// the shell between the two screens.
struct SharedTerminal {
    session: TerminalSession,
    events: TerminalEvents,
    signals: ShutdownSignals,
}

// The cockpit's inputs, one per argument: folding them into a struct would only
// move the list.
#[allow(clippy::too_many_arguments)]
async fn open_in_cockpit(
    ctx: &Context,
    cfg: &Configuration,
    dir: StateDir,
    label: &str,
    plan: Option<ReleasePlan>,
    speed: Option<f64>,
    readonly: bool,
    shared: Option<SharedTerminal>,
) -> CliResult {
    let operator = ctx.operator();
    let earlier = label
        .parse()
        .map(|v| super::notes::earlier_sources(&dir, &v))
        .unwrap_or_default();
    let wiring = std::sync::Arc::new(
        CliWiring::new(&cfg.customers, None).with_notes(earlier, cfg.templates.clone()),
    );
    let report_dir = dir.clone();
    let logs_dir = dir.deploy_logs_dir(label);
    let handle = driver::open_accepting(
        RuntimeOptions {
            state_dir: dir,
            clock: Clock::with_speed(speed, None),
            wiring: wiring.clone(),
        },
        label,
        plan,
        &operator,
        ctx.global.accept_tampered,
    )
    .map_err(|e| CliError::error(e.to_string()))?;
    for line in wiring.drift(&handle.snapshot().state.plan) {
        tracing::warn!("{line}");
    }
    let probing = wiring.start_probing(&handle);
    let stop = stop_controls(&handle);
    let (code, _) = run_cockpit(
        ctx,
        handle,
        CockpitOptions {
            operator,
            readonly,
            theme: theme(ctx),
            demo: None,
            deploy_logs: Some(logs_dir),
            stop: Some(stop),
            report: Some(super::report::report_source(
                report_dir.clone(),
                plain_report(ctx),
            )),
            hosting: Hosting::Here,
        },
        shared,
        Kept::StateDir,
        Serving {
            kind: ServingKind::Cockpit,
            speed,
            demo: None,
        },
    )
    .await;
    if let Some(p) = probing {
        p.abort();
    }
    // The state dir's changelog follows the releases that ended.
    super::report::refresh_state_changelog(&report_dir);
    code
}

/// A private state dir for the demo, removed when the demo ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new state dir for a demo run without `--state-dir`: `shipdeck-demo-PID` in
/// the temp dir, created here (never one that exists: the temp dir is shared) and
/// private, mode 0700, as every state dir is. Other terminals of this user find it
/// there (`attach`, `approve`, … without `--state-dir`).
fn tempdir() -> Result<std::path::PathBuf, CliError> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir().join(format!("shipdeck-demo-{}", std::process::id()));
    let mut last = None;
    for n in 0..100 {
        let path = if n == 0 {
            base.clone()
        } else {
            base.with_file_name(format!("shipdeck-demo-{}-{n}", std::process::id()))
        };
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(CliError {
                    code: EXIT_ERROR,
                    message: format!("cannot create {}: {e}", path.display()),
                });
            }
        }
    }
    Err(CliError {
        code: EXIT_ERROR,
        message: format!(
            "cannot create a demo state dir next to {}: {}",
            base.display(),
            last.map_or_else(String::new, |e| e.to_string())
        ),
    })
}

/// How the cockpit stops the release it runs: through the runtime's shutdown (which
/// waits for deploys in flight) or, on a second `q`, by detaching from them.
pub fn stop_controls(handle: &ReleaseHandle) -> cockpit::StopControls {
    let shutdown = handle.shutdown.clone();
    cockpit::StopControls {
        begin_stop: Box::new(move || {
            let _ = shutdown.send(true);
        }),
        detach: handle.detach.clone(),
    }
}

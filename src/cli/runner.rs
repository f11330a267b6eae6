//! `shipdeck start`: a release in a process of its own.
//!
//! `--foreground` runs the release here until it ends, serving its socket, never
//! prompting: people act through `attach` and the commands (systemd, containers,
//! CI). `--detach` (the default) starts that same foreground runner in a new
//! session (`setsid`: no controlling terminal, so closing the terminal or the ssh
//! connection sends it nothing), with stdin from /dev/null and its output in the
//! release's `runner.log`, waits until it answers on its socket, and returns.
//!
//! The cockpit hands its release to such a runner when its captain leaves
//! ([`hand_off`]): the cockpit's loop stops starting effects and waits for those it
//! started; the runner inherits the descriptor that holds the release's lock (so
//! the lock is never free, and no offline command can slip in between), journals
//! the handover, and starts what the cockpit left in flight. No effect is started
//! by both.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;

use super::args::{ReleaseArgs, StartArgs};
use super::context::{Context, out, parse_version};
use super::error::{CliError, CliResult, EXIT_ERROR, EXIT_OK, EXIT_WAITING};
use super::read::label_for;
use super::serve;
use super::wiring::CliWiring;
use crate::engine::{self, Command, Event, EventKind, Phase, ReleasePlan};
use crate::protocol::{ClientKind, Hello, PROTOCOL_VERSION, ServingKind};
use crate::runtime::clock::Clock;
use crate::runtime::driver::{self, HandOff, LockSource, ReleaseHandle, RuntimeOptions};
use crate::runtime::endpoint;
use crate::runtime::history;
use crate::runtime::lock::{self, ReleaseLock};
use crate::runtime::remote;
use crate::runtime::server::Server;
use crate::runtime::state_dir::{StateDir, create_dir_all_durable};

/// The runner's output, in the release's directory.
pub const RUNNER_LOG: &str = "runner.log";

/// How long a launcher waits for its runner to answer on the socket.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const READY_POLL: Duration = Duration::from_millis(50);

pub fn runner_log(dir: &StateDir, label: &str) -> PathBuf {
    dir.release_dir(label).join(RUNNER_LOG)
}

/// What a runner started by this process needs to be told.
#[derive(Debug, Clone)]
pub struct RunnerSpec {
    pub state_dir: PathBuf,
    pub config: Option<PathBuf>,
    pub operator: Option<String>,
    pub socket_group: Option<String>,
    /// `start` arguments after the subcommand (`--foreground` is added).
    pub args: Vec<String>,
}

impl RunnerSpec {
    fn from_ctx(ctx: &Context, dir: &StateDir, args: Vec<String>) -> Result<RunnerSpec, CliError> {
        let config = match &ctx.global.config {
            Some(c) => Some(
                std::path::absolute(c)
                    .map_err(|e| CliError::error(format!("config dir {}: {e}", c.display())))?,
            ),
            None => None,
        };
        Ok(RunnerSpec {
            state_dir: dir.root.clone(),
            config,
            operator: ctx.global.operator.clone(),
            socket_group: ctx.global.socket_group.clone(),
            args,
        })
    }
}

/// Starts `shipdeck start --foreground …` in a session of its own, output to the
/// release's log; `lock_fd` is passed on (inherited) when handing a lock over.
fn spawn_runner(
    spec: &RunnerSpec,
    log: &Path,
    lock_fd: Option<std::os::fd::RawFd>,
) -> Result<Child, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::error(format!("cannot find the shipdeck binary: {e}")))?;
    if let Some(dir) = log.parent() {
        create_dir_all_durable(dir)
            .map_err(|e| CliError::error(format!("cannot create {}: {e}", dir.display())))?;
    }
    let open_log = || {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(log)
            .map_err(|e| CliError::error(format!("cannot open {}: {e}", log.display())))
    };
    let (stdout, stderr) = (open_log()?, open_log()?);
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--state-dir").arg(&spec.state_dir);
    if let Some(c) = &spec.config {
        cmd.arg("--config").arg(c);
    }
    if let Some(op) = &spec.operator {
        cmd.arg("--as").arg(op);
    }
    if let Some(g) = &spec.socket_group {
        cmd.arg("--socket-group").arg(g);
    }
    cmd.arg("start").arg("--foreground").args(&spec.args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .env_remove("SHIPDECK_STATE_DIR");
    // SAFETY: between fork and exec the closure only makes async-signal-safe
    // system calls (setsid, fcntl) on values it owns, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // A session of its own: no controlling terminal, so a closing terminal
            // or ssh connection sends it no SIGHUP.
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(fd) = lock_fd {
                // Inherited across exec: the runner holds the lock through it.
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| CliError::error(format!("cannot start the background runner: {e}")))
}

/// Waits until the runner answers on the release's socket, or exits, or the bound
/// passes. Returns the runner's pid as its server reports it.
async fn wait_ready(dir: &StateDir, label: &str, child: &mut Child) -> Result<u32, String> {
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        operator: None,
        readonly: true,
        client: ClientKind::Command,
    };
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the runner exited ({status}) before serving"));
        }
        if let Some(sock) = endpoint::socket_path(dir, label) {
            if let Ok((_, _, welcome)) = remote::handshake(&sock, &hello).await {
                if welcome.serving.pid == child.id() {
                    return Ok(welcome.serving.pid);
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the runner did not answer on its socket within {}s",
                READY_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// The last lines of a log, for an error message.
fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `shipdeck start`.
pub async fn start(ctx: &Context, args: &StartArgs, w: &mut dyn Write) -> CliResult {
    if args.foreground {
        return foreground(ctx, args, w).await;
    }
    let dir = ctx.state_dir()?;
    let (label, plan, _) = release_of(ctx, &dir, args, w).await?;
    if let Some(holder) = lock::current_holder(&dir.lock_path(&label)) {
        return Err(CliError::refused(format!(
            "{label} is already being run by {holder}; attach to it with `{}`",
            ctx.command_in(&dir, &format!("attach --version {label}"))
        )));
    }
    if !args.resume && dir.journal_path(&label).exists() {
        if let Some(plan) = &plan {
            // Same as deploy: an existing release of this version resumes, if it
            // is the same type.
            let (state, _) = history::load_release(&dir, &label).map_err(CliError::error)?;
            if state.plan.release_type != plan.release_type {
                return Err(CliError::error(format!(
                    "release {label} in the state dir is {}, not {}; use a new version number",
                    state.plan.release_type, plan.release_type
                )));
            }
        }
    }
    let mut child_args = start_args(args);
    child_args.retain(|a| a != "--detach");
    let spec = RunnerSpec::from_ctx(ctx, &dir, child_args)?;
    let log = runner_log(&dir, &label);
    let mut child = spawn_runner(&spec, &log, None)?;
    match wait_ready(&dir, &label, &mut child).await {
        Ok(pid) => {
            out(
                w,
                &format!(
                    "{label} runs in the background: pid {pid}, log {}\n  attach:   {}\n  act:      {}\n  status:   {}\n",
                    log.display(),
                    ctx.command_in(&dir, &format!("attach --version {label}")),
                    ctx.command_in(
                        &dir,
                        &format!("approve|pause|resume|rollback --version {label} …")
                    ),
                    ctx.command_in(&dir, &format!("status --version {label}"))
                ),
            )?;
            Ok(EXIT_OK)
        }
        Err(why) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(CliError::error(format!(
                "{why}; its log ({}) ends with:\n{}",
                log.display(),
                tail(&log, 15)
            )))
        }
    }
}

/// The `start` arguments as given, for the runner's command line.
fn start_args(args: &StartArgs) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(x) = &args.version {
        v.extend(["--version".into(), x.clone()]);
    }
    if let Some(x) = &args.release_type {
        v.extend(["--type".into(), x.clone()]);
    }
    v.extend(["--customers".into(), args.customers.clone()]);
    if args.emergency {
        v.push("--emergency".into());
    }
    if let Some(s) = args.speed {
        v.extend(["--speed".into(), s.to_string()]);
    }
    if args.resume {
        v.push("--resume".into());
    }
    if args.yes {
        v.push("--yes".into());
    }
    if let Some(d) = &args.demo {
        v.extend(["--demo".into(), d.clone()]);
    }
    let paths = [("--notes", &args.notes), ("--git", &args.git)];
    for (flag, path) in paths {
        if let Some(p) = path {
            // The runner starts in another directory's session: give it the path
            // as the launcher saw it.
            let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            v.extend([flag.into(), p.display().to_string()]);
        }
    }
    let texts = [
        ("--reason", &args.reason),
        ("--override-windows", &args.override_windows),
        ("--force-version", &args.force_version),
    ];
    for (flag, text) in texts {
        if let Some(t) = text {
            v.extend([flag.into(), t.clone()]);
        }
    }
    v
}

/// What a headless run starts with: what the release declares, the signal
/// handlers installed before it opened, and who it acts as.
struct Launch {
    declared: Declared,
    signals: crate::tui::terminal::ShutdownSignals,
    /// Who the runner acts as (its commands at the start: ticks, emergency).
    operator: String,
}

/// What a new release declares at its start beyond its plan: an emergency's
/// reason and the windows it overrides.
#[derive(Debug, Default)]
struct Declared {
    emergency: Option<(String, Vec<crate::domain::CustomerId>)>,
}

/// The release `start` means: the current (or named) one with `--resume`, else a
/// new plan from `--version` and `--type`, held to the same checks as `deploy`
/// (the version gate, notes, an emergency's window overrides).
async fn release_of(
    ctx: &Context,
    dir: &StateDir,
    args: &StartArgs,
    w: &mut dyn Write,
) -> Result<(String, Option<ReleasePlan>, Declared), CliError> {
    if args.resume {
        let label = label_for(dir, args.version.as_deref())?;
        if !dir.journal_path(&label).exists() {
            return Err(CliError::error(format!(
                "no release {label} in {} to resume",
                dir.root.display()
            )));
        }
        if args.handoff_fd.is_none() {
            let (state, _) = history::load_release(dir, &label).map_err(CliError::error)?;
            // A completed release may still have a rollback to carry out.
            if engine::is_settled(&state) {
                return Err(CliError::refused(format!(
                    "{label} has ended ({}): there is nothing to run",
                    state.phase.as_str()
                )));
            }
        }
        return Ok((label, None, Declared::default()));
    }
    let (Some(version), Some(release_type)) = (&args.version, &args.release_type) else {
        return Err(CliError::error(
            "start needs --version and --type for a new release, or --resume for one that exists",
        ));
    };
    let cfg = start_config(ctx, args)?;
    let cfg = super::version_check::with_current_versions(cfg, Some(dir));
    let release = ReleaseArgs {
        version: version.clone(),
        release_type: release_type.clone(),
        customers: args.customers.clone(),
        emergency: args.emergency,
        notes: args.notes.clone(),
        git: args.git.clone(),
    };
    let mut plan = super::plan::build(&cfg, &release)?;
    let label = parse_version(version)?.to_string();
    if !dir.journal_path(&label).exists() && args.demo.is_none() {
        plan.version_override =
            super::deploy::version_gate(ctx, &cfg, dir, &plan, args.force_version.as_deref(), w)?;
    }
    let overrides = super::deploy::window_overrides(&plan, args.override_windows.as_deref())?;
    plan.notes = super::notes::gather(
        release.notes.as_deref(),
        release.git.as_deref(),
        &plan.version,
    )
    .await?;
    let declared = Declared {
        emergency: args.emergency.then(|| {
            let reason = args
                .reason
                .clone()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| "emergency declared with start --emergency".to_string());
            (reason, overrides.unwrap_or_default())
        }),
    };
    // Emergency is declared through the engine (journaled with who and why).
    plan.emergency = false;
    Ok((label, Some(plan), declared))
}

/// The configuration a runner works from: the demo's own, or the user's.
fn start_config(ctx: &Context, args: &StartArgs) -> Result<crate::domain::Configuration, CliError> {
    match &args.demo {
        Some(_) => {
            crate::sim::demo_world::demo_config().map_err(|e| CliError::error(e.to_string()))
        }
        None => ctx.config(),
    }
}

/// Prints one event, as `deploy` does (samples only in `--json`).
fn print_event(ctx: &Context, w: &mut dyn Write, e: &Event) {
    if matches!(e.event, EventKind::HealthSampled { .. }) && !ctx.global.json {
        return;
    }
    let line = if ctx.global.json {
        serde_json::to_string(e).unwrap_or_default()
    } else {
        engine::event::describe(e)
    };
    // The runner's output is its log: a full disk must not stop the release.
    let _ = writeln!(w, "{line}");
    let _ = w.flush();
}

/// `shipdeck start --foreground`: runs the release here until it ends or a signal
/// stops it, serving its socket.
async fn foreground(ctx: &Context, args: &StartArgs, w: &mut dyn Write) -> CliResult {
    let dir = ctx.state_dir()?;
    super::logging::init(&dir);
    // Before anything starts: a SIGTERM from here on stops the runner cleanly,
    // never by the default action (which would leave no journaled stop).
    let signals = terminal_signals()?;
    let (label, plan, declared) = release_of(ctx, &dir, args, w).await?;
    let operator = args.handoff_by.clone().unwrap_or_else(|| ctx.operator());
    let cfg = start_config(ctx, args)?;
    let lock = match args.handoff_fd {
        Some(fd) => {
            let (lock, from) = ReleaseLock::adopt(fd, &dir.lock_path(&label))
                .map_err(|e| CliError::error(format!("cannot take the release over: {e}")))?;
            LockSource::HandedOver {
                lock,
                from,
                actor: operator.clone(),
            }
        }
        None => LockSource::Acquire,
    };
    let clock = match &args.clock_at {
        Some(at) => {
            let at: DateTime<Utc> = at
                .parse()
                .map_err(|e| CliError::error(format!("--clock-at {at}: {e}")))?;
            match args.speed {
                Some(s) if (s - 1.0).abs() > f64::EPSILON => Clock::scaled(at, s),
                _ => Clock::System,
            }
        }
        None => Clock::with_speed(args.speed, None),
    };
    // The demo's world (its fleet and scenario) comes with a demo's release.
    let mut demo_world = None;
    let fleet = match &args.demo {
        Some(scenario) => {
            let seen = history::load_release(&dir, &label).ok().map(|(s, _)| s);
            let fleet_clock = crate::sim::fleet_clock(&clock);
            let (fleet, task) = crate::sim::demo_world::start_demo_world_from(
                &cfg.customers,
                fleet_clock,
                scenario,
                seen.as_ref().map(|s| s.started_at),
            )
            .await
            .map_err(CliError::error)?;
            // Customers the demo already moved serve the version they have.
            for c in seen.iter().flat_map(|s| s.customers.iter()) {
                let _ = fleet.set_version(&c.id, c.version.clone());
            }
            demo_world = Some(task);
            Some(fleet)
        }
        None => None,
    };
    let earlier = super::notes::earlier_sources(&dir, &parse_version(&label)?);
    let wiring = std::sync::Arc::new(
        CliWiring::new(&cfg.customers, fleet.clone()).with_notes(earlier, cfg.templates.clone()),
    );
    let handle = driver::open_with(
        RuntimeOptions {
            state_dir: dir.clone(),
            clock,
            wiring: wiring.clone(),
        },
        &label,
        plan,
        &operator,
        lock,
    )
    .map_err(|e| CliError::error(e.to_string()))?;
    let kind = ServingKind::Runner;
    let server = serve::start(ctx, &handle, kind, &operator).await;
    let mut events = handle.subscribe();
    out(
        w,
        &format!(
            "runner pid {} serves {label}{}\n",
            std::process::id(),
            server
                .as_ref()
                .map(|s| format!(" on {}", s.path().display()))
                .unwrap_or_default()
        ),
    )?;
    for e in &handle.opened {
        print_event(ctx, w, e);
    }
    if handle.reissued > 0 {
        let _ = writeln!(w, "re-issued {} effect(s) left in flight", handle.reissued);
    }
    let probing = wiring.start_probing(&handle);
    let code = run_until_end(
        ctx,
        args,
        Launch {
            declared,
            signals,
            operator: operator.clone(),
        },
        &handle,
        &mut events,
        server.as_ref(),
        w,
    )
    .await;
    if let Some(p) = probing {
        p.abort();
    }
    let state = handle
        .stop()
        .await
        .map_err(|e| CliError::error(e.to_string()))?;
    if let Some(s) = server {
        s.closed().await;
    }
    if let Some(t) = demo_world {
        t.abort();
    }
    if let Some(f) = fleet {
        f.shutdown().await;
    }
    let _ = writeln!(
        w,
        "{} {}: {}",
        state.plan.version,
        state.plan.release_type,
        state.phase.as_str()
    );
    code
}

/// Drives a headless release: what `--yes` and `--emergency` ask for at the
/// start, then the events as they come, until the loop ends or a signal.
async fn run_until_end(
    ctx: &Context,
    args: &StartArgs,
    launch: Launch,
    handle: &ReleaseHandle,
    events: &mut tokio::sync::broadcast::Receiver<driver::Committed>,
    server: Option<&Server>,
    w: &mut dyn Write,
) -> CliResult {
    let Launch {
        declared,
        mut signals,
        operator,
    } = launch;
    let operator = operator.as_str();
    let state = handle.snapshot().state;
    if let (Some((reason, override_windows)), false) = (declared.emergency, state.emergency) {
        if let Err(e) = handle
            .send(
                operator,
                Command::Emergency {
                    reason,
                    override_windows,
                },
            )
            .await
        {
            let _ = writeln!(w, "emergency refused: {e}");
        }
    }
    if args.yes {
        for key in state.unticked_gating_all() {
            let _ = handle.send(operator, Command::tick(&key, true)).await;
        }
    }
    let mut snapshots = handle.snapshots();
    loop {
        if args.yes
            && handle
                .snapshot()
                .state
                .waves
                .iter()
                .any(|wv| wv.status == engine::WaveStatus::HeldOverdue)
        {
            let _ = handle.send(operator, Command::ConfirmOverdue).await;
        }
        tokio::select! {
            e = events.recv() => match e {
                Ok(c) => print_event(ctx, w, &c.event),
                Err(RecvError::Lagged(n)) => {
                    let _ = writeln!(
                        w,
                        "({n} events not shown; see `{}`)",
                        ctx.command_in(&handle.state_dir, &format!("log --version {}", handle.label))
                    );
                }
                Err(RecvError::Closed) => break,
            },
            changed = snapshots.changed() => if changed.is_err() { break },
            sig = signals.recv() => {
                let label = &handle.label;
                let _ = writeln!(w, "stopping: {sig}");
                // As `deploy` does: a supervisor's SIGTERM or a lost session means
                // leave now; deploys in flight stay journaled as in flight and the
                // next run re-issues them with the same idempotency key.
                if matches!(
                    sig,
                    crate::tui::terminal::ShutdownSignal::Terminate
                        | crate::tui::terminal::ShutdownSignal::Hangup
                ) {
                    handle.detach.cancel();
                }
                if let Some(s) = server {
                    s.farewell_on_end(serve::stopped(ctx, &handle.state_dir, label, "the background runner", &format!("got {sig}")));
                }
                return Ok(EXIT_OK);
            }
        }
    }
    // Drain what was announced before the loop ended.
    while let Ok(c) = events.try_recv() {
        print_event(ctx, w, &c.event);
    }
    let s = handle.snapshot().state;
    Ok(match s.phase {
        Phase::Completed => EXIT_OK,
        p if p.is_final() => EXIT_WAITING,
        _ => EXIT_ERROR,
    })
}

/// SIGTERM (systemd, `kill`), SIGINT (Ctrl-C in `--foreground`) and SIGHUP stop the
/// runner cleanly; the release resumes when it runs again.
fn terminal_signals() -> Result<crate::tui::terminal::ShutdownSignals, CliError> {
    crate::tui::terminal::shutdown_signals()
        .map_err(|e| CliError::error(format!("cannot install signal handlers: {e}")))
}

/// How a cockpit hands its release to a background runner.
pub struct Handover {
    pub handle: ReleaseHandle,
    pub server: Option<Server>,
    pub operator: String,
    pub speed: Option<f64>,
    /// The demo's scenario, when the release is the demo's.
    pub demo: Option<String>,
}

/// Hands the release to a background runner (see the module doc). Prints where it
/// runs now, or why it could not be handed over (the release then stops here, as
/// if the operator had chosen to stop).
pub async fn hand_off(ctx: &Context, h: Handover, w: &mut dyn Write) -> CliResult {
    let Handover {
        handle,
        server,
        operator,
        speed,
        demo,
    } = h;
    let label = handle.label.clone();
    let dir = handle.state_dir.clone();
    let waiting = handle.snapshot().state.clone();
    let in_flight = engine::in_flight(&waiting).len();
    out(
        w,
        &format!(
            "handing {label} to a background runner{}…\n",
            if in_flight > 0 {
                format!(" (waiting for {in_flight} effect(s) started here to report)")
            } else {
                String::new()
            }
        ),
    )?;
    if let Some(s) = &server {
        s.farewell_on_end(serve::handed_off(&label, &operator));
    }
    // Ctrl-C while waiting for the effects: stop here instead (what was decided
    // meanwhile stays in flight in the journal for whoever runs it next).
    let stop = handle.shutdown.clone();
    let handing = handle.hand_off();
    tokio::pin!(handing);
    let handed = tokio::select! {
        h = &mut handing => h,
        _ = tokio::signal::ctrl_c() => {
            out(w, "interrupted: stopping here instead\n")?;
            let _ = stop.send(true);
            handing.await
        }
    };
    let HandOff {
        lock,
        state,
        now,
        held,
    } = match handed {
        Ok(h) => h,
        Err(e) => {
            if let Some(s) = server {
                s.farewell_on_end(serve::stopped(
                    ctx,
                    &dir,
                    &label,
                    &operator,
                    "stopped it while handing it over",
                ));
                s.closed().await;
            }
            return Err(CliError::error(format!(
                "{label} was not handed over ({e}); it is stopped. Run it again with `{}`",
                ctx.command_in(&dir, &format!("start --resume --detach --version {label}"))
            )));
        }
    };
    // The loop has stopped: the server says goodbye and frees the socket's name.
    if let Some(s) = server {
        s.closed().await;
    }
    let mut args = vec![
        "--resume".to_string(),
        "--version".to_string(),
        label.clone(),
        "--handoff-fd".to_string(),
        lock.raw_fd().to_string(),
        "--handoff-by".to_string(),
        operator.clone(),
        "--clock-at".to_string(),
        now.to_rfc3339(),
    ];
    if let Some(s) = speed {
        args.extend(["--speed".into(), s.to_string()]);
    }
    if let Some(d) = demo {
        args.extend(["--demo".into(), d]);
    }
    let spec = RunnerSpec::from_ctx(ctx, &dir, args)?;
    let log = runner_log(&dir, &label);
    let mut child = match spawn_runner(&spec, &log, Some(lock.raw_fd())) {
        Ok(c) => c,
        Err(e) => {
            drop(lock);
            return Err(e.context(format!("{label} stopped here instead")));
        }
    };
    match wait_ready(&dir, &label, &mut child).await {
        Ok(pid) => {
            // The runner holds the lock through the descriptor it inherited.
            lock.hand_over();
            out(
                w,
                &format!(
                    "{label} runs in the background now: pid {pid} ({}), log {}\n  attach again: {}\n",
                    state.phase.as_str(),
                    log.display(),
                    ctx.command_in(&dir, &format!("attach --version {label}"))
                ),
            )?;
            if held > 0 {
                tracing::info!(
                    held,
                    "effects decided during the handover start in the runner"
                );
            }
            Ok(EXIT_OK)
        }
        Err(why) => {
            let _ = child.kill();
            let _ = child.wait();
            drop(lock);
            Err(CliError::error(format!(
                "could not hand {label} over: {why}; it is stopped here. Its log ({}) ends with:\n{}\nRun it again with `{}`",
                log.display(),
                tail(&log, 15),
                ctx.command_in(&dir, &format!("start --resume --detach --version {label}"))
            )))
        }
    }
}

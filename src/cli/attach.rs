//! `shipdeck attach`, and the commands (`approve`, `pause`, …) from any terminal:
//! clients of the process that runs a release, through its socket.
//!
//! A command goes through the socket whenever a process runs the release, and its
//! exit code is the engine's verdict there: 0 accepted, 1 refused (with the
//! engine's reason), 2 error. Only when no process holds the release does it run
//! offline, as before, and then it says so and how to start the release.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK, EXIT_WAITING};
use super::offline::{self, Build};
use super::read::label_for;
use crate::engine::{self, Command, EventKind};
use crate::protocol::{ByeReason, ClientKind, Hello, PROTOCOL_VERSION, clean_text};
use crate::runtime::driver::SendError;
use crate::runtime::endpoint;
use crate::runtime::lock::{self, Holder};
use crate::runtime::remote::{self, AttachError, AttachOptions, Attached};
use crate::runtime::state_dir::StateDir;
use crate::tui::cockpit::{self, CockpitExit, CockpitOptions, Hosting};
use crate::tui::theme::Theme;

/// How long a client waits for a process that holds the lock to answer on its
/// socket (it may be a few instructions into its start, or handing over).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
const ANSWER_POLL: Duration = Duration::from_millis(100);

/// How a release can be reached.
pub enum Reach {
    /// A process runs it and let us in.
    Served(Box<Attached>),
    /// No process holds it. `gone`: the lock file still names the one that ran it
    /// last, so that one ended without stopping (crashed, killed).
    NotServed { gone: Option<Holder> },
}

/// Connects to the process that runs release `label`, if one does.
pub async fn reach(dir: &StateDir, label: &str, hello: Hello) -> Result<Reach, CliError> {
    let lock_path = dir.lock_path(label);
    let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
    loop {
        let socket = endpoint::socket_path(dir, label);
        if let Some(sock) = &socket {
            let attempt = remote::attach(AttachOptions {
                socket: sock.clone(),
                hello: hello.clone(),
                journal: Some(dir.journal_path(label)),
            })
            .await;
            match attempt {
                Ok(a) => return Ok(Reach::Served(Box::new(a))),
                Err(AttachError::Refused(f)) => {
                    let text = clean_text(&f.message, 2000);
                    return Err(match f.reason {
                        ByeReason::VersionTooNew | ByeReason::BadFrame => CliError::error(text),
                        _ => CliError::refused(text),
                    });
                }
                Err(e) if e.is_not_serving() => {}
                Err(e) => return Err(CliError::error(e.to_string())),
            }
        }
        let Some(holder) = lock::current_holder(&lock_path) else {
            return Ok(Reach::NotServed {
                gone: lock::last_holder(&lock_path),
            });
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(CliError::error(format!(
                "release {label} is run by {holder}, but it does not answer on its socket{}; is it an older shipdeck?",
                socket
                    .map(|s| format!(" ({})", s.display()))
                    .unwrap_or_default()
            )));
        }
        tokio::time::sleep(ANSWER_POLL).await;
    }
}

fn hello(ctx: &Context, readonly: bool, client: ClientKind) -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        operator: ctx.global.operator.clone(),
        readonly,
        client,
    }
}

/// What to say when nobody runs the release.
fn not_running(ctx: &Context, dir: &StateDir, label: &str, gone: Option<&Holder>) -> String {
    let how = format!(
        "run it in the background with `{}`, or here with `{}`",
        ctx.command_in(dir, &format!("start --resume --detach --version {label}")),
        ctx.command_in(dir, "")
    );
    match gone {
        Some(h) => format!(
            "the process that ran {label} ({h}) is gone: it ended without stopping the release (crashed or killed). Nothing runs it now; {how}"
        ),
        None => format!("no process runs {label} now; {how}"),
    }
}

/// The release a command from any terminal acts on (`attach`, `approve`, `pause`,
/// … and `status`), and the state dir it is in: `--version`, else the release a
/// process runs, else the most recent one. Without `--state-dir`, when the default
/// state dir has no such release, a `shipdeck demo` of this user that runs it (in
/// its private temporary state dir) is the one meant: README's three terminals.
pub fn release_to_act_on(
    ctx: &Context,
    version: Option<&str>,
) -> Result<(StateDir, String), CliError> {
    let dir = ctx.state_dir()?;
    if ctx.global.state_dir.is_some() {
        return Ok((dir.clone(), label_for(&dir, version)?));
    }
    if version.is_some() {
        let label = label_for(&dir, version)?;
        if !dir.journal_path(&label).exists() {
            if let Some(demo) = demo_dirs()
                .into_iter()
                .find(|d| lock::current_holder(&d.lock_path(&label)).is_some())
            {
                return Ok((demo, label));
            }
        }
        return Ok((dir, label));
    }
    // A release some process runs: its lock is held. Only lock files are read
    // (a journal can hold a million events; the attach itself reads it once).
    let running = |d: &StateDir| -> Option<String> {
        d.list_releases()
            .ok()?
            .into_iter()
            .rev()
            .find(|l| lock::current_holder(&d.lock_path(l)).is_some())
    };
    if let Some(label) = running(&dir) {
        return Ok((dir, label));
    }
    for demo in demo_dirs() {
        if let Some(label) = running(&demo) {
            return Ok((demo, label));
        }
    }
    Ok((dir.clone(), label_for(&dir, None)?))
}

/// State dirs of `shipdeck demo` runs without `--state-dir` (in the temp dir).
/// Only this user's private ones count (a directory, not a link, owned by this
/// uid, mode 0700): the temp dir is shared, and a directory someone else made
/// there must not receive this user's decisions, nor feed them a release.
fn demo_dirs() -> Vec<StateDir> {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("shipdeck-demo-")
        })
        .map(|e| e.path())
        .filter(|p| private_to_me(p))
        .collect();
    dirs.sort();
    dirs.into_iter().map(StateDir::at).collect()
}

/// A directory (not a link) owned by this process's uid that only it may enter.
fn private_to_me(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| {
        m.is_dir() && m.uid() == endpoint::current_uid() && m.mode() & 0o777 == 0o700
    })
}

/// `shipdeck attach`.
pub async fn run(
    ctx: &Context,
    version: Option<&str>,
    readonly: bool,
    take_over: bool,
) -> CliResult {
    let (dir, label) = release_to_act_on(ctx, version)?;
    if !dir.journal_path(&label).exists() {
        return Err(CliError::error(format!(
            "no release {label} in {}",
            dir.root.display()
        )));
    }
    super::logging::init(&dir);
    let attached = match reach(&dir, &label, hello(ctx, readonly, ClientKind::Cockpit)).await? {
        Reach::Served(a) => *a,
        Reach::NotServed { gone } => {
            eprintln!(
                "shipdeck: {}",
                not_running(ctx, &dir, &label, gone.as_ref())
            );
            if gone.is_some() && offer_resume() {
                return super::runner::start(
                    &in_dir(ctx, &dir),
                    &resume_args(&label),
                    &mut std::io::stdout(),
                )
                .await;
            }
            return Ok(EXIT_WAITING);
        }
    };
    let me = attached.welcome.you.name.clone();
    if take_over {
        match attached.link().send(&me, Command::TakeOver).await {
            Ok(()) => {}
            Err(e) => {
                attached.detach().await;
                return Err(CliError::refused(format!("take-over refused: {e}")));
            }
        }
    }
    let opts = CockpitOptions {
        operator: me,
        // Read-only is the server's to enforce: every key reaches it and is refused
        // there, with its reason.
        readonly: false,
        theme: Theme::from_env(ctx.global.no_color, |k| std::env::var(k).ok()),
        demo: None,
        deploy_logs: None,
        stop: None,
        report: None,
        hosting: Hosting::Attached,
    };
    let exit = cockpit::run(attached.link(), opts).await;
    let serving = attached.welcome.serving.clone();
    attached.detach().await;
    let exit = exit.map_err(|e| CliError::error(format!("terminal: {e}")))?;
    match exit {
        CockpitExit::Ended(f) => {
            let text = clean_text(&f.message, 2000);
            println!("{label}: {text}");
            if f.reason == ByeReason::Ended {
                return Ok(EXIT_OK);
            }
            let gone = lock::current_holder(&dir.lock_path(&label)).is_none()
                && lock::last_holder(&dir.lock_path(&label)).is_some_and(|h| h.pid == serving.pid);
            if gone && offer_resume() {
                return super::runner::start(
                    &in_dir(ctx, &dir),
                    &resume_args(&label),
                    &mut std::io::stdout(),
                )
                .await;
            }
            Ok(EXIT_WAITING)
        }
        CockpitExit::Signal(sig) => Ok(sig.exit_code()),
        CockpitExit::Quit | CockpitExit::Finished | CockpitExit::Background => Ok(EXIT_OK),
    }
}

/// `ctx` acting on `dir`: the state dir the release was found in (a demo's).
fn in_dir(ctx: &Context, dir: &StateDir) -> Context {
    let mut global = ctx.global.clone();
    global.state_dir = Some(dir.root.clone());
    Context { global }
}

fn resume_args(label: &str) -> super::args::StartArgs {
    super::args::StartArgs {
        version: Some(label.to_string()),
        release_type: None,
        customers: "all".into(),
        emergency: false,
        speed: None,
        resume: true,
        detach: true,
        foreground: false,
        yes: false,
        reason: None,
        override_windows: None,
        force_version: None,
        notes: None,
        git: None,
        handoff_fd: None,
        handoff_by: None,
        clock_at: None,
        demo: None,
    }
}

/// Asks "resume it in the background now?" when a person is at the terminal.
fn offer_resume() -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return false;
    }
    eprint!("resume it in the background now? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    matches!(line.trim(), "y" | "Y" | "yes")
}

/// A command from any terminal: through the socket when a process runs the
/// release, else offline (saying so).
pub async fn command(
    ctx: &Context,
    version: Option<&str>,
    build: Build<'_>,
    w: &mut dyn Write,
) -> CliResult {
    let (dir, label) = release_to_act_on(ctx, version)?;
    match reach(&dir, &label, hello(ctx, false, ClientKind::Command)).await? {
        Reach::Served(attached) => through_socket(ctx, *attached, build, w).await,
        Reach::NotServed { gone } => {
            let code = offline::run(ctx, &dir, &label, build, w)?;
            if !ctx.global.json {
                let why = match gone {
                    Some(h) => format!("the process that ran it ({h}) is gone (crashed or killed)"),
                    None => "no process runs it".to_string(),
                };
                out(
                    w,
                    &format!(
                        "recorded offline in {label}'s journal: {why}. Start it in the background with `{}`\n",
                        ctx.command_in(&dir, &format!("start --resume --detach --version {label}"))
                    ),
                )?;
            }
            Ok(code)
        }
    }
}

async fn through_socket(
    ctx: &Context,
    attached: Attached,
    build: Build<'_>,
    w: &mut dyn Write,
) -> CliResult {
    let link = attached.link().clone();
    let name = attached.welcome.you.name.clone();
    let state = link.snapshot().state;
    let commands = match build(&state) {
        Ok(c) => c,
        Err(e) => {
            attached.detach().await;
            return Err(e);
        }
    };
    let mut events = link.subscribe();
    let mut verdict: CliResult = Ok(EXIT_OK);
    for c in commands {
        match link.send(&name, c).await {
            Ok(()) => {}
            Err(SendError::Rejected(r)) => {
                verdict = Err(CliError::refused(clean_text(&r.to_string(), 2000)));
                break;
            }
            Err(SendError::Stopped) => {
                verdict = Err(CliError::error(
                    "the process running the release stopped before deciding",
                ));
                break;
            }
        }
    }
    let mut text = String::new();
    while let Ok(c) = events.try_recv() {
        if matches!(c.event.event, EventKind::HealthSampled { .. }) {
            continue;
        }
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(&*c.event).unwrap_or_default());
        } else {
            text += &format!("{}\n", engine::event::describe(&c.event));
        }
    }
    let serving = &attached.welcome.serving;
    if verdict.is_ok() && !ctx.global.json {
        text += &format!(
            "accepted by {} (pid {} on {}), as {name}\n",
            serving.kind.as_str(),
            serving.pid,
            clean_text(&serving.host, 255)
        );
    }
    attached.detach().await;
    out(w, &text)?;
    verdict
}

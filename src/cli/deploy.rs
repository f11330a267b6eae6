//! `shipdeck deploy` / `emergency`: run a release to its end in the foreground, one
//! line per event. Gating checklist items and overdue waves are asked for at the
//! prompt (or confirmed with `--yes`, recorded as on the operator's word). When only
//! a person can move the release on (an approval, a rollback lock), it says what is
//! awaited and exits 1; Ctrl-C pauses, journals and exits 130; running the same
//! command again resumes.
//!
//! Why one file (~750 lines): it is one command's conversation. The foreground loop,
//! the gate prompts and the final "waiting on people" text read the same snapshot and
//! exit codes; the rollout questions it asks are answered in `engine::query`.

use std::io::{BufRead, IsTerminal};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;

use super::args::DeployArgs;
use super::context::{Context, out};
use super::dry_run;
use super::error::{
    CliError, CliResult, EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_WAITING,
};
use super::plan;
use super::version_check;
use super::wiring::CliWiring;
use crate::domain::{CustomerId, escape};
use crate::engine::{self, Awaited, Command, Event, PauseCause, Phase, ReleaseState};
use crate::runtime::clock::Clock;
use crate::runtime::driver::{self, Committed, ReleaseHandle, RuntimeOptions, SendError};

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub const INTERRUPT_REASON: &str = "interrupted (Ctrl-C); run the same command again to resume";

/// The pause reason a signal leaves in the journal: "interrupted (SIGTERM); …".
/// Running the same command again resumes a pause with such a reason.
pub fn interrupt_reason(signal: &str) -> String {
    if signal == "Ctrl-C" {
        return INTERRUPT_REASON.to_string();
    }
    format!("interrupted ({signal}); run the same command again to resume")
}

fn is_interrupt_reason(reason: &str) -> bool {
    reason.starts_with("interrupted (")
        && reason.ends_with("); run the same command again to resume")
}

/// Waits for the next delivery of a Unix signal; never, if it could not be set up.
async fn next(sig: &mut Option<Signal>) {
    match sig {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

fn print_event(ctx: &Context, w: &mut dyn std::io::Write, e: &Event) -> Result<(), CliError> {
    if !e.event.is_loggable() && !ctx.global.json {
        return Ok(());
    }
    let line = if ctx.global.json {
        serde_json::to_string(e).unwrap_or_default()
    } else {
        engine::event::describe(e)
    };
    out(w, &format!("{line}\n"))
}

/// What the operator answered at a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    /// Ctrl-C while the question was asked.
    Interrupted,
}

/// Asks a yes/no question on the terminal (No without one). Ctrl-C while asking
/// is an answer of its own: the caller pauses the release and exits 130, as
/// Ctrl-C does anywhere else in a headless run.
async fn ask(question: String, sigint: &mut Signal) -> Answer {
    if !std::io::stdin().is_terminal() {
        return Answer::No;
    }
    eprint!("{question} [y/N] ");
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes")
    });
    tokio::select! {
        yes = read => if yes.unwrap_or(false) { Answer::Yes } else { Answer::No },
        Some(()) = sigint.recv() => {
            eprintln!();
            Answer::Interrupted
        }
    }
}

async fn send(handle: &ReleaseHandle, actor: &str, c: Command) -> Result<(), CliError> {
    match handle.send(actor, c).await {
        Ok(()) => Ok(()),
        Err(SendError::Rejected(r)) => Err(CliError::refused(r.to_string())),
        Err(SendError::Stopped) => Err(CliError::error("the release loop stopped")),
    }
}

pub async fn run(
    ctx: &Context,
    args: &DeployArgs,
    emergency_reason: Option<&str>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let dir = ctx.state_dir()?;
    // Customers as the journals left them: the plan rolls back to what they run.
    let cfg = version_check::with_current_versions(ctx.config()?, Some(&dir));
    let mut release = args.release.clone();
    release.emergency |= emergency_reason.is_some();
    let mut plan = plan::build(&cfg, &release)?;
    if !dir.journal_path(&plan.version.to_string()).exists() {
        // A new release: the version passes what `validate` checks, or the
        // starter overrides that on the record.
        plan.version_override =
            version_gate(ctx, &cfg, &dir, &plan, args.force_version.as_deref(), w)?;
    }
    let overrides = window_overrides(&plan, args.override_windows.as_deref())?;
    if overrides.is_some() && !release.emergency {
        return Err(CliError::error(
            "--override-windows applies to an emergency only (shipdeck emergency, or deploy --emergency)",
        ));
    }
    let overrides = overrides.unwrap_or_default();
    plan.notes = super::notes::gather(
        release.notes.as_deref(),
        release.git.as_deref(),
        &plan.version,
    )
    .await?;
    if args.dry_run {
        let emergency = release.emergency.then(|| {
            (
                emergency_reason
                    .unwrap_or("emergency declared with deploy --emergency")
                    .to_string(),
                overrides,
            )
        });
        plan.emergency = false;
        return dry_run::run(ctx, &cfg, plan, emergency, w);
    }
    // Emergency mode is declared through the engine as the run's first command,
    // not baked into the plan, so the journal records who declared it, why, and
    // which approvals it skipped.
    let emergency_reason = release.emergency.then(|| {
        emergency_reason
            .unwrap_or("emergency declared with deploy --emergency")
            .to_string()
    });
    plan.emergency = false;
    // Ctrl-C is ours from here on: at a prompt as anywhere else, it pauses the
    // release, journals that, releases the lock and exits 130.
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| CliError::error(format!("cannot watch for Ctrl-C: {e}")))?;
    crate::cli::logging::init(&dir);
    let label = plan.version.to_string();
    let actor = ctx.operator();
    let earlier = super::notes::earlier_sources(&dir, &plan.version);
    let wiring = std::sync::Arc::new(
        CliWiring::new(&cfg.customers, None).with_notes(earlier, cfg.templates.clone()),
    );
    let handle = driver::open_accepting(
        RuntimeOptions {
            state_dir: dir.clone(),
            clock: Clock::with_speed(args.speed, None),
            wiring: wiring.clone(),
        },
        &label,
        Some(plan),
        &actor,
        ctx.global.accept_tampered,
    )
    .map_err(|e| CliError::error(e.to_string()))?;
    // Served like every process that runs a release: others attach, and commands
    // from any terminal reach this run.
    let server =
        super::serve::start(ctx, &handle, crate::protocol::ServingKind::Deploy, &actor).await;
    let mut events = handle.subscribe();
    if handle.replayed > 0 && !ctx.global.json {
        out(
            w,
            &format!(
                "resuming {label}: {} events replayed from the journal\n",
                handle.replayed
            ),
        )?;
        if handle.dropped_tail {
            out(
                w,
                "warning: the journal's last line was torn by a crash and was dropped\n",
            )?;
        }
    }
    for e in &handle.opened {
        print_event(ctx, w, e)?;
    }
    if handle.replayed > 0 && !ctx.global.json {
        for line in wiring.drift(&handle.snapshot().state.plan) {
            out(w, &format!("note: {line}\n"))?;
        }
    }
    let probing = wiring.start_probing(&handle);
    // One listener for the whole run: a Ctrl-C that lands between two polls is
    // kept, not lost (a fresh `ctrl_c()` per loop would miss it).
    let code = drive(
        ctx,
        &handle,
        &mut events,
        args,
        emergency_reason.as_deref(),
        &overrides,
        &actor,
        &mut sigint,
        w,
    )
    .await;
    if let Some(p) = probing {
        p.abort();
    }
    if let Some(s) = &server {
        if !handle.snapshot().state.phase.is_final() {
            s.farewell_on_end(super::serve::stopped(
                ctx,
                &dir,
                &label,
                &actor,
                "stopped its deploy",
            ));
        }
    }
    // SIGTERM (a supervisor stopping us) and SIGHUP (the session gone) mean leave
    // now: the deploys in flight keep running, journaled as in flight, and the
    // next run re-issues them with the same idempotency key. Ctrl-C at a terminal
    // waits for them instead (a second Ctrl-C leaves).
    let leaving = match code {
        Ok(EXIT_TERMINATED) => Some("SIGTERM"),
        Ok(EXIT_HANGUP) => Some("SIGHUP"),
        _ => None,
    };
    if leaving.is_some() {
        handle.detach.cancel();
    }
    let state = super::stopping::stop(
        handle,
        Some(&mut events),
        &mut |w: &mut dyn std::io::Write, e: &Event| print_event(ctx, w, e),
        w,
        ctx.global.json,
        &mut sigint,
        leaving,
    )
    .await;
    if let Some(s) = server {
        s.closed().await;
    }
    let state = state.map_err(|e| CliError::error(e.to_string()))?;
    if super::report::ended(state.phase) {
        super::report::refresh_state_changelog(&dir);
    }
    if !ctx.global.json {
        let failed = state.outbox.failed();
        let queued = state.outbox.queued();
        if failed + queued > 0 {
            out(
                w,
                &format!(
                    "notices: {failed} failed, {queued} not delivered yet — `{}`\n",
                    ctx.command_in(
                        &dir,
                        &format!("notify retry --version {}", state.plan.version)
                    )
                ),
            )?;
        }
        out(
            w,
            &format!(
                "{} {}: {} ({})\n",
                state.plan.version,
                state.plan.release_type,
                state.phase.as_str(),
                state.outcome_words()
            ),
        )?;
    }
    code
}

// The run's inputs, one per argument: a struct would only move the list.
#[allow(clippy::too_many_arguments)]
async fn drive(
    ctx: &Context,
    handle: &ReleaseHandle,
    events: &mut tokio::sync::broadcast::Receiver<Committed>,
    args: &DeployArgs,
    emergency_reason: Option<&str>,
    overrides: &[CustomerId],
    actor: &str,
    sigint: &mut Signal,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let snap = handle.snapshot();
    let state = snap.state.clone();
    if let Some(reason) = emergency_reason {
        if !state.emergency {
            if !ctx.global.json {
                out(w, &emergency_impact(&state, overrides, snap.now))?;
            }
            send(
                handle,
                actor,
                Command::Emergency {
                    reason: reason.to_string(),
                    override_windows: overrides.to_vec(),
                },
            )
            .await?;
        }
    }
    if let Some(p) = &state.pause {
        if p.cause == PauseCause::Operator && is_interrupt_reason(&p.reason) {
            send(
                handle,
                actor,
                Command::Resume {
                    reason: "resumed by running deploy again".into(),
                },
            )
            .await?;
        }
    }
    let mut snapshots = handle.snapshots();
    // SIGTERM (systemd, kill) and SIGHUP (the ssh session dropped) stop a headless
    // run the way Ctrl-C does: paused and journaled, exit 128 + the signal.
    let mut term = signal(SignalKind::terminate()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    let mut announced: Vec<String> = Vec::new();
    loop {
        // Drain what happened before looking at where things stand.
        loop {
            match events.try_recv() {
                Ok(e) => print_event(ctx, w, &e.event)?,
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                    out(
                        w,
                        &format!(
                            "({n} events not shown; see `{}`)\n",
                            ctx.command_line("log")
                        ),
                    )?;
                }
                Err(_) => break,
            }
        }
        let snap = handle.snapshot();
        let s = &snap.state;
        if engine::is_settled(s) {
            return Ok(if s.phase == Phase::Completed {
                EXIT_OK
            } else {
                EXIT_WAITING
            });
        }
        // What only a person can give is asked for (or announced) the moment it
        // blocks, whatever deadlines lie further ahead.
        match act_on_gates(ctx, handle, args, actor, sigint, &mut announced, w).await? {
            Step::Acted => continue,
            Step::Exit(code) => return Ok(code),
            Step::Nothing => {}
        }
        if engine::waiting_on_people(s, snap.now) {
            return waiting_on_people(ctx, s, snap.now, w);
        }
        tokio::select! {
            e = events.recv() => match e {
                Ok(e) => print_event(ctx, w, &e.event)?,
                Err(RecvError::Lagged(n)) => out(w, &format!("({n} events not shown; see `{}`)\n", ctx.command_line("log")))?,
                Err(RecvError::Closed) => return Ok(EXIT_WAITING),
            },
            changed = snapshots.changed() => if changed.is_err() { return Ok(EXIT_WAITING) },
            Some(()) = sigint.recv() => return interrupted(handle, actor, w).await,
            _ = next(&mut term) => return stopped(handle, actor, w, "SIGTERM", EXIT_TERMINATED).await,
            _ = next(&mut hup) => return stopped(handle, actor, w, "SIGHUP", EXIT_HANGUP).await,
        }
    }
}

/// Ctrl-C: pause (journaled), say how to go on, exit 130.
async fn interrupted(handle: &ReleaseHandle, actor: &str, w: &mut dyn std::io::Write) -> CliResult {
    stopped(handle, actor, w, "Ctrl-C", EXIT_INTERRUPTED).await
}

/// A signal stopped the run: pause (journaled) so that nothing starts while no
/// process drives the release, say so, and exit with 128 + the signal's number.
async fn stopped(
    handle: &ReleaseHandle,
    actor: &str,
    w: &mut dyn std::io::Write,
    signal: &str,
    code: i32,
) -> CliResult {
    let reason = interrupt_reason(signal);
    // Already paused (by a person or a trigger): that pause stands, and says more.
    let _ = handle
        .send(
            actor,
            Command::Pause {
                reason: reason.clone(),
            },
        )
        .await;
    out(w, &format!("paused: {reason}\n"))?;
    Ok(code)
}

/// The commands that lift `awaited` (`engine::query::lifts`), for this command.
fn lifts(
    s: &ReleaseState,
    awaited: &Awaited,
    on_word: bool,
) -> Result<Vec<engine::query::Lift>, CliError> {
    engine::query::lifts(s, awaited, on_word).map_err(|e| CliError::refused(e.to_string()))
}

/// What [`act_on_gates`] did.
enum Step {
    /// Sent a command: look again.
    Acted,
    Exit(i32),
    Nothing,
}

/// Acts on the person-gates holding the release now: ticks gating items and
/// confirms overdue waves when the operator agrees (`--yes` or the prompt), and
/// announces a gate that waits for signatures the moment it blocks.
async fn act_on_gates(
    ctx: &Context,
    handle: &ReleaseHandle,
    args: &DeployArgs,
    actor: &str,
    sigint: &mut Signal,
    announced: &mut Vec<String>,
    w: &mut dyn std::io::Write,
) -> Result<Step, CliError> {
    let snap = handle.snapshot();
    let s = snap.state.clone();
    for awaited in engine::awaiting(&s, snap.now) {
        match &awaited {
            Awaited::Items { .. } if !s.is_paused() => {
                for lift in lifts(&s, &awaited, args.yes)? {
                    let key = &lift.what;
                    let answer = if args.yes {
                        Answer::Yes
                    } else {
                        ask(format!("tick {key}?"), sigint).await
                    };
                    match answer {
                        Answer::Yes => send(handle, actor, lift.command).await?,
                        Answer::Interrupted => {
                            return interrupted(handle, actor, w).await.map(Step::Exit);
                        }
                        Answer::No => {
                            let tick = ctx
                                .command_line(&format!("tick --version {} {key}", s.plan.version));
                            out(
                                w,
                                &format!(
                                    "waiting for checklist item {key}; tick it with `{tick}` or run again with --yes\n"
                                ),
                            )?;
                            return Ok(Step::Exit(EXIT_WAITING));
                        }
                    }
                }
                return Ok(Step::Acted);
            }
            Awaited::Overdue { waves } => {
                let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
                out(
                    w,
                    &format!(
                        "waves that came due while shipdeck was not running: {}\n",
                        names.join(", ")
                    ),
                )?;
                let answer = if args.yes {
                    Answer::Yes
                } else {
                    ask("start them now?".into(), sigint).await
                };
                match answer {
                    Answer::Yes => {
                        for lift in lifts(&s, &awaited, args.yes)? {
                            send(handle, actor, lift.command).await?;
                        }
                        return Ok(Step::Acted);
                    }
                    Answer::Interrupted => {
                        return interrupted(handle, actor, w).await.map(Step::Exit);
                    }
                    Answer::No => {
                        let confirm =
                            ctx.command_line(&format!("confirm --version {}", s.plan.version));
                        out(
                            w,
                            &format!(
                                "not started; confirm them with `{confirm}` or run again with --yes (or answer y)\n"
                            ),
                        )?;
                        return Ok(Step::Exit(EXIT_WAITING));
                    }
                }
            }
            Awaited::MissedWindow { .. } => {
                let missed: Vec<String> = s
                    .customers
                    .iter()
                    .filter(|c| c.window_missed.is_some())
                    .map(|c| escape(c.id.as_str()).into_owned())
                    .collect();
                out(
                    w,
                    &format!(
                        "maintenance windows that came and went while shipdeck was not watching: {} (confirming makes each wait for its next window)\n",
                        missed.join(", ")
                    ),
                )?;
                let answer = if args.yes {
                    Answer::Yes
                } else {
                    ask("confirm them now?".into(), sigint).await
                };
                match answer {
                    Answer::Yes => {
                        for lift in lifts(&s, &awaited, args.yes)? {
                            send(handle, actor, lift.command).await?;
                        }
                        return Ok(Step::Acted);
                    }
                    Answer::Interrupted => {
                        return interrupted(handle, actor, w).await.map(Step::Exit);
                    }
                    // Said in full, with every way out, when this run stops for it.
                    Answer::No => continue,
                }
            }
            Awaited::Approval { wave, missing } => {
                let key = format!("approval {wave}");
                if announced.contains(&key) || engine::waiting_on_people(&s, snap.now) {
                    // Said in full below, when this run stops for it.
                    continue;
                }
                let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
                out(
                    w,
                    &format!(
                        "waiting on people: wave {wave} needs approval by {}; this run stops for it once what is under way has finished, and says how to sign\n",
                        names.join(" + ")
                    ),
                )?;
                announced.push(key);
            }
            _ => {}
        }
    }
    Ok(Step::Nothing)
}

/// Only people can move the release on: say exactly what is awaited and how to
/// give it (commands that work when pasted), and exit 1.
fn waiting_on_people(
    ctx: &Context,
    s: &ReleaseState,
    now: chrono::DateTime<chrono::Utc>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let version = &s.plan.version;
    let mut why = Vec::new();
    // Never empty before the end: every line names the person-action that would
    // move the release on.
    for awaited in engine::awaited(s, now) {
        match awaited {
            Awaited::Paused { actor, reason, .. } => why.push(format!(
                "paused by {}: {} — resume with `{}`",
                escape(&actor),
                escape(&reason),
                ctx.command_line(&format!(
                    "resume --version {version} --reason 'say why it is safe to go on'"
                ))
            )),
            Awaited::Approval { wave, missing } => {
                for role in &missing {
                    let signers = engine::awaiting::eligible_signers(s, &wave, role);
                    match signers.first() {
                        Some(first) => why.push(format!(
                            "wave {wave} needs approval by {role} ({}) — `{}`",
                            signers.join(" or "),
                            ctx.command_line(&format!(
                                "approve --version {version} --wave {wave} --role {role} --as {first}"
                            ))
                        )),
                        None => why.push(format!(
                            "wave {wave} needs approval by {role}, and nobody in roster.json may sign it for this release"
                        )),
                    }
                }
            }
            Awaited::Items { phase, items, .. } => why.push(format!(
                "checklist items hold {}: {} — `{}`",
                phase.as_str(),
                items.join(", "),
                ctx.command_line(&format!("tick --version {version} {}", items.join(" ")))
            )),
            Awaited::Overdue { waves } => {
                let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
                why.push(format!(
                    "waves {} came due while shipdeck was not running — `{}`",
                    names.join(", "),
                    ctx.command_line(&format!("confirm --version {version}"))
                ));
            }
            Awaited::MissedWindow {
                customer,
                wave,
                missed,
                next,
            } => why.push(format!(
                "{}'s maintenance window at {} came and went while shipdeck was not watching — confirm with `{}` to wait for its next window{}, or deploy it now outside its window with `{}`",
                escape(customer.as_str()),
                when(missed),
                ctx.command_line(&format!("confirm --version {version}")),
                next.map_or_else(String::new, |t| format!(" ({})", when(t))),
                ctx.command_line(&format!(
                    "skip-wait --version {version} --wave {wave} --reason 'say why'"
                )),
            )),
            Awaited::Decide => why.push(format!(
                "nothing is scheduled ({}): end it with `{}` or `{}`",
                s.phase.as_str(),
                ctx.command_line(&format!("rollback --version {version} --reason 'say why'")),
                ctx.command_line(&format!("abort --version {version} --reason 'say why'")),
            )),
        }
    }
    out(
        w,
        &format!(
            "waiting on people:\n  {}\nthe release is journaled; run the same command again to continue\n",
            why.join("\n  ")
        ),
    )?;
    Ok(EXIT_WAITING)
}

/// Before a release starts: the checks `validate` runs. Any problem refuses the
/// start with every reason (exit 2), unless `force` gives a reason to go ahead,
/// which the release's first event records. None: nothing to record.
pub fn version_gate(
    ctx: &Context,
    cfg: &crate::domain::Configuration,
    dir: &crate::runtime::state_dir::StateDir,
    plan: &crate::engine::ReleasePlan,
    force: Option<&str>,
    w: &mut dyn std::io::Write,
) -> Result<Option<crate::engine::VersionOverride>, CliError> {
    let found = version_check::check(cfg, Some(dir), &plan.version, plan.release_type, None);
    if found.problems.is_empty() {
        return Ok(None);
    }
    let listed: String = found
        .problems
        .iter()
        .map(|p| format!("\n  - {p}"))
        .collect();
    match force.map(str::trim) {
        Some(reason) if !reason.is_empty() => {
            if !ctx.global.json {
                out(
                    w,
                    &format!(
                        "version check overridden (--force-version, recorded in the journal):{listed}\n"
                    ),
                )?;
            }
            Ok(Some(crate::engine::VersionOverride {
                problems: found.problems,
                reason: reason.to_string(),
            }))
        }
        Some(_) => Err(CliError::error(
            "--force-version needs a reason: say why this version goes out anyway (it is journaled)",
        )),
        None => Err(CliError::error(format!(
            "not starting {} {}: the version fails the checks `validate` runs ({} problem{}):{listed}\nfix the version, or override with --force-version \"REASON\" (journaled)",
            plan.version,
            plan.release_type,
            found.problems.len(),
            if found.problems.len() == 1 { "" } else { "s" }
        ))),
    }
}

/// `--override-windows`: names or ids of the plan's customers, resolved to ids.
/// None when the flag was not given.
pub fn window_overrides(
    plan: &crate::engine::ReleasePlan,
    text: Option<&str>,
) -> Result<Option<Vec<CustomerId>>, CliError> {
    let Some(text) = text else {
        return Ok(None);
    };
    let mut ids = Vec::new();
    for key in text.split(',').map(str::trim).filter(|k| !k.is_empty()) {
        let found =
            plan.waves.iter().flat_map(|w| &w.customers).find(|c| {
                c.id.as_str().eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key)
            });
        let Some(c) = found else {
            return Err(CliError::error(format!(
                "--override-windows: no customer `{key}` in this release"
            )));
        };
        if !c.window_only {
            return Err(CliError::error(format!(
                "--override-windows: {} is not held to a maintenance window; there is nothing to override",
                c.name
            )));
        }
        ids.push(c.id.clone());
    }
    Ok(Some(ids))
}

/// What an emergency does to customers' windows and notices, as the lines
/// printed before it is declared (and by the dry run).
pub fn emergency_impact(
    state: &ReleaseState,
    overrides: &[CustomerId],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let affected = engine::emergency::impact(state, overrides, now);
    let mut text = String::from(
        "emergency: every tier right after the demo wave, approvals and delays skipped\n",
    );
    if affected.is_empty() {
        text.push_str("  no customer's maintenance window or notice is affected\n");
    }
    for a in affected {
        text.push_str(&format!("  {}\n", a.describe()));
    }
    if engine::emergency::impact(state, &[], now).iter().any(|a| {
        matches!(
            a.consequence,
            engine::emergency::Consequence::KeepsWindow { .. }
        )
    }) {
        text.push_str(
            "  (to deploy a window-bound customer now, name it: --override-windows \"NAME,…\")\n",
        );
    }
    text
}

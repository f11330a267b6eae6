//! `shipdeck deploy` / `emergency`: run a release to its end in the foreground, one
//! line per event. Gating checklist items and overdue waves are asked for at the
//! prompt (or confirmed with `--yes`, recorded as on the operator's word). When only
//! a person can move the release on (an approval, a rollback lock), it says what is
//! awaited and exits 1; Ctrl-C pauses, journals and exits 130; running the same
//! command again resumes.

use std::io::{BufRead, IsTerminal};

use tokio::sync::broadcast::error::RecvError;

use super::args::DeployArgs;
use super::context::{Context, out};
use super::dry_run;
use super::error::{CliError, CliResult, EXIT_INTERRUPTED, EXIT_OK, EXIT_WAITING};
use super::plan;
use super::wiring::CliWiring;
use crate::engine::{self, Command, Event, EventKind, Gate, PauseCause, Phase, WaveStatus};
use crate::runtime::clock::Clock;
use crate::runtime::driver::{self, Committed, ReleaseHandle, RuntimeOptions, SendError};

pub const INTERRUPT_REASON: &str = "interrupted (Ctrl-C); run the same command again to resume";

fn print_event(ctx: &Context, w: &mut dyn std::io::Write, e: &Event) -> Result<(), CliError> {
    if matches!(e.event, EventKind::HealthSampled { .. }) && !ctx.global.json {
        return Ok(());
    }
    let line = if ctx.global.json {
        serde_json::to_string(e).unwrap_or_default()
    } else {
        engine::event::describe(e)
    };
    out(w, &format!("{line}\n"))
}

async fn ask(question: String) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question} [y/N] ");
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        matches!(line.trim(), "y" | "Y" | "yes")
    })
    .await
    .unwrap_or(false)
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
    let cfg = ctx.config()?;
    let mut release = args.release.clone();
    release.emergency |= emergency_reason.is_some();
    let mut plan = plan::build(&cfg, &release)?;
    if args.dry_run {
        return dry_run::run(ctx, &cfg, plan, w);
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
    let dir = ctx.state_dir()?;
    crate::cli::logging::init(&dir);
    let label = plan.version.to_string();
    let actor = ctx.operator();
    let wiring = CliWiring::shared(&cfg.customers, None);
    let handle = driver::open(
        RuntimeOptions {
            state_dir: dir,
            clock: Clock::with_speed(args.speed, None),
            wiring: wiring.clone(),
        },
        &label,
        Some(plan),
        &actor,
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
    if handle.replayed > 0 && !ctx.global.json {
        for line in wiring.drift(&handle.snapshot().state.plan) {
            out(w, &format!("note: {line}\n"))?;
        }
    }
    for e in &handle.opened {
        print_event(ctx, w, e)?;
    }
    let probing = wiring.start_probing(&handle);
    let code = drive(
        ctx,
        &handle,
        &mut events,
        args,
        emergency_reason.as_deref(),
        &actor,
        w,
    )
    .await;
    if let Some(p) = probing {
        p.abort();
    }
    if let Some(s) = &server {
        if !handle.snapshot().state.phase.is_final() {
            s.farewell_on_end(super::serve::stopped(&label, &actor, "stopped its deploy"));
        }
    }
    let state = handle.stop().await;
    if let Some(s) = server {
        s.closed().await;
    }
    let state = state.map_err(|e| CliError::error(e.to_string()))?;
    if !ctx.global.json {
        out(
            w,
            &format!(
                "{} {}: {}\n",
                state.plan.version,
                state.plan.release_type,
                state.phase.as_str()
            ),
        )?;
    }
    code
}

async fn drive(
    ctx: &Context,
    handle: &ReleaseHandle,
    events: &mut tokio::sync::broadcast::Receiver<Committed>,
    args: &DeployArgs,
    emergency_reason: Option<&str>,
    actor: &str,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let state = handle.snapshot().state;
    if let Some(reason) = emergency_reason {
        if !state.emergency {
            send(
                handle,
                actor,
                Command::Emergency {
                    reason: reason.to_string(),
                },
            )
            .await?;
        }
    }
    if let Some(p) = &state.pause {
        if p.cause == PauseCause::Operator && p.reason == INTERRUPT_REASON {
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
    loop {
        // Drain what happened before looking at where things stand.
        loop {
            match events.try_recv() {
                Ok(e) => print_event(ctx, w, &e.event)?,
                Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                    out(w, &format!("({n} events not shown; see `shipdeck log`)\n"))?;
                }
                Err(_) => break,
            }
        }
        let snap = handle.snapshot();
        let s = &snap.state;
        if s.phase.is_final() && engine::in_flight(s).is_empty() {
            return Ok(if s.phase == Phase::Completed {
                EXIT_OK
            } else {
                EXIT_WAITING
            });
        }
        if engine::waiting_on_people(s, snap.now) {
            if let Some(code) = unblock(ctx, handle, args, actor, w).await? {
                return Ok(code);
            }
        }
        tokio::select! {
            e = events.recv() => match e {
                Ok(e) => print_event(ctx, w, &e.event)?,
                Err(RecvError::Lagged(n)) => out(w, &format!("({n} events not shown; see `shipdeck log`)\n"))?,
                Err(RecvError::Closed) => return Ok(EXIT_WAITING),
            },
            changed = snapshots.changed() => if changed.is_err() { return Ok(EXIT_WAITING) },
            _ = tokio::signal::ctrl_c() => {
                let _ = handle.send(actor, Command::Pause { reason: INTERRUPT_REASON.into() }).await;
                out(w, "paused: interrupted (Ctrl-C); run the same command again to resume\n")?;
                return Ok(EXIT_INTERRUPTED);
            }
        }
    }
}

/// The release waits on a person. Ticks gating items or confirms overdue waves when
/// the operator agrees (`--yes` or the prompt); otherwise says what is awaited and
/// returns the exit code.
async fn unblock(
    ctx: &Context,
    handle: &ReleaseHandle,
    args: &DeployArgs,
    actor: &str,
    w: &mut dyn std::io::Write,
) -> Result<Option<i32>, CliError> {
    let snap = handle.snapshot();
    let s = snap.state.clone();
    let phase_items: Vec<String> = match s.phase {
        Phase::Planned => s.unticked_gating(crate::domain::GatedPhase::Validation),
        Phase::Rollout => (0..s.waves.len())
            .find_map(|i| match engine::gate(&s, i, snap.now) {
                Gate::Items(items) => Some(items),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if !phase_items.is_empty() && !s.is_paused() {
        for key in phase_items {
            let ok = args.yes || ask(format!("tick {key}?")).await;
            if !ok {
                out(
                    w,
                    &format!(
                        "waiting for checklist item {key}; tick it with `shipdeck tick --version {} {key}` or run with --yes\n",
                        s.plan.version
                    ),
                )?;
                return Ok(Some(EXIT_WAITING));
            }
            send(handle, actor, Command::tick(&key, args.yes)).await?;
        }
        return Ok(None);
    }
    if s.waves.iter().any(|w| w.status == WaveStatus::HeldOverdue) {
        let names: Vec<&str> = s
            .waves
            .iter()
            .filter(|w| w.status == WaveStatus::HeldOverdue)
            .map(|w| w.tier.as_str())
            .collect();
        out(
            w,
            &format!(
                "waves that came due while shipdeck was not running: {}\n",
                names.join(", ")
            ),
        )?;
        if args.yes || ask("start them now?".into()).await {
            send(handle, actor, Command::ConfirmOverdue).await?;
            return Ok(None);
        }
        out(
            w,
            "not started; run again with --yes (or answer y) to start them\n",
        )?;
        return Ok(Some(EXIT_WAITING));
    }
    let mut why = Vec::new();
    if let Some(p) = &s.pause {
        why.push(format!(
            "paused by {}: {} — resume with `shipdeck resume --version {} --reason …`",
            p.actor, p.reason, s.plan.version
        ));
    }
    for i in 0..s.waves.len() {
        if let Gate::Approval { missing } = engine::gate(&s, i, snap.now) {
            let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
            why.push(format!(
                "wave {} needs approval by {} — `shipdeck approve --version {} --wave {} --as NAME`",
                s.waves[i].tier,
                names.join(" + "),
                s.plan.version,
                s.waves[i].tier
            ));
        }
    }
    if why.is_empty() {
        why.push(format!(
            "nothing can move without a person (phase {})",
            s.phase.as_str()
        ));
    }
    let _ = ctx;
    out(
        w,
        &format!(
            "waiting on people:\n  {}\nthe release is journaled; run the same command again to continue\n",
            why.join("\n  ")
        ),
    )?;
    Ok(Some(EXIT_WAITING))
}

//! `shipdeck notify retry`: resend the notices whose delivery failed (and any still
//! queued with no answer) for a release no process is running. The requeue is a
//! decision (journaled with who asked); each delivery's outcome is journaled as the
//! running release would, so a retry is as exactly-once as the first try.

use chrono::Utc;
use futures_util::future::join_all;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK, EXIT_WAITING};
use super::read::label_for;
use super::wiring::CliWiring;
use crate::adapters::notify::Outbox;
use crate::engine::{self, Command, Effect, EffectResult, Event, Input, Rejected};
use crate::runtime::clock::Clock;
use crate::runtime::effects::Notice;
use crate::runtime::lock::LockError;
use crate::runtime::store::{self, OpenMode, StoreError};

pub async fn retry(ctx: &Context, version: Option<&str>, w: &mut dyn std::io::Write) -> CliResult {
    let cfg = ctx.config()?;
    let dir = ctx.state_dir()?;
    crate::cli::logging::init(&dir);
    let label = label_for(&dir, version)?;
    let actor = ctx.operator();
    let opened = store::open(
        &dir,
        &label,
        &store::OpenOptions {
            mode: OpenMode::Existing,
            accept_tampered: ctx.global.accept_tampered,
            actor: &actor,
            now: Utc::now(),
        },
    )
    .map_err(|e| match e {
        StoreError::Lock(held) if matches!(*held, LockError::Held { .. }) => {
            let LockError::Held { holder, .. } = *held else {
                unreachable!("matched above")
            };
            CliError::refused(format!(
                "release {label} is being run by {holder}; that process delivers its notices (press N in its cockpit to resend failed ones)"
            ))
        }
        StoreError::NoSuchRelease(_) => {
            CliError::error(format!("no release {label} in {}", dir.root.display()))
        }
        other => CliError::error(other.to_string()),
    })?;
    let mut state = opened
        .fold()
        .map_err(|e| CliError::error(e.to_string()))?
        .ok_or_else(|| CliError::error(format!("release {label} has an empty journal")))?;
    let store::OpenedRelease {
        mut journal,
        lock: _lock,
        ..
    } = opened;
    let now = Utc::now().max(state.last_event_at);
    let mut written: Vec<Event> = Vec::new();
    match engine::decide(
        &state,
        &Input::Command {
            actor: actor.clone(),
            command: Command::RetryNotices,
        },
        now,
    ) {
        Ok(d) => {
            for e in &d.events {
                state.apply(e);
            }
            journal
                .append_batch(&d.events)
                .map_err(|e| CliError::error(e.to_string()))?;
            written.extend(d.events);
        }
        // Nothing failed; deliveries still queued (a crash) are sent all the same.
        Err(Rejected::NothingToRetry) => {}
        Err(r) => return Err(CliError::refused(r.to_string())),
    }
    let pending = engine::undelivered(&state);
    if pending.is_empty() {
        out(w, "nothing to resend: every notice was delivered\n")?;
        return Ok(EXIT_OK);
    }
    let earlier = crate::cli::notes::earlier_sources(&dir, &state.plan.version);
    let wiring = CliWiring::new(&cfg.customers, None).with_notes(earlier, cfg.templates.clone());
    let outbox = Outbox::new(
        wiring.renderer(&state.plan),
        Clock::System,
        dir.notifications_path(),
    );
    let mut jobs = Vec::new();
    for eff in pending {
        let Effect::Notify {
            kind,
            wave,
            customer,
            message,
            key,
            customers,
            eta,
            roles,
            to,
        } = eff
        else {
            continue;
        };
        for dest in to {
            let notice = Notice {
                at: Utc::now(),
                key: key.clone(),
                to: dest,
                kind,
                wave: wave.clone(),
                customer: customer.clone(),
                customers: customers.clone(),
                message: message.clone(),
                eta,
                roles: roles.clone(),
            };
            let outbox = outbox.clone();
            jobs.push(async move {
                let d = outbox.deliver(&notice).await;
                EffectResult::NoticeDelivered {
                    key: notice.key,
                    to: notice.to,
                    ok: d.ok,
                    attempts: d.attempts,
                    answer: d.answer,
                }
            });
        }
    }
    let mut failed = 0;
    for result in join_all(jobs).await {
        if matches!(result, EffectResult::NoticeDelivered { ok: false, .. }) {
            failed += 1;
        }
        let now = Utc::now().max(state.last_event_at);
        let Ok(d) = engine::decide(&state, &Input::Result(result), now) else {
            continue;
        };
        for e in &d.events {
            state.apply(e);
        }
        journal
            .append_batch(&d.events)
            .map_err(|e| CliError::error(e.to_string()))?;
        written.extend(d.events);
    }
    let mut text = String::new();
    for e in &written {
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(e).unwrap_or_default());
        } else {
            text += &format!("{}\n", engine::event::describe(e));
        }
    }
    out(w, &text)?;
    Ok(if failed == 0 { EXIT_OK } else { EXIT_WAITING })
}

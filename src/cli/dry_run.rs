//! `deploy --dry-run`: the whole release played on a manual clock in memory, with
//! the simulated world answering every effect at its configured duration. Prints
//! what would happen, in order, with times; touches no file. Where the release
//! would wait for a person, it says so and assumes they act at once.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::{Configuration, CustomerId, DeployTarget, escape};
use crate::engine::{
    self, Awaited, Command, Effect, EffectResult, Event, EventKind, Input, ReleasePlan,
    ReleaseState,
};

/// Bound on simulated steps, far above any real plan (each step is progress).
const MAX_STEPS: usize = 200_000;

pub fn run(
    ctx: &Context,
    cfg: &Configuration,
    plan: ReleasePlan,
    emergency: Option<(String, Vec<CustomerId>)>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let start = Utc::now();
    let emergency_shown = emergency.clone();
    // JSON lines are events only: a plain-text line would break a reader.
    let mut text = if ctx.global.json {
        String::new()
    } else {
        String::from("dry run: nothing is deployed, nothing is written\n")
    };
    if !ctx.global.json {
        text += "deploy targets (deploys are assumed to take their expected duration, else 5m):\n";
        for c in plan.waves.iter().flat_map(|w| &w.customers) {
            if let Some(t) = super::plan::target_of(cfg, c) {
                // Names and commands come from configuration: escaped, one line each.
                text += &format!(
                    "  {:<22} {}\n",
                    escape(&c.name),
                    escape(&super::plan::deploy_text(t))
                );
            }
        }
    }
    let events = simulate(cfg, plan, start, &ctx.operator(), emergency)?;
    if let (false, Some((_, overrides)), Some((first, _))) =
        (ctx.global.json, &emergency_shown, events.first())
    {
        if let EventKind::ReleasePlanned { plan, actor } = &first.event {
            let state = ReleaseState::new((**plan).clone(), actor, start);
            text += &super::deploy::emergency_impact(&state, overrides, start);
        }
    }
    for (e, note) in &events {
        if matches!(e.event, EventKind::HealthSampled { .. }) {
            continue;
        }
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(e).unwrap_or_default());
        } else {
            let offset = e.at - start;
            text += &format!(
                "+{:>3}:{:02}:{:02}  {}{}\n",
                offset.num_hours(),
                offset.num_minutes() % 60,
                offset.num_seconds() % 60,
                engine::event::describe(e),
                note.as_deref()
                    .map(|n| format!("  [{n}]"))
                    .unwrap_or_default()
            );
        }
    }
    out(w, &text)?;
    Ok(EXIT_OK)
}

/// Plays the release; each event comes with a note where an assumption was made.
/// `emergency`: declared through the engine first, as `deploy --emergency` does
/// (reason, and the window-bound customers named to deploy outside their windows).
pub fn simulate(
    cfg: &Configuration,
    plan: ReleasePlan,
    start: DateTime<Utc>,
    actor: &str,
    emergency: Option<(String, Vec<CustomerId>)>,
) -> Result<Vec<(Event, Option<String>)>, CliError> {
    let targets: BTreeMap<crate::domain::CustomerId, DeployTarget> = plan
        .waves
        .iter()
        .flat_map(|w| &w.customers)
        .filter_map(|c| super::plan::target_of(cfg, c).map(|t| (c.id.clone(), t.clone())))
        .collect();
    let first = engine::plan_event(plan, actor, start);
    let mut state = ReleaseState::fold([&first]).map_err(|e| CliError::error(e.to_string()))?;
    let mut log = vec![(first, None)];
    let mut now = start;
    let mut queue: BTreeMap<(DateTime<Utc>, u64), EffectResult> = BTreeMap::new();
    let mut serial = 0u64;
    let mut feed = |state: &mut ReleaseState,
                    input: Input,
                    now: DateTime<Utc>,
                    note: Option<String>,
                    log: &mut Vec<(Event, Option<String>)>,
                    queue: &mut BTreeMap<(DateTime<Utc>, u64), EffectResult>|
     -> Result<(), CliError> {
        let d = engine::step(state, &input, now)
            .map_err(|r| CliError::error(format!("dry run stopped: {r}")))?;
        for (i, e) in d.events.into_iter().enumerate() {
            log.push((e, if i == 0 { note.clone() } else { None }));
        }
        for eff in d.effects {
            serial += 1;
            let (after, result) = match eff {
                Effect::Deploy { customer, .. } => {
                    let secs = targets
                        .get(&customer)
                        .and_then(|t| t.expected_duration())
                        .map_or(300, |d| d.as_secs());
                    (
                        TimeDelta::seconds(secs as i64),
                        EffectResult::DeployFinished {
                            customer,
                            ok: true,
                            detail: "as planned".into(),
                        },
                    )
                }
                Effect::Rollback { customer, .. } => (
                    TimeDelta::minutes(5),
                    EffectResult::RollbackFinished {
                        customer,
                        ok: true,
                        detail: "as planned".into(),
                    },
                ),
                Effect::RunCheck { item, .. } => (
                    TimeDelta::minutes(1),
                    EffectResult::CheckFinished {
                        item,
                        ok: true,
                        detail: "assumed to pass".into(),
                    },
                ),
                Effect::Notify { .. } => continue,
            };
            queue.insert((now + after, serial), result);
        }
        Ok(())
    };
    if let Some((reason, override_windows)) = emergency {
        let cmd = Input::Command {
            actor: actor.into(),
            command: Command::Emergency {
                reason,
                override_windows,
            },
        };
        feed(&mut state, cmd, now, None, &mut log, &mut queue)?;
    }
    feed(&mut state, Input::Tick, now, None, &mut log, &mut queue)?;
    for _ in 0..MAX_STEPS {
        if state.phase.is_final() {
            break;
        }
        // A gate waits on a person: assume they act the moment it blocks, and say
        // so (a later deadline, such as an approval-timeout notice, is no reason
        // to wait for them).
        let gates: Vec<Awaited> = engine::awaiting(&state, now)
            .into_iter()
            .filter(|a| !matches!(a, Awaited::Paused { .. }))
            .collect();
        if !gates.is_empty() {
            let mut acted = false;
            for awaited in gates {
                match awaited {
                    Awaited::Items { items, .. } => {
                        for key in items {
                            let cmd = Input::Command {
                                actor: actor.into(),
                                command: Command::tick(&key, true),
                            };
                            feed(
                                &mut state,
                                cmd,
                                now,
                                Some("assumed ticked".into()),
                                &mut log,
                                &mut queue,
                            )?;
                            acted = true;
                        }
                    }
                    Awaited::Approval { wave, missing } => {
                        for role in missing {
                            let signers = engine::awaiting::eligible_signers(&state, &wave, &role);
                            let Some(signer) = signers.first() else {
                                return Err(CliError::refused(format!(
                                    "wave {wave} needs {role}, and nobody in the roster may sign it for this release"
                                )));
                            };
                            let cmd = Input::Command {
                                actor: signer.clone(),
                                command: Command::Approve {
                                    wave: Some(wave.clone()),
                                    role: Some(role.clone()),
                                },
                            };
                            feed(
                                &mut state,
                                cmd,
                                now,
                                Some("assumed approved at once".into()),
                                &mut log,
                                &mut queue,
                            )?;
                            acted = true;
                        }
                    }
                    Awaited::Overdue { .. }
                    | Awaited::Paused { .. }
                    | Awaited::MissedWindow { .. }
                    | Awaited::Decide => {}
                }
            }
            if acted {
                continue;
            }
        }
        let next_result = queue.keys().next().map(|(t, _)| *t);
        let next = match (engine::next_deadline(&state, now), next_result) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        now = now.max(next);
        while let Some(entry) = queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let result = entry.remove();
            feed(
                &mut state,
                Input::Result(result),
                now,
                None,
                &mut log,
                &mut queue,
            )?;
        }
        feed(&mut state, Input::Tick, now, None, &mut log, &mut queue)?;
    }
    Ok(log)
}

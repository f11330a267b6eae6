//! `deploy --dry-run`: the whole release played on a manual clock in memory, with
//! the simulated world answering every effect at its configured duration. Prints
//! what would happen, in order, with times; touches no file. Where the release
//! would wait for a person, it says so and assumes they act at once. The play is
//! the engine's one Drill (`engine::testkit`).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::{Configuration, CustomerId, escape};
use crate::engine::testkit::{Answers, Drill};
use crate::engine::{self, Awaited, Command, Event, EventKind, ReleasePlan, ReleaseState};

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
    let events = simulate(plan, start, &ctx.operator(), emergency)?;
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

/// Plays the release on the engine's test kit ([`Drill`]): deploys take their
/// target's expected duration (else 5m), rollbacks 5m, checks 1m and pass, and the
/// people it waits for act the moment a gate blocks. Each event comes with a note
/// where an assumption was made. `emergency`: declared through the engine first, as
/// `deploy --emergency` does (reason, and the window-bound customers named to deploy
/// outside their windows).
pub fn simulate(
    plan: ReleasePlan,
    start: DateTime<Utc>,
    actor: &str,
    emergency: Option<(String, Vec<CustomerId>)>,
) -> Result<Vec<(Event, Option<String>)>, CliError> {
    let stopped = |r: engine::Rejected| CliError::error(format!("dry run stopped: {r}"));
    let mut drill = Drill::new(plan, actor, start).map_err(CliError::error)?;
    drill.answers = Answers {
        deploy_takes: None,
        rollback_takes: TimeDelta::minutes(5),
        check_takes: TimeDelta::minutes(1),
        deploy_detail: "as planned".into(),
        rollback_detail: "as planned".into(),
        check_detail: "assumed to pass".into(),
        // Its first health check after the deploy, assumed healthy.
        checked_after_deploy: Some(TimeDelta::seconds(1)),
    };
    if let Some((reason, override_windows)) = emergency {
        let command = Command::Emergency {
            reason,
            override_windows,
        };
        drill.cmd(actor, command).map_err(stopped)?;
    }
    // Notes by the index in the log of the first event a person's act decided.
    let mut notes: BTreeMap<usize, String> = BTreeMap::new();
    drill.play(MAX_STEPS, |d| {
        // A gate waits on a person: assume they act the moment it blocks, and say
        // so (a later deadline, such as an approval-timeout notice, is no reason
        // to wait for them). Items and signatures only: the rest takes a person's
        // judgement, or (overdue waves, missed windows) cannot happen on a clock
        // nobody left.
        let gates: Vec<Awaited> = engine::awaiting(&d.state, d.now)
            .into_iter()
            .filter(|a| matches!(a, Awaited::Items { .. } | Awaited::Approval { .. }))
            .collect();
        let mut acted = false;
        for awaited in &gates {
            let lifts = engine::query::lifts(&d.state, awaited, true)
                .map_err(|e| CliError::refused(e.to_string()))?;
            for lift in lifts {
                let note = match lift.command {
                    Command::Approve { .. } => "assumed approved at once",
                    _ => "assumed ticked",
                };
                let first = d.log.len();
                let by = lift.actor.unwrap_or_else(|| actor.to_string());
                d.cmd(&by, lift.command).map_err(stopped)?;
                if d.log.len() > first {
                    notes.insert(first, note.to_string());
                }
                acted = true;
            }
        }
        Ok::<bool, CliError>(acted)
    })?;
    Ok(drill
        .log
        .into_iter()
        .enumerate()
        .map(|(i, e)| (e, notes.remove(&i)))
        .collect())
}

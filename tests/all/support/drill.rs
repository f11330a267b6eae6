//! Drills on the engine with a manual clock, written as journals into a state dir:
//! deploys, checks and rollbacks answered after their configured time, every
//! customer probed healthy every 5 minutes. For tests of what is read from
//! journals (the report, the changelog, the digest).

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::config;
use shipdeck::domain::{Configuration, ReleaseType};
use shipdeck::engine::{
    self, Command, Effect, EffectResult, Event, Input, ReleasePlan, ReleaseState, Selection,
};
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::state_dir::StateDir;

pub struct Drill {
    cfg: Configuration,
    pub state: ReleaseState,
    pub now: DateTime<Utc>,
    pub events: Vec<Event>,
    pending: Vec<(DateTime<Utc>, EffectResult)>,
}

impl Drill {
    pub fn start(version: &str, t: ReleaseType, actor: &str, at: DateTime<Utc>) -> Drill {
        let cfg = config::load_builtin().expect("config");
        let plan = ReleasePlan::build(
            &cfg,
            version.parse().expect("version"),
            t,
            Selection::All,
            false,
        )
        .expect("plan");
        let first = engine::plan_event(plan, actor, at);
        let state = ReleaseState::fold([&first]).expect("fold");
        Drill {
            cfg,
            state,
            now: at,
            events: vec![first],
            pending: Vec::new(),
        }
    }

    pub fn input(&mut self, input: Input) {
        let Ok(d) = engine::step(&mut self.state, &input, self.now) else {
            return;
        };
        self.events.extend(d.events);
        for eff in d.effects {
            let (after, result) = match eff {
                Effect::Deploy { customer, .. } => {
                    let takes = self
                        .cfg
                        .customer(&customer)
                        .and_then(|c| c.deploy.expected_duration())
                        .map_or(chrono::TimeDelta::minutes(5), |d| d.to_delta());
                    (
                        takes,
                        EffectResult::DeployFinished {
                            customer,
                            ok: true,
                            detail: "ok".into(),
                        },
                    )
                }
                Effect::Rollback { customer, .. } => (
                    TimeDelta::minutes(2),
                    EffectResult::RollbackFinished {
                        customer,
                        ok: true,
                        detail: "ok".into(),
                    },
                ),
                Effect::RunCheck { item, .. } => (
                    TimeDelta::minutes(1),
                    EffectResult::CheckFinished {
                        item,
                        ok: true,
                        detail: "exit 0".into(),
                    },
                ),
                Effect::Notify { .. } => continue,
            };
            self.pending.push((self.now + after, result));
        }
    }

    pub fn command(&mut self, actor: &str, command: Command) {
        self.input(Input::Command {
            actor: actor.into(),
            command,
        });
    }

    pub fn tick_gating_items(&mut self, actor: &str) {
        for key in self.state.unticked_gating_all() {
            self.command(actor, Command::tick(&key, false));
        }
    }

    fn probe_all(&mut self) {
        let ids: Vec<_> = self.state.customers.iter().map(|c| c.id.clone()).collect();
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

    /// Answers results and deadlines up to `limit`, probing every 5 minutes, and
    /// ticking gating items as they come up.
    pub fn run_until(&mut self, limit: DateTime<Utc>) {
        self.input(Input::Tick);
        let mut next_probe = self.now;
        loop {
            if !self.state.unticked_gating_all().is_empty() && !self.state.is_paused() {
                let actor = self.state.started_by.clone();
                self.tick_gating_items(&actor);
            }
            let next_result = self.pending.iter().map(|(t, _)| *t).min();
            let next = [
                engine::next_deadline(&self.state, self.now),
                next_result,
                Some(next_probe),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|n| *n <= limit) else {
                break;
            };
            self.now = self.now.max(next);
            if self.now >= next_probe {
                self.probe_all();
                next_probe = self.now + TimeDelta::minutes(5);
            }
            let (due, rest): (Vec<_>, Vec<_>) =
                self.pending.drain(..).partition(|(t, _)| *t <= self.now);
            self.pending = rest;
            for (_, r) in due {
                self.input(Input::Result(r));
            }
            self.input(Input::Tick);
        }
        self.now = self.now.max(limit.min(self.now + TimeDelta::days(60)));
    }

    /// Moves the clock on to `t` (no events), as time passing between commands.
    pub fn at(&mut self, t: DateTime<Utc>) {
        self.now = self.now.max(t);
    }

    pub fn write(self, dir: &StateDir) -> (ReleaseState, Vec<Event>) {
        let label = self.state.plan.version.to_string();
        let (mut journal, _) =
            JournalWriter::<Event>::open(&dir.journal_path(&label)).expect("journal");
        journal.append_batch(&self.events).expect("append");
        (self.state, self.events)
    }
}

//! Drills on the engine with a manual clock, written as journals into a state dir:
//! the engine's test kit ([`testkit::Drill`]) answers deploys, checks and rollbacks
//! after their configured time; on top of it, every customer is probed healthy
//! every 5 minutes and gating items are ticked as they come up. For tests of what
//! is read from journals (the report, the changelog, the digest).

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::config;
use shipdeck::domain::ReleaseType;
use shipdeck::engine::testkit;
use shipdeck::engine::{
    self, Command, EffectResult, Event, Input, ReleasePlan, ReleaseState, Selection,
};
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::state_dir::StateDir;

pub struct Drill {
    kit: testkit::Drill,
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
        Drill {
            kit: testkit::Drill::new(plan, actor, at).expect("drill"),
        }
    }

    /// Decides `input` now; a refusal changes nothing and the drill goes on.
    fn input(&mut self, input: Input) {
        let _ = self.kit.input(input);
    }

    pub fn command(&mut self, actor: &str, command: Command) {
        self.input(Input::Command {
            actor: actor.into(),
            command,
        });
    }

    pub fn tick_gating_items(&mut self, actor: &str) {
        for key in self.kit.state.unticked_gating_all() {
            self.command(actor, Command::tick(&key, false));
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

    /// Answers results and deadlines up to `limit`, probing every 5 minutes, and
    /// ticking gating items as they come up.
    pub fn run_until(&mut self, limit: DateTime<Utc>) {
        self.input(Input::Tick);
        let mut next_probe = self.kit.now;
        loop {
            let s = &self.kit.state;
            if !s.unticked_gating_all().is_empty() && !s.is_paused() {
                let actor = s.started_by.clone();
                self.tick_gating_items(&actor);
            }
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
        self.kit.now = self
            .kit
            .now
            .max(limit.min(self.kit.now + TimeDelta::days(60)));
    }

    /// Moves the clock on to `t` (no events), as time passing between commands.
    pub fn at(&mut self, t: DateTime<Utc>) {
        self.kit.now = self.kit.now.max(t);
    }

    pub fn write(self, dir: &StateDir) -> (ReleaseState, Vec<Event>) {
        let label = self.kit.state.plan.version.to_string();
        let (mut journal, _) =
            JournalWriter::<Event>::open(&dir.journal_path(&label)).expect("journal");
        journal.append_batch(&self.kit.log).expect("append");
        (self.kit.state, self.kit.log)
    }
}

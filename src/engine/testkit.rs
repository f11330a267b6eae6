//! The one test kit for the engine: given/when/then over events, and the Drill — a
//! whole release played on a manual clock against a small simulated world that
//! answers every effect (deploys take their planned time, rollbacks two minutes,
//! checks one minute and pass).
//!
//! Used by the engine's scenario and property tests, the cockpit's snapshot tests,
//! the benches and `deploy --dry-run`. Pure like the rest of the engine: time is
//! the drill's `now`, nothing is read or written.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::input::{Command, EffectResult, Input};
use super::{Decision, Effect, Event, EventKind, Rejected, ReleasePlan, ReleaseState};
use crate::domain::CustomerId;

/// How long a deploy takes when the plan does not say (a target without an
/// expected duration).
pub const DEFAULT_DEPLOY: TimeDelta = TimeDelta::minutes(5);
pub const ROLLBACK_TAKES: TimeDelta = TimeDelta::minutes(2);
pub const CHECK_TAKES: TimeDelta = TimeDelta::minutes(1);

/// Given a journal, when an input arrives at an instant, then these events and
/// effects (or this refusal).
pub fn given(events: &[Event]) -> Given {
    Given {
        state: ReleaseState::fold(events),
    }
}

pub struct Given {
    state: Result<ReleaseState, super::state::FoldError>,
}

impl Given {
    /// The state the given events fold to.
    pub fn state(&self) -> Option<&ReleaseState> {
        self.state.as_ref().ok()
    }

    /// Decides `input` at `at` on the given state.
    pub fn when(self, input: Input, at: DateTime<Utc>) -> Then {
        let Ok(mut state) = self.state else {
            return Then {
                decided: Err(Rejected::UnknownItem("the given events do not fold".into())),
                state: None,
            };
        };
        let decided = super::step(&mut state, &input, at);
        Then {
            decided,
            state: Some(state),
        }
    }
}

pub struct Then {
    pub decided: Result<Decision, Rejected>,
    /// The state after the decision (unchanged on a refusal).
    pub state: Option<ReleaseState>,
}

impl Then {
    /// The kinds of the events decided, in order (empty on a refusal).
    pub fn events(&self) -> Vec<&EventKind> {
        match &self.decided {
            Ok(d) => d.events.iter().map(|e| &e.event).collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn effects(&self) -> &[Effect] {
        match &self.decided {
            Ok(d) => &d.effects,
            Err(_) => &[],
        }
    }

    pub fn refusal(&self) -> Option<&Rejected> {
        self.decided.as_ref().err()
    }
}

/// How the drill's world answers effects that succeed: how long rollbacks and
/// checks take, and the detail each result carries (a deploy takes its target's
/// expected duration, else [`DEFAULT_DEPLOY`]; one of `failing` fails with "boom").
#[derive(Debug, Clone, PartialEq)]
pub struct Answers {
    /// Every deploy takes this long, whatever its target expects (`None`: as the
    /// plan's target expects).
    pub deploy_takes: Option<TimeDelta>,
    pub rollback_takes: TimeDelta,
    pub check_takes: TimeDelta,
    pub deploy_detail: String,
    pub rollback_detail: String,
    pub check_detail: String,
    /// A customer's service answers its first check this long after its deploy
    /// finished (healthy, without figures); `None`: no check ever answers, and the
    /// customer is never declared healthy.
    pub checked_after_deploy: Option<TimeDelta>,
}

impl Default for Answers {
    fn default() -> Answers {
        Answers {
            deploy_takes: None,
            rollback_takes: ROLLBACK_TAKES,
            check_takes: CHECK_TAKES,
            deploy_detail: "ok".into(),
            rollback_detail: "ok".into(),
            check_detail: "exit 0".into(),
            checked_after_deploy: Some(TimeDelta::seconds(1)),
        }
    }
}

/// What a customer's service answers a probe: given the probing round (from 1),
/// the customer's place in the release and its id.
pub type ProbeAnswer = dyn Fn(u32, usize, &CustomerId) -> crate::domain::ProbeOutcome + Send + Sync;

/// A world that also probes every customer of the release now and then, as the
/// runtime's health probes do: in [`Drill::run_until`] (and so [`Drill::advance`]),
/// at once and then every `every`, before the results due at that instant, each
/// customer answers `answer(round, index, customer)`.
#[derive(Clone)]
pub struct Probing {
    pub every: TimeDelta,
    pub answer: Arc<ProbeAnswer>,
    /// Rounds probed so far.
    pub rounds: u32,
}

impl Probing {
    pub fn new(
        every: TimeDelta,
        answer: impl Fn(u32, usize, &CustomerId) -> crate::domain::ProbeOutcome + Send + Sync + 'static,
    ) -> Probing {
        Probing {
            every,
            answer: Arc::new(answer),
            rounds: 0,
        }
    }
}

/// A release played on a manual clock against the simulated world.
pub struct Drill {
    pub state: ReleaseState,
    pub now: DateTime<Utc>,
    /// Results the world will deliver, and when.
    pub queue: Vec<(DateTime<Utc>, EffectResult)>,
    /// Every event, the plan first: the journal the drill would have written.
    pub log: Vec<Event>,
    /// Deploys started per customer.
    pub deploys: HashMap<CustomerId, u32>,
    /// Customers whose deploys fail.
    pub failing: Vec<CustomerId>,
    /// Notices the engine sent, in order.
    pub notices: Vec<String>,
    /// The same notices whole, as the engine asked for them (to whom, kind, wave, eta).
    pub notified: Vec<Effect>,
    /// How the world answers.
    pub answers: Answers,
    /// Whether the world probes customers by itself in `run_until` (`None`: only
    /// the first check after each deploy of [`Answers::checked_after_deploy`]).
    pub probing: Option<Probing>,
    /// Deploy duration per customer, from the plan's recorded targets.
    durations: HashMap<CustomerId, TimeDelta>,
}

impl Drill {
    /// Plans the release at `at`, as `actor`.
    pub fn new(plan: ReleasePlan, actor: &str, at: DateTime<Utc>) -> Result<Drill, String> {
        let durations = plan
            .waves
            .iter()
            .flat_map(|w| &w.customers)
            .map(|c| {
                let d = c
                    .deploy
                    .as_ref()
                    .and_then(|t| t.expected_duration())
                    .map_or(DEFAULT_DEPLOY, |d| d.to_delta());
                (c.id.clone(), d)
            })
            .collect();
        let first = super::plan_event(plan, actor, at);
        let state = ReleaseState::fold([&first]).map_err(|e| e.to_string())?;
        Ok(Drill {
            state,
            now: at,
            queue: Vec::new(),
            log: vec![first],
            deploys: HashMap::new(),
            failing: Vec::new(),
            notices: Vec::new(),
            notified: Vec::new(),
            answers: Answers::default(),
            probing: None,
            durations,
        })
    }

    /// The drill as a process that opens its journal again would go on: the state
    /// folded from the log, the world's pending results and deploy counts kept, no
    /// failures planted and no notices yet.
    pub fn resumed(&self) -> Result<Drill, String> {
        Ok(Drill {
            state: ReleaseState::fold(&self.log).map_err(|e| e.to_string())?,
            now: self.now,
            queue: self.queue.clone(),
            log: self.log.clone(),
            deploys: self.deploys.clone(),
            failing: Vec::new(),
            notices: Vec::new(),
            notified: Vec::new(),
            answers: self.answers.clone(),
            probing: self.probing.clone(),
            durations: self.durations.clone(),
        })
    }

    /// Decides `input` now; the world queues the results of its effects.
    pub fn input(&mut self, input: Input) -> Result<(), Rejected> {
        let d = super::step(&mut self.state, &input, self.now)?;
        self.log.extend(d.events);
        for eff in d.effects {
            self.answer(eff);
        }
        Ok(())
    }

    /// Decides `input` now like [`Drill::input`], and says what was decided: the
    /// events (now in the log) and the effects (now answered by the world).
    pub fn decide(&mut self, input: &Input) -> Result<super::Decision, Rejected> {
        let d = super::step(&mut self.state, input, self.now)?;
        self.log.extend(d.events.iter().cloned());
        for eff in d.effects.iter().cloned() {
            self.answer(eff);
        }
        Ok(d)
    }

    fn answer(&mut self, effect: Effect) {
        match effect {
            Effect::Deploy { customer, .. } => {
                *self.deploys.entry(customer.clone()).or_default() += 1;
                let takes = self.answers.deploy_takes.unwrap_or_else(|| {
                    self.durations
                        .get(&customer)
                        .copied()
                        .unwrap_or(DEFAULT_DEPLOY)
                });
                let ok = !self.failing.contains(&customer);
                self.queue.push((
                    self.now + takes,
                    EffectResult::DeployFinished {
                        customer: customer.clone(),
                        ok,
                        detail: if ok {
                            self.answers.deploy_detail.clone()
                        } else {
                            "boom".into()
                        },
                    },
                ));
                // Queued after the deploy's result: due at once with it (no wait
                // after the deploy), it is delivered after it.
                if let (true, Some(after)) = (ok, self.answers.checked_after_deploy) {
                    self.queue.push((
                        self.now + takes + after,
                        EffectResult::Probed {
                            customer,
                            outcome: crate::domain::ProbeOutcome::Up {
                                sample: crate::domain::HealthSample::default(),
                            },
                        },
                    ));
                }
            }
            Effect::Rollback { customer, .. } => self.queue.push((
                self.now + self.answers.rollback_takes,
                EffectResult::RollbackFinished {
                    customer,
                    ok: true,
                    detail: self.answers.rollback_detail.clone(),
                },
            )),
            Effect::RunCheck { item, .. } => self.queue.push((
                self.now + self.answers.check_takes,
                EffectResult::CheckFinished {
                    item,
                    ok: true,
                    detail: self.answers.check_detail.clone(),
                },
            )),
            Effect::Notify { ref message, .. } => {
                self.notices.push(message.clone());
                self.notified.push(effect);
            }
        }
    }

    pub fn cmd(&mut self, actor: &str, command: Command) -> Result<(), Rejected> {
        self.input(Input::Command {
            actor: actor.into(),
            command,
        })
    }

    /// Ticks every manual item that gates a phase, on `actor`'s word. Hotfix items
    /// only count in emergency mode; ticking them is harmless.
    pub fn tick_gating_items(&mut self, actor: &str) {
        let items: Vec<(String, String)> = self
            .state
            .plan
            .checklists
            .iter()
            .flat_map(|c| {
                c.items
                    .iter()
                    .filter(|i| i.gates.is_some() && i.check.is_none())
                    .map(move |i| (c.id.clone(), i.id.clone()))
            })
            .collect();
        for (list, item) in items {
            let _ = self.cmd(
                actor,
                Command::TickItem {
                    checklist: Some(list),
                    item,
                    on_word: true,
                },
            );
        }
    }

    /// Runs the world until `limit` or until nothing more can happen by itself (with
    /// [`Drill::probing`], probes go on until `limit`).
    pub fn run_until(&mut self, limit: DateTime<Utc>) {
        let _ = self.input(Input::Tick);
        let mut next_probe = self.probing.as_ref().map(|_| self.now);
        loop {
            let next_result = self.queue.iter().map(|(t, _)| *t).min();
            let Some(next) = [
                super::next_deadline(&self.state, self.now),
                next_result,
                next_probe,
            ]
            .into_iter()
            .flatten()
            .min() else {
                break;
            };
            if next > limit {
                break;
            }
            self.now = self.now.max(next);
            if next_probe.is_some_and(|p| self.now >= p) {
                next_probe = self.probe_all();
            }
            let (due, rest): (Vec<_>, Vec<_>) =
                self.queue.drain(..).partition(|(t, _)| *t <= self.now);
            self.queue = rest;
            for (_, r) in due {
                // A late or duplicated result is refused by the engine; the drill
                // goes on, as the runtime does.
                let _ = self.input(Input::Result(r));
            }
            let _ = self.input(Input::Tick);
        }
    }

    /// One round of [`Drill::probing`] now; when the next is due.
    fn probe_all(&mut self) -> Option<DateTime<Utc>> {
        let probing = self.probing.as_mut()?;
        probing.rounds += 1;
        let (round, every, answer) = (probing.rounds, probing.every, probing.answer.clone());
        let ids: Vec<CustomerId> = self.state.customers.iter().map(|c| c.id.clone()).collect();
        for (i, customer) in ids.into_iter().enumerate() {
            let outcome = answer(round, i, &customer);
            let _ = self.input(Input::Result(EffectResult::Probed { customer, outcome }));
        }
        Some(self.now + every)
    }

    /// Plays the release until it ends, nothing more can happen by itself, or
    /// `max_rounds` rounds have passed. Each round `people` may act first on what the
    /// release awaits (`Ok(true)`: they did, and the round starts over at the same
    /// instant); otherwise the clock moves to the next deadline or result, the
    /// results due are delivered in time order (those due at once included), and the
    /// engine ticks. `deploy --dry-run` is this, with people who act at once.
    pub fn play<E>(
        &mut self,
        max_rounds: usize,
        mut people: impl FnMut(&mut Drill) -> Result<bool, E>,
    ) -> Result<(), E> {
        let _ = self.input(Input::Tick);
        for _ in 0..max_rounds {
            if self.state.phase.is_final() {
                break;
            }
            if people(self)? {
                continue;
            }
            let next_result = self.queue.iter().map(|(t, _)| *t).min();
            let next = match (super::next_deadline(&self.state, self.now), next_result) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            self.now = self.now.max(next);
            // The earliest due first; of those due at the same instant, the first queued.
            while let Some(i) = self
                .queue
                .iter()
                .enumerate()
                .filter(|(_, (t, _))| *t <= self.now)
                .min_by_key(|(i, (t, _))| (*t, *i))
                .map(|(i, _)| i)
            {
                let (_, r) = self.queue.remove(i);
                // Only commands are refused (see `run_until`).
                let _ = self.input(Input::Result(r));
            }
            let _ = self.input(Input::Tick);
        }
        Ok(())
    }

    /// Runs the world for `d` of release time.
    pub fn advance(&mut self, d: TimeDelta) {
        let limit = self.now + d;
        self.run_until(limit);
        self.now = limit;
        let _ = self.input(Input::Tick);
    }

    /// When the first event matching `pred` happened.
    pub fn at_of(&self, pred: impl Fn(&EventKind) -> bool) -> Option<DateTime<Utc>> {
        self.log.iter().find(|e| pred(&e.event)).map(|e| e.at)
    }

    pub fn wave_started(&self, tier: &str) -> Option<DateTime<Utc>> {
        self.at_of(|e| matches!(e, EventKind::WaveStarted { wave } if wave.as_str() == tier))
    }

    /// Replaying the log rebuilds exactly the live state: `Err` says how not.
    pub fn replay_matches(&self) -> Result<(), String> {
        let replayed = ReleaseState::fold(&self.log).map_err(|e| e.to_string())?;
        let a = serde_json::to_value(&replayed).map_err(|e| e.to_string())?;
        let b = serde_json::to_value(&self.state).map_err(|e| e.to_string())?;
        if a == b {
            Ok(())
        } else {
            Err("replayed state differs from live state".into())
        }
    }

    /// Customers deployed more than once.
    pub fn deployed_twice(&self) -> Vec<&CustomerId> {
        self.deploys
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(c, _)| c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReleaseType;
    use crate::engine::{Phase, Selection};

    fn t0() -> DateTime<Utc> {
        "2026-11-16T10:00:00Z".parse().expect("t0")
    }

    fn plan(t: ReleaseType) -> ReleasePlan {
        let cfg = crate::config::load_builtin().expect("config");
        ReleasePlan::build(&cfg, "v1.0.3".parse().expect("v"), t, Selection::All, false)
            .expect("plan")
    }

    #[test]
    fn a_security_drill_plays_to_completion_and_replays_exactly() {
        let mut d = Drill::new(plan(ReleaseType::Security), "alice", t0()).expect("drill");
        d.tick_gating_items("alice");
        d.advance(TimeDelta::days(10));
        assert!(
            d.wave_started("enterprise").is_some(),
            "security needs no approval"
        );
        assert_eq!(d.state.phase, Phase::Completed);
        assert!(d.deployed_twice().is_empty());
        d.replay_matches().expect("replay");
    }

    #[test]
    fn given_when_then_decides_on_the_folded_state() {
        let d = Drill::new(plan(ReleaseType::BugFix), "alice", t0()).expect("drill");
        let then = given(&d.log).when(
            Input::Command {
                actor: "alice".into(),
                command: Command::Resume {
                    reason: "nothing paused".into(),
                },
            },
            t0(),
        );
        assert_eq!(then.refusal(), Some(&Rejected::NotPaused));
        assert!(then.events().is_empty());
        let paused = given(&d.log).when(
            Input::Command {
                actor: "alice".into(),
                command: Command::Pause {
                    reason: "dashboards".into(),
                },
            },
            t0(),
        );
        assert!(
            matches!(paused.events().as_slice(), [EventKind::Paused { .. }]),
            "{:?}",
            paused.events()
        );
    }
}

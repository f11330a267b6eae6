//! The probe scheduler: the runtime's eyes on customer health.
//!
//! The engine judges health (`decide` turns `EffectResult::Probed` into samples,
//! baselines and rollback triggers) but never asks for a probe: probing is continuous
//! observation, not an effect of one event. So this task watches the release's
//! snapshots, works out who must be watched, probes them on the release clock and
//! hands every verdict back on the runtime's results channel, where it is decided on
//! and journaled like any other result.
//!
//! Who is probed:
//! - customers of a running wave and of the next waiting wave (every waiting wave in
//!   emergency mode, when they all start after demo) that are still pending and have
//!   no baseline yet, so that a baseline exists before their deploy;
//! - verifying and healthy customers while the release rolls out or is monitored.
//!
//! How:
//! - every `probe_interval` of release time (`enhanced_probe_interval` when the policy
//!   asks for enhanced monitoring or the release is an emergency), each customer
//!   shifted by a fixed, deterministic jitter (a hash of its id, up to 10 % of the
//!   interval), so that a thousand customers are not probed in the same millisecond;
//! - at most `concurrency` probes at once, never two of one customer at once (a
//!   customer whose probe is still running or queued is not started again); probes due
//!   beyond that wait in a queue of customer indexes, and a task is spawned only when
//!   one can run (10,000 customers due together are 10,000 small queue entries, not
//!   10,000 parked tasks each holding a whole probe's future: 160 MB at 10,000);
//! - batched sources (prometheus): customers that share a [`BatchKey`] are due on the
//!   group's phase (its jitter is the group's, not each member's), and the ones due
//!   together are handed to one [`Prober::probe_batch`] call (one request per query
//!   for thousands of customers, one running slot); each member's verdict still
//!   comes back as its own `EffectResult::Probed`;
//! - a pre-deploy baseline is read at the release's start instant (journaled with its
//!   plan): sources that can evaluate in the past (prometheus, `time=`) give a resumed
//!   release the same baseline figures;
//! - the task sleeps on the release clock until the next probe is due, or until a
//!   snapshot, a finished probe or shutdown wakes it: no polling;
//! - it ends when the release reaches a final phase, the runtime stops, or on shutdown.
//!
//! Customers are tracked by their index in `ReleaseState::customers` (fixed for a
//! release), so that re-reading who is wanted after each snapshot is one linear pass
//! with no hashing: snapshots change after every probe result.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::clock::Clock;
use super::driver::{ReleaseHandle, Snapshot};
use crate::adapters::health::{BatchKey, ProbeTarget, Prober};
use crate::domain::dice::unit_hash;
use crate::domain::{CustomerId, HealthSource, ProbeOutcome};
use crate::engine::{EffectResult, ReleaseState, query};

/// The shortest interval honoured: a zero or sub-second interval in config would
/// otherwise make the scheduler spin.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// How the scheduler probes.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSchedule {
    /// Probes running at once, over all customers (0 is taken as 1).
    pub concurrency: usize,
    /// The largest per-customer shift of the probe times, as a fraction of the
    /// interval (0.1: up to 10 %). Clamped to 0..=0.5.
    pub jitter: f64,
}

impl Default for ProbeSchedule {
    fn default() -> Self {
        ProbeSchedule {
            concurrency: 64,
            jitter: 0.1,
        }
    }
}

/// The probe interval the release's policy asks for now, never below the shortest
/// honoured.
pub fn interval_for(state: &ReleaseState) -> Duration {
    Duration::from_secs(query::probe_interval(state).as_secs()).max(MIN_INTERVAL)
}

/// The fixed shift of `customer`'s probe times: a hash of its id, up to `fraction`
/// of `interval`. Deterministic, so a drill replays the same probe times.
pub fn jitter_for(customer: &CustomerId, interval: Duration, fraction: f64) -> Duration {
    jitter_for_key(customer.as_str(), interval, fraction)
}

/// The fixed shift of the probe times of whatever `key` names (a customer id, or a
/// batch's phase text, shared by its members).
pub fn jitter_for_key(key: &str, interval: Duration, fraction: f64) -> Duration {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.0, 0.5)
    } else {
        0.0
    };
    interval.mul_f64(fraction * unit_hash(0, key))
}

pub use crate::engine::query::{baseline_at, probe_targets as targets, wants_probe};

/// Starts the scheduler for one release.
///
/// - `snapshots`: the release's snapshot watch (`ReleaseHandle::snapshots`);
/// - `results`: where verdicts go (`ReleaseHandle::results`), as `EffectResult::Probed`;
/// - `clock`: the release clock (`ReleaseHandle::clock`), on which intervals count;
/// - `sources`: each customer's health source; a customer without one is not probed;
/// - `shutdown`: `true` (or the sender dropped) stops the task; running probes are
///   dropped, their results never sent.
pub fn spawn(
    snapshots: watch::Receiver<Snapshot>,
    results: mpsc::UnboundedSender<EffectResult>,
    clock: Clock,
    prober: Prober,
    sources: HashMap<CustomerId, HealthSource>,
    opts: ProbeSchedule,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let scheduler = Scheduler::new(results, clock, prober, sources, &opts);
    tokio::spawn(scheduler.run(snapshots, shutdown))
}

/// The wire point for `deploy`, `demo` and `cockpit`: starts probing the release
/// behind `handle`, each customer at `sources` (chosen by the CLI's wiring). The task
/// ends with the release, or when the handle is stopped.
pub fn start_probing(
    handle: &ReleaseHandle,
    sources: HashMap<CustomerId, HealthSource>,
    prober: Prober,
) -> JoinHandle<()> {
    spawn(
        handle.snapshots(),
        handle.results.clone(),
        handle.clock().clone(),
        prober,
        sources,
        ProbeSchedule::default(),
        handle.shutdown.subscribe(),
    )
}

/// What a probe task hands back: each customer's index, id and verdict.
type Verdicts = Vec<(usize, CustomerId, ProbeOutcome)>;

/// Per customer (by index into the state's customers).
#[derive(Debug, Clone, Default)]
struct Slot {
    /// When its next probe is due; `None` while not wanted or while probing.
    due: Option<DateTime<Utc>>,
    /// A probe of it is running: it is not started again until that one ends.
    in_flight: bool,
    wanted: bool,
}

struct Scheduler {
    results: mpsc::UnboundedSender<EffectResult>,
    clock: Clock,
    prober: Prober,
    sources: HashMap<CustomerId, HealthSource>,
    /// Probe tasks running at once, at most.
    concurrency: usize,
    /// Due probes waiting for a running slot: each a customer, or a batch's members.
    ready: VecDeque<Vec<usize>>,
    jitter: f64,
    slots: Vec<Slot>,
    /// Per customer (by index): what a probe of it needs (source, name, tier); `None`
    /// when it has no source.
    targets: Vec<Option<ProbeTarget>>,
    /// Per customer: the text its jitter is drawn from (its id, or its batch's phase).
    phases: Vec<String>,
    /// Per customer: its jitter at the current interval (hashing 10,000 phase texts
    /// on every snapshot would cost more than the rest of a refresh).
    jitters: Vec<Duration>,
    /// Due times, earliest first. An entry whose slot no longer has that due time is
    /// stale and skipped (lazy deletion: cheaper than searching the heap).
    heap: BinaryHeap<Reverse<(DateTime<Utc>, usize)>>,
    interval: Option<Duration>,
    /// Running probes (one customer, or one batch); dropping the set (on stop)
    /// aborts them.
    running: JoinSet<Verdicts>,
    /// Which customers each running probe task is for, to free their slots even if
    /// the task panicked.
    tasks: HashMap<tokio::task::Id, Vec<usize>>,
}

impl Scheduler {
    fn new(
        results: mpsc::UnboundedSender<EffectResult>,
        clock: Clock,
        prober: Prober,
        sources: HashMap<CustomerId, HealthSource>,
        opts: &ProbeSchedule,
    ) -> Scheduler {
        Scheduler {
            results,
            clock,
            prober,
            sources,
            concurrency: opts.concurrency.max(1),
            ready: VecDeque::new(),
            jitter: opts.jitter,
            slots: Vec::new(),
            targets: Vec::new(),
            phases: Vec::new(),
            jitters: Vec::new(),
            heap: BinaryHeap::new(),
            interval: None,
            running: JoinSet::new(),
            tasks: HashMap::new(),
        }
    }

    async fn run(
        mut self,
        mut snapshots: watch::Receiver<Snapshot>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut state = snapshots.borrow_and_update().state.clone();
        tracing::debug!(customers = state.customers.len(), "probe scheduler started");
        // Who is wanted changes only with the state: re-read it on a new snapshot,
        // not on every timer or finished probe.
        let mut dirty = true;
        loop {
            if *shutdown.borrow() || state.phase.is_final() {
                break;
            }
            if dirty {
                self.refresh(&state);
                dirty = false;
            }
            self.start_due(&state);
            let next = self.next_due();
            let clock = self.clock.clone();
            let sleep = async move {
                match next {
                    Some(t) => clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                changed = snapshots.changed() => {
                    if changed.is_err() {
                        // The runtime has stopped: nobody to report to.
                        break;
                    }
                    state = snapshots.borrow_and_update().state.clone();
                    dirty = true;
                }
                Some(done) = self.running.join_next_with_id(), if !self.running.is_empty() => {
                    if !self.finished(done, &state) {
                        break;
                    }
                }
                _ = sleep => {}
            }
        }
        tracing::debug!(phase = state.phase.as_str(), "probe scheduler stopped");
    }

    /// Brings the slots in line with who is wanted in `state`.
    fn refresh(&mut self, state: &ReleaseState) {
        if self.slots.len() != state.customers.len() {
            self.slots = vec![Slot::default(); state.customers.len()];
            self.heap.clear();
            self.targets = state
                .customers
                .iter()
                .map(|c| {
                    let source = self.sources.get(&c.id)?;
                    let tier = state.waves.get(c.wave).map_or("", |w| w.tier.as_str());
                    Some(ProbeTarget::new(
                        c.id.clone(),
                        c.name.as_str(),
                        tier,
                        source.clone(),
                    ))
                })
                .collect();
            self.phases = self
                .targets
                .iter()
                .zip(&state.customers)
                .map(|(t, c)| match t.as_ref().and_then(BatchKey::of) {
                    Some(key) => key.phase(),
                    None => c.id.to_string(),
                })
                .collect();
        }
        let interval = interval_for(state);
        let now = self.clock.now();
        let interval_changed = self.interval.is_some_and(|i| i != interval);
        if self.interval != Some(interval) || self.jitters.len() != self.phases.len() {
            self.jitters = self
                .phases
                .iter()
                .map(|key| jitter_for_key(key, interval, self.jitter))
                .collect();
        }
        self.interval = Some(interval);
        for (i, c) in state.customers.iter().enumerate() {
            let wanted = wants_probe(state, i) && self.sources.contains_key(&c.id);
            let jitter = delta(self.jitters.get(i).copied().unwrap_or_default());
            let slot = &mut self.slots[i];
            match (slot.wanted, wanted) {
                (false, true) => {
                    slot.wanted = true;
                    if !slot.in_flight {
                        // First probe right away (shifted by its jitter): a customer
                        // that just deployed is watched from its first seconds.
                        let due = now + jitter;
                        slot.due = Some(due);
                        self.heap.push(Reverse((due, i)));
                    }
                }
                (true, false) => {
                    slot.wanted = false;
                    slot.due = None;
                }
                (true, true) if interval_changed => {
                    // Emergency declared: move to the faster pace now, not after the
                    // slow interval runs out.
                    if let Some(due) = slot.due {
                        let sooner = now + delta(interval) + jitter;
                        if sooner < due {
                            slot.due = Some(sooner);
                            self.heap.push(Reverse((sooner, i)));
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The jitter of the customer at `i` (its batch's when it has one) at the
    /// current interval.
    fn jitter_of(&self, i: usize) -> Duration {
        self.jitters.get(i).copied().unwrap_or_default()
    }

    /// Starts every probe that is due: one task per customer, or per batch of
    /// customers that share a [`BatchKey`].
    fn start_due(&mut self, state: &ReleaseState) {
        let now = self.clock.now();
        let mut singles: Vec<usize> = Vec::new();
        let mut batches: Vec<(BatchKey, Vec<usize>)> = Vec::new();
        let mut batch_of: HashMap<BatchKey, usize> = HashMap::new();
        while let Some(Reverse((due, i))) = self.heap.peek().copied() {
            if self.slots.get(i).and_then(|s| s.due) != Some(due) {
                self.heap.pop();
                continue;
            }
            if due > now {
                break;
            }
            self.heap.pop();
            let Some(Some(target)) = self.targets.get(i) else {
                continue;
            };
            if state.customers.get(i).is_none() {
                continue;
            }
            self.slots[i].due = None;
            self.slots[i].in_flight = true;
            let at = baseline_at(state, i);
            match BatchKey::of(&target.clone().at(at)) {
                Some(key) => match batch_of.get(&key) {
                    Some(&b) => batches[b].1.push(i),
                    None => {
                        batch_of.insert(key.clone(), batches.len());
                        batches.push((key, vec![i]));
                    }
                },
                None => singles.push(i),
            }
        }
        self.ready.extend(
            singles
                .into_iter()
                .map(|i| vec![i])
                .chain(batches.into_iter().map(|(_, members)| members)),
        );
        self.launch(state);
    }

    /// Spawns queued probes while fewer than `concurrency` run.
    fn launch(&mut self, state: &ReleaseState) {
        while self.running.len() < self.concurrency {
            let Some(members) = self.ready.pop_front() else {
                break;
            };
            let targets: Vec<ProbeTarget> = members
                .iter()
                .filter_map(|&i| {
                    let t = self.targets.get(i)?.clone()?;
                    Some(t.at(baseline_at(state, i)))
                })
                .collect();
            let prober = self.prober.clone();
            let indices = members.clone();
            let task = self.running.spawn(async move {
                // Under a backstop over the probes' own deadlines: a probe that
                // overruns is a failed check, and its slot frees up.
                let outcomes = prober.probe_batch_bounded(&targets).await;
                indices
                    .into_iter()
                    .zip(targets)
                    .zip(outcomes)
                    .map(|((i, t), outcome)| (i, t.id, outcome))
                    .collect()
            });
            self.tasks.insert(task.id(), members);
        }
    }

    /// The earliest live due time.
    fn next_due(&mut self) -> Option<DateTime<Utc>> {
        while let Some(Reverse((due, i))) = self.heap.peek().copied() {
            if self.slots.get(i).and_then(|s| s.due) == Some(due) {
                return Some(due);
            }
            self.heap.pop();
        }
        None
    }

    /// Reports a finished probe (or batch) and schedules each customer's next one.
    /// False when the runtime no longer takes results.
    fn finished(
        &mut self,
        done: Result<(tokio::task::Id, Verdicts), tokio::task::JoinError>,
        state: &ReleaseState,
    ) -> bool {
        let indices: Vec<usize> = match done {
            Ok((task, results)) => {
                self.tasks.remove(&task);
                let mut indices = Vec::with_capacity(results.len());
                for (i, customer, outcome) in results {
                    let result = EffectResult::Probed { customer, outcome };
                    if self.results.send(result).is_err() {
                        return false;
                    }
                    indices.push(i);
                }
                indices
            }
            Err(e) => {
                // Only a panic inside the prober gets here. No verdict is reported
                // (a bug of ours must not roll a customer back); the customers are
                // probed again at their next slot.
                let Some(indices) = self.tasks.remove(&e.id()) else {
                    return true;
                };
                for &i in &indices {
                    if let Some(c) = state.customers.get(i) {
                        tracing::error!(customer = %c.id, error = %e, "a health probe task failed");
                    }
                }
                indices
            }
        };
        let interval = self.interval.unwrap_or(MIN_INTERVAL);
        let now = self.clock.now();
        let step = delta(interval);
        for i in indices {
            let jitter = delta(self.jitter_of(i));
            if let Some(slot) = self.slots.get_mut(i) {
                slot.in_flight = false;
                if slot.wanted && state.customers.get(i).is_some() {
                    // Keep the customer's phase (its jitter, or its batch's) and skip
                    // the slots a slow probe overran, rather than catching up in a burst.
                    let mut due = now - jitter_phase(now, step) + jitter;
                    while due <= now {
                        due += step;
                    }
                    slot.due = Some(due);
                    self.heap.push(Reverse((due, i)));
                }
            }
        }
        true
    }
}

/// How far `now` is into its current interval, counting intervals from the epoch:
/// puts every customer's probes on a common grid, each shifted by its own jitter.
fn jitter_phase(now: DateTime<Utc>, step: TimeDelta) -> TimeDelta {
    let step_us = step.num_microseconds().unwrap_or(i64::MAX).max(1);
    let now_us = now.timestamp_micros();
    TimeDelta::microseconds(now_us.rem_euclid(step_us))
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config;
    use crate::domain::{ReleaseType, Version};
    use crate::engine::{self, Input, Phase, ReleasePlan, Selection, WaveStatus};

    fn state() -> ReleaseState {
        let mut cfg = config::load_builtin().unwrap();
        cfg.checklists.clear();
        let plan = ReleasePlan::build(
            &cfg,
            Version::new(1, 0, 1),
            ReleaseType::BugFix,
            Selection::All,
            false,
        )
        .unwrap();
        let t0: DateTime<Utc> = "2026-11-16T10:00:00Z".parse().unwrap();
        let first = engine::plan_event(plan, "alice", t0);
        ReleaseState::fold([&first]).unwrap()
    }

    #[test]
    fn before_rollout_only_the_demo_wave_takes_a_baseline() {
        let s = state();
        let ids: Vec<&str> = targets(&s)
            .iter()
            .map(|&i| s.customers[i].id.as_str())
            .collect();
        assert_eq!(ids, ["demo-main", "demo-sales"]);
    }

    #[test]
    fn once_demo_runs_the_next_wave_takes_a_baseline_too() {
        let mut s = state();
        let t0 = s.started_at;
        let d = engine::step(&mut s, &Input::Tick, t0).unwrap();
        assert!(!d.events.is_empty());
        assert_eq!(s.waves[0].status, WaveStatus::Running);
        let tiers: Vec<&str> = targets(&s)
            .iter()
            .map(|&i| s.waves[s.customers[i].wave].tier.as_str())
            .collect();
        // Demo customers are deploying (not probed); startup is next and has no baseline.
        assert!(tiers.iter().all(|t| *t == "startup"), "{tiers:?}");
        assert!(!tiers.is_empty());
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let id = CustomerId::new("techstart");
        let i = Duration::from_secs(30);
        assert_eq!(jitter_for(&id, i, 0.1), jitter_for(&id, i, 0.1));
        assert!(jitter_for(&id, i, 0.1) < Duration::from_secs(3));
        assert_ne!(
            jitter_for(&id, i, 0.1),
            jitter_for(&CustomerId::new("globex"), i, 0.1)
        );
        assert_eq!(jitter_for(&id, i, f64::NAN), Duration::ZERO);
    }

    /// Probes due beyond the running slots wait as queue entries, not parked tasks,
    /// and start as running ones finish: each customer once, never more at once.
    #[tokio::test(start_paused = true)]
    async fn due_probes_beyond_the_running_slots_wait_in_the_queue() {
        let mut s = state();
        let t0 = s.started_at;
        engine::step(&mut s, &Input::Tick, t0).unwrap();
        let wanted = targets(&s).len();
        assert_eq!(wanted, 4);
        let cfg = config::load_builtin().unwrap();
        let sources = cfg
            .customers
            .iter()
            .map(|c| (c.id.clone(), c.health.clone()))
            .collect();
        let (results_tx, mut results_rx) = mpsc::unbounded_channel();
        let prober = Prober::new(crate::adapters::health::ProbeLimits::default()).unwrap();
        let opts = ProbeSchedule {
            concurrency: 1,
            jitter: 0.1,
        };
        let mut scheduler =
            Scheduler::new(results_tx, Clock::scaled(t0, 1.0), prober, sources, &opts);
        scheduler.refresh(&s);
        // Past every jitter: all four are due at once.
        tokio::time::sleep(Duration::from_secs(5)).await;
        scheduler.start_due(&s);
        assert_eq!((scheduler.running.len(), scheduler.ready.len()), (1, 3));
        let mut probed = Vec::new();
        while let Some(done) = scheduler.running.join_next_with_id().await {
            assert!(scheduler.finished(done, &s));
            scheduler.start_due(&s);
            assert!(scheduler.running.len() <= 1);
            while let Ok(EffectResult::Probed { customer, .. }) = results_rx.try_recv() {
                probed.push(customer);
            }
        }
        probed.sort();
        probed.dedup();
        assert_eq!(probed.len(), wanted, "{probed:?}");
        assert!(scheduler.ready.is_empty());
    }

    /// On paused tokio time: each wanted customer is probed once per interval, on its
    /// own jittered phase, nobody else is probed, and the task ends with the release.
    #[tokio::test(start_paused = true)]
    async fn probes_each_interval_and_stops_at_a_final_phase() {
        let mut s = state();
        let t0 = s.started_at;
        engine::step(&mut s, &Input::Tick, t0).unwrap();
        let wanted: Vec<CustomerId> = targets(&s)
            .iter()
            .map(|&i| s.customers[i].id.clone())
            .collect();
        assert_eq!(wanted.len(), 4, "the startup wave: {wanted:?}");
        let cfg = config::load_builtin().unwrap();
        let sources: HashMap<CustomerId, HealthSource> = cfg
            .customers
            .iter()
            .map(|c| (c.id.clone(), c.health.clone()))
            .collect();
        let clock = Clock::scaled(t0, 1.0);
        let (snap_tx, snap_rx) = watch::channel(Snapshot {
            state: Arc::new(s.clone()),
            now: t0,
            serial: 0,
            next_seq: 0,
        });
        let (results_tx, mut results_rx) = mpsc::unbounded_channel();
        let (_shutdown_tx, shutdown_rx) = watch::channel(false);
        let prober = Prober::new(crate::adapters::health::ProbeLimits::default()).unwrap();
        let task = spawn(
            snap_rx,
            results_tx,
            clock.clone(),
            prober,
            sources,
            ProbeSchedule::default(),
            shutdown_rx,
        );

        // Stamp each result with the release time it arrived at.
        let stamp = clock.clone();
        let collector = tokio::spawn(async move {
            let mut seen: HashMap<CustomerId, Vec<DateTime<Utc>>> = HashMap::new();
            while let Some(r) = results_rx.recv().await {
                let EffectResult::Probed { customer, outcome } = r else {
                    panic!("{r:?}")
                };
                assert!(matches!(outcome, ProbeOutcome::Up { .. }));
                seen.entry(customer).or_default().push(stamp.now());
            }
            seen
        });
        tokio::time::sleep(Duration::from_secs(95)).await;
        s.phase = Phase::Completed;
        snap_tx.send_replace(Snapshot {
            state: Arc::new(s),
            now: clock.now(),
            serial: 1,
            next_seq: 0,
        });
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .unwrap()
            .unwrap();
        // The scheduler dropped its sender on stopping: the collector ends.
        let seen = collector.await.unwrap();
        assert_eq!(seen.len(), 4, "{seen:?}");
        for id in &wanted {
            // At its jitter, then every 30 s: 4 probes in 95 s, none early.
            let jitter = delta(jitter_for(id, Duration::from_secs(30), 0.1));
            assert_eq!(seen[id].len(), 4, "{id}: {:?}", seen[id]);
            for (k, at) in seen[id].iter().enumerate() {
                let expected = t0 + jitter + TimeDelta::seconds(30 * k as i64);
                let off = (*at - expected).num_milliseconds();
                assert!(
                    (0..=5).contains(&off),
                    "{id} probe {k} at {at}, expected {expected}"
                );
            }
        }
    }

    #[test]
    fn emergency_and_enhanced_probe_faster() {
        let mut s = state();
        assert_eq!(interval_for(&s), Duration::from_secs(30));
        s.emergency = true;
        assert_eq!(interval_for(&s), Duration::from_secs(10));
    }
}

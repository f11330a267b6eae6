//! The state of one release, and `apply`: folding one event into it.
//!
//! `apply` holds no rule: every decision was taken by `decide` and is written in
//! the event; here facts only update fields, so replaying a journal rebuilds exactly
//! what the live process held.
//!
//! Why one file (~870 lines): `apply` handles every event against the fields it
//! updates; the struct and its fold change together with each event, so splitting
//! them would split every change in two.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::event::{Decision, Event, EventKind, NoticeKind, PauseCause};
use super::plan::ReleasePlan;
use super::triggers::{self, Evidence, TriggerKind};
use crate::domain::{
    CheckCommand, CustomerId, GatedPhase, HealthSample, ProbeOutcome, Role, TierName, Version,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Planned,
    Validating,
    Rollout,
    Monitoring,
    Completed,
    RolledBack,
    Aborted,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Planned => "planned",
            Phase::Validating => "validating",
            Phase::Rollout => "rolling out",
            Phase::Monitoring => "monitoring",
            Phase::Completed => "completed",
            Phase::RolledBack => "rolled back",
            Phase::Aborted => "aborted",
        }
    }
    /// A release in a final phase takes no more deploys.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Completed | Phase::RolledBack | Phase::Aborted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveStatus {
    Waiting,
    /// Came due while shipdeck was not running; waits for confirmation.
    HeldOverdue,
    Running,
    Completed,
    /// Will not run: the release was rolled back or aborted first.
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Pending,
    WaitingWindow,
    Deploying,
    Verifying,
    Healthy,
    Failed,
    RollingBack,
    RolledBack,
}

impl CustomerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Pending => "pending",
            CustomerStatus::WaitingWindow => "waiting for window",
            CustomerStatus::Deploying => "deploying",
            CustomerStatus::Verifying => "verifying",
            CustomerStatus::Healthy => "healthy",
            CustomerStatus::Failed => "failed",
            CustomerStatus::RollingBack => "rolling back",
            CustomerStatus::RolledBack => "rolled back",
        }
    }
    /// Nothing more will happen to the customer in this release on its own.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            CustomerStatus::Healthy | CustomerStatus::Failed | CustomerStatus::RolledBack
        )
    }
    /// Carries the new version (or is getting it) and so can be rolled back.
    pub fn is_touched(self) -> bool {
        matches!(
            self,
            CustomerStatus::Deploying | CustomerStatus::Verifying | CustomerStatus::Healthy
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WaveState {
    pub tier: TierName,
    pub status: WaveStatus,
    pub approvals: Vec<(Role, String)>,
    pub wait_skipped: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Indices into `ReleaseState::customers`.
    pub first_customer: usize,
    pub customer_count: usize,
    pub gate_notice_sent: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HealthTrack {
    /// Pre-deploy samples that form the baseline.
    pub baseline_samples: Vec<HealthSample>,
    pub baseline: Option<HealthSample>,
    /// Recent conclusive outcomes, oldest first, bounded by the trigger window.
    pub recent: VecDeque<ProbeOutcome>,
    pub last: Option<ProbeOutcome>,
    /// Recent samples for sparklines (error rate, p95), bounded: a display cache,
    /// fed by journaled samples and by steady ones that are summarised rather than
    /// journaled ([`ReleaseState::note_steady`]). No rule reads it, so it is not
    /// part of the state a replay must rebuild (nor of a checkpoint).
    #[serde(skip)]
    pub history: VecDeque<HealthSample>,
    /// Steady healthy checks summarised (not journaled one by one) so far.
    #[serde(default)]
    pub summarized: u64,
    /// Steady checks this process has seen and tallied (a display figure, like
    /// `history`: journaled only in the hourly summaries).
    #[serde(skip)]
    pub steady_seen: u64,
    /// The last trigger that fired on this customer: when, which, and its evidence
    /// (the cockpit's evidence view shows it).
    #[serde(default)]
    pub last_trigger: Option<FiredTrigger>,
    /// A check finished since the deploy did: a soak that saw no check at all (a
    /// health endpoint that hangs past the soak) proves nothing, so the customer
    /// is not declared healthy until one has.
    #[serde(default)]
    pub checked_since_deploy: bool,
}

/// A trigger as it fired, kept for views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiredTrigger {
    pub at: DateTime<Utc>,
    pub trigger: TriggerKind,
    pub evidence: Evidence,
}

pub const SPARK_LEN: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerState {
    pub id: CustomerId,
    pub name: String,
    pub wave: usize,
    pub status: CustomerStatus,
    pub from_version: Version,
    /// The version the customer runs now, as far as this release knows.
    pub version: Version,
    pub window_opens_at: Option<DateTime<Utc>>,
    /// A maintenance window that opened and closed without a deploy: held until a
    /// person confirms (then it waits for the next window) or skips the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_missed: Option<DateTime<Utc>>,
    /// An operator let this customer deploy outside its window.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub window_skipped: bool,
    pub deploy_started_at: Option<DateTime<Utc>>,
    pub soak_until: Option<DateTime<Utc>>,
    pub failure: Option<String>,
    /// How many deploys of this release were started for the customer (at most 1).
    pub deploys_started: u32,
    /// When the rollback in flight (or the last one) started.
    pub rollback_started_at: Option<DateTime<Utc>>,
    /// The attempt the deploy or rollback in flight is on (1 at its start).
    pub attempt: u32,
    pub health: HealthTrack,
}

impl CustomerState {
    /// Its health has not spoken since its deploy: no check finished yet, or the
    /// last one said "no data". A soak alone proves nothing.
    pub fn awaits_a_conclusive_check(&self) -> bool {
        !self.health.checked_since_deploy
            || matches!(self.health.last, Some(ProbeOutcome::Inconclusive { .. }))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pause {
    pub since: DateTime<Utc>,
    pub actor: String,
    pub reason: String,
    pub cause: PauseCause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckStatus {
    Running,
    Passed(String),
    Failed(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickRecord {
    pub actor: String,
    pub at: DateTime<Utc>,
    pub on_word: bool,
}

/// Serializable whole (for checkpoints); read back through
/// [`ReleaseState::reindexed`], which rebuilds what serialization skips.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseState {
    /// Shared: fixed once planned, and a snapshot per published state would
    /// otherwise copy 10,000 customers' targets and sources.
    pub plan: std::sync::Arc<ReleasePlan>,
    pub started_by: String,
    /// Who is in charge now: the starter, until someone with the captain role takes
    /// over (journaled).
    pub captain: String,
    pub started_at: DateTime<Utc>,
    pub phase: Phase,
    pub emergency: bool,
    pub pause: Option<Pause>,
    /// `checklist/item` → who ticked it.
    pub ticks: BTreeMap<String, TickRecord>,
    pub checks: BTreeMap<String, CheckStatus>,
    pub held_phases: BTreeSet<GatedPhase>,
    /// When validation passed (its checks all green), if it did.
    pub validated_at: Option<DateTime<Utc>>,
    pub waves: Vec<WaveState>,
    pub customers: Vec<CustomerState>,
    #[serde(skip)]
    index: HashMap<CustomerId, usize>,
    /// When the demo wave completed: later waves count their delay from here.
    pub anchor: Option<DateTime<Utc>>,
    /// Paused time after the anchor: waiting waves move by this much.
    pub shift: TimeDelta,
    pub rolling_back_all: bool,
    /// Window-bound customers an emergency deploys outside their windows.
    pub windows_overridden: BTreeSet<CustomerId>,
    pub rollout_completed_at: Option<DateTime<Utc>>,
    pub monitoring_until: Option<DateTime<Utc>>,
    pub rollback_window_until: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub decisions: Vec<Decision>,
    pub last_event_at: DateTime<Utc>,
    pub events_applied: u64,
    /// Notices queued and what became of each delivery.
    pub outbox: super::notices::Outbox,
    /// Waves whose approval-needed notice went out.
    pub approval_noticed: BTreeSet<TierName>,
}

/// How a checklist item is named across lists: `list/item`.
pub fn item_key(list: &str, item: &str) -> String {
    format!("{list}/{item}")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("the journal does not start with a release_planned event")]
    NotPlanned,
    #[error("the journal is empty")]
    Empty,
}

impl ReleaseState {
    /// The state right after `ReleasePlanned`.
    pub fn new(plan: ReleasePlan, actor: &str, at: DateTime<Utc>) -> ReleaseState {
        let mut waves = Vec::with_capacity(plan.waves.len());
        let mut customers = Vec::with_capacity(plan.customer_count());
        for (wi, w) in plan.waves.iter().enumerate() {
            waves.push(WaveState {
                tier: w.tier.clone(),
                status: WaveStatus::Waiting,
                approvals: Vec::new(),
                wait_skipped: false,
                started_at: None,
                completed_at: None,
                first_customer: customers.len(),
                customer_count: w.customers.len(),
                gate_notice_sent: false,
            });
            for c in &w.customers {
                customers.push(CustomerState {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    wave: wi,
                    status: CustomerStatus::Pending,
                    from_version: c.from_version.clone(),
                    version: c.from_version.clone(),
                    window_opens_at: None,
                    window_missed: None,
                    window_skipped: false,
                    deploy_started_at: None,
                    soak_until: None,
                    failure: None,
                    deploys_started: 0,
                    rollback_started_at: None,
                    attempt: 0,
                    health: HealthTrack::default(),
                });
            }
        }
        let index = customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        let emergency = plan.emergency;
        ReleaseState {
            plan: std::sync::Arc::new(plan),
            started_by: actor.to_string(),
            captain: actor.to_string(),
            started_at: at,
            phase: Phase::Planned,
            emergency,
            pause: None,
            ticks: BTreeMap::new(),
            checks: BTreeMap::new(),
            held_phases: BTreeSet::new(),
            validated_at: None,
            waves,
            customers,
            index,
            anchor: None,
            shift: TimeDelta::zero(),
            rolling_back_all: false,
            windows_overridden: BTreeSet::new(),
            rollout_completed_at: None,
            monitoring_until: None,
            rollback_window_until: None,
            ended_at: None,
            decisions: Vec::new(),
            last_event_at: at,
            events_applied: 0,
            outbox: super::notices::Outbox::default(),
            approval_noticed: BTreeSet::new(),
        }
    }

    /// Rebuilds the state from a journal's events.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<ReleaseState, FoldError> {
        let mut it = events.into_iter();
        let first = it.next().ok_or(FoldError::Empty)?;
        let mut state = match &first.event {
            EventKind::ReleasePlanned { plan, actor } => {
                ReleaseState::new((**plan).clone(), actor, first.at)
            }
            _ => return Err(FoldError::NotPlanned),
        };
        state.record(first);
        for e in it {
            state.apply(e);
        }
        Ok(state)
    }

    /// A steady sample (see `query::steady_sample`) the runtime summarises instead
    /// of journaling: it only moves the display cache, never a rule's input.
    pub fn note_steady(&mut self, customer: &CustomerId, sample: HealthSample) {
        if let Some(c) = self.customer_mut(customer) {
            c.health.steady_seen += 1;
            c.health.history.push_back(sample);
            if c.health.history.len() > SPARK_LEN {
                c.health.history.pop_front();
            }
        }
    }

    /// The state as read back from a checkpoint, with its customer index rebuilt.
    pub fn reindexed(mut self) -> ReleaseState {
        self.index = self
            .customers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        self
    }

    pub fn customer_index(&self, id: &CustomerId) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn customer(&self, id: &CustomerId) -> Option<&CustomerState> {
        self.customer_index(id).and_then(|i| self.customers.get(i))
    }

    pub fn wave_index(&self, tier: &TierName) -> Option<usize> {
        self.waves.iter().position(|w| &w.tier == tier)
    }

    pub fn wave_customers(&self, wave: usize) -> &[CustomerState] {
        match self.waves.get(wave) {
            Some(w) => &self.customers[w.first_customer..w.first_customer + w.customer_count],
            None => &[],
        }
    }

    /// A wave the next one may follow: completed, or running with every customer
    /// settled or deferred to its own maintenance window (a window-bound customer
    /// does not hold up the next tier; it deploys when its window opens).
    pub fn wave_cleared(&self, wave: usize) -> bool {
        match self.waves.get(wave).map(|w| w.status) {
            Some(WaveStatus::Completed) => true,
            Some(WaveStatus::Running) => self
                .wave_customers(wave)
                .iter()
                .all(|c| c.status.is_settled() || c.status == CustomerStatus::WaitingWindow),
            _ => false,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.pause.is_some()
    }

    /// Whether a trigger holds customer `c`: the release is paused and a trigger
    /// fired on `c` since the pause began (a `pause_only` trigger pauses the release
    /// as it fires; any trigger that fires during a pause counts too), and `c` is
    /// still deployed (verifying or healthy). People decide what happens to a held
    /// customer: it is not marked healthy, its triggers do not fire again, and the
    /// release neither finishes its rollout nor completes, until someone resumes.
    pub fn trigger_holds(&self, c: &CustomerState) -> bool {
        matches!(
            c.status,
            CustomerStatus::Verifying | CustomerStatus::Healthy
        ) && match (&self.pause, &c.health.last_trigger) {
            (Some(pause), Some(fired)) => fired.at >= pause.since,
            _ => false,
        }
    }

    /// Whether a trigger holds any customer (see [`ReleaseState::trigger_holds`]).
    pub fn held_by_trigger(&self) -> bool {
        self.pause.is_some() && self.customers.iter().any(|c| self.trigger_holds(c))
    }

    /// When a waiting wave may start by the clock (ignoring its gate), if the demo
    /// wave has completed.
    pub fn due_at(&self, wave: usize) -> Option<DateTime<Utc>> {
        if wave == 0 {
            return None;
        }
        let anchor = self.anchor?;
        let due = self
            .plan
            .effective_delay(wave, self.emergency)
            .after(anchor);
        Some(due.checked_add_signed(self.shift).unwrap_or(due))
    }

    /// How much of a waiting wave's delay is left at `now`, if its start is known.
    /// While paused the countdown stands still at the pause (resuming shifts
    /// `due_at` by the paused time), so `now` does not count then.
    pub fn wait_left(&self, wave: usize, now: DateTime<Utc>) -> Option<TimeDelta> {
        let due = self.due_at(wave)?;
        let from = match &self.pause {
            Some(p) => p.since.max(self.anchor.unwrap_or(p.since)),
            None => now,
        };
        Some(due - from)
    }

    pub fn check_command(&self, item: &str) -> Option<&CheckCommand> {
        self.plan
            .pre_release()?
            .items
            .iter()
            .find(|i| i.id == item)?
            .check
            .as_ref()
    }

    pub fn running_checks(&self) -> impl Iterator<Item = &str> {
        self.checks
            .iter()
            .filter(|(_, s)| **s == CheckStatus::Running)
            .map(|(k, _)| k.as_str())
    }

    /// Manual items that gate `phase` and are not ticked yet, as `list/item`.
    pub fn unticked_gating(&self, phase: GatedPhase) -> Vec<String> {
        let mut out = Vec::new();
        for list in self.plan.gating_checklists(self.emergency) {
            for item in &list.items {
                if item.gates == Some(phase)
                    && !item.is_automatic()
                    && !self.ticks.contains_key(&item_key(&list.id, &item.id))
                {
                    out.push(format!("{}/{}", list.id, item.id));
                }
            }
        }
        out
    }

    /// Every manual gating item not ticked yet: validation's, then demo's, then
    /// customers'.
    pub fn unticked_gating_all(&self) -> Vec<String> {
        [
            GatedPhase::Validation,
            GatedPhase::Demo,
            GatedPhase::Customers,
        ]
        .into_iter()
        .flat_map(|phase| self.unticked_gating(phase))
        .collect()
    }

    /// Where the customers stand, in words: "12 of 14 customers on v1.0.2, 2 rolled
    /// back". For the last line of a headless run: the rollout finishing says nothing
    /// about how many customers kept the new version.
    pub fn outcome_words(&self) -> String {
        let count = |f: &dyn Fn(CustomerStatus) -> bool| {
            self.customers.iter().filter(|c| f(c.status)).count()
        };
        let on = count(&|s| matches!(s, CustomerStatus::Healthy | CustomerStatus::Verifying));
        let back =
            count(&|s| matches!(s, CustomerStatus::RolledBack | CustomerStatus::RollingBack));
        let failed = count(&|s| s == CustomerStatus::Failed);
        let mut words = format!(
            "{on} of {} customers on {}",
            self.customers.len(),
            self.plan.version
        );
        if back > 0 {
            words += &format!(", {back} rolled back");
        }
        if failed > 0 {
            words += &format!(", {failed} failed");
        }
        words
    }

    /// Folds one event into the state. No rules here: see `decide`.
    pub fn apply(&mut self, e: &Event) {
        let at = e.at;
        match &e.event {
            EventKind::ReleasePlanned { .. } => {}
            EventKind::ItemTicked {
                checklist,
                item,
                actor,
                on_word,
            } => {
                self.ticks.insert(
                    item_key(checklist, item),
                    TickRecord {
                        actor: actor.clone(),
                        at,
                        on_word: *on_word,
                    },
                );
                self.held_phases.clear();
            }
            EventKind::ItemUnticked {
                checklist, item, ..
            } => {
                self.ticks.remove(&item_key(checklist, item));
                // Held phases are announced again with what they wait for now.
                self.held_phases.clear();
            }
            EventKind::ValidationStarted => self.phase = Phase::Validating,
            EventKind::CheckStarted { item } => {
                self.checks.insert(item.clone(), CheckStatus::Running);
            }
            EventKind::CheckFinished { item, ok, detail } => {
                let status = if *ok {
                    CheckStatus::Passed(detail.clone())
                } else {
                    CheckStatus::Failed(detail.clone())
                };
                self.checks.insert(item.clone(), status);
            }
            EventKind::ValidationPassed => {
                self.phase = Phase::Rollout;
                self.validated_at = Some(at);
            }
            EventKind::ValidationFailed { .. } => {}
            EventKind::PhaseHeld { phase, .. } => {
                self.held_phases.insert(*phase);
            }
            EventKind::WaveStarted { wave } => {
                if let Some(w) = self.wave_index(wave).and_then(|i| self.waves.get_mut(i)) {
                    w.status = WaveStatus::Running;
                    w.started_at = Some(at);
                }
            }
            EventKind::WaveCompleted { wave } => {
                if let Some(i) = self.wave_index(wave) {
                    self.waves[i].status = WaveStatus::Completed;
                    self.waves[i].completed_at = Some(at);
                    if i == 0 {
                        self.anchor = Some(at);
                    }
                }
            }
            EventKind::ApprovalSigned { wave, role, actor } => {
                if let Some(w) = self.wave_index(wave).and_then(|i| self.waves.get_mut(i)) {
                    w.approvals.push((role.clone(), actor.clone()));
                }
            }
            EventKind::WaitSkipped { wave, .. } => {
                if let Some(w) = self.wave_index(wave).and_then(|i| self.waves.get_mut(i)) {
                    w.wait_skipped = true;
                }
            }
            EventKind::WaveHeldOverdue { wave } => {
                if let Some(w) = self.wave_index(wave).and_then(|i| self.waves.get_mut(i)) {
                    w.status = WaveStatus::HeldOverdue;
                }
            }
            EventKind::OverdueConfirmed {
                waves, customers, ..
            } => {
                for wave in waves {
                    if let Some(w) = self.wave_index(wave).and_then(|i| self.waves.get_mut(i)) {
                        w.status = WaveStatus::Waiting;
                        // Confirmed: the wait is over, whatever the clock says now.
                        w.wait_skipped = true;
                    }
                }
                for customer in customers {
                    if let Some(c) = self.customer_mut(customer) {
                        c.window_missed = None;
                    }
                }
            }
            EventKind::CustomerWaitingForWindow { customer, opens_at } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::WaitingWindow;
                    c.window_opens_at = Some(*opens_at);
                }
            }
            EventKind::CustomerWindowMissed {
                customer,
                missed,
                next,
            } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::WaitingWindow;
                    c.window_missed = Some(*missed);
                    c.window_opens_at = *next;
                }
            }
            EventKind::WindowWaitSkipped { customers, .. } => {
                for customer in customers {
                    if let Some(c) = self.customer_mut(customer) {
                        c.window_skipped = true;
                        c.window_missed = None;
                    }
                }
            }
            EventKind::DeployStarted { customer, .. } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::Deploying;
                    c.deploy_started_at = Some(at);
                    c.deploys_started += 1;
                    c.attempt = 1;
                    c.window_opens_at = None;
                }
            }
            EventKind::DeployFinished {
                customer,
                ok,
                detail,
            } => {
                let soak = self.plan.policy.soak;
                let version = self.plan.version.clone();
                if let Some(c) = self.customer_mut(customer) {
                    // A customer already being rolled back keeps that course.
                    if c.status == CustomerStatus::Deploying {
                        if *ok {
                            c.status = CustomerStatus::Verifying;
                            c.version = version;
                            c.soak_until = Some(soak.after(at));
                            c.health.checked_since_deploy = false;
                        } else {
                            c.failure = Some(detail.clone());
                        }
                    } else if *ok {
                        c.version = version;
                    }
                }
            }
            EventKind::DeployRetried {
                customer, attempt, ..
            } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.attempt = *attempt;
                }
            }
            EventKind::CustomerHealthy { customer } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::Healthy;
                }
            }
            EventKind::CustomerFailed { customer, reason } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::Failed;
                    c.failure = Some(reason.clone());
                }
            }
            EventKind::HealthSummarized { customers, .. } => {
                for s in customers {
                    if let Some(c) = self.customer_mut(&s.customer) {
                        c.health.summarized += s.count;
                    }
                }
            }
            EventKind::HealthSampled { customer, outcome } => {
                let keep = triggers::history_len(&self.plan.policy.triggers);
                if let Some(c) = self.customer_mut(customer) {
                    let pre_deploy = c.deploys_started == 0;
                    if let ProbeOutcome::Up { sample } = outcome {
                        if pre_deploy {
                            c.health.baseline_samples.push(*sample);
                        }
                        c.health.history.push_back(*sample);
                        if c.health.history.len() > SPARK_LEN {
                            c.health.history.pop_front();
                        }
                    }
                    if !pre_deploy && !matches!(outcome, ProbeOutcome::Inconclusive { .. }) {
                        c.health.recent.push_back(outcome.clone());
                        while c.health.recent.len() > keep {
                            c.health.recent.pop_front();
                        }
                    }
                    c.health.last = Some(outcome.clone());
                    if c.status == CustomerStatus::Verifying {
                        c.health.checked_since_deploy = true;
                    }
                }
            }
            EventKind::BaselineRecorded { customer, baseline } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.health.baseline = Some(*baseline);
                }
            }
            EventKind::TriggerFired {
                customer,
                trigger,
                evidence,
            } => {
                if let Some(c) = self.customer_mut(customer) {
                    // The samples that tripped it are spent: the next trigger needs new ones.
                    c.health.recent.clear();
                    c.failure = Some(trigger.describe().to_string());
                    c.health.last_trigger = Some(FiredTrigger {
                        at,
                        trigger: *trigger,
                        evidence: evidence.clone(),
                    });
                }
            }
            EventKind::RollbackRequested { scope, .. } => {
                if *scope == super::event::RollbackScope::All {
                    self.rolling_back_all = true;
                    for w in &mut self.waves {
                        if matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue) {
                            w.status = WaveStatus::Cancelled;
                        }
                    }
                }
            }
            EventKind::RollbackStarted { customer, .. } => {
                if let Some(c) = self.customer_mut(customer) {
                    c.status = CustomerStatus::RollingBack;
                    c.soak_until = None;
                    c.rollback_started_at = Some(at);
                    c.attempt = 1;
                }
            }
            EventKind::RollbackFinished {
                customer,
                ok,
                detail,
            } => {
                if let Some(c) = self.customer_mut(customer) {
                    if *ok {
                        c.status = CustomerStatus::RolledBack;
                        c.version = c.from_version.clone();
                    } else {
                        c.status = CustomerStatus::Failed;
                        c.failure = Some(format!("rollback failed: {detail}"));
                    }
                }
            }
            EventKind::Paused {
                actor,
                reason,
                cause,
            } => {
                self.pause = Some(Pause {
                    since: at,
                    actor: actor.clone(),
                    reason: reason.clone(),
                    cause: *cause,
                });
            }
            EventKind::Resumed {
                paused_for_secs, ..
            } => {
                if let Some(anchor) = self.anchor {
                    let since_anchor = (at - anchor).num_seconds().max(0);
                    self.shift += TimeDelta::seconds((*paused_for_secs).min(since_anchor).max(0));
                }
                let was_validation = self
                    .pause
                    .as_ref()
                    .is_some_and(|p| p.cause == PauseCause::ValidationFailed);
                self.pause = None;
                if was_validation {
                    // Failed checks run again.
                    self.checks
                        .retain(|_, s| !matches!(s, CheckStatus::Failed(_)));
                }
            }
            EventKind::EmergencyDeclared {
                windows_overridden, ..
            } => {
                self.emergency = true;
                self.windows_overridden
                    .extend(windows_overridden.iter().cloned());
            }
            EventKind::Notified { wave, kind, .. } => {
                match kind {
                    // Journals from before notice kinds were told apart marked every
                    // wave notice; only the approval timeout's matters to a gate.
                    NoticeKind::GateWaiting | NoticeKind::WaveStarting => {
                        if let Some(w) = wave.as_ref().and_then(|t| self.wave_index(t)) {
                            self.waves[w].gate_notice_sent = true;
                        }
                    }
                    NoticeKind::ApprovalNeeded => {
                        if let Some(w) = wave {
                            self.approval_noticed.insert(w.clone());
                        }
                    }
                    _ => {}
                }
                self.outbox.apply(e);
            }
            EventKind::NoticeSent { .. }
            | EventKind::NoticeFailed { .. }
            | EventKind::NoticesRequeued { .. } => self.outbox.apply(e),
            EventKind::RolloutCompleted {
                monitoring_until,
                rollback_window_until,
            } => {
                self.phase = Phase::Monitoring;
                self.rollout_completed_at = Some(at);
                self.monitoring_until = Some(*monitoring_until);
                self.rollback_window_until = Some(*rollback_window_until);
            }
            EventKind::Completed => {
                self.phase = Phase::Completed;
                self.ended_at = Some(at);
            }
            EventKind::RolledBack => {
                self.phase = Phase::RolledBack;
                self.ended_at = Some(at);
                self.pause = None;
            }
            EventKind::Aborted { .. } => {
                self.phase = Phase::Aborted;
                self.ended_at = Some(at);
                for w in &mut self.waves {
                    if matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue) {
                        w.status = WaveStatus::Cancelled;
                    }
                }
            }
            EventKind::CaptainChanged { to, .. } => self.captain = to.clone(),
            EventKind::LockTakenOver { .. }
            | EventKind::TamperAccepted { .. }
            | EventKind::ActedFrom { .. }
            | EventKind::HandedOver { .. } => {}
        }
        self.record(e);
    }

    fn record(&mut self, e: &Event) {
        if let Some(d) = e.decision() {
            self.decisions.push(d);
        }
        self.last_event_at = e.at;
        self.events_applied += 1;
    }

    fn customer_mut(&mut self, id: &CustomerId) -> Option<&mut CustomerState> {
        let i = self.index.get(id).copied()?;
        self.customers.get_mut(i)
    }
}

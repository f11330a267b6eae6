//! Demo scenarios: a small JSON script of faults over release time, so that a demo or
//! a drill shows the same trouble at the same moment every run ("v1.0.2 makes
//! TechStart's error rate climb to 12 % two minutes in").
//!
//! ```json
//! {"name": "default",
//!  "description": "v1.0.2 makes TechStart's error rate climb to 12% after 2 minutes",
//!  "steps": [{"at": "2m", "customer": "techstart", "when_version": "v1.0.2",
//!             "fault": {"kind": "error_rate_climb", "to": 12.0, "over": "1m"}}]}
//! ```
//!
//! A step is active from `at` (release time, from the scenario's start) until `until`
//! (or for good). [`Scenario::active_steps`] is the pure answer to "what is wrong at
//! this elapsed time"; [`ScenarioRun`] applies steps to a running fleet as the clock
//! passes them, and [`drive`] does that on a timer.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::fault::{Fault, FaultId};
use super::fleet::{Clock, FleetHandle};
use crate::domain::{Customer, CustomerId, HumanDuration, Version};

/// The scenarios compiled into the binary, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../assets/demo/default.json")),
    ("flaky", include_str!("../../assets/demo/flaky.json")),
    ("outage", include_str!("../../assets/demo/outage.json")),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Release time at which the fault begins.
    pub at: HumanDuration,
    /// Release time at which it ends; absent, it stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<HumanDuration>,
    pub customer: CustomerId,
    /// Only while this version is deployed on the customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_version: Option<Version>,
    pub fault: Fault,
}

impl Step {
    fn active_at(&self, elapsed: Duration) -> bool {
        let secs = elapsed.as_secs();
        secs >= self.at.as_secs() && self.until.is_none_or(|u| secs < u.as_secs())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: line {line}, column {column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: line {line}, column {column}: at {path}: {message}")]
    Field {
        file: String,
        line: usize,
        column: usize,
        path: String,
        message: String,
    },
    #[error("{file}: steps[{index}]: {reason}")]
    Step {
        file: String,
        index: usize,
        reason: String,
    },
    #[error("cannot read scenario {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no built-in scenario `{name}`; there are: {known}")]
    UnknownBuiltin { name: String, known: String },
}

impl Scenario {
    /// Parses and validates a scenario; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let (line, column) = (inner.line(), inner.column());
            if path == "." || inner.is_syntax() || inner.is_eof() {
                ScenarioError::Syntax {
                    file: file.to_string(),
                    line,
                    column,
                    message: inner.to_string(),
                }
            } else {
                ScenarioError::Field {
                    file: file.to_string(),
                    line,
                    column,
                    path,
                    message: strip_position(&inner.to_string()),
                }
            }
        })?;
        scenario.validate(file)?;
        Ok(scenario)
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file.clone(),
            source,
        })?;
        Scenario::parse(&text, &file)
    }

    /// A scenario shipped with the binary (`default`, `flaky`, `outage`).
    pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Scenario::parse(text, &format!("assets/demo/{n}.json")),
            None => Err(ScenarioError::UnknownBuiltin {
                name: name.to_string(),
                known: Scenario::builtin_names().join(", "),
            }),
        }
    }

    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    fn validate(&self, file: &str) -> Result<(), ScenarioError> {
        for (index, step) in self.steps.iter().enumerate() {
            let fail = |reason: String| ScenarioError::Step {
                file: file.to_string(),
                index,
                reason,
            };
            step.fault.validate().map_err(fail)?;
            if let Some(until) = step.until {
                if until <= step.at {
                    return Err(fail(format!(
                        "`until` ({until}) must come after `at` ({})",
                        step.at
                    )));
                }
            }
        }
        Ok(())
    }

    /// Refuses a scenario that names customers the configuration does not have.
    pub fn check_customers(&self, customers: &[Customer], file: &str) -> Result<(), ScenarioError> {
        for (index, step) in self.steps.iter().enumerate() {
            if !customers.iter().any(|c| c.id == step.customer) {
                let mut known: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
                known.sort_unstable();
                known.truncate(10);
                return Err(ScenarioError::Step {
                    file: file.to_string(),
                    index,
                    reason: format!(
                        "unknown customer `{}`; customers include: {}",
                        step.customer,
                        known.join(", ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// The steps in force `elapsed` into the release.
    pub fn active_steps(&self, elapsed: Duration) -> Vec<&Step> {
        self.steps.iter().filter(|s| s.active_at(elapsed)).collect()
    }
}

/// serde_json appends " at line L column C" to its messages; the error already says it.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// What [`ScenarioRun::advance`] did to the fleet.
#[derive(Debug, Clone, PartialEq)]
pub enum StepChange {
    Applied {
        step: usize,
        customer: CustomerId,
        fault: FaultId,
    },
    Removed {
        step: usize,
        customer: CustomerId,
    },
    Failed {
        step: usize,
        reason: String,
    },
}

/// A scenario being played against a fleet from `start`.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    scenario: Scenario,
    start: DateTime<Utc>,
    /// Per step: the fault it put into the fleet while it is in force.
    applied: Vec<Option<FaultId>>,
    /// Per step: it has ended (or failed) and is not applied again.
    finished: Vec<bool>,
}

impl ScenarioRun {
    pub fn new(scenario: Scenario, start: DateTime<Utc>) -> ScenarioRun {
        let n = scenario.steps.len();
        ScenarioRun {
            scenario,
            start,
            applied: vec![None; n],
            finished: vec![false; n],
        }
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Brings the fleet in line with the scenario at `now`: steps that came due are
    /// injected (dated at their scheduled instant, so a climb is where it would be
    /// had the driver ticked exactly then), steps that ended are removed.
    pub fn advance(&mut self, fleet: &FleetHandle, now: DateTime<Utc>) -> Vec<StepChange> {
        let elapsed = (now - self.start).to_std().unwrap_or(Duration::ZERO);
        let mut changes = Vec::new();
        for (index, step) in self.scenario.steps.iter().enumerate() {
            if self.finished[index] {
                continue;
            }
            let due = step.active_at(elapsed);
            match (self.applied[index], due) {
                (None, true) => {
                    let since = self.start + step.at.to_delta();
                    match fleet.inject_since(
                        &step.customer,
                        step.fault.clone(),
                        step.when_version.clone(),
                        since,
                    ) {
                        Ok(id) => {
                            self.applied[index] = Some(id);
                            changes.push(StepChange::Applied {
                                step: index,
                                customer: step.customer.clone(),
                                fault: id,
                            });
                        }
                        Err(e) => {
                            self.finished[index] = true;
                            tracing::warn!(step = index, error = %e, "scenario step not applied");
                            changes.push(StepChange::Failed {
                                step: index,
                                reason: e.to_string(),
                            });
                        }
                    }
                }
                (Some(id), false)
                    if step.until.is_some_and(|u| elapsed.as_secs() >= u.as_secs()) =>
                {
                    let _ = fleet.remove_fault(&step.customer, id);
                    self.applied[index] = None;
                    self.finished[index] = true;
                    changes.push(StepChange::Removed {
                        step: index,
                        customer: step.customer.clone(),
                    });
                }
                _ => {}
            }
        }
        changes
    }

    /// Every step has ended, or stays for good and is applied.
    pub fn is_settled(&self) -> bool {
        self.scenario
            .steps
            .iter()
            .enumerate()
            .all(|(i, s)| self.finished[i] || (s.until.is_none() && self.applied[i].is_some()))
    }
}

/// Plays `run` against `fleet`, checking the clock every `every` (of real time), until
/// the scenario is settled or the task is aborted.
pub fn drive(
    mut run: ScenarioRun,
    fleet: FleetHandle,
    clock: Clock,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            run.advance(&fleet, clock());
            if run.is_settled() {
                tracing::debug!(scenario = %run.scenario.name, "scenario settled");
                return;
            }
        }
    })
}

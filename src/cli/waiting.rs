//! What a headless command says when only a person can move a release on: each
//! action the engine names ([`engine::awaited`]) as a line with the command that
//! gives it, so "waiting on people" never ends without saying what for.

use chrono::{DateTime, Utc};

use crate::domain::escape;
use crate::engine::{self, Awaited, ReleaseState};

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One line per person-action, each naming the command that performs it.
pub fn lines(s: &ReleaseState, now: DateTime<Utc>) -> Vec<String> {
    let v = &s.plan.version;
    engine::awaited(s, now)
        .into_iter()
        .map(|a| match a {
            Awaited::Resume {
                by,
                reason,
                reason_required,
                ..
            } => format!(
                "paused by {}: {} — resume with `shipdeck resume --version {v} --reason …`{}",
                escape(&by),
                escape(&reason),
                if reason_required {
                    " (a reason is required)"
                } else {
                    ""
                }
            ),
            Awaited::ConfirmWaves { waves } => {
                let names: Vec<&str> = waves.iter().map(|w| w.as_str()).collect();
                format!(
                    "waves {} came due while shipdeck was not running — confirm with `shipdeck confirm --version {v}` (or run deploy with --yes)",
                    escape(&names.join(", "))
                )
            }
            Awaited::MissedWindow {
                customer,
                wave,
                missed,
                next,
            } => format!(
                "{}'s maintenance window at {} came and went while shipdeck was not watching — confirm with `shipdeck confirm --version {v}` to wait for its next window{}, or deploy it now outside its window with `shipdeck skip-wait --version {v} --wave {} --reason …`",
                escape(customer.as_str()),
                when(missed),
                next.map_or_else(String::new, |t| format!(" ({})", when(t))),
                escape(wave.as_str())
            ),
            Awaited::Approve { wave, roles } => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                format!(
                    "wave {} needs approval by {} — `shipdeck approve --version {v} --wave {} --as NAME`",
                    escape(wave.as_str()),
                    escape(&names.join(" + ")),
                    escape(wave.as_str())
                )
            }
            Awaited::Tick { items } => format!(
                "checklist items {} are not ticked — `shipdeck tick --version {v} {}`",
                escape(&items.join(", ")),
                escape(&items.join(" "))
            ),
            Awaited::Decide => format!(
                "nothing is scheduled ({}): end it with `shipdeck rollback --version {v} --reason …` or `shipdeck abort --version {v} --reason …`",
                s.phase.as_str()
            ),
        })
        .collect()
}

//! `shipdeck plan`: the schedule of a release, for people and (`--json`) machines.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::args::ReleaseArgs;
use super::context::{Context, out, parse_type, parse_version};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::{Approval, Configuration, DeployTarget, escape};
use crate::engine::{ReleasePlan, Selection};

pub fn build(cfg: &Configuration, args: &ReleaseArgs) -> Result<ReleasePlan, CliError> {
    let version = parse_version(&args.version)?;
    let t = parse_type(&args.release_type)?;
    let selection = Selection::parse(&args.customers, cfg);
    ReleasePlan::build(cfg, version, t, selection, args.emergency)
        .map_err(|e| CliError::error(e.to_string()))
}

/// The deploy target a customer of the plan uses: the plan's record, else the
/// configuration's (plans journaled before they recorded targets).
pub fn target_of<'a>(
    cfg: &'a Configuration,
    c: &'a crate::engine::plan::CustomerPlan,
) -> Option<&'a DeployTarget> {
    c.deploy
        .as_ref()
        .or_else(|| cfg.customer(&c.id).map(|cc| &cc.deploy))
}

/// `deploy: kubectl set image … (~5m)`: what `plan` and the dry run say of a target.
pub fn deploy_text(t: &DeployTarget) -> String {
    match (t, t.expected_duration()) {
        (DeployTarget::Simulated { .. }, _) => format!("deploy: {}", t.describe()),
        (_, Some(d)) => format!("deploy: {} (~{d})", t.describe()),
        (_, None) => format!("deploy: {}", t.describe()),
    }
}

fn gate_text(plan: &ReleasePlan, wi: usize) -> String {
    let w = &plan.waves[wi];
    if plan.emergency && wi > 0 {
        return match &w.approval {
            Approval::Manual { .. } => format!("{} (skipped: emergency)", w.approval.describe()),
            _ => "automatic (emergency)".into(),
        };
    }
    w.approval.describe()
}

pub fn run(ctx: &Context, args: &ReleaseArgs, w: &mut dyn std::io::Write) -> CliResult {
    // Each customer as the journals left it (else as configured), so the plan
    // shows what it runs now and what a rollback would go back to.
    let dir = ctx.state_dir().ok();
    let cfg = super::version_check::with_current_versions(ctx.config()?, dir.as_ref());
    let plan = build(&cfg, args)?;
    let now = Utc::now();
    let demo = plan.demo_duration(&cfg);
    let anchor = now + demo.to_delta();
    if ctx.global.json {
        let waves: Vec<_> = plan
            .waves
            .iter()
            .enumerate()
            .map(|(i, wave)| {
                let delay = plan.effective_delay(i, plan.emergency);
                json!({
                    "tier": wave.tier,
                    "delay_seconds": if i == 0 { 0 } else { delay.as_secs() },
                    "gate": gate_text(&plan, i),
                    "approval": wave.approval,
                    "customers": wave.customers.iter().map(|c| json!({
                        "id": c.id, "name": c.name, "from_version": c.from_version,
                        "window": c.window.as_ref().map(|w| w.describe()),
                        "window_only": c.window_only,
                        "notify": c.notify.timing,
                        "deploy": target_of(&cfg, c).map(|t| json!({
                            "kind": t.kind(),
                            "target": t.describe(),
                            "expected_seconds": t.expected_duration().map(|d| d.as_secs()),
                        })),
                    })).collect::<Vec<_>>(),
                    "earliest_start": if i == 0 { now } else { anchor + delay.to_delta() },
                })
            })
            .collect();
        let doc = json!({
            "version": plan.version,
            "type": plan.release_type,
            "emergency": plan.emergency,
            "urgency": plan.policy.urgency,
            "selection": plan.selection.to_string(),
            "customers_total": plan.customer_count(),
            "waves": waves,
            "soak_seconds": plan.policy.soak.as_secs(),
            "rollback_window_seconds": plan.policy.rollback_window.as_secs(),
            "monitoring_seconds": plan.policy.monitoring.period.as_secs(),
            "enhanced_monitoring": crate::engine::query::enhanced_monitoring(&plan, plan.emergency),
        });
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
        return Ok(EXIT_OK);
    }
    out(w, &render(&cfg, &plan, now, anchor))?;
    Ok(EXIT_OK)
}

pub fn render(
    cfg: &Configuration,
    plan: &ReleasePlan,
    now: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> String {
    let mut s = String::new();
    let p = &plan.policy;
    s += &format!("Plan: {}\n", plan.headline());
    if let Some(pre) = plan.pre_release() {
        let auto: Vec<String> = pre
            .items
            .iter()
            .filter(|i| i.is_automatic())
            .map(|i| escape(&i.id).into_owned())
            .collect();
        let manual: Vec<String> = pre
            .items
            .iter()
            .filter(|i| !i.is_automatic() && i.gates.is_some())
            .map(|i| {
                format!(
                    "{} (gates {})",
                    escape(&i.id),
                    i.gates.map(|g| g.as_str()).unwrap_or("")
                )
            })
            .collect();
        s += &format!(
            "\nValidation ({}): automatic checks: {}\n",
            escape(&pre.title),
            if auto.is_empty() {
                "none".into()
            } else {
                auto.join(", ")
            }
        );
        if !manual.is_empty() {
            s += &format!("  to tick first: {}\n", manual.join(", "));
        }
    }
    s += &format!(
        "\n  {:<12} {:>9}  {:<36} {:<22} {}\n",
        "WAVE", "CUSTOMERS", "GATE", "EARLIEST (AFTER DEMO)", "CLOCK (UTC)"
    );
    for (i, w) in plan.waves.iter().enumerate() {
        let delay = plan.effective_delay(i, plan.emergency);
        let (offset, clock) = if i == 0 {
            (
                "after validation".to_string(),
                format!("{} (now)", now.format("%a %H:%M")),
            )
        } else if w.in_windows() && !plan.emergency {
            (
                format!("+{delay}, then each in its window"),
                format!(
                    "{} or later",
                    (anchor + delay.to_delta()).format("%a %H:%M")
                ),
            )
        } else {
            (
                format!("+{delay}"),
                (anchor + delay.to_delta()).format("%a %H:%M").to_string(),
            )
        };
        s += &format!(
            "  {:<12} {:>9}  {:<36} {:<22} {}\n",
            escape(w.tier.as_str()),
            w.customers.len(),
            gate_text(plan, i),
            offset,
            clock
        );
        for c in &w.customers {
            let mut notes = Vec::new();
            if c.window_only || (w.in_windows() && !plan.emergency) {
                if let Some(win) = &c.window {
                    notes.push(format!("window {}", win.describe()));
                }
            }
            if c.notify.timing != crate::domain::NotifyTiming::None {
                notes.push(format!("notice {}", c.notify.timing.as_str()));
            }
            if let Some(target) = target_of(cfg, c) {
                notes.push(deploy_text(target));
            }
            s += &format!(
                "      - {:<22} {} → {}  {}\n",
                escape(&c.name),
                c.from_version,
                plan.version,
                notes.join(", ")
            );
        }
    }
    s += &format!(
        "\nEach customer soaks {} after its deploy. Rollback window {} after completion; monitoring {}{}.\n",
        p.soak,
        p.rollback_window,
        p.monitoring.period,
        if crate::engine::query::enhanced_monitoring(plan, plan.emergency) {
            " (enhanced)"
        } else {
            ""
        }
    );
    s += &format!(
        "Triggers: {} consecutive failed checks, error rate +{} points, p95 +{}% over baseline (over {} checks).\n",
        p.triggers.consecutive_failures,
        p.triggers.error_rate_points,
        p.triggers.latency_p95_percent,
        p.triggers.window
    );
    s
}

//! `shipdeck logs CUSTOMER`: the deploy log of a customer in a release — what its
//! deploy and rollback commands printed, or its webhook's exchanges and status
//! polls, and the verify reads. Control characters are escaped when printed (the
//! file keeps the raw bytes). Takes no lock: works while the release runs.

use serde_json::json;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK, EXIT_WAITING};
use super::read::label_for;
use crate::adapters::deploy::log::{printable_lines, tail};
use crate::runtime::history;

pub fn run(
    ctx: &Context,
    customer: &str,
    version: Option<&str>,
    lines: Option<usize>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let dir = ctx.state_dir()?;
    let label = label_for(&dir, version)?;
    let (state, _) = history::load_release(&dir, &label).map_err(CliError::error)?;
    let wanted = customer.trim();
    let Some(c) = state.customers.iter().find(|c| {
        c.id.as_str().eq_ignore_ascii_case(wanted) || c.name.eq_ignore_ascii_case(wanted)
    }) else {
        let ids: Vec<&str> = state.customers.iter().map(|c| c.id.as_str()).collect();
        return Err(CliError::error(format!(
            "{label} has no customer `{wanted}` (its customers: {})",
            ids.join(", ")
        )));
    };
    let path = dir.deploy_log_path(&label, c.id.as_str());
    let text = match (lines, std::fs::read(&path)) {
        (_, Err(e)) if e.kind() == std::io::ErrorKind::NotFound => None,
        (_, Err(e)) => {
            return Err(CliError::error(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
        (Some(n), Ok(_)) => tail(&path, n).map(|l| l.join("\n")),
        (None, Ok(bytes)) => Some(printable_lines(String::from_utf8_lossy(&bytes).trim_end())),
    };
    if ctx.global.json {
        let doc = json!({
            "release": label,
            "customer": c.id,
            "name": c.name,
            "path": path,
            "lines": text.as_deref().map(|t| t.lines().collect::<Vec<_>>()).unwrap_or_default(),
        });
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
        return Ok(if text.is_some() {
            EXIT_OK
        } else {
            EXIT_WAITING
        });
    }
    match text {
        Some(t) => {
            out(w, &format!("{t}\n"))?;
            Ok(EXIT_OK)
        }
        None => {
            out(
                w,
                &format!(
                    "no deploy log for {} in {label} yet: one is written when a command or webhook deploy of it runs (simulated deploys write none)\n",
                    c.name
                ),
            )?;
            Ok(EXIT_WAITING)
        }
    }
}

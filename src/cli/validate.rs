//! `shipdeck validate`: is this version, of this type, fit to release? Reports
//! every reason it is not, not only the first.

use serde_json::json;

use super::context::{Context, out, parse_type, parse_version};
use super::error::{CliError, CliResult, EXIT_ERROR, EXIT_OK};
use crate::runtime::history;

pub fn run(
    ctx: &Context,
    version: &str,
    release_type: &str,
    from: Option<&str>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let mut problems: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let version = parse_version(version);
    let t = parse_type(release_type);
    if let Err(e) = &version {
        problems.push(e.message.clone());
    }
    if let Err(e) = &t {
        problems.push(e.message.clone());
    }
    let cfg = ctx.config()?;
    let state_dir = ctx.state_dir().ok();
    let from = match from {
        Some(f) => match parse_version(f) {
            Ok(v) => Some((v, "--from".to_string())),
            Err(e) => {
                problems.push(format!("--from: {}", e.message));
                None
            }
        },
        None => state_dir
            .as_ref()
            .and_then(history::newest_started)
            .map(|s| {
                let source = format!("the release history: {} {}", s.version, s.phase.as_str());
                (s.version, source)
            }),
    };
    if let (Ok(v), Ok(t)) = (&version, &t) {
        match &from {
            Some((prev, source)) => match t.check_bump(prev, v) {
                Ok(()) => notes.push(format!(
                    "{prev} → {v} is a valid {t} bump (previous release from {source})"
                )),
                Err(e) => problems.push(e.to_string()),
            },
            None => notes.push(
                "no previous release known (no --from, no history): the bump was not checked"
                    .into(),
            ),
        }
        if let Some(dir) = &state_dir {
            if let Some(prev) = history::summaries(dir)
                .into_iter()
                .find(|s| &s.version == v)
            {
                problems.push(format!(
                    "{v} was already started on {} by {} (now {}); use a new version",
                    prev.started_at.format("%Y-%m-%d %H:%M UTC"),
                    prev.started_by,
                    prev.phase.as_str()
                ));
            }
        }
        match cfg.pre_release_checklist(*t) {
            Some(c) => notes.push(format!(
                "pre-release checklist: {} ({} items)",
                c.title,
                c.items.len()
            )),
            None => problems.push(format!(
                "no pre-release checklist for {t} in checklists.json"
            )),
        }
        if cfg.policy(*t).is_none() {
            problems.push(format!("no policy for {t} in policies.json"));
        }
    }
    let ok = problems.is_empty();
    if ctx.global.json {
        let doc = json!({ "ok": ok, "problems": problems, "notes": notes });
        out(
            w,
            &format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ),
        )?;
    } else if ok {
        let mut s = String::from("ok: ready to release\n");
        for n in &notes {
            s += &format!("  {n}\n");
        }
        out(w, &s)?;
    } else {
        let mut s = format!(
            "not valid ({} problem{}):\n",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in &problems {
            s += &format!("  - {p}\n");
        }
        for n in &notes {
            s += &format!("  note: {n}\n");
        }
        out(w, &s)?;
    }
    if ok {
        Ok(EXIT_OK)
    } else {
        Err(CliError {
            code: EXIT_ERROR,
            message: String::new(),
        })
    }
}

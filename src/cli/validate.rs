//! `shipdeck validate`: is this version, of this type, fit to release? Reports
//! every reason it is not, not only the first.

use serde_json::json;

use super::context::{Context, out, parse_type, parse_version};
use super::error::{CliError, CliResult, EXIT_ERROR, EXIT_OK};
use super::version_check;

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
    let state_dir = ctx.state_dir().ok();
    let cfg = version_check::with_current_versions(ctx.config()?, state_dir.as_ref());
    let from = match from {
        Some(f) => match parse_version(f) {
            Ok(v) => Some((v, "--from".to_string())),
            Err(e) => {
                problems.push(format!("--from: {}", e.message));
                None
            }
        },
        None => None,
    };
    if let (Ok(v), Ok(t)) = (&version, &t) {
        let found = version_check::check(&cfg, state_dir.as_ref(), v, *t, from);
        problems.extend(found.problems);
        notes.extend(found.notes);
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

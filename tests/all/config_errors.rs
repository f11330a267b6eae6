//! The configuration loader through the library API: the built-in defaults, a copy
//! on disk, every kind of error it must refuse (each with file, line, column and
//! field), several errors at once, and the lookup order.
//!
//! Expected positions are computed from the fixture text (where the edit was
//! made), not written as magic numbers, so that editing the defaults does not
//! break these tests.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use shipdeck::config::{
    self, ConfigError, ConfigErrors, ConfigFile, ConfigSource, Origin, builtin_files,
    load_from_strs, resolve,
};
use shipdeck::domain::{ChecklistKind, ReleaseType, TierName};

// ---------------------------------------------------------------- helpers

/// The built-in files as owned (name, text).
fn defaults() -> Vec<(String, String)> {
    builtin_files()
        .iter()
        .map(|(n, t)| (format!("config/{n}"), (*t).to_string()))
        .collect()
}

fn text_of(files: &[(String, String)], name: &str) -> String {
    files
        .iter()
        .find(|(n, _)| is_file(n, name))
        .map(|(_, t)| t.clone())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn set(files: &mut [(String, String)], name: &str, text: String) {
    for f in files.iter_mut() {
        if is_file(&f.0, name) {
            f.1 = text.clone();
        }
    }
}

/// `config/policies.json` is `policies.json`; `config/deployment-policies.json` is not.
fn is_file(path: &str, name: &str) -> bool {
    Path::new(path).file_name() == Some(OsStr::new(name))
}

/// A 1-based (line, character column) for a byte offset.
fn pos_at(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// Replaces the `nth` (0-based) occurrence of `from` with `to`; returns the new
/// text and the (line, column) where the replacement starts.
fn edit(text: &str, from: &str, to: &str, nth: usize) -> (String, (usize, usize)) {
    let offset = text
        .match_indices(from)
        .nth(nth)
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("`{from}` occurs fewer than {} times", nth + 1));
    let new = format!("{}{}{}", &text[..offset], to, &text[offset + from.len()..]);
    let at = pos_at(&new, offset);
    (new, at)
}

/// Edits one file of the defaults and loads; returns the errors and the position
/// of the edit.
fn refuse(name: &str, from: &str, to: &str, nth: usize) -> (ConfigErrors, (usize, usize)) {
    let mut files = defaults();
    let (new, at) = edit(&text_of(&files, name), from, to, nth);
    set(&mut files, name, new);
    (load_err(&files), at)
}

fn load_err(files: &[(String, String)]) -> ConfigErrors {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    match load_from_strs(&refs) {
        Ok(_) => panic!("the configuration was accepted"),
        Err(e) => e,
    }
}

/// The one error about `field`; fails listing all errors otherwise.
fn about<'a>(errs: &'a ConfigErrors, field: &str) -> &'a ConfigError {
    let hits: Vec<&ConfigError> = errs.iter().filter(|e| e.field == field).collect();
    match hits.as_slice() {
        [one] => one,
        _ => panic!("expected one error about `{field}`, got:\n{errs}"),
    }
}

fn assert_at(e: &ConfigError, file: &str, at: (usize, usize), needle: &str) {
    assert!(e.file.ends_with(file), "wrong file: {e}");
    assert_eq!((e.line, e.column), at, "wrong position: {e}");
    assert!(e.message.contains(needle), "message lacks `{needle}`: {e}");
}

// ---------------------------------------------------------------- defaults

#[test]
fn builtin_defaults_load_and_follow_the_source_documents() {
    let cfg = match config::load(&ConfigSource::BuiltIn) {
        Ok(c) => c,
        Err(e) => panic!("built-in config refused:\n{e}"),
    };
    assert_eq!(
        config::summary(&cfg),
        "4 tiers, 14 customers, 6 policies, 7 checklists, 7 people"
    );
    let tiers: Vec<&str> = cfg.tiers.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tiers, ["demo", "startup", "standard", "enterprise"]);

    // Seed 002: delays after demo per type.
    let delays = |t: ReleaseType| -> Vec<String> {
        cfg.policy(t)
            .map(|p| p.waves.iter().map(|w| w.delay.to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(delays(ReleaseType::Security), ["0s", "15m", "30m", "1h"]);
    assert_eq!(delays(ReleaseType::BugFix), ["0s", "2h", "6h", "12h"]);
    assert_eq!(delays(ReleaseType::Performance), ["0s", "4h", "12h", "24h"]);
    let rollback = |t: ReleaseType| cfg.policy(t).map(|p| p.rollback_window.to_string());
    assert_eq!(rollback(ReleaseType::Security).as_deref(), Some("72h"));
    assert_eq!(rollback(ReleaseType::Documentation).as_deref(), Some("4h"));
    let security = cfg.policy(ReleaseType::Security).expect("security policy");
    assert!(security.monitoring.enhanced);
    assert_eq!(security.monitoring.period.to_string(), "48h");
    assert_eq!(security.triggers.consecutive_failures, 3);

    let acme = cfg.find_customer("ACME Corp").expect("ACME Corp");
    assert_eq!(acme.id.as_str(), "acme-corp");
    assert_eq!(acme.tier, TierName::new("enterprise"));
    let techstart = cfg.find_customer("techstart").expect("TechStart");
    assert_eq!(techstart.tier, TierName::new("startup"));

    for t in [
        ReleaseType::Security,
        ReleaseType::BugFix,
        ReleaseType::Performance,
    ] {
        assert!(cfg.pre_release_checklist(t).is_some(), "{t}");
    }
    for k in [
        ChecklistKind::Deployment,
        ChecklistKind::Hotfix,
        ChecklistKind::Rollback,
    ] {
        assert!(cfg.checklist_of_kind(k).is_some(), "{k:?}");
    }
    assert!(
        cfg.roster
            .has_role("alice", &shipdeck::domain::Role::new("release_captain"))
    );
}

#[test]
fn a_copy_of_the_defaults_on_disk_loads_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in builtin_files() {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let source = ConfigSource::Dir {
        path: dir.path().to_path_buf(),
        origin: Origin::Flag,
    };
    let from_disk = config::load(&source).unwrap_or_else(|e| panic!("{e}"));
    let builtin = config::load(&ConfigSource::BuiltIn).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(from_disk, builtin);
}

#[test]
fn the_repository_config_dir_is_the_builtin_one() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let from_repo = config::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Ok(from_repo), config::load_builtin());
}

// ---------------------------------------------------------------- syntax, shape

#[test]
fn malformed_json_names_file_and_line() {
    let mut files = defaults();
    // Drop the comma after TechStart's id: a syntax error on the next line.
    let (text, (line, _)) = edit(
        &text_of(&files, "customers.json"),
        "\"techstart\",",
        "\"techstart\"",
        0,
    );
    set(&mut files, "customers.json", text);
    let errs = load_err(&files);
    let e = errs
        .iter()
        .find(|e| e.file == "config/customers.json")
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!(e.line, line + 1, "{e}");
    assert!(e.column > 0, "{e}");
    assert!(e.message.contains("expected"), "{e}");
    assert!(
        !e.message.contains("at line"),
        "position is printed in front: {e}"
    );
}

#[test]
fn unknown_fields_are_refused_at_their_key() {
    let (errs, at) = refuse(
        "customers.json",
        "\"tier\": \"startup\"",
        "\"tierr\": \"startup\"",
        0,
    );
    let e = about(&errs, "customers[2].tierr");
    assert_at(e, "customers.json", at, "unknown field `tierr`");
}

#[test]
fn unknown_fields_inside_tagged_values_are_named() {
    let (errs, at) = refuse(
        "customers.json",
        "\"failure_rate\": 0.0",
        "\"failure_chance\": 0.0",
        3,
    );
    let e = about(&errs, "customers[3].deploy.failure_chance");
    assert_at(e, "customers.json", at, "unknown field `failure_chance`");
}

#[test]
fn wrong_types_are_refused_at_the_value() {
    let (errs, (line, col)) = refuse(
        "policies.json",
        "\"max_parallel\": 10",
        "\"max_parallel\": \"ten\"",
        1,
    );
    let e = about(&errs, "policies.bug_fix.max_parallel");
    let value_col = col + "\"max_parallel\": ".len();
    assert_at(
        e,
        "policies.json",
        (line, value_col),
        "invalid type: string \"ten\"",
    );
}

#[test]
fn wrong_types_inside_tagged_values_are_named() {
    let (errs, (line, col)) = refuse(
        "customers.json",
        "\"failure_rate\": 0.0",
        "\"failure_rate\": \"high\"",
        5,
    );
    let e = about(&errs, "customers[5].deploy.failure_rate");
    assert_at(
        e,
        "customers.json",
        (line, col + "\"failure_rate\": ".len()),
        "invalid type",
    );
}

#[test]
fn negative_and_unparsable_durations_are_refused() {
    let (errs, (line, col)) = refuse("policies.json", "\"soak\": \"5m\"", "\"soak\": \"-5m\"", 0);
    let e = about(&errs, "policies.security.soak");
    assert_at(
        e,
        "policies.json",
        (line, col + "\"soak\": ".len()),
        "negative",
    );

    let (errs, (line, _)) = refuse(
        "policies.json",
        "\"delay\": \"2h\"",
        "\"delay\": \"soon\"",
        0,
    );
    let e = about(&errs, "policies.bug_fix.waves[1].delay");
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains("`soon` is not a duration"), "{e}");
}

#[test]
fn an_unknown_release_type_in_a_checklist_is_refused() {
    let (errs, (line, col)) = refuse("checklists.json", "[\"security\"]", "[\"hotfix\"]", 0);
    let e = about(&errs, "checklists[0].release_types[0]");
    assert_at(
        e,
        "checklists.json",
        (line, col + 1),
        "unknown variant `hotfix`",
    );
}

#[test]
fn an_unknown_release_type_in_policies_is_refused_at_its_key() {
    let (errs, (line, col)) = refuse("policies.json", "\"documentation\": {", "\"docs\": {", 0);
    let e = about(&errs, "policies.docs");
    assert_at(
        e,
        "policies.json",
        (line, col),
        "unknown release type `docs`",
    );
}

#[test]
fn a_key_written_twice_is_refused() {
    // Two `security` policies: serde would silently keep the second.
    let (errs, (line, col)) = refuse("policies.json", "\"bug_fix\": {", "\"security\": {", 0);
    let e = about(&errs, "policies.security");
    assert_at(e, "policies.json", (line, col), "duplicate key");
}

// ---------------------------------------------------------------- tiers and waves

#[test]
fn a_customer_in_an_undefined_tier_is_refused() {
    // The first "standard" customer is Globex, customers[6].
    let (errs, at) = refuse("customers.json", "\"standard\"", "\"gold\"", 0);
    let e = about(&errs, "customers[6].tier");
    assert_at(
        e,
        "customers.json",
        at,
        "unknown tier `gold` (defined tiers: demo, startup, standard, enterprise)",
    );
    assert_eq!(
        e.to_string(),
        format!(
            "config/customers.json:{}:{}: customers[6].tier: unknown tier `gold` (defined tiers: demo, startup, standard, enterprise)",
            at.0, at.1
        )
    );
}

#[test]
fn a_tier_defined_twice_is_refused() {
    let (errs, (line, col)) = refuse(
        "policies.json",
        "{\"name\": \"standard\",",
        "{\"name\": \"startup\",",
        0,
    );
    let e = about(&errs, "tiers[2].name");
    assert_at(
        e,
        "policies.json",
        (line, col + "{\"name\": ".len()),
        "tier `startup` is defined twice",
    );
    assert!(e.message.contains("first at line"), "{e}");
}

#[test]
fn a_wave_naming_an_unknown_tier_is_refused() {
    let (errs, (line, col)) = refuse(
        "policies.json",
        "{\"tier\": \"startup\"",
        "{\"tier\": \"startups\"",
        0,
    );
    let e = about(&errs, "policies.security.waves[1].tier");
    assert_at(
        e,
        "policies.json",
        (line, col + "{\"tier\": ".len()),
        "unknown tier `startups`",
    );
    // ... and startup has no row any more.
    let missing = about(&errs, "policies.security.waves");
    assert!(
        missing.message.contains("no wave for tier `startup`"),
        "{missing}"
    );
}

#[test]
fn a_wave_missing_a_tier_is_refused() {
    let mut files = defaults();
    let text = text_of(&files, "policies.json");
    // Remove security's enterprise row (the first enterprise wave) and the comma
    // before it.
    let row_start = text.find("{\"tier\": \"enterprise\"").expect("row");
    let row_end = row_start + text[row_start..].find('\n').expect("eol");
    let comma = text[..row_start].rfind(',').expect("comma");
    let new = format!("{}{}", &text[..comma], &text[row_end..]);
    let waves_at = pos_at(
        &new,
        new.find("\"waves\"").expect("waves") + "\"waves\": ".len(),
    );
    set(&mut files, "policies.json", new);
    let errs = load_err(&files);
    let e = about(&errs, "policies.security.waves");
    assert_at(
        e,
        "policies.json",
        waves_at,
        "no wave for tier `enterprise`",
    );
}

#[test]
fn waves_out_of_tier_order_are_refused() {
    let mut files = defaults();
    let text = text_of(&files, "policies.json");
    let lines: Vec<&str> = text.lines().collect();
    let std_row = lines
        .iter()
        .position(|l| l.contains("{\"tier\": \"standard\""))
        .expect("row");
    let ent_row = std_row + 1;
    let mut swapped: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    // Keep the commas where they were: swap the rows' contents.
    let std_text = lines[std_row].trim_end_matches(',').to_string();
    let ent_text = lines[ent_row].trim_end_matches(',').to_string();
    swapped[std_row] = format!("{ent_text},");
    swapped[ent_row] = std_text;
    set(&mut files, "policies.json", swapped.join("\n"));
    let errs = load_err(&files);
    let e = about(&errs, "policies.security.waves[3].tier");
    assert_eq!(e.line, ent_row + 1, "{e}");
    assert!(
        e.message
            .contains("`standard` is listed after `enterprise`"),
        "{e}"
    );
    assert!(
        e.message.contains("demo, startup, standard, enterprise"),
        "{e}"
    );
}

#[test]
fn a_wave_listed_twice_is_refused() {
    let (errs, (line, col)) = refuse(
        "policies.json",
        "{\"tier\": \"enterprise\"",
        "{\"tier\": \"startup\"",
        0,
    );
    let e = about(&errs, "policies.security.waves[3].tier");
    assert_at(
        e,
        "policies.json",
        (line, col + "{\"tier\": ".len()),
        "tier `startup` is listed twice",
    );
}

// ---------------------------------------------------------------- roles

#[test]
fn a_gate_naming_a_role_not_in_the_roster_is_refused() {
    // Minor's startup gate is the first manual gate: ["qa_lead"].
    let (errs, (line, col)) = refuse("policies.json", "[\"qa_lead\"]", "[\"qa_leed\"]", 0);
    let e = about(&errs, "policies.minor.waves[1].approval.roles[0]");
    assert_at(
        e,
        "policies.json",
        (line, col + 1),
        "unknown role `qa_leed`",
    );
    assert!(e.message.contains("release_captain, qa_lead"), "{e}");
}

#[test]
fn a_gate_role_nobody_holds_is_refused() {
    let mut files = defaults();
    let roster = text_of(&files, "roster.json")
        .replace("[\"dev_lead\"]", "[\"on_call\"]")
        .replace("[\"on_call\", \"dev_lead\"]", "[\"on_call\"]");
    set(&mut files, "roster.json", roster);
    let errs = load_err(&files);
    let e = about(&errs, "policies.major.waves[1].approval.roles[1]");
    assert!(
        e.message
            .contains("nobody in roster.json holds role `dev_lead`"),
        "{e}"
    );
}

#[test]
fn a_person_with_an_unknown_role_is_refused() {
    let (errs, (line, col)) = refuse("roster.json", "[\"qa_lead\"]", "[\"qa\"]", 0);
    let e = about(&errs, "people[1].roles[0]");
    assert_at(e, "roster.json", (line, col + 1), "unknown role `qa`");
}

// ---------------------------------------------------------------- customers

#[test]
fn duplicate_customer_ids_are_refused() {
    let (errs, (line, col)) = refuse(
        "customers.json",
        "\"id\": \"pixelforge\"",
        "\"id\": \"techstart\"",
        0,
    );
    let e = about(&errs, "customers[4].id");
    assert_at(
        e,
        "customers.json",
        (line, col + "\"id\": ".len()),
        "duplicate customer id `techstart`",
    );
    let first_line = text_of(&defaults(), "customers.json")
        .lines()
        .position(|l| l.contains("\"id\": \"techstart\""))
        .map(|i| i + 1)
        .expect("techstart");
    assert!(
        e.message.contains(&format!("first at line {first_line}")),
        "{e}"
    );
}

#[test]
fn duplicate_customer_names_are_refused() {
    let (errs, (line, col)) = refuse(
        "customers.json",
        "\"name\": \"Pixelforge\"",
        "\"name\": \"techstart\"",
        0,
    );
    let e = about(&errs, "customers[4].name");
    assert_at(
        e,
        "customers.json",
        (line, col + "\"name\": ".len()),
        "duplicate customer name",
    );
}

#[test]
fn a_failure_rate_outside_zero_to_one_is_refused() {
    for bad in ["1.5", "-0.1"] {
        let (errs, (line, col)) = refuse(
            "customers.json",
            "\"failure_rate\": 0.0",
            &format!("\"failure_rate\": {bad}"),
            0,
        );
        let e = about(&errs, "customers[0].deploy.failure_rate");
        assert_at(
            e,
            "customers.json",
            (line, col + "\"failure_rate\": ".len()),
            "outside 0.0–1.0",
        );
    }
}

#[test]
fn an_override_naming_an_unknown_customer_is_refused() {
    let (errs, at) = refuse(
        "deployment-policies.json",
        "\"acme-corp\": {",
        "\"acme-crop\": {",
        0,
    );
    let e = about(&errs, "overrides.acme-crop");
    assert_at(
        e,
        "deployment-policies.json",
        at,
        "unknown customer `acme-crop`",
    );
    assert!(e.message.contains("acme-corp"), "lists the ids: {e}");

    let (errs, _) = refuse(
        "deployment-policies.json",
        "\"acme-corp\": {",
        "\"ACME Corp\": {",
        0,
    );
    let e = about(&errs, "overrides.ACME Corp");
    assert!(e.message.contains("did you mean `acme-corp`"), "{e}");
}

// ---------------------------------------------------------------- thresholds

#[test]
fn nonsense_trigger_thresholds_are_refused() {
    let (errs, (line, col)) = refuse(
        "policies.json",
        "\"consecutive_failures\": 3",
        "\"consecutive_failures\": 0",
        0,
    );
    let e = about(&errs, "policies.security.triggers.consecutive_failures");
    assert_at(
        e,
        "policies.json",
        (line, col + "\"consecutive_failures\": ".len()),
        "at least 1",
    );

    let (errs, (line, _)) = refuse("policies.json", "\"window\": 3", "\"window\": 0", 2);
    let e = about(&errs, "policies.performance.triggers.window");
    assert_eq!(e.line, line, "{e}");

    let (errs, _) = refuse(
        "policies.json",
        "\"error_rate_points\": 5.0",
        "\"error_rate_points\": -5.0",
        0,
    );
    about(&errs, "policies.security.triggers.error_rate_points");
}

// ---------------------------------------------------------------- checklists

#[test]
fn duplicate_checklist_ids_are_refused() {
    let (errs, (line, col)) = refuse(
        "checklists.json",
        "\"id\": \"pre-release-bug-fix\"",
        "\"id\": \"pre-release-security\"",
        0,
    );
    let e = about(&errs, "checklists[1].id");
    assert_at(
        e,
        "checklists.json",
        (line, col + "\"id\": ".len()),
        "duplicate checklist id",
    );
}

#[test]
fn duplicate_item_ids_are_refused() {
    let (errs, (line, col)) = refuse(
        "checklists.json",
        "\"id\": \"fix-complete\"",
        "\"id\": \"vuln-confirmed\"",
        0,
    );
    let e = about(&errs, "checklists[0].items[1].id");
    assert_at(
        e,
        "checklists.json",
        (line, col + "\"id\": ".len()),
        "duplicate item id `vuln-confirmed`",
    );
}

#[test]
fn two_pre_release_lists_for_one_type_are_refused() {
    let (errs, _) = refuse("checklists.json", "[\"bug_fix\"]", "[\"security\"]", 0);
    let e = about(&errs, "checklists[1].release_types[0]");
    assert!(
        e.message.contains("already has a pre-release checklist"),
        "{e}"
    );
}

#[test]
fn a_type_without_pre_release_checklist_is_accepted() {
    let mut files = defaults();
    let text = text_of(&files, "checklists.json").replace(
        "[\"documentation\", \"minor\", \"major\"]",
        "[\"minor\", \"major\"]",
    );
    set(&mut files, "checklists.json", text);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let cfg = load_from_strs(&refs).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cfg.pre_release_checklist(ReleaseType::Documentation)
            .is_none()
    );
}

#[test]
fn a_release_type_without_policy_is_refused() {
    let mut files = defaults();
    let text = text_of(&files, "policies.json");
    // Drop the `major` policy: cut from its key to the end of the policies object.
    let start = text.find(",\n    \"major\": {").expect("major");
    let end = text.rfind("\n  }\n}").expect("end of policies");
    let new = format!("{}{}", &text[..start], &text[end..]);
    set(&mut files, "policies.json", new);
    let errs = load_err(&files);
    let e = about(&errs, "policies");
    assert!(
        e.message.contains("no policy for release type `major`"),
        "{e}"
    );
}

#[test]
fn a_maintenance_window_without_days_is_refused() {
    let (errs, (line, col)) = refuse("customers.json", "[\"tue\", \"thu\"]", "[]", 0);
    let e = about(&errs, "customers[6].maintenance_window.days");
    assert_at(e, "customers.json", (line, col), "at least one day");
}

#[test]
fn a_window_only_customer_without_any_window_is_refused() {
    let mut files = defaults();
    // Umbrella Health is window_only and relies on its own window; take it and
    // the default away.
    let customers = text_of(&files, "customers.json").replace(
        "\"maintenance_window\": {\"timezone\": \"Europe/London\", \"days\": [\"sat\", \"sun\"], \"start\": \"01:00\", \"duration\": \"4h\"},",
        "",
    );
    set(&mut files, "customers.json", customers);
    let deployment = text_of(&files, "deployment-policies.json");
    let start = deployment
        .find("  \"default_maintenance_window\"")
        .expect("default");
    let end = start + deployment[start..].find('\n').expect("eol") + 1;
    set(
        &mut files,
        "deployment-policies.json",
        format!("{}{}", &deployment[..start], &deployment[end..]),
    );
    let errs = load_err(&files);
    let e = about(&errs, "overrides.umbrella-health.window_only");
    assert!(
        e.message.contains("no maintenance window to deploy in"),
        "{e}"
    );
    // Startups have no windows of their own and now no default either, while
    // performance and documentation patches deploy them in windows.
    let e = about(&errs, "customers[2]");
    assert!(e.message.contains("has no maintenance_window"), "{e}");
}

#[test]
fn a_second_checklist_of_one_kind_is_refused() {
    let (errs, (line, col)) = refuse(
        "checklists.json",
        "\"kind\": \"rollback\"",
        "\"kind\": \"hotfix\"",
        0,
    );
    let e = about(&errs, "checklists[6].kind");
    assert_at(
        e,
        "checklists.json",
        (line, col + "\"kind\": ".len()),
        "a second checklist of this kind",
    );
}

#[test]
fn a_person_listed_twice_is_refused() {
    let (errs, (line, col)) = refuse(
        "roster.json",
        "\"name\": \"grace\"",
        "\"name\": \"alice\"",
        0,
    );
    let e = about(&errs, "people[6].name");
    assert_at(
        e,
        "roster.json",
        (line, col + "\"name\": ".len()),
        "`alice` is listed twice",
    );
}

// ---------------------------------------------------------------- all at once

#[test]
fn several_errors_in_several_files_are_all_reported() {
    let mut files = defaults();
    // A syntax error in roster.json stops only that file; the rules of the others
    // still run (gate roles, which need the roster, are skipped).
    set(&mut files, "roster.json", "{\"roles\": [,]}".into());
    let (customers, _) = edit(
        &text_of(&files, "customers.json"),
        "\"standard\"",
        "\"gold\"",
        0,
    );
    let (customers, _) = edit(
        &customers,
        "\"failure_rate\": 0.0",
        "\"failure_rate\": 2.0",
        0,
    );
    set(&mut files, "customers.json", customers);
    let (overrides, _) = edit(
        &text_of(&files, "deployment-policies.json"),
        "\"acme-corp\"",
        "\"acme\"",
        0,
    );
    set(&mut files, "deployment-policies.json", overrides);
    let (policies, _) = edit(
        &text_of(&files, "policies.json"),
        "\"consecutive_failures\": 3",
        "\"consecutive_failures\": 0",
        0,
    );
    set(&mut files, "policies.json", policies);

    let errs = load_err(&files);
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "policies.security.triggers.consecutive_failures",
            "customers[0].deploy.failure_rate",
            "customers[6].tier",
            "overrides.acme",
            "roles[0]",
        ],
        "{errs}"
    );
    assert_eq!(errs.to_string().lines().count(), 5);
    assert!(errs.errors[4].file.ends_with("roster.json"));
    assert!(errs.errors[1].message.contains("outside 0.0–1.0"));
}

// ---------------------------------------------------------------- directories

#[test]
fn a_directory_missing_a_file_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in builtin_files() {
        if name != "roster.json" {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
    }
    let errs = match config::load_dir(dir.path()) {
        Ok(_) => panic!("accepted without roster.json"),
        Err(e) => e,
    };
    assert_eq!(errs.len(), 1, "{errs}");
    let e = &errs.errors[0];
    assert!(e.file.ends_with("roster.json"), "{e}");
    assert!(e.message.contains("no roster.json"), "{e}");
}

#[test]
fn a_missing_directory_is_refused() {
    let errs = match config::load_dir(Path::new("/nonexistent/shipdeck-config")) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(
        errs.to_string()
            .contains("/nonexistent/shipdeck-config: not a directory"),
        "{errs}"
    );
}

#[test]
fn errors_from_disk_name_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in builtin_files() {
        let text = if name == ConfigFile::Customers.file_name() {
            text.replacen("\"standard\"", "\"gold\"", 1)
        } else {
            text.to_string()
        };
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let errs = match config::load_dir(dir.path()) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    let expected = dir.path().join("customers.json").display().to_string();
    assert!(
        errs.to_string().starts_with(&format!("{expected}:")),
        "{errs}"
    );
}

// ---------------------------------------------------------------- lookup order

fn has(dirs: &[&Path]) -> impl Fn(&Path) -> bool + use<> {
    let dirs: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    move |p: &Path| dirs.iter().any(|d| d == p)
}

#[test]
fn lookup_order_is_flag_env_working_dir_user_dir_builtin() {
    let cwd = Path::new("/work");
    let local = Path::new("/work/config");
    let user = Path::new("/home/u/.config/shipdeck");
    let flag = Path::new("/etc/flag");
    let env = OsStr::new("/etc/env");
    let all = has(&[local, user]);

    let s = resolve(Some(flag), Some(env), cwd, Some(user), &all);
    assert_eq!(s.dir(), Some(flag));
    assert_eq!(s.to_string(), "/etc/flag/ (from --config)");

    let s = resolve(None, Some(env), cwd, Some(user), &all);
    assert_eq!(s.dir(), Some(Path::new("/etc/env")));
    assert!(s.to_string().contains("SHIPDECK_CONFIG"));

    let s = resolve(None, None, cwd, Some(user), &all);
    assert_eq!(s.dir(), Some(Path::new("config")));

    let s = resolve(None, None, cwd, Some(user), has(&[user]));
    assert_eq!(s.dir(), Some(user));

    // A user dir without a policies.json does not count.
    let s = resolve(None, None, cwd, Some(user), has(&[]));
    assert_eq!(s, ConfigSource::BuiltIn);
    assert_eq!(s.to_string(), "built-in defaults");
    let s = resolve(None, None, cwd, None, has(&[]));
    assert_eq!(s, ConfigSource::BuiltIn);
}

// ---------------------------------------------------------------- issue 11: hostile input

/// TechStart's health, as the text that replaces its simulated source.
const TECHSTART_HEALTH: &str =
    r#"{"kind": "simulated", "baseline_error_rate": 0.4, "baseline_latency_ms": 120.0}"#;

#[test]
fn control_characters_in_ids_and_names_are_refused_where_they_are() {
    // A customer name with ESC and a newline (as JSON escapes) would forge lines.
    let (errs, at) = refuse(
        "customers.json",
        "\"TechStart\"",
        r#""Tech\u001b[2J\nalice approved enterprise (FORGED)""#,
        0,
    );
    let e = about(&errs, "customers[2].name");
    assert_at(e, "customers.json", at, "control character");
    assert!(
        !e.to_string().contains('\u{1b}') && !e.to_string().contains('\n'),
        "the error itself is escaped: {e:?}"
    );
    let (errs, at) = refuse("roster.json", "\"alice\"", r#""al\tice""#, 0);
    assert_at(
        about(&errs, "people[0].name"),
        "roster.json",
        at,
        "plain text",
    );
    let (errs, at) = refuse("roster.json", "\"qa_lead\"", r#""qa\u0007lead""#, 0);
    assert_at(
        about(&errs, "roles[1].id"),
        "roster.json",
        at,
        "control character",
    );
}

#[test]
fn health_sources_that_can_only_fail_later_are_refused_at_load() {
    let with = |health: &str| {
        let mut files = defaults();
        let (text, at) = edit(
            &text_of(&files, "customers.json"),
            TECHSTART_HEALTH,
            health,
            0,
        );
        set(&mut files, "customers.json", text);
        (load_err(&files), at)
    };
    let (errs, at) = with(r#"{"kind": "http", "url": "not a url"}"#);
    let e = about(&errs, "customers[2].health.url");
    assert_eq!(e.line, at.0, "{e}");
    assert!(e.message.contains("not a URL"), "{e}");
    let (errs, _) = with(r#"{"kind": "http", "url": "ftp://acme.example.com/health"}"#);
    assert!(
        about(&errs, "customers[2].health.url")
            .message
            .contains("http or https"),
        "{errs}"
    );
    // A newline is refused as a control character, once (not also as a bad name).
    let (errs, _) = with(
        r#"{"kind": "http", "url": "https://a.example/h", "headers": [{"name": "X-Token\nInjected: 1", "env": "TOKEN"}]}"#,
    );
    assert!(
        about(&errs, "customers[2].health.headers[0].name")
            .message
            .contains("control character \\n"),
        "{errs}"
    );
    let (errs, _) = with(
        r#"{"kind": "http", "url": "https://a.example/h", "headers": [{"name": "X-Token: 1", "env": "TOKEN"}]}"#,
    );
    assert!(
        about(&errs, "customers[2].health.headers[0].name")
            .message
            .contains("not a valid HTTP header name"),
        "{errs}"
    );
    let (errs, _) =
        with(r#"{"kind": "command", "program": "check", "error_rate_pointer": "error_rate"}"#);
    let e = about(&errs, "customers[2].health.error_rate_pointer");
    assert!(e.message.contains("must start with /"), "{e}");
    assert!(e.line > 0 && e.column > 0, "{e}");
}

#[test]
fn ambiguous_and_overlong_durations_are_refused_with_their_position() {
    for (to, needle) in [
        (r#""soak": "15M""#, "ambiguous"),
        (r#""soak": "15 minutes""#, "write 15m"),
        (r#""soak": "400d""#, "365 days"),
    ] {
        let (errs, at) = refuse("policies.json", r#""soak": "5m""#, to, 0);
        let e = errs
            .iter()
            .find(|e| e.field.ends_with(".soak"))
            .unwrap_or_else(|| panic!("{errs}"));
        assert_eq!(e.line, at.0, "{e}");
        assert!(e.message.contains(needle), "{e}");
    }
}

#[test]
fn non_utf8_and_truncated_files_get_a_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in builtin_files() {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    // A Latin-1 "é" on line 3, after four characters.
    let mut bytes = b"{\n  \"customers\": [\n    \"Z\xe9\"\n  ]\n}\n".to_vec();
    std::fs::write(dir.path().join("customers.json"), &bytes).unwrap();
    let errs = config::load_dir(dir.path()).unwrap_err();
    let e = errs
        .iter()
        .find(|e| e.file.ends_with("customers.json"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!((e.line, e.column), (3, 7), "{e}");
    assert!(e.message.contains("UTF-8"), "{e}");
    // Cut short: the end of the file is where the error is.
    bytes = b"{\n  \"customers\": [\n".to_vec();
    std::fs::write(dir.path().join("customers.json"), &bytes).unwrap();
    let errs = config::load_dir(dir.path()).unwrap_err();
    let e = errs
        .iter()
        .find(|e| e.file.ends_with("customers.json"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert!(e.line >= 2 && e.column >= 1, "{e}");
    assert!(e.message.contains("EOF"), "{e}");
    // Empty.
    std::fs::write(dir.path().join("customers.json"), b"").unwrap();
    let errs = config::load_dir(dir.path()).unwrap_err();
    let e = errs
        .iter()
        .find(|e| e.file.ends_with("customers.json"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert_eq!((e.line, e.column), (1, 1), "{e}");
}

#[test]
fn a_fifo_a_device_or_a_huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in builtin_files() {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let roster = dir.path().join("roster.json");
    std::fs::remove_file(&roster).unwrap();
    let c = std::ffi::CString::new(roster.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path we own, with a NUL-terminated string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // A FIFO with no writer would block a plain open() forever.
    let errs = config::load_dir(dir.path()).unwrap_err();
    let e = errs
        .iter()
        .find(|e| e.file.ends_with("roster.json"))
        .unwrap_or_else(|| panic!("{errs}"));
    assert!(e.message.contains("a FIFO"), "{e}");
    std::fs::remove_file(&roster).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &roster).unwrap();
    let errs = config::load_dir(dir.path()).unwrap_err();
    assert!(
        errs.iter().any(|e| e.message.contains("a device")),
        "{errs}"
    );
    std::fs::remove_file(&roster).unwrap();
    let big = std::fs::File::create(&roster).unwrap();
    big.set_len(config::MAX_CONFIG_BYTES + 1).unwrap();
    let errs = config::load_dir(dir.path()).unwrap_err();
    assert!(errs.iter().any(|e| e.message.contains("16 MiB")), "{errs}");
}

// ---------------------------------------------------------------- prometheus sources

const TECHSTART_HEALTH_FIELD: &str =
    r#""health": {"kind": "simulated", "baseline_error_rate": 0.4, "baseline_latency_ms": 120.0}"#;

/// The defaults with TechStart's (`customers[2]`) health source replaced by `health`
/// (a JSON object); returns the files and the new customers.json text.
fn with_techstart_health(health: &str) -> (Vec<(String, String)>, String) {
    let mut files = defaults();
    let (new, _) = edit(
        &text_of(&files, "customers.json"),
        TECHSTART_HEALTH_FIELD,
        &format!(r#""health": {health}"#),
        0,
    );
    set(&mut files, "customers.json", new.clone());
    (files, new)
}

/// The (line, column) just after the `nth` occurrence of `needle` in `text`.
fn after(text: &str, needle: &str, nth: usize) -> (usize, usize) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .map(|(i, _)| i + needle.len())
        .unwrap_or_else(|| panic!("no `{needle}`"));
    pos_at(text, offset)
}

const PROM_OK: &str = r#"{"kind": "prometheus", "url": "http://prometheus:9090", "error_rate": "sum by (customer) (rate(http_requests_total{customer=\"{customer}\",code=~\"5..\"}[5m])) / sum by (customer) (rate(http_requests_total{customer=\"{customer}\"}[5m])) * 100", "latency_p95": "histogram_quantile(0.95, sum by (customer, le) (rate(http_request_duration_seconds_bucket{customer=\"{customer}\",tier=\"{tier}\"}[5m]))) * 1000", "min_traffic": {"query": "sum by (customer) (increase(http_requests_total{customer=\"{customer}\"}[5m]))", "at_least": 50}, "headers": [{"name": "Authorization", "env": "PROMETHEUS_BEARER"}], "timeout": "3s"}"#;

#[test]
fn a_prometheus_source_loads() {
    let (files, _) = with_techstart_health(PROM_OK);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let cfg = match load_from_strs(&refs) {
        Ok(c) => c,
        Err(e) => panic!("refused:\n{e}"),
    };
    let techstart = cfg
        .customers
        .iter()
        .find(|c| c.id.as_str() == "techstart")
        .expect("techstart");
    let shipdeck::domain::HealthSource::Prometheus(p) = &techstart.health else {
        panic!("{:?}", techstart.health)
    };
    assert_eq!(p.url, "http://prometheus:9090");
    assert_eq!(p.min_traffic.as_ref().map(|m| m.at_least), Some(50.0));
    assert_eq!(p.headers[0].env, "PROMETHEUS_BEARER");
    assert_eq!(p.timeout, Some("3s".parse().expect("duration")));
}

#[test]
fn an_unknown_placeholder_in_a_query_is_refused_at_the_query() {
    let health = PROM_OK.replace(r#"tier=\"{tier}\""#, r#"tier=\"{teir}\""#);
    let (files, text) = with_techstart_health(&health);
    let errs = load_err(&files);
    let e = about(&errs, "customers[2].health.latency_p95");
    assert_at(
        e,
        "customers.json",
        after(&text, r#""latency_p95": "#, 0),
        "unknown placeholder `{teir}`",
    );
    assert!(
        e.message.contains("{customer}, {customer_name} and {tier}"),
        "{e}"
    );
}

#[test]
fn a_prometheus_url_that_is_not_a_base_url_is_refused() {
    for (url, needle) in [
        ("prometheus:9090", "is not an http:// or https:// URL"),
        ("http://", "names no host"),
        ("http://prometheus:9090/api/v1/query", "without /api/v1"),
    ] {
        let health = PROM_OK.replace("http://prometheus:9090", url);
        let (files, text) = with_techstart_health(&health);
        let errs = load_err(&files);
        let e = about(&errs, "customers[2].health.url");
        assert_at(e, "customers.json", after(&text, r#""url": "#, 0), needle);
    }
}

#[test]
fn a_prometheus_source_without_a_query_or_with_a_bad_guard_is_refused() {
    let (files, _) = with_techstart_health(r#"{"kind": "prometheus", "url": "http://p:9090"}"#);
    let errs = load_err(&files);
    let e = about(&errs, "customers[2].health");
    assert!(
        e.message
            .contains("needs an `error_rate` or a `latency_p95`"),
        "{e}"
    );
    assert!(e.line > 0, "{e}");

    let health = PROM_OK.replace(r#""at_least": 50"#, r#""at_least": -1"#);
    let (files, text) = with_techstart_health(&health);
    let errs = load_err(&files);
    let e = about(&errs, "customers[2].health.min_traffic.at_least");
    assert_at(
        e,
        "customers.json",
        after(&text, r#""at_least": "#, 0),
        "is not a request count of 0 or more",
    );

    let health = PROM_OK.replace(r#""env": "PROMETHEUS_BEARER""#, r#""env": "TOKEN=abc""#);
    let (files, _) = with_techstart_health(&health);
    let errs = load_err(&files);
    let e = about(&errs, "customers[2].health.headers[0].env");
    assert!(
        e.message.contains("the value itself never goes in config"),
        "{e}"
    );
}

#[test]
fn an_unknown_field_in_a_prometheus_source_is_refused() {
    let health = PROM_OK.replace(r#""timeout": "3s""#, r#""step": "3s""#);
    let (files, text) = with_techstart_health(&health);
    let errs = load_err(&files);
    let e = about(&errs, "customers[2].health.step");
    let (line, col) = after(&text, r#""step""#, 0);
    assert_at(
        e,
        "customers.json",
        (line, col - r#""step""#.len()),
        "unknown field `step`",
    );
}

// ---------------------------------------------------------------- control characters in any text

/// One hostile text (ESC, a colour, CR LF and a forged line) as a JSON string.
const FORGED: &str = r#""note\u001b[41mRED\r\nFORGED LINE""#;

#[test]
fn control_characters_in_any_string_of_any_file_are_refused_where_they_are() {
    // Free-text fields no rule of their own looks at: the walk covers them all.
    for (file, from, field) in [
        (
            "deployment-policies.json",
            r#""Contract requires notice before every deploy, security patches included.""#,
            "overrides.acme-corp.note",
        ),
        (
            "checklists.json",
            r#""Security vulnerability confirmed and documented""#,
            "checklists[0].items[0].text",
        ),
        (
            "customers.json",
            r#""priya@techstart.example""#,
            "customers[2].contacts[0].email",
        ),
        (
            "policies.json",
            r#""Startup customers: the first customer wave.""#,
            "tiers[1].description",
        ),
        ("roster.json", r#""QA lead""#, "roles[1].title"),
    ] {
        let (errs, at) = refuse(file, from, FORGED, 0);
        let e = about(&errs, field);
        assert_at(e, file, at, "contains the control character \\x1b");
        let shown = errs.to_string();
        assert!(
            !shown.contains(['\u{1b}', '\r']) && shown.lines().count() == errs.len(),
            "errors are inert, one line each: {shown:?}"
        );
    }
    // A key (an override for a customer id with an ESC in it) is refused at the key.
    let (errs, at) = refuse(
        "deployment-policies.json",
        r#""umbrella-health""#,
        r#""umbrella\u001b[2J""#,
        0,
    );
    let e = about(&errs, "overrides.umbrella\u{1b}[2J");
    assert_at(
        e,
        "deployment-policies.json",
        at,
        "the key `umbrella\\x1b[2J`",
    );
    assert!(!e.to_string().contains('\u{1b}'), "{e:?}");
}

#[test]
fn control_characters_in_notifications_json_are_refused_too() {
    let text = r#"{"channels": {"ops": {"kind": "file"}},
 "routes": [{"channel": "ops", "note": "x"}]}"#;
    // Whatever else is wrong, the string with a newline is reported where it is.
    let text = text.replace(r#""note": "x""#, r#""channel2": "a\nb""#);
    let (_, errors) = config::extras::notifications_from_str("notifications.json", &text, None);
    let e = errors
        .iter()
        .find(|e| e.field == "routes[0].channel2" && e.message.contains("control character"))
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert_eq!(e.line, 2, "{e}");
}

fn shipdeck_bin(state: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .env_remove("SHIPDECK_CONFIG")
        .env("USER", "alice")
        .output()
        .expect("run shipdeck")
}

/// The defaults on disk in `dir`, with `file` edited (`from` → `to`, once).
fn write_config(dir: &Path, file: &str, from: &str, to: &str) {
    for (name, text) in builtin_files() {
        let text = if name == file {
            assert!(text.contains(from), "{file} has no {from}");
            text.replacen(from, to, 1)
        } else {
            text.to_string()
        };
        std::fs::write(dir.join(name), text).expect("write");
    }
}

#[test]
fn config_check_and_an_emergency_dry_run_refuse_a_note_with_control_characters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config");
    std::fs::create_dir(&cfg).expect("mkdir");
    write_config(
        &cfg,
        "deployment-policies.json",
        r#""Contract requires notice before every deploy, security patches included.""#,
        FORGED,
    );
    let cfg_arg = cfg.to_str().expect("utf-8 path");
    let state = dir.path().join("state");
    for args in [
        vec!["config", "check", "--config", cfg_arg],
        vec![
            "emergency",
            "--config",
            cfg_arg,
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--dry-run",
            "--reason",
            "x",
        ],
    ] {
        let o = shipdeck_bin(&state, &args);
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}");
        assert!(
            !out.contains(['\u{1b}', '\r']) && !out.contains("\nFORGED"),
            "{args:?} printed raw control characters: {out:?}"
        );
        assert!(
            out.contains("deployment-policies.json:6:15: overrides.acme-corp.note: `note\\x1b[41mRED\\r\\nFORGED LINE` contains the control character \\x1b"),
            "{args:?}: {out}"
        );
    }
}

// ---------------------------------------------------------------- every type error, not the first

/// Applies each (from, to, nth) edit to `name` in turn; returns the errors and
/// where each replacement (`to`, unique in the result) starts.
fn refuse_all(name: &str, edits: &[(&str, &str, usize)]) -> (ConfigErrors, Vec<(usize, usize)>) {
    let mut files = defaults();
    let mut text = text_of(&files, name);
    for (from, to, nth) in edits {
        text = edit(&text, from, to, *nth).0;
    }
    let at = edits
        .iter()
        .map(|(_, to, _)| {
            assert_eq!(text.matches(to).count(), 1, "`{to}` is not unique");
            pos_at(&text, text.find(to).expect("edited"))
        })
        .collect();
    set(&mut files, name, text);
    (load_err(&files), at)
}

#[test]
fn three_bad_durations_in_one_file_are_three_errors() {
    let (errs, at) = refuse_all(
        "policies.json",
        &[
            (r#""soak": "30m""#, r#""soak": "30 minutes""#, 0),
            (r#""soak": "10m""#, r#""soak": "10M""#, 1),
            (r#""soak": "5m""#, r#""soak": "-5m""#, 0),
        ],
    );
    let soak = |policy: &str| about(&errs, &format!("policies.{policy}.soak"));
    let value = |(line, col): (usize, usize)| (line, col + r#""soak": "#.len());
    assert_at(soak("minor"), "policies.json", value(at[0]), "write 30m");
    assert_at(
        soak("performance"),
        "policies.json",
        value(at[1]),
        "ambiguous",
    );
    assert_at(soak("security"), "policies.json", value(at[2]), "negative");
    assert_eq!(errs.len(), 3, "{errs}");
}

#[test]
fn two_wrong_types_in_one_customer_and_in_two_customers_are_all_reported() {
    // In one customer (TechStart, customers[2]): its tier and its health.
    let (errs, at) = refuse_all(
        "customers.json",
        &[
            (
                r#""baseline_error_rate": 0.4"#,
                r#""baseline_error_rate": "high""#,
                0,
            ),
            (r#""tier": "startup""#, r#""tier": 7"#, 0),
        ],
    );
    let value = |(line, col): (usize, usize), key: &str| (line, col + key.len() + 4);
    assert_at(
        about(&errs, "customers[2].tier"),
        "customers.json",
        value(at[1], "tier"),
        "invalid type: integer `7`",
    );
    assert_at(
        about(&errs, "customers[2].health.baseline_error_rate"),
        "customers.json",
        value(at[0], "baseline_error_rate"),
        "invalid type: string \"high\"",
    );
    assert_eq!(errs.len(), 2, "{errs}");

    // In two customers, with a misspelt key in a third (reported, and the field it
    // should have been as missing) and a bad version in a fourth.
    let (errs, _) = refuse_all(
        "customers.json",
        &[
            (
                r#""baseline_error_rate": 0.5"#,
                r#""baseline_error_rate": "high""#,
                0,
            ),
            (r#""tier": "startup""#, r#""tier": 7"#, 0),
            (r#""tier": "demo""#, r#""tierr": "demo""#, 1),
            (r#""version": "v1.0.0""#, r#""version": "1.0""#, 0),
        ],
    );
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "customers[0].version",
            "customers[1]",
            "customers[1].tierr",
            "customers[2].tier",
            "customers[3].health.baseline_error_rate",
        ],
        "{errs}"
    );
}

#[test]
fn type_errors_in_several_files_are_all_reported_with_each_file_s_own() {
    let mut files = defaults();
    for (name, from, to) in [
        ("policies.json", r#""soak": "5m""#, r#""soak": 5"#),
        (
            "policies.json",
            r#""max_parallel": 10"#,
            r#""max_parallel": "ten""#,
        ),
        ("roster.json", r#""QA lead""#, "7"),
        ("roster.json", r#""Dev lead""#, "false"),
    ] {
        let (new, _) = edit(&text_of(&files, name), from, to, 0);
        set(&mut files, name, new);
    }
    let errs = load_err(&files);
    let per_file = |f: &str| errs.iter().filter(|e| e.file.ends_with(f)).count();
    assert!(per_file("policies.json") >= 2, "{errs}");
    assert_eq!(per_file("roster.json"), 2, "{errs}");
}

// ---------------------------------------------------------------- wording: empty files, unreadable dirs

fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn an_empty_config_file_is_called_empty_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config");
    std::fs::create_dir(&cfg).expect("mkdir");
    write_config(&cfg, "roster.json", "", "");
    std::fs::write(cfg.join("roster.json"), "").expect("empty");
    std::fs::write(cfg.join("notifications.json"), "\n  \n").expect("blank");
    let o = shipdeck_bin(
        &dir.path().join("state"),
        &["config", "check", "--config", cfg.to_str().expect("utf-8")],
    );
    let out = output_text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    for name in ["roster.json", "notifications.json"] {
        let shown = format!("{}:1:1: the file is empty", cfg.join(name).display());
        assert!(out.contains(&shown), "no `{shown}` in:\n{out}");
    }
    assert!(!out.contains("EOF"), "{out}");
}

#[test]
fn an_unreadable_config_dir_is_one_error_not_one_per_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config");
    let state = dir.path().join("state");
    std::fs::create_dir(&cfg).expect("mkdir");
    std::fs::create_dir(&state).expect("mkdir");
    write_config(&cfg, "roster.json", "", "");
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    mode(dir.path(), 0o755);
    mode(&state, 0o777);
    mode(&cfg, 0o000);
    // Root reads whatever the mode says: run shipdeck as nobody then.
    let bin = env!("CARGO_BIN_EXE_shipdeck");
    let cfg_arg = cfg.to_str().expect("utf-8");
    let args = [
        "--state-dir",
        state.to_str().expect("utf-8"),
        "config",
        "check",
        "--config",
        cfg_arg,
    ];
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        if std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: running as root without setpriv");
            mode(&cfg, 0o755);
            return;
        }
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        std::process::Command::new(bin)
    };
    let o = cmd
        .args(args)
        .env_remove("SHIPDECK_CONFIG")
        .env("USER", "alice")
        .output()
        .expect("run shipdeck");
    mode(&cfg, 0o755);
    let out = output_text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains(&format!("{cfg_arg}: cannot read this directory")),
        "{out}"
    );
    assert!(!out.contains("notifications.json"), "{out}");
    assert!(!out.contains("policies.json: cannot read"), "{out}");
}

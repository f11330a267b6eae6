//! Rules that span values or files, checked after each file has deserialized:
//! tiers referenced by customers and waves exist and come in order, gate roles are
//! in the roster, ids are unique, thresholds make sense, every override names a
//! customer.
//!
//! serde checks each value's shape; these rules check that the values agree with
//! each other. Each rule runs on whatever parsed, so a broken `roster.json` does
//! not hide an unknown tier in `customers.json`. Every finding carries the file and
//! JSON path; the position comes from the file's [`PositionIndex`].
//!
//! Why one file (~1,150 lines): it is one list of independent rules over one parsed
//! configuration. They share the report, the file/pointer of each finding and a few
//! walkers, and are read (and extended) as a list; no rule calls another.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;

use crate::domain::deploy::{check_template, is_env_name};
use crate::domain::{
    Approval, ChecklistKind, CustomerId, DeployTarget, DeploymentPolicies, HealthSource,
    MaintenanceWindow, Policy, PrometheusSource, ReleaseType, Roster, Tier, TierName, Verify,
    promql,
};

use super::error::ConfigError;
use super::files::{ChecklistsFile, ConfigFile, CustomersFile, Parts, PoliciesFile, PolicyKey};
use super::position::{PositionIndex, child_index as idx, child_key as key};

/// A file as shown in errors, with its position index.
#[derive(Debug, Default)]
pub(crate) struct FileInfo {
    pub display: String,
    pub index: PositionIndex,
}

/// Checks everything that parsed and returns what is wrong.
pub(crate) fn validate(parts: &Parts, files: &[FileInfo; 5]) -> Vec<ConfigError> {
    let mut r = Report {
        files,
        errors: Vec::new(),
    };
    if let Some(p) = &parts.policies {
        tiers(&mut r, &p.tiers);
        policies(&mut r, p, parts.roster.as_ref());
    }
    if let Some(c) = &parts.customers {
        customers(
            &mut r,
            c,
            parts.policies.as_ref(),
            parts.deployment.as_ref(),
        );
    }
    if let Some(d) = &parts.deployment {
        deployment(&mut r, d, parts.customers.as_ref());
    }
    if let Some(c) = &parts.checklists {
        checklists(&mut r, c);
    }
    if let Some(roster) = &parts.roster {
        roster_rules(&mut r, roster);
    }
    r.errors
}

struct Report<'a> {
    files: &'a [FileInfo; 5],
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    /// A problem with the value at `path`.
    fn value(&mut self, file: ConfigFile, path: &str, message: impl Into<String>) {
        self.push(file, path, false, message.into());
    }

    /// A problem with the key at `path` (an override naming an unknown customer).
    fn key(&mut self, file: ConfigFile, path: &str, message: impl Into<String>) {
        self.push(file, path, true, message.into());
    }

    fn push(&mut self, file: ConfigFile, path: &str, at_key: bool, message: String) {
        let info = &self.files[file.slot()];
        let pos = info.index.nearest(path).map(|(_, n)| {
            if at_key {
                n.key.unwrap_or(n.value)
            } else {
                n.value
            }
        });
        self.errors.push(ConfigError {
            file: info.display.clone(),
            line: pos.map_or(0, |p| p.line),
            column: pos.map_or(0, |p| p.column),
            field: path.to_string(),
            message,
        });
    }

    /// " (first at line 12)" for messages about duplicates, or nothing.
    fn first_at(&self, file: ConfigFile, path: &str) -> String {
        match self.files[file.slot()].index.value_pos(path) {
            Some(p) => format!(" (first at line {}, {path})", p.line),
            None => format!(" (first at {path})"),
        }
    }
}

fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let all: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    const MAX: usize = 12;
    if all.len() > MAX {
        format!("{}, … ({} in all)", all[..MAX].join(", "), all.len())
    } else {
        all.join(", ")
    }
}

/// Whether an id or a name is plain text. One that is not was refused already,
/// with its position, by the walk over every string of the file (`parse`); the
/// rules about ids and names skip it rather than report it a second time.
fn plain(value: &str) -> bool {
    crate::domain::text::first_unsafe(value).is_none()
}

fn tier_names(tiers: &[Tier]) -> String {
    list(tiers.iter().map(|t| &t.name))
}

fn tiers(r: &mut Report, tiers: &[Tier]) {
    const F: ConfigFile = ConfigFile::Policies;
    if tiers.is_empty() {
        r.value(F, "tiers", "no tiers are defined; list them in rollout order, e.g. demo, startup, standard, enterprise");
    }
    let mut seen: HashMap<&TierName, usize> = HashMap::new();
    for (i, t) in tiers.iter().enumerate() {
        let path = key(&idx("tiers", i), "name");
        if !plain(t.name.as_str()) {
        } else if t.name.as_str().trim().is_empty() {
            r.value(F, &path, "a tier needs a name");
        } else if let Some(first) = seen.get(&t.name) {
            let first = r.first_at(F, &key(&idx("tiers", *first), "name"));
            r.value(
                F,
                &path,
                format!("tier `{}` is defined twice{first}", t.name),
            );
        } else {
            seen.insert(&t.name, i);
        }
    }
}

fn policies(r: &mut Report, p: &PoliciesFile, roster: Option<&Roster>) {
    const F: ConfigFile = ConfigFile::Policies;
    let missing: Vec<&str> = ReleaseType::ALL
        .iter()
        .filter(|t| !p.policies.contains_key(&PolicyKey(**t)))
        .map(|t| t.as_str())
        .collect();
    if !missing.is_empty() {
        r.value(
            F,
            "policies",
            format!(
                "no policy for release type {}; every type needs one ({})",
                list(missing.iter().map(|m| format!("`{m}`"))),
                list(ReleaseType::ALL.iter().map(|t| t.as_str()))
            ),
        );
    }
    for (t, policy) in &p.policies {
        let base = key("policies", t.0.as_str());
        waves(r, &base, policy, &p.tiers, roster);
        policy_numbers(r, &base, policy);
    }
}

fn waves(r: &mut Report, base: &str, policy: &Policy, tiers: &[Tier], roster: Option<&Roster>) {
    const F: ConfigFile = ConfigFile::Policies;
    let waves_path = key(base, "waves");
    let mut seen: HashMap<&TierName, usize> = HashMap::new();
    // The tier index of the furthest tier listed so far, with its name.
    let mut furthest: Option<(usize, &TierName)> = None;
    for (j, w) in policy.waves.iter().enumerate() {
        let wave = idx(&waves_path, j);
        let tier_path = key(&wave, "tier");
        match tiers.iter().position(|t| t.name == w.tier) {
            None => r.value(
                F,
                &tier_path,
                format!(
                    "unknown tier `{}` (defined tiers: {})",
                    w.tier,
                    tier_names(tiers)
                ),
            ),
            Some(_) if seen.contains_key(&w.tier) => {
                let first = seen.get(&w.tier).copied().unwrap_or_default();
                let first = r.first_at(F, &key(&idx(&waves_path, first), "tier"));
                r.value(
                    F,
                    &tier_path,
                    format!("tier `{}` is listed twice{first}", w.tier),
                );
            }
            Some(at) => {
                seen.insert(&w.tier, j);
                match furthest {
                    Some((f, name)) if at < f => r.value(
                        F,
                        &tier_path,
                        format!(
                            "tier `{}` is listed after `{name}`, but waves must follow the tier order: {}",
                            w.tier,
                            tier_names(tiers)
                        ),
                    ),
                    _ => furthest = Some((at, &w.tier)),
                }
            }
        }
        if let Approval::Manual { roles } = &w.approval {
            gate_roles(r, &key(&wave, "approval"), roles, roster);
        }
    }
    let missing: Vec<&TierName> = tiers
        .iter()
        .map(|t| &t.name)
        .filter(|n| !seen.contains_key(n))
        .collect();
    if !missing.is_empty() && !tiers.is_empty() {
        r.value(
            F,
            &waves_path,
            format!(
                "no wave for tier {}; every tier needs a row, in order ({})",
                list(missing.iter().map(|m| format!("`{m}`"))),
                tier_names(tiers)
            ),
        );
    }
}

fn gate_roles(
    r: &mut Report,
    approval: &str,
    roles: &[crate::domain::Role],
    roster: Option<&Roster>,
) {
    const F: ConfigFile = ConfigFile::Policies;
    let roles_path = key(approval, "roles");
    if roles.is_empty() {
        r.value(
            F,
            &roles_path,
            "a manual gate must name at least one role, e.g. [\"qa_lead\"]",
        );
    }
    let mut seen = BTreeSet::new();
    for (k, role) in roles.iter().enumerate() {
        let path = idx(&roles_path, k);
        if !seen.insert(role) {
            r.value(
                F,
                &path,
                format!("role `{role}` is listed twice in this gate"),
            );
            continue;
        }
        let Some(roster) = roster else { continue };
        if !roster.roles.iter().any(|d| &d.id == role) {
            r.value(
                F,
                &path,
                format!(
                    "unknown role `{role}` (roles in roster.json: {})",
                    list(roster.roles.iter().map(|d| &d.id))
                ),
            );
        } else if !roster.people.iter().any(|p| p.roles.contains(role)) {
            r.value(
                F,
                &path,
                format!(
                    "nobody in roster.json holds role `{role}`, so this gate could never be signed"
                ),
            );
        }
    }
}

fn policy_numbers(r: &mut Report, base: &str, p: &Policy) {
    const F: ConfigFile = ConfigFile::Policies;
    let t = &p.triggers;
    let trig = key(base, "triggers");
    if t.consecutive_failures == 0 {
        r.value(
            F,
            &key(&trig, "consecutive_failures"),
            "must be at least 1 (the source documents use 3 consecutive failed checks)",
        );
    }
    if t.window == 0 {
        r.value(F, &key(&trig, "window"), "must be at least 1 sample");
    }
    if t.baseline_samples == 0 {
        r.value(
            F,
            &key(&trig, "baseline_samples"),
            "must be at least 1 sample to form a baseline",
        );
    }
    if !t.error_rate_points.is_finite() || t.error_rate_points <= 0.0 {
        r.value(
            F,
            &key(&trig, "error_rate_points"),
            format!(
                "{} is not a positive number of percentage points (the source documents use 5)",
                t.error_rate_points
            ),
        );
    }
    if !t.latency_p95_percent.is_finite() || t.latency_p95_percent <= 0.0 {
        r.value(
            F,
            &key(&trig, "latency_p95_percent"),
            format!(
                "{} is not a positive percentage (the source documents use 20)",
                t.latency_p95_percent
            ),
        );
    }
    let mon = key(base, "monitoring");
    for (field, d) in [
        ("probe_interval", p.monitoring.probe_interval),
        (
            "enhanced_probe_interval",
            p.monitoring.enhanced_probe_interval,
        ),
    ] {
        if d.is_zero() {
            r.value(F, &key(&mon, field), "must be longer than 0s");
        }
    }
    if p.max_parallel == 0 {
        r.value(F, &key(base, "max_parallel"), "must be at least 1");
    }
}

fn customers(
    r: &mut Report,
    c: &CustomersFile,
    policies: Option<&PoliciesFile>,
    deployment: Option<&DeploymentPolicies>,
) {
    const F: ConfigFile = ConfigFile::Customers;
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut names: HashMap<String, usize> = HashMap::new();
    // Tiers some policy deploys only inside maintenance windows.
    let window_tiers: BTreeSet<&TierName> = policies
        .map(|p| {
            p.policies
                .values()
                .flat_map(|pol| &pol.waves)
                .filter(|w| w.approval == Approval::MaintenanceWindow)
                .map(|w| &w.tier)
                .collect()
        })
        .unwrap_or_default();
    for (i, cu) in c.customers.iter().enumerate() {
        let base = idx("customers", i);
        let id_path = key(&base, "id");
        let name_path = key(&base, "name");
        let id = cu.id.as_str();
        if !plain(id) {
        } else if id.trim().is_empty() || id.contains(|ch: char| ch.is_whitespace() || ch == ',') {
            r.value(
                F,
                &id_path,
                format!("customer id `{id}` must be non-empty, without spaces or commas (it is typed on the command line, e.g. acme-corp)"),
            );
        } else if let Some(first) = ids.get(&id.to_ascii_lowercase()) {
            let first = r.first_at(F, &key(&idx("customers", *first), "id"));
            r.value(F, &id_path, format!("duplicate customer id `{id}`{first}"));
        } else {
            ids.insert(id.to_ascii_lowercase(), i);
        }
        if !plain(&cu.name) {
        } else if cu.name.trim().is_empty() || cu.name.contains(',') {
            r.value(
                F,
                &name_path,
                format!("customer name `{}` must be non-empty and without commas (lists of customers are comma-separated)", cu.name),
            );
        } else if let Some(first) = names.get(&cu.name.to_lowercase()) {
            let first = r.first_at(F, &key(&idx("customers", *first), "name"));
            r.value(
                F,
                &name_path,
                format!("duplicate customer name `{}`{first}", cu.name),
            );
        } else {
            names.insert(cu.name.to_lowercase(), i);
        }
        if let Some(p) = policies
            && !p.tiers.iter().any(|t| t.name == cu.tier)
        {
            r.value(
                F,
                &key(&base, "tier"),
                format!(
                    "unknown tier `{}` (defined tiers: {})",
                    cu.tier,
                    tier_names(&p.tiers)
                ),
            );
        }
        match &cu.health {
            HealthSource::Simulated {
                baseline_error_rate,
                baseline_latency_ms,
            } => {
                let h = key(&base, "health");
                if !(0.0..=100.0).contains(baseline_error_rate) {
                    r.value(
                        F,
                        &key(&h, "baseline_error_rate"),
                        format!("{baseline_error_rate} is not a percentage between 0 and 100"),
                    );
                }
                if !baseline_latency_ms.is_finite() || *baseline_latency_ms < 0.0 {
                    r.value(
                        F,
                        &key(&h, "baseline_latency_ms"),
                        format!("{baseline_latency_ms} is not a latency of 0 ms or more"),
                    );
                }
            }
            HealthSource::Http {
                url,
                headers,
                error_rate_pointer,
                latency_pointer,
                ..
            } => {
                let h = key(&base, "health");
                if let Err(why) = health_url(url) {
                    r.value(F, &key(&h, "url"), why);
                }
                for (k, header) in headers.iter().enumerate() {
                    let hp = idx(&key(&h, "headers"), k);
                    if let Err(why) = header_name(&header.name) {
                        r.value(F, &key(&hp, "name"), why);
                    }
                    if let Err(why) = env_name(&header.env) {
                        r.value(F, &key(&hp, "env"), why);
                    }
                }
                pointers(r, &h, error_rate_pointer, latency_pointer);
            }
            HealthSource::Command {
                program,
                error_rate_pointer,
                latency_pointer,
                ..
            } => {
                let h = key(&base, "health");
                if program.trim().is_empty() {
                    r.value(F, &key(&h, "program"), "the health program is empty");
                }
                pointers(r, &h, error_rate_pointer, latency_pointer);
            }
            HealthSource::Prometheus(p) => prometheus_source(r, &key(&base, "health"), p),
        }
        deploy_target(r, &key(&base, "deploy"), &cu.deploy, &cu.health);
        if let Some(w) = &cu.maintenance_window {
            window(r, F, &key(&base, "maintenance_window"), w);
        }
        if let Some(d) = deployment {
            let has_window = cu.maintenance_window.is_some()
                || d.default_maintenance_window.is_some()
                || d.overrides
                    .get(&cu.id)
                    .is_some_and(|o| o.maintenance_window.is_some());
            if window_tiers.contains(&cu.tier) && !has_window {
                r.value(
                    F,
                    &base,
                    format!(
                        "tier `{}` deploys inside maintenance windows for some release types, but `{}` has no maintenance_window and deployment-policies.json has no default_maintenance_window; add one of them",
                        cu.tier, cu.id
                    ),
                );
            }
        }
    }
}

/// A health URL a probe can use: absolute, `http` or `https`, with a host.
fn health_url(url: &str) -> Result<(), String> {
    if url.trim().is_empty() {
        return Err("the health URL is empty".into());
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!(
            "`{}` is not a URL ({e}); write it in full, e.g. https://acme.example.com/healthz",
            crate::domain::escape(url)
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "`{}` uses the {} scheme; health checks speak http or https only",
            crate::domain::escape(url),
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{}` names no host", crate::domain::escape(url)));
    }
    Ok(())
}

/// An HTTP header name: a token (RFC 9110), so no space, colon or newline.
fn header_name(name: &str) -> Result<(), String> {
    if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!(
            "`{}` is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only; no spaces, colons or newlines)",
            crate::domain::escape(name)
        ));
    }
    Ok(())
}

/// The name of the environment variable that holds a header's value.
fn env_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.contains(['=', '\0'])
        || crate::domain::text::first_unsafe(name).is_some()
    {
        return Err(format!(
            "`{}` is not an environment variable name (non-empty, no `=`, no control characters)",
            crate::domain::escape(name)
        ));
    }
    Ok(())
}

/// JSON pointers (RFC 6901) start with `/`: one without it reads nothing, forever.
fn pointers(r: &mut Report, health: &str, error_rate: &Option<String>, latency: &Option<String>) {
    for (field, p) in [
        ("error_rate_pointer", error_rate),
        ("latency_pointer", latency),
    ] {
        if let Some(p) = p
            && !p.starts_with('/')
        {
            r.value(
                ConfigFile::Customers,
                &key(health, field),
                format!(
                    "`{}` is not a JSON pointer: it must start with / (e.g. /{})",
                    crate::domain::escape(p),
                    crate::domain::escape(p)
                ),
            );
        }
    }
}

/// A deploy target: the shape serde checked, the rest here (placeholders, URLs,
/// pointers, variable names, one of two alternatives).
fn deploy_target(r: &mut Report, base: &str, target: &DeployTarget, health: &HealthSource) {
    const F: ConfigFile = ConfigFile::Customers;
    match target {
        DeployTarget::Simulated { failure_rate, .. } => {
            if !(0.0..=1.0).contains(failure_rate) {
                r.value(
                    F,
                    &key(base, "failure_rate"),
                    format!("failure rate {failure_rate} is outside 0.0–1.0 (0.05 means 5 % of deploys fail)"),
                );
            }
        }
        DeployTarget::Command(c) => {
            command_line(r, base, &c.program, &c.args, "deploy");
            if let Some(rb) = &c.rollback {
                command_line(r, &key(base, "rollback"), &rb.program, &rb.args, "rollback");
            }
            if c.timeout.is_some_and(|t| t.is_zero()) {
                r.value(
                    F,
                    &key(base, "timeout"),
                    "must be longer than 0s (leave it out for the default, 30m)",
                );
            }
            if c.retries > 10 {
                r.value(
                    F,
                    &key(base, "retries"),
                    format!(
                        "{} retries is more than 10; a deploy that fails that often needs a person",
                        c.retries
                    ),
                );
            }
            if c.retries > 0 && c.retry_exit_codes.is_empty() {
                r.value(F, &key(base, "retries"), "retries need `retry_exit_codes`: the exit codes that mean \"try again\" (e.g. [75]); other failures are never retried");
            }
            for (i, code) in c.retry_exit_codes.iter().enumerate() {
                if !(1..=255).contains(code) {
                    r.value(
                        F,
                        &idx(&key(base, "retry_exit_codes"), i),
                        format!(
                            "exit code {code} cannot mean \"try again\": use 1–255 (0 is success)"
                        ),
                    );
                }
            }
            if let Some(v) = &c.verify {
                verify(r, &key(base, "verify"), v, health);
            }
        }
        DeployTarget::Webhook(w) => {
            match (&w.url, &w.url_env) {
                (Some(_), Some(_)) => r.value(
                    F,
                    &key(base, "url_env"),
                    "give `url` or `url_env`, not both",
                ),
                (None, None) => r.value(
                    F,
                    base,
                    "a webhook needs `url` (or `url_env`, the variable that holds a secret URL)",
                ),
                (Some(u), None) => http_url(r, &key(base, "url"), u, false),
                (None, Some(env)) => check_env_name(r, &key(base, "url_env"), env),
            }
            for (name, value) in &w.query {
                let path = key(&key(base, "query"), name);
                if let Err(e) = check_template(value, false) {
                    r.value(F, &path, e);
                }
            }
            headers(r, &key(base, "headers"), &w.headers);
            if let Some(body) = &w.body {
                body_templates(r, &key(base, "body"), body);
            }
            if w.timeout.is_some_and(|t| t.is_zero()) {
                r.value(
                    F,
                    &key(base, "timeout"),
                    "must be longer than 0s (leave it out for the default, 30s)",
                );
            }
            if w.retries.is_some_and(|n| n > 10) {
                r.value(
                    F,
                    &key(base, "retries"),
                    "more than 10 retries; a hook that fails that often needs a person",
                );
            }
            if let Some(p) = &w.status {
                let sp = key(base, "status");
                match (&p.url, &p.url_pointer) {
                    (Some(_), Some(_)) => r.value(F, &key(&sp, "url_pointer"), "give `url` or `url_pointer`, not both (neither: the hook's Location header)"),
                    (Some(u), None) => http_url(r, &key(&sp, "url"), u, true),
                    (None, Some(ptr)) => pointer(r, &key(&sp, "url_pointer"), ptr),
                    (None, None) => {}
                }
                if let Some(hs) = &p.headers {
                    headers(r, &key(&sp, "headers"), hs);
                }
                pointer(r, &key(&sp, "field"), &p.field);
                if p.success.is_empty() {
                    r.value(
                        F,
                        &key(&sp, "success"),
                        "name at least one status that means success, e.g. [\"live\"]",
                    );
                }
                if let Some(both) = p.success.iter().find(|s| p.failure.contains(s)) {
                    r.value(
                        F,
                        &key(&sp, "failure"),
                        format!("\"{both}\" is listed as both success and failure"),
                    );
                }
                for (field, d) in [("interval", p.interval), ("deadline", p.deadline)] {
                    if d.is_some_and(|d| d.is_zero()) {
                        r.value(F, &key(&sp, field), "must be longer than 0s");
                    }
                }
            }
            if let Some(v) = &w.verify {
                verify(r, &key(base, "verify"), v, health);
            }
        }
    }
}

fn command_line(r: &mut Report, base: &str, program: &str, args: &[String], what: &str) {
    const F: ConfigFile = ConfigFile::Customers;
    if program.trim().is_empty() {
        r.value(
            F,
            &key(base, "program"),
            format!("the {what} program is empty"),
        );
    } else if let Err(e) = check_template(program, false) {
        r.value(F, &key(base, "program"), e);
    }
    for (i, a) in args.iter().enumerate() {
        if let Err(e) = check_template(a, false) {
            r.value(F, &idx(&key(base, "args"), i), e);
        }
    }
}

fn verify(r: &mut Report, base: &str, v: &Verify, health: &HealthSource) {
    const F: ConfigFile = ConfigFile::Customers;
    match (&v.pointer, &v.program) {
        (Some(_), Some(_)) => r.value(F, &key(base, "program"), "give `pointer` (read the live version from the health response) or `program` (prints it), not both"),
        (None, None) => r.value(F, base, "verify needs `pointer` (e.g. \"/version\" in the health response) or `program` (prints the live version)"),
        (Some(p), None) => {
            pointer(r, &key(base, "pointer"), p);
            match &v.url {
                Some(u) => http_url(r, &key(base, "url"), u, false),
                None if matches!(health, HealthSource::Command { .. }) => r.value(
                    F,
                    &key(base, "pointer"),
                    "the health source is a command, so there is no health response to read the version from; give verify a `url` or a `program`",
                ),
                None if matches!(health, HealthSource::Simulated { .. }) => r.value(
                    F,
                    &key(base, "pointer"),
                    "the health source is simulated, so there is no health URL to read the version from; give verify a `url` or a `program`",
                ),
                None => {}
            }
        }
        (None, Some(program)) => command_line(r, base, program, &v.args, "verify"),
    }
    for (field, d) in [("interval", v.interval), ("deadline", v.deadline)] {
        if d.is_some_and(|d| d.is_zero()) {
            r.value(F, &key(base, field), "must be longer than 0s");
        }
    }
}

fn headers(r: &mut Report, base: &str, headers: &[crate::domain::HeaderFromEnv]) {
    const F: ConfigFile = ConfigFile::Customers;
    for (i, h) in headers.iter().enumerate() {
        let at = idx(base, i);
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if h.name.is_empty() || !h.name.chars().all(token) {
            r.value(
                F,
                &key(&at, "name"),
                format!("`{}` is not an HTTP header name", h.name),
            );
        }
        check_env_name(r, &key(&at, "env"), &h.env);
    }
}

fn check_env_name(r: &mut Report, path: &str, name: &str) {
    if !is_env_name(name) {
        r.value(
            ConfigFile::Customers,
            path,
            format!("`{name}` is not an environment variable name (letters, digits and _, e.g. DEPLOY_TOKEN); the secret itself never goes in the config"),
        );
    }
}

fn pointer(r: &mut Report, path: &str, p: &str) {
    if !p.starts_with('/') {
        r.value(
            ConfigFile::Customers,
            path,
            format!("`{p}` is not a JSON pointer: it must start with / (e.g. /{p})"),
        );
    }
}

/// An http(s) URL template: the scheme, a host, no spaces; placeholders checked.
fn http_url(r: &mut Report, path: &str, url: &str, pointers: bool) {
    const F: ConfigFile = ConfigFile::Customers;
    if let Err(e) = check_template(url, pointers) {
        r.value(F, path, e);
        return;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        None => r.value(
            F,
            path,
            format!("`{url}` is not an http:// or https:// URL"),
        ),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            r.value(F, path, format!("`{url}` has no host"))
        }
        Some(_) if url.contains(char::is_whitespace) => r.value(
            F,
            path,
            format!("`{url}` contains a space; percent-encode it (%20)"),
        ),
        Some(_) => {}
    }
}

/// Every string in a JSON body template, checked for placeholders.
fn body_templates(r: &mut Report, path: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            if let Err(e) = check_template(s, false) {
                r.value(ConfigFile::Customers, path, e);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                body_templates(r, &idx(path, i), x);
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                body_templates(r, &key(path, k), x);
            }
        }
        _ => {}
    }
}

/// A `prometheus` health source at `h` (`customers[3].health`): a base URL, at least
/// one query, known placeholders only, a sane traffic guard, header names that are
/// header names.
fn prometheus_source(r: &mut Report, h: &str, p: &PrometheusSource) {
    const F: ConfigFile = ConfigFile::Customers;
    let url = p.url.trim();
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        None => r.value(
            F,
            &key(h, "url"),
            format!(
                "`{}` is not an http:// or https:// URL (the server's base URL, e.g. http://prometheus:9090)",
                p.url
            ),
        ),
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            r.value(F, &key(h, "url"), "the URL names no host")
        }
        Some(rest) if rest.contains("/api/v1") => r.value(
            F,
            &key(h, "url"),
            "give the server's base URL without /api/v1/… (shipdeck appends /api/v1/query)",
        ),
        Some(_) => {}
    }
    if p.error_rate.is_none() && p.latency_p95.is_none() {
        r.value(
            F,
            h,
            "a prometheus source needs an `error_rate` or a `latency_p95` query (or both)",
        );
    }
    let mut queries: Vec<(String, &str)> = Vec::new();
    if let Some(q) = &p.error_rate {
        queries.push((key(h, "error_rate"), q));
    }
    if let Some(q) = &p.latency_p95 {
        queries.push((key(h, "latency_p95"), q));
    }
    if let Some(m) = &p.min_traffic {
        let mt = key(h, "min_traffic");
        queries.push((key(&mt, "query"), &m.query));
        if !m.at_least.is_finite() || m.at_least < 0.0 {
            r.value(
                F,
                &key(&mt, "at_least"),
                format!(
                    "{} is not a request count of 0 or more (e.g. 50: fewer requests than that is no data)",
                    m.at_least
                ),
            );
        }
    }
    for (path, q) in queries {
        if let Err(e) = promql::check(q) {
            r.value(F, &path, e.to_string());
        }
    }
    for (i, header) in p.headers.iter().enumerate() {
        let hp = idx(&key(h, "headers"), i);
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if header.name.is_empty() || !header.name.chars().all(token) {
            r.value(
                F,
                &key(&hp, "name"),
                format!(
                    "`{}` is not an HTTP header name (e.g. Authorization)",
                    header.name
                ),
            );
        }
        if header.env.trim().is_empty() || header.env.contains('=') {
            r.value(
                F,
                &key(&hp, "env"),
                "name the environment variable that holds the value (e.g. PROMETHEUS_TOKEN); the value itself never goes in config",
            );
        }
    }
}

fn window(r: &mut Report, file: ConfigFile, path: &str, w: &MaintenanceWindow) {
    if w.days.is_empty() {
        r.value(
            file,
            &key(path, "days"),
            "a maintenance window needs at least one day, e.g. [\"sat\"]",
        );
    }
    if w.duration.is_zero() {
        r.value(
            file,
            &key(path, "duration"),
            "a maintenance window must last longer than 0s",
        );
    }
}

fn deployment(r: &mut Report, d: &DeploymentPolicies, customers: Option<&CustomersFile>) {
    const F: ConfigFile = ConfigFile::DeploymentPolicies;
    if let Some(w) = &d.default_maintenance_window {
        window(r, F, "default_maintenance_window", w);
    }
    for (id, o) in &d.overrides {
        let base = key("overrides", id.as_str());
        if let Some(w) = &o.maintenance_window {
            window(r, F, &key(&base, "maintenance_window"), w);
        }
        let Some(c) = customers else { continue };
        match c.customers.iter().find(|cu| &cu.id == id) {
            None => r.key(F, &base, unknown_customer(id, c)),
            Some(cu) => {
                if o.window_only
                    && o.maintenance_window.is_none()
                    && cu.maintenance_window.is_none()
                    && d.default_maintenance_window.is_none()
                {
                    r.value(
                        F,
                        &key(&base, "window_only"),
                        format!("`{id}` has no maintenance window to deploy in: give it one here, in customers.json, or set default_maintenance_window"),
                    );
                }
            }
        }
    }
}

fn unknown_customer(id: &CustomerId, c: &CustomersFile) -> String {
    let wanted = id.as_str();
    if let Some(near) = c.customers.iter().find(|cu| {
        cu.id.as_str().eq_ignore_ascii_case(wanted) || cu.name.eq_ignore_ascii_case(wanted)
    }) {
        return format!(
            "unknown customer `{wanted}`; did you mean `{}`? (overrides use customer ids)",
            near.id
        );
    }
    format!(
        "unknown customer `{wanted}` (customer ids: {})",
        list(c.customers.iter().map(|cu| &cu.id))
    )
}

fn checklists(r: &mut Report, c: &ChecklistsFile) {
    const F: ConfigFile = ConfigFile::Checklists;
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut pre_release: HashMap<ReleaseType, String> = HashMap::new();
    let mut kinds: HashMap<ChecklistKind, usize> = HashMap::new();
    for (i, cl) in c.checklists.iter().enumerate() {
        let base = idx("checklists", i);
        let id_path = key(&base, "id");
        if !plain(&cl.id) {
        } else if cl.id.trim().is_empty() {
            r.value(
                F,
                &id_path,
                "a checklist needs an id, e.g. pre-release-security",
            );
        } else if let Some(first) = ids.get(cl.id.as_str()) {
            let first = r.first_at(F, &key(&idx("checklists", *first), "id"));
            r.value(
                F,
                &id_path,
                format!("duplicate checklist id `{}`{first}", cl.id),
            );
        } else {
            ids.insert(&cl.id, i);
        }
        if cl.kind == ChecklistKind::PreRelease {
            if cl.release_types.is_empty() {
                r.value(
                    F,
                    &base,
                    "a pre_release checklist must name the release_types it applies to",
                );
            }
            for (k, t) in cl.release_types.iter().enumerate() {
                let path = idx(&key(&base, "release_types"), k);
                if let Some(first) = pre_release.get(t) {
                    r.value(
                        F,
                        &path,
                        format!("release type `{t}` already has a pre-release checklist (`{first}`); only one would be used"),
                    );
                } else {
                    pre_release.insert(*t, cl.id.clone());
                }
            }
        } else if let Some(first) = kinds.get(&cl.kind) {
            let first = r.first_at(F, &key(&idx("checklists", *first), "kind"));
            r.value(
                F,
                &key(&base, "kind"),
                format!("a second checklist of this kind; only the first would be used{first}"),
            );
        } else {
            kinds.insert(cl.kind, i);
        }
        let items_path = key(&base, "items");
        if cl.items.is_empty() {
            r.value(F, &items_path, "a checklist needs at least one item");
        }
        let mut item_ids: HashMap<&str, usize> = HashMap::new();
        for (j, item) in cl.items.iter().enumerate() {
            let item_path = idx(&items_path, j);
            let iid_path = key(&item_path, "id");
            if !plain(&item.id) {
            } else if item.id.trim().is_empty() {
                r.value(F, &iid_path, "an item needs an id, e.g. tests-pass");
            } else if let Some(first) = item_ids.get(item.id.as_str()) {
                let first = r.first_at(F, &key(&idx(&items_path, *first), "id"));
                r.value(
                    F,
                    &iid_path,
                    format!(
                        "duplicate item id `{}` in checklist `{}`{first}",
                        item.id, cl.id
                    ),
                );
            } else {
                item_ids.insert(&item.id, j);
            }
            if let Some(check) = &item.check
                && check.program.trim().is_empty()
            {
                r.value(
                    F,
                    &key(&key(&item_path, "check"), "program"),
                    "an automatic item needs a program to run",
                );
            }
        }
    }
}

fn roster_rules(r: &mut Report, roster: &Roster) {
    const F: ConfigFile = ConfigFile::Roster;
    let mut roles: HashMap<&str, usize> = HashMap::new();
    for (i, def) in roster.roles.iter().enumerate() {
        let path = key(&idx("roles", i), "id");
        if !plain(def.id.as_str()) {
        } else if def.id.as_str().trim().is_empty() {
            r.value(F, &path, "a role needs an id, e.g. qa_lead");
        } else if let Some(first) = roles.get(def.id.as_str()) {
            let first = r.first_at(F, &key(&idx("roles", *first), "id"));
            r.value(
                F,
                &path,
                format!("role `{}` is defined twice{first}", def.id),
            );
        } else {
            roles.insert(def.id.as_str(), i);
        }
    }
    let mut people: HashMap<&str, usize> = HashMap::new();
    for (i, person) in roster.people.iter().enumerate() {
        let base = idx("people", i);
        let name_path = key(&base, "name");
        if !plain(&person.name) {
        } else if person.name.trim().is_empty() {
            r.value(
                F,
                &name_path,
                "a person needs a name (the one given to --as)",
            );
        } else if let Some(first) = people.get(person.name.as_str()) {
            let first = r.first_at(F, &key(&idx("people", *first), "name"));
            r.value(
                F,
                &name_path,
                format!("`{}` is listed twice{first}", person.name),
            );
        } else {
            people.insert(&person.name, i);
        }
        let mut held = BTreeSet::new();
        for (k, role) in person.roles.iter().enumerate() {
            let path = idx(&key(&base, "roles"), k);
            if !roles.contains_key(role.as_str()) {
                r.value(
                    F,
                    &path,
                    format!(
                        "unknown role `{role}` (defined roles: {})",
                        list(roster.roles.iter().map(|d| &d.id))
                    ),
                );
            } else if !held.insert(role) {
                r.value(F, &path, format!("role `{role}` is listed twice"));
            }
        }
    }
}

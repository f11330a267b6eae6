//! Deploy targets in `customers.json`: every field of `command` and `webhook`
//! accepted, and every mistake refused with file, line, column and field, like the
//! rest of the configuration. The recipes in `config/examples/` load as they are.

use shipdeck::config::{ConfigError, ConfigErrors, builtin_files, load_dir, load_from_strs};
use shipdeck::domain::{Configuration, CustomerId, DeployTarget};

/// The simulated target of the first customer, as written in the defaults.
const FIRST: &str = r#"{"kind": "simulated", "duration": "5m", "failure_rate": 0.0}"#;

/// The defaults with the first customer's deploy target replaced by `target`;
/// returns the load result and the customers.json text.
fn with_target(target: &str) -> (Result<Configuration, ConfigErrors>, String) {
    let mut files: Vec<(String, String)> = builtin_files()
        .iter()
        .map(|(n, t)| (format!("config/{n}"), (*t).to_string()))
        .collect();
    let customers = files
        .iter_mut()
        .find(|(n, _)| n.ends_with("/customers.json"))
        .expect("customers.json");
    assert!(customers.1.contains(FIRST), "the defaults changed");
    customers.1 = customers.1.replacen(FIRST, target, 1);
    let text = customers.1.clone();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    (load_from_strs(&refs), text)
}

/// 1-based (line, column) of the `nth` occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).unwrap_or_else(|| panic!("no `{needle}`"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[start..at].chars().count() + 1)
}

fn refused(target: &str) -> (ConfigErrors, String) {
    match with_target(target) {
        (Ok(_), _) => panic!("accepted: {target}"),
        (Err(e), text) => (e, text),
    }
}

fn about<'a>(errs: &'a ConfigErrors, field: &str) -> &'a ConfigError {
    let hits: Vec<&ConfigError> = errs.iter().filter(|e| e.field == field).collect();
    match hits.as_slice() {
        [one] => one,
        _ => panic!("expected one error about `{field}`, got:\n{errs}"),
    }
}

/// The error about `field` sits where `at` is in the text and says `needle`.
fn check(target: &str, field: &str, at: &str, needle: &str) {
    let (errs, text) = refused(target);
    let e = about(&errs, &format!("customers[0].deploy{field}"));
    assert!(e.file.ends_with("customers.json"), "{e}");
    assert_eq!((e.line, e.column), pos(&text, at), "wrong position: {e}");
    assert!(e.message.contains(needle), "message lacks `{needle}`: {e}");
}

const COMMAND: &str = r#"{"kind": "command", "program": "kubectl", "args": ["set", "image", "deploy/api", "api=acme/api:{version}", "--namespace", "{customer}"], "timeout": "10m", "retries": 2, "retry_exit_codes": [75], "backoff": "30s", "rollback": {"program": "kubectl", "args": ["rollout", "undo", "deploy/api"]}, "verify": {"program": "sh", "args": ["-c", "kubectl get deploy api -o jsonpath={{.metadata.labels.version}}"], "deadline": "5m", "interval": "10s"}, "expected_duration": "4m"}"#;

const WEBHOOK: &str = r#"{"kind": "webhook", "url_env": "RENDER_DEPLOY_HOOK", "query": {"imgURL": "docker.io/acme/api:{version}"}, "headers": [{"name": "Authorization", "env": "RENDER_API_KEY"}], "body": {"ref": "{version}", "environment": "{customer}"}, "timeout": "20s", "retries": 3, "backoff": "5s", "status": {"url": "https://api.render.com/v1/services/srv-1/deploys/{/deploy/id}", "field": "/status", "success": ["live"], "failure": ["build_failed", "update_failed", "canceled"], "interval": "10s", "deadline": "30m"}, "verify": {"pointer": "/version", "url": "https://acme.example.com/healthz", "deadline": "2m", "interval": "10s"}, "expected_duration": "6m"}"#;

#[test]
fn every_field_of_command_and_webhook_targets_is_accepted() {
    for target in [COMMAND, WEBHOOK] {
        let (cfg, _) = with_target(target);
        let cfg = cfg.unwrap_or_else(|e| panic!("refused:\n{e}"));
        let c = cfg
            .customer(&CustomerId::new("demo-main"))
            .expect("demo-main");
        assert_ne!(c.deploy.kind(), "simulated");
        // The journaled plan keeps the target: it round-trips through JSON.
        let json = serde_json::to_string(&c.deploy).unwrap();
        let back: DeployTarget = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c.deploy);
    }
    let (cfg, _) = with_target(COMMAND);
    let cfg = cfg.unwrap();
    let c = cfg.customer(&CustomerId::new("demo-main")).unwrap();
    assert_eq!(
        c.deploy.describe(),
        "kubectl set image deploy/api api=acme/api:{version} --namespace {customer} (timeout 10m); verify live version from `sh -c \"kubectl get deploy api -o jsonpath={{.metadata.labels.version}}\"`"
    );
    assert_eq!(c.deploy.expected_duration().map(|d| d.as_secs()), Some(240));
}

#[test]
fn an_unknown_placeholder_is_refused_at_its_argument() {
    check(
        r#"{"kind": "command", "program": "helm", "args": ["upgrade", "api", "--set", "tag={verison}"]}"#,
        ".args[3]",
        r#""tag={verison}""#,
        "unknown placeholder `{verison}`",
    );
    check(
        r#"{"kind": "webhook", "url": "https://hooks.example/{/id}"}"#,
        ".url",
        r#""https://hooks.example/{/id}""#,
        "unknown placeholder `{/id}`",
    );
}

#[test]
fn a_command_target_needs_a_program_and_sane_retries() {
    check(
        r#"{"kind": "command", "program": " ", "args": []}"#,
        ".program",
        r#"" ""#,
        "the deploy program is empty",
    );
    check(
        r#"{"kind": "command", "program": "deploy.sh", "retries": 2}"#,
        ".retries",
        "2}",
        "retry_exit_codes",
    );
    check(
        r#"{"kind": "command", "program": "deploy.sh", "retries": 1, "retry_exit_codes": [0]}"#,
        ".retry_exit_codes[0]",
        "0]",
        "0 is success",
    );
    check(
        r#"{"kind": "command", "program": "deploy.sh", "timeout": "0s"}"#,
        ".timeout",
        r#""0s""#,
        "longer than 0s",
    );
}

#[test]
fn a_webhook_needs_exactly_one_url_and_an_http_one() {
    check(
        r#"{"kind": "webhook", "url": "ftp://hooks.example/deploy"}"#,
        ".url",
        r#""ftp://"#,
        "is not an http:// or https:// URL",
    );
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "url_env": "HOOK"}"#,
        ".url_env",
        r#""HOOK""#,
        "not both",
    );
    let (errs, _) = refused(r#"{"kind": "webhook", "retries": 1}"#);
    let e = about(&errs, "customers[0].deploy");
    assert!(e.message.contains("needs `url`"), "{e}");
    check(
        r#"{"kind": "webhook", "url_env": "render-hook"}"#,
        ".url_env",
        r#""render-hook""#,
        "is not an environment variable name",
    );
}

#[test]
fn secrets_are_named_by_variable_and_a_literal_token_field_is_refused() {
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "headers": [{"name": "Authorization", "env": "MY-TOKEN"}]}"#,
        ".headers[0].env",
        r#""MY-TOKEN""#,
        "the secret itself never goes in the config",
    );
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "headers": [{"name": "Bad Header", "env": "T"}]}"#,
        ".headers[0].name",
        r#""Bad Header""#,
        "is not an HTTP header name",
    );
    // A header value written in place is not a field: refused at its key.
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "headers": [{"name": "Authorization", "value": "Bearer abc"}]}"#,
        ".headers[0].value",
        r#""value""#,
        "unknown field `value`",
    );
}

#[test]
fn status_polling_and_verify_are_checked() {
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "status": {"field": "status", "success": ["live"]}}"#,
        ".status.field",
        r#""status","#,
        "must start with /",
    );
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "status": {"field": "/status", "success": []}}"#,
        ".status.success",
        "[]",
        "at least one status",
    );
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "status": {"field": "/s", "success": ["live"], "failure": ["live"]}}"#,
        ".status.failure",
        r#"["live"]}"#,
        "both success and failure",
    );
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "verify": {"pointer": "/version", "program": "cat"}}"#,
        ".verify.program",
        r#""cat""#,
        "not both",
    );
    // The first customer's health is simulated: no URL to read a version from.
    check(
        r#"{"kind": "webhook", "url": "https://a.example/x", "verify": {"pointer": "/version"}}"#,
        ".verify.pointer",
        r#""/version""#,
        "give verify a `url` or a `program`",
    );
    let (errs, _) = refused(r#"{"kind": "webhook", "url": "https://a.example/x", "verify": {}}"#);
    let e = about(&errs, "customers[0].deploy.verify");
    assert!(e.message.contains("`pointer`"), "{e}");
}

/// The recipes in `config/examples/`, each one customer object: (file stem, JSON).
pub fn recipes() -> Vec<(String, serde_json::Value)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).expect("config/examples") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            out.push((stem, doc));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A configuration directory: the defaults with `extra` customers appended.
pub fn config_dir_with(dir: &std::path::Path, extra: &[serde_json::Value]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in builtin_files() {
        let text = if name == "customers.json" {
            let mut doc: serde_json::Value = serde_json::from_str(text).unwrap();
            let list = doc["customers"].as_array_mut().unwrap();
            list.extend(extra.iter().cloned());
            serde_json::to_string_pretty(&doc).unwrap()
        } else {
            text.to_string()
        };
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn the_recipes_in_config_examples_pass_config_check() {
    let recipes = recipes();
    let names: Vec<&str> = recipes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "argo-rollouts",
            "github-deployments",
            "helm",
            "kubectl",
            "render"
        ]
    );
    let tmp = tempfile::tempdir().unwrap();
    for (name, customer) in &recipes {
        let dir = tmp.path().join(name);
        config_dir_with(&dir, std::slice::from_ref(customer));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
            .args(["config", "check", "--config"])
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cfg = load_dir(&dir).unwrap();
        let id = customer["id"].as_str().unwrap();
        let c = cfg.customer(&CustomerId::new(id)).unwrap();
        assert_ne!(c.deploy.kind(), "simulated", "{name}");
    }
}

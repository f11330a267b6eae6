//! The `webhook` deployer against a real loopback HTTP server: 200, 202 + polling to
//! success and to failure, 500 then 200, 429 with Retry-After, a hang, a reset,
//! garbage, a redirect, TLS to a plain server, GitHub- and Render-shaped flows,
//! verify, secrets in headers, detaching. Each is a deploy that passed or failed
//! with the reason an operator needs.

use std::sync::Arc;
use std::time::Duration;

use shipdeck::adapters::deploy::webhook::UrlSource;
use shipdeck::adapters::deploy::{
    PollSpec, StatusUrl, Verification, VerifyHow, WebhookDeploy, WebhookDeployer,
};
use shipdeck::domain::HeaderFromEnv;
use shipdeck::runtime::effects::{Deployer, Outcome};

use crate::support::deploy::{
    Answer, ScriptServer, context, eventually, garbage_listener, request, resetting_listener,
    retries, watched_request,
};

const CANARY: &str = "canary-7f3e-secret-token";

fn hook(url: String) -> WebhookDeploy {
    WebhookDeploy {
        url: UrlSource::Template(url),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        timeout: Duration::from_secs(5),
        retries: 2,
        backoff: Duration::from_millis(10),
        poll: None,
    }
}

fn poll(url: StatusUrl) -> PollSpec {
    PollSpec {
        url,
        headers: Vec::new(),
        field: "/status".into(),
        success: vec!["live".into()],
        failure: vec![
            "build_failed".into(),
            "update_failed".into(),
            "canceled".into(),
        ],
        interval: Duration::from_millis(20),
        deadline: Duration::from_secs(5),
    }
}

fn deployer(dir: &std::path::Path, spec: WebhookDeploy) -> WebhookDeployer {
    let env: shipdeck::adapters::health::EnvLookup = Arc::new(|name: &str| match name {
        "DEPLOY_TOKEN" => Ok(format!("Bearer {CANARY}")),
        "SECRET_HOOK" => Err(std::env::VarError::NotPresent),
        _ => Err(std::env::VarError::NotPresent),
    });
    WebhookDeployer {
        spec,
        verify: None,
        ctx: context(dir).with_env_lookup(env),
    }
}

#[tokio::test]
async fn a_200_is_deployed_and_the_body_says_what_and_with_which_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on("POST", "/deploy", vec![Answer::Json(200, r#"{"ok":true}"#)]);
    let mut spec = hook(s.url("/deploy"));
    spec.headers = vec![HeaderFromEnv {
        name: "Authorization".into(),
        env: "DEPLOY_TOKEN".into(),
    }];
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::ok(format!("HTTP 200 from {}", s.url("/deploy")))
    );
    let seen = s.seen_on("POST", "/deploy");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].key(), Some("shipdeck-test-key-0001"));
    assert_eq!(
        seen[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {CANARY}").as_str())
    );
    let body = seen[0].json();
    assert_eq!(body["release"], "v1.0.2");
    assert_eq!(body["version"], "v1.0.2");
    assert_eq!(body["previous_version"], "v1.0.1");
    assert_eq!(body["customer"], "acme-corp");
    assert_eq!(body["tier"], "enterprise");
    assert_eq!(body["attempt"], 1);
    assert_eq!(body["idempotency_key"], "shipdeck-test-key-0001");
    assert_eq!(body["action"], "deploy");
    let log = std::fs::read_to_string(dir.path().join("deploys/acme-corp.log")).unwrap();
    assert!(log.contains("POST http://"), "{log}");
    assert!(!log.contains(CANARY), "the secret reached the deploy log");
}

#[tokio::test]
async fn a_202_is_followed_by_polling_its_location_to_success() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            202,
            vec![("location", "/deploy/status/17".into())],
            "{}".into(),
        )],
    );
    s.on(
        "GET",
        "/deploy/status/17",
        vec![
            Answer::Json(200, r#"{"status":"build_in_progress"}"#),
            Answer::Json(200, r#"{"status":"update_in_progress"}"#),
            Answer::Json(200, r#"{"status":"live"}"#),
        ],
    );
    let mut spec = hook(s.url("/deploy"));
    spec.poll = Some(poll(StatusUrl::Location));
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(out, Outcome::ok("status \"live\" at /deploy/status/17"));
    assert_eq!(s.seen_on("GET", "/deploy/status/17").len(), 3);
}

#[tokio::test]
async fn polling_to_a_failure_value_fails_with_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            202,
            vec![("location", s.url("/deploy/status"))],
            String::new(),
        )],
    );
    s.on(
        "GET",
        "/deploy/status",
        vec![
            Answer::Json(200, r#"{"status":"build_in_progress"}"#),
            Answer::Json(200, r#"{"status":"build_failed"}"#),
        ],
    );
    let mut spec = hook(s.url("/deploy"));
    spec.poll = Some(poll(StatusUrl::Location));
    let out = deployer(dir.path(), spec.clone()).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed("status \"build_failed\" at /deploy/status")
    );

    // A status that never settles fails at the deadline, saying where it stood.
    s.on(
        "GET",
        "/deploy/status",
        vec![Answer::Json(200, r#"{"status":"build_in_progress"}"#)],
    );
    spec.poll = Some(PollSpec {
        deadline: Duration::from_millis(200),
        ..poll(StatusUrl::Location)
    });
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed("status still \"build_in_progress\" at /deploy/status after 200ms")
    );
}

#[tokio::test]
async fn a_500_then_200_is_retried_with_the_same_key_and_the_retry_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![
            Answer::Json(500, r#"{"message":"database is restarting"}"#),
            Answer::Json(200, "{}"),
        ],
    );
    let (req, mut rx, _) = watched_request();
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(req)
        .await;
    assert_eq!(
        out,
        Outcome::ok(format!(
            "HTTP 200 from {} (attempt 2 of 3)",
            s.url("/deploy")
        ))
    );
    let seen = s.seen_on("POST", "/deploy");
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].key(), seen[1].key());
    assert_eq!(seen[1].json()["attempt"], 2);
    assert_eq!(
        retries(&mut rx),
        vec![(
            2,
            format!("HTTP 500 from {}: database is restarting", s.url("/deploy"))
        )]
    );

    // Always 500: out of attempts, with the count.
    s.on("POST", "/deploy", vec![Answer::Json(500, "{}")]);
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(request())
        .await;
    assert_eq!(
        out,
        Outcome::failed(format!(
            "HTTP 500 from {} (attempt 3 of 3)",
            s.url("/deploy")
        ))
    );
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![
            Answer::With(429, vec![("retry-after", "1".into())], "slow down".into()),
            Answer::Json(200, "{}"),
        ],
    );
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(request())
        .await;
    assert!(out.ok, "{out:?}");
    let seen = s.seen_on("POST", "/deploy");
    assert_eq!(seen.len(), 2);
    // Order, not speed: the retry came after the server's Retry-After.
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1),
        "retried after {:?}",
        seen[1].at.duration_since(seen[0].at)
    );
    // A Retry-After past what shipdeck waits fails at once.
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            429,
            vec![("retry-after", "86400".into())],
            String::new(),
        )],
    );
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(request())
        .await;
    assert!(
        !out.ok && out.detail.contains("asks to retry after 86400s"),
        "{out:?}"
    );
}

#[tokio::test]
async fn a_hang_times_out_a_reset_and_garbage_are_transport_failures() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on("POST", "/deploy", vec![Answer::Hang]);
    let mut spec = hook(s.url("/deploy"));
    spec.timeout = Duration::from_millis(300);
    spec.retries = 0;
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed(format!("POST {}: no answer within 300ms", s.url("/deploy")))
    );

    let reset = resetting_listener().await;
    let mut spec = hook(format!("http://{reset}/deploy"));
    spec.retries = 1;
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert!(!out.ok);
    assert!(
        out.detail
            .starts_with(&format!("POST http://{reset}/deploy: "))
            && out.detail.ends_with("(attempt 2 of 2)"),
        "{}",
        out.detail
    );
    assert!(
        out.detail.contains("reset") || out.detail.contains("closed"),
        "{}",
        out.detail
    );

    let garbage = garbage_listener().await;
    let mut spec = hook(format!("http://{garbage}/deploy"));
    spec.retries = 0;
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert!(!out.ok);
    assert!(
        out.detail
            .starts_with(&format!("POST http://{garbage}/deploy: ")),
        "{}",
        out.detail
    );
    assert!(!out.detail.contains('\x1b'), "{}", out.detail);
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_tls_to_a_plain_server_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            302,
            vec![("location", "https://login.example/sso".into())],
            String::new(),
        )],
    );
    s.on("POST", "/elsewhere", vec![Answer::Json(200, "{}")]);
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(request())
        .await;
    assert_eq!(
        out,
        Outcome::failed(format!(
            "HTTP 302 from {}: redirects are not followed; point the hook's url at where it redirects",
            s.url("/deploy")
        ))
    );
    assert_eq!(s.seen_on("POST", "/deploy").len(), 1, "not retried");

    let mut spec = hook(format!("https://{}/deploy", s.addr));
    spec.retries = 0;
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert!(!out.ok);
    assert!(
        out.detail
            .starts_with(&format!("POST https://{}/deploy: ", s.addr)),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn a_client_error_fails_at_once_with_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::Json(401, r#"{"message":"Bad credentials"}"#)],
    );
    let out = deployer(dir.path(), hook(s.url("/deploy")))
        .deploy(request())
        .await;
    assert_eq!(
        out,
        Outcome::failed(format!(
            "HTTP 401 from {}: Bad credentials",
            s.url("/deploy")
        ))
    );
}

#[tokio::test]
async fn a_github_deployments_flow_polls_the_statuses_url_from_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    let created = format!(
        r#"{{"id": 42, "statuses_url": "{}"}}"#,
        s.url("/repos/acme/api/deployments/42/statuses")
    );
    s.on(
        "POST",
        "/repos/acme/api/deployments",
        vec![Answer::With(
            201,
            vec![("content-type", "application/json".into())],
            created,
        )],
    );
    s.on(
        "GET",
        "/repos/acme/api/deployments/42/statuses",
        vec![
            Answer::Json(200, "[]"),
            Answer::Json(200, r#"[{"state":"in_progress"}]"#),
            Answer::Json(200, r#"[{"state":"success"},{"state":"in_progress"}]"#),
        ],
    );
    let mut spec = hook(s.url("/repos/acme/api/deployments"));
    spec.body = Some(serde_json::json!({
        "ref": "{version}",
        "environment": "{customer}",
        "auto_merge": false,
        "required_contexts": [],
        "payload": {"idempotency_key": "{idempotency_key}"}
    }));
    spec.poll = Some(PollSpec {
        field: "/0/state".into(),
        success: vec!["success".into()],
        failure: vec!["failure".into(), "error".into()],
        ..poll(StatusUrl::Pointer("/statuses_url".into()))
    });
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::ok("status \"success\" at /repos/acme/api/deployments/42/statuses")
    );
    let body = s.seen_on("POST", "/repos/acme/api/deployments")[0].json();
    assert_eq!(body["ref"], "v1.0.2");
    assert_eq!(body["environment"], "acme-corp");
    assert_eq!(body["auto_merge"], false);
    assert_eq!(body["payload"]["idempotency_key"], "shipdeck-test-key-0001");
}

#[tokio::test]
async fn a_render_hook_from_a_secret_url_polls_a_templated_status_url() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy/srv-abc",
        vec![Answer::Json(200, r#"{"deploy":{"id":"dep-9"}}"#)],
    );
    s.on(
        "GET",
        "/v1/services/srv-abc/deploys/dep-9",
        vec![
            Answer::Json(200, r#"{"status":"build_in_progress"}"#),
            Answer::Json(200, r#"{"status":"live"}"#),
        ],
    );
    let hook_url = format!("{}?key={CANARY}", s.url("/deploy/srv-abc"));
    let env: shipdeck::adapters::health::EnvLookup = Arc::new(move |name: &str| match name {
        "RENDER_HOOK" => Ok(hook_url.clone()),
        "RENDER_API_KEY" => Ok(format!("Bearer {CANARY}")),
        _ => Err(std::env::VarError::NotPresent),
    });
    let spec = WebhookDeploy {
        url: UrlSource::Env("RENDER_HOOK".into()),
        query: vec![("imgURL".into(), "docker.io/acme/api:{version}".into())],
        poll: Some(PollSpec {
            headers: vec![HeaderFromEnv {
                name: "Authorization".into(),
                env: "RENDER_API_KEY".into(),
            }],
            ..poll(StatusUrl::Template(format!(
                "{}/{{/deploy/id}}",
                s.url("/v1/services/srv-abc/deploys")
            )))
        }),
        ..hook(String::new())
    };
    let d = WebhookDeployer {
        spec,
        verify: None,
        ctx: context(dir.path()).with_env_lookup(env),
    };
    let out = d.deploy(request()).await;
    assert_eq!(
        out,
        Outcome::ok("status \"live\" at /v1/services/srv-abc/deploys/dep-9")
    );
    let post = &s.seen_on("POST", "/deploy/srv-abc")[0];
    assert_eq!(
        post.headers.get("idempotency-key").map(String::as_str),
        Some("shipdeck-test-key-0001")
    );
    let log = std::fs::read_to_string(dir.path().join("deploys/acme-corp.log")).unwrap();
    assert!(log.contains("POST $RENDER_HOOK"), "{log}");
    assert!(!log.contains(CANARY), "{log}");

    // Unset, the variable is named and nothing is sent.
    let d = WebhookDeployer {
        ctx: context(dir.path()),
        ..d
    };
    let out = d.deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed(
            "environment variable RENDER_HOOK is not set (it holds the deploy hook's URL)"
        )
    );
}

#[tokio::test]
async fn a_garbage_hook_response_gives_no_status_url_and_a_missing_location_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            200,
            vec![],
            "<html>\x1b[2J deploy queued</html>".into(),
        )],
    );
    let mut spec = hook(s.url("/deploy"));
    spec.poll = Some(poll(StatusUrl::Pointer("/status_url".into())));
    let out = deployer(dir.path(), spec.clone()).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed(
            "HTTP 200 from the hook, but its body is not JSON, so there is no status URL at /status_url"
        )
    );
    spec.poll = Some(poll(StatusUrl::Location));
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed("HTTP 200 from the hook, but no Location header to poll for its status")
    );
}

#[tokio::test]
async fn verify_reads_the_live_version_from_the_health_response() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on("POST", "/deploy", vec![Answer::Json(200, "{}")]);
    s.on(
        "GET",
        "/health",
        vec![
            Answer::Json(200, r#"{"status":"ok","version":"v1.0.1"}"#),
            Answer::Json(503, r#"{"status":"starting","version":"v1.0.1"}"#),
            Answer::Json(200, r#"{"status":"ok","version":"v1.0.2"}"#),
        ],
    );
    let mut d = deployer(dir.path(), hook(s.url("/deploy")));
    d.verify = Some(Verification {
        how: VerifyHow::Pointer {
            url: s.url("/health"),
            headers: Vec::new(),
            pointer: "/version".into(),
        },
        deadline: Duration::from_secs(5),
        interval: Duration::from_millis(20),
        read_timeout: Duration::from_secs(2),
    });
    let out = d.deploy(request()).await;
    assert_eq!(
        out,
        Outcome::ok(format!(
            "HTTP 200 from {}; live version v1.0.2",
            s.url("/deploy")
        ))
    );
    // Stuck on the old version: both versions in the reason.
    s.on(
        "GET",
        "/health",
        vec![Answer::Json(200, r#"{"version":"v1.0.1"}"#)],
    );
    if let Some(v) = &mut d.verify {
        v.deadline = Duration::from_millis(150);
    }
    let out = d.deploy(request()).await;
    assert!(!out.ok);
    assert!(
        out.detail
            .starts_with("live version is v1.0.1, expected v1.0.2"),
        "{}",
        out.detail
    );
}

#[tokio::test]
async fn detaching_stops_watching_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/deploy",
        vec![Answer::With(
            202,
            vec![("location", "/status".into())],
            String::new(),
        )],
    );
    s.on(
        "GET",
        "/status",
        vec![Answer::Json(200, r#"{"status":"building"}"#)],
    );
    let mut spec = hook(s.url("/deploy"));
    spec.poll = Some(poll(StatusUrl::Location));
    let (req, _rx, detach) = watched_request();
    let d = deployer(dir.path(), spec);
    let task = tokio::spawn(async move { d.deploy(req).await });
    assert!(
        eventually(Duration::from_secs(5), || !s
            .seen_on("GET", "/status")
            .is_empty())
        .await
    );
    detach.cancel();
    let out = tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("let go at once")
        .unwrap();
    assert_eq!(out, Outcome::failed("left running (detached)"));
}

#[tokio::test]
async fn a_missing_header_variable_is_named_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on("POST", "/deploy", vec![Answer::Json(200, "{}")]);
    let mut spec = hook(s.url("/deploy"));
    spec.headers = vec![HeaderFromEnv {
        name: "Authorization".into(),
        env: "NOT_SET_ANYWHERE".into(),
    }];
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed(
            "environment variable NOT_SET_ANYWHERE is not set (it holds header Authorization)"
        )
    );
    assert!(s.seen().is_empty());
}

#[tokio::test]
async fn no_response_however_broken_panics_each_is_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let replies: Vec<&[u8]> = vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 999999\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnot a chunk\r\n",
        b"HTTP/1.1 999 Weird\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 202 Accepted\r\nLocation: \x7f\xff::not a url\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 503 Busy\r\nRetry-After: tomorrow-ish\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n\xff\xfe\xfd\xfc",
        b"\x00\x01\x02\x03",
        b"",
    ];
    for raw in replies {
        let addr = crate::support::deploy::raw_listener(vec![raw.to_vec()]).await;
        let mut spec = hook(format!("http://{addr}/deploy"));
        spec.retries = 1;
        spec.timeout = Duration::from_secs(2);
        spec.poll = Some(PollSpec {
            deadline: Duration::from_millis(100),
            ..poll(StatusUrl::Location)
        });
        let out = deployer(dir.path(), spec).deploy(request()).await;
        assert!(
            !out.ok,
            "{:?} passed: {out:?}",
            String::from_utf8_lossy(raw)
        );
        assert!(!out.detail.is_empty());
        assert!(
            !out.detail.chars().any(|c| c.is_control()),
            "{:?}",
            out.detail
        );
    }
    // Status documents of every odd shape.
    let s = ScriptServer::start().await;
    for status in [
        r#"{"status": null}"#,
        r#"{"status": ["live"]}"#,
        r#"{"status": {"live": true}}"#,
        r#"{"status": 42}"#,
        "[1, 2, 3]",
        r#"{"status": "\u001b[31mlive\u001b[0m\u0007"}"#,
        "not json at all",
    ] {
        s.on(
            "POST",
            "/deploy",
            vec![Answer::With(
                202,
                vec![("location", "/status".into())],
                String::new(),
            )],
        );
        s.on("GET", "/status", vec![Answer::Json(200, status)]);
        let mut spec = hook(s.url("/deploy"));
        spec.poll = Some(PollSpec {
            deadline: Duration::from_millis(100),
            ..poll(StatusUrl::Location)
        });
        let out = deployer(dir.path(), spec).deploy(request()).await;
        assert!(!out.ok, "{status}: {out:?}");
        assert!(
            !out.detail.chars().any(|c| c.is_control()),
            "{status}: {:?}",
            out.detail
        );
    }
}

/// QA, item 6: a 200 whose reason phrase holds a control character read "invalid
/// HTTP status-code parsed" (hyper's words); the reason says what is wrong.
#[tokio::test]
async fn a_control_character_in_the_reason_phrase_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let raw = b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n".to_vec();
    let addr = crate::support::deploy::raw_listener(vec![raw]).await;
    let mut spec = hook(format!("http://{addr}/deploy"));
    spec.retries = 0;
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert!(!out.ok, "{out:?}");
    assert_eq!(
        out.detail,
        format!(
            "POST http://{addr}/deploy: the response's status line does not parse (control characters in its reason phrase?)"
        )
    );
}

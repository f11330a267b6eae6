//! The `command` deployer against real child processes: exit codes, placeholders
//! and `SHIPDECK_*` variables, timeouts that kill grandchildren, huge output
//! capped in the deploy log, a missing program, retries (reported for the
//! journal, resumed with the same attempt), detaching, rollback commands, verify.

use std::path::Path;
use std::time::Duration;

use shipdeck::adapters::deploy::{CommandDeploy, CommandDeployer, Verification, VerifyHow};
use shipdeck::runtime::effects::{Deployer, Outcome};

use crate::support::deploy::{context, eventually, request, retries, watched_request};

fn sh(script: &str) -> CommandDeploy {
    CommandDeploy {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        rollback: None,
        timeout: Duration::from_secs(20),
        retries: 0,
        retry_exit_codes: Vec::new(),
        backoff: Duration::from_millis(10),
    }
}

fn deployer(dir: &Path, spec: CommandDeploy) -> CommandDeployer {
    CommandDeployer {
        spec,
        verify: None,
        ctx: context(dir),
    }
}

fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("deploys/acme-corp.log")).unwrap_or_default()
}

#[tokio::test]
async fn exit_zero_is_deployed_with_the_last_line_and_the_facts_in_args_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let argv = dir.path().join("argv");
    let script = format!(
        r#"printf '%s|' "$@" > {argv}; echo "$SHIPDECK_VERSION $SHIPDECK_PREVIOUS_VERSION $SHIPDECK_CUSTOMER $SHIPDECK_TIER $SHIPDECK_RELEASE $SHIPDECK_ATTEMPT $SHIPDECK_OPERATOR $SHIPDECK_ACTION" >> {argv}; echo rolling; echo 'deployment "api" successfully rolled out'"#,
        argv = argv.display()
    );
    let mut spec = sh(&script);
    spec.args.extend(
        [
            "sh",
            "{version}",
            "{previous_version}",
            "{customer}",
            "{customer_name}",
            "{tier}",
            "{release}",
            "{version_number}",
        ]
        .map(String::from),
    );
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::ok("deployment \"api\" successfully rolled out")
    );
    let got = std::fs::read_to_string(&argv).unwrap();
    assert_eq!(
        got,
        "v1.0.2|v1.0.1|acme-corp|ACME Corp|enterprise|v1.0.2|1.0.2|v1.0.2 v1.0.1 acme-corp enterprise v1.0.2 1 alice deploy\n"
    );
    let log = log_text(dir.path());
    assert!(log.contains("acme-corp: deploy v1.0.2"), "{log}");
    assert!(log.contains("rolling\n"), "{log}");
}

#[tokio::test]
async fn a_failing_exit_code_is_a_failed_deploy_with_what_it_said_last() {
    let dir = tempfile::tempdir().unwrap();
    let out = deployer(
        dir.path(),
        sh(r#"echo 'Waiting for rollout'; echo 'error: deployment "api" exceeded its progress deadline' >&2; exit 3"#),
    )
    .deploy(request())
    .await;
    assert_eq!(
        out,
        Outcome::failed("exit 3: error: deployment \"api\" exceeded its progress deadline")
    );
    // What a program prints is escaped before it reaches a reason.
    let out = deployer(
        dir.path(),
        sh(r"printf 'bad \033[2J\033]0;title\007 news\n'; exit 1"),
    )
    .deploy(request())
    .await;
    assert_eq!(out.detail, "exit 1: bad \\x1b[2J\\x1b]0;title\\x07 news");
}

#[tokio::test]
async fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let mut spec = sh(&format!(
        "sleep 300 & echo $! > {}; echo started; wait",
        pidfile.display()
    ));
    spec.timeout = Duration::from_millis(400);
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert!(!out.ok);
    assert_eq!(
        out.detail,
        "`sh` timed out after 400ms; the process was killed"
    );
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    let gone = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z "))
            .unwrap_or(true)
    };
    assert!(
        eventually(Duration::from_secs(5), gone).await,
        "grandchild {pid} outlived the deploy's timeout"
    );
}

#[tokio::test]
async fn huge_output_is_capped_in_the_log_and_the_last_line_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    // 20 MB of output, then the verdict.
    let out = deployer(
        dir.path(),
        sh("head -c 20000000 /dev/zero | tr '\\0' 'x'; echo; echo 'release 42 is live'"),
    )
    .deploy(request())
    .await;
    assert_eq!(out, Outcome::ok("release 42 is live"));
    let size = std::fs::metadata(dir.path().join("deploys/acme-corp.log"))
        .unwrap()
        .len();
    assert!(size < 600 * 1024, "log is {size} bytes");
    let log = log_text(dir.path());
    assert!(log.contains("[output cut: "), "{}", &log[log.len() - 500..]);
    assert!(log.contains("release 42 is live"));
}

#[tokio::test]
async fn a_missing_program_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = sh("");
    spec.program = "/nonexistent/kubectl".into();
    spec.args.clear();
    let out = deployer(dir.path(), spec).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed("cannot run `/nonexistent/kubectl`: not found")
    );
}

#[tokio::test]
async fn retryable_exit_codes_are_retried_and_each_retry_is_reported_first() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    // Fails with 75 (EX_TEMPFAIL) twice, then succeeds; records SHIPDECK_ATTEMPT.
    let script = format!(
        r#"echo "$SHIPDECK_ATTEMPT" >> {c}; n=$(wc -l < {c}); if [ "$n" -lt 3 ]; then echo "lock held by another deploy" >&2; exit 75; fi; echo done"#,
        c = count.display()
    );
    let mut spec = sh(&script);
    spec.retries = 2;
    spec.retry_exit_codes = vec![75];
    let (req, mut rx, _) = watched_request();
    let out = deployer(dir.path(), spec.clone()).deploy(req).await;
    assert_eq!(out, Outcome::ok("done"));
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "1\n2\n3\n");
    assert_eq!(
        retries(&mut rx),
        vec![
            (
                2,
                "exit 75: lock held by another deploy (attempt 1 of 3)".to_string()
            ),
            (
                3,
                "exit 75: lock held by another deploy (attempt 2 of 3)".to_string()
            ),
        ]
    );

    // Out of attempts: the last reason, with the count.
    std::fs::remove_file(&count).unwrap();
    spec.retries = 1;
    let out = deployer(dir.path(), spec.clone()).deploy(request()).await;
    assert_eq!(
        out,
        Outcome::failed("exit 75: lock held by another deploy (attempt 2 of 2)")
    );

    // Other exit codes are never retried.
    let out = deployer(dir.path(), {
        let mut s = sh("echo nope; exit 1");
        s.retries = 3;
        s.retry_exit_codes = vec![75];
        s
    })
    .deploy(request())
    .await;
    assert_eq!(out, Outcome::failed("exit 1: nope"));
}

#[tokio::test]
async fn a_resumed_deploy_goes_on_with_the_journaled_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = sh(r#"echo "attempt $SHIPDECK_ATTEMPT key $SHIPDECK_IDEMPOTENCY_KEY""#);
    spec.retries = 2;
    spec.retry_exit_codes = vec![75];
    let mut req = request();
    req.attempt = 2;
    let out = deployer(dir.path(), spec).deploy(req).await;
    assert_eq!(out, Outcome::ok("attempt 2 key shipdeck-test-key-0001"));
}

#[tokio::test]
async fn detaching_leaves_the_process_running() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let spec = sh(&format!("echo $$ > {}; exec sleep 30", pidfile.display()));
    let (req, _rx, detach) = watched_request();
    let d = deployer(dir.path(), spec);
    let task = tokio::spawn(async move { d.deploy(req).await });
    assert!(eventually(Duration::from_secs(10), || pidfile.exists()).await);
    let pid: i32 = loop {
        if let Ok(p) = std::fs::read_to_string(&pidfile)
            .unwrap_or_default()
            .trim()
            .parse()
        {
            break p;
        }
        tokio::task::yield_now().await;
    };
    detach.cancel();
    let out = task.await.unwrap();
    assert_eq!(out, Outcome::failed("left running (detached)"));
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    // Clean up what the test left running (its own process group).
    // SAFETY: kill(2) on a process group this test started.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    assert!(alive, "the detached deploy was killed");
}

#[tokio::test]
async fn rollback_runs_its_own_command_or_the_deploy_command_with_the_previous_version() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request();
    req.rollback = true;
    req.version = shipdeck::domain::Version::new(1, 0, 1);
    req.previous_version = shipdeck::domain::Version::new(1, 0, 2);
    let spec = sh(r#"echo "$1 to {version} from {previous_version} ($SHIPDECK_ACTION)""#);
    let mut spec = spec;
    spec.args = vec![
        "-c".into(),
        r#"echo "reach $1 from $2 ($SHIPDECK_ACTION)""#.into(),
        "sh".into(),
        "{version}".into(),
        "{previous_version}".into(),
    ];
    let out = deployer(dir.path(), spec.clone()).deploy(req.clone()).await;
    assert_eq!(out, Outcome::ok("reach v1.0.1 from v1.0.2 (rollback)"));
    spec.rollback = Some((
        "sh".into(),
        vec!["-c".into(), "echo undo $0".into(), "{version}".into()],
    ));
    let out = deployer(dir.path(), spec).deploy(req).await;
    assert_eq!(out, Outcome::ok("undo v1.0.1"));
}

#[tokio::test]
async fn verify_holds_the_deploy_until_the_live_version_is_the_intended_one() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::write(&live, "v1.0.1\n").unwrap();
    let mut d = deployer(dir.path(), sh("echo applied"));
    d.verify = Some(Verification {
        how: VerifyHow::Command {
            program: "cat".into(),
            args: vec![live.display().to_string()],
        },
        deadline: Duration::from_millis(300),
        interval: Duration::from_millis(20),
        read_timeout: Duration::from_secs(5),
    });
    let out = d.deploy(request()).await;
    assert!(!out.ok);
    assert!(
        out.detail
            .starts_with("live version is v1.0.1, expected v1.0.2 (still after 300ms"),
        "{}",
        out.detail
    );
    std::fs::write(&live, "1.0.2\n").unwrap();
    let out = d.deploy(request()).await;
    assert_eq!(out, Outcome::ok("applied; live version 1.0.2"));
}

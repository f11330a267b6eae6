//! Command health probes with real child processes: exit codes, stderr, a missing
//! program, a hung script killed at its deadline, JSON on stdout.

use std::time::{Duration, Instant};

use shipdeck::adapters::health::{ProbeLimits, Prober};
use shipdeck::domain::{HealthSample, HealthSource, ProbeOutcome};

fn sh(script: &str) -> HealthSource {
    HealthSource::Command {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        timeout: None,
        error_rate_pointer: None,
        latency_pointer: None,
    }
}

fn sh_json(script: &str) -> HealthSource {
    match sh(script) {
        HealthSource::Command {
            program,
            args,
            timeout,
            ..
        } => HealthSource::Command {
            program,
            args,
            timeout,
            error_rate_pointer: Some("/errors/rate".into()),
            latency_pointer: Some("/p95".into()),
        },
        _ => unreachable!(),
    }
}

fn prober(timeout: Duration) -> Prober {
    Prober::new(ProbeLimits {
        default_timeout: timeout,
        ..ProbeLimits::default()
    })
    .unwrap()
}

fn down(reason: &str) -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: reason.into(),
    }
}

#[tokio::test]
async fn exit_zero_is_up() {
    let outcome = prober(Duration::from_secs(5))
        .probe(&sh("echo fine; exit 0"))
        .await;
    assert_eq!(
        outcome,
        ProbeOutcome::Up {
            sample: HealthSample::default()
        }
    );
}

#[tokio::test]
async fn non_zero_exit_quotes_the_first_line_of_stderr() {
    let outcome = prober(Duration::from_secs(5))
        .probe(&sh(
            "echo 'db: connection pool exhausted' >&2; echo 'second line' >&2; exit 3",
        ))
        .await;
    assert_eq!(
        outcome,
        down("exit status 3: db: connection pool exhausted")
    );
    let outcome = prober(Duration::from_secs(5)).probe(&sh("exit 4")).await;
    assert_eq!(outcome, down("exit status 4"));
}

#[tokio::test]
async fn a_long_stderr_line_is_truncated() {
    let outcome = prober(Duration::from_secs(5))
        .probe(&sh("printf 'x%.0s' $(seq 1 500) >&2; exit 1"))
        .await;
    let ProbeOutcome::Down { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        reason.chars().count(),
        "exit status 1: ".len() + 200 + 1,
        "{reason}"
    );
    assert!(reason.ends_with('…'));
}

#[tokio::test]
async fn a_missing_program_cannot_run() {
    let source = HealthSource::Command {
        program: "shipdeck-no-such-health-check".into(),
        args: vec![],
        timeout: None,
        error_rate_pointer: None,
        latency_pointer: None,
    };
    let outcome = prober(Duration::from_secs(5)).probe(&source).await;
    assert_eq!(
        outcome,
        down("cannot run `shipdeck-no-such-health-check`: not found")
    );
}

#[tokio::test]
async fn a_hung_command_is_killed_at_the_timeout() {
    let started = Instant::now();
    let outcome = prober(Duration::from_millis(200))
        .probe(&sh("sleep 60"))
        .await;
    let took = started.elapsed();
    assert_eq!(
        outcome,
        down("timed out after 200ms; the process was killed")
    );
    // Killed, not waited for: long before the command would have ended (and before
    // the 5 s default limit), with a margin no busy machine eats.
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_timeout_kills_what_the_command_started_too() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // A background `sleep` that outlives its shell unless the whole group is killed.
    let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
    let outcome = prober(Duration::from_millis(200)).probe(&sh(&script)).await;
    assert_eq!(
        outcome,
        down("timed out after 200ms; the process was killed")
    );

    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Killed means gone, or a zombie waiting for init to reap it (a bound for a
    // busy machine, not an expected time).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the background sleep {pid} survived the timeout"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn json_on_stdout_gives_figures() {
    let outcome = prober(Duration::from_secs(5))
        .probe(&sh_json(r#"echo '{"errors":{"rate":1.5},"p95":210}'"#))
        .await;
    assert_eq!(
        outcome,
        ProbeOutcome::Up {
            sample: HealthSample {
                error_rate: Some(1.5),
                latency_p95_ms: Some(210.0)
            }
        }
    );
}

#[tokio::test]
async fn stdout_is_judged_like_a_body() {
    let p = prober(Duration::from_secs(5));
    let ProbeOutcome::Down { reason } = p.probe(&sh_json("echo not json")).await else {
        panic!()
    };
    assert!(reason.starts_with("stdout is not JSON: "), "{reason}");

    let outcome = p
        .probe(&sh_json(r#"echo '{"errors":{"rate":"high"}}'"#))
        .await;
    assert_eq!(outcome, down("/errors/rate is a string, expected a number"));

    let outcome = p.probe(&sh_json("echo '{}'")).await;
    assert!(
        matches!(outcome, ProbeOutcome::Inconclusive { ref reason } if reason.starts_with("no data")),
        "{outcome:?}"
    );

    let outcome = p
        .probe(&sh_json("head -c 200000 /dev/zero | tr '\\0' x"))
        .await;
    assert_eq!(outcome, down("stdout exceeds 64 KiB"));
}

#[tokio::test]
async fn a_chatty_healthy_command_without_pointers_stays_up() {
    // 1 MB on stdout, more than the pipe buffer: drained, not held against it.
    let outcome = prober(Duration::from_secs(5))
        .probe(&sh("head -c 1000000 /dev/zero; exit 0"))
        .await;
    assert_eq!(
        outcome,
        ProbeOutcome::Up {
            sample: HealthSample::default()
        }
    );
}

//! The cockpit's `l` key: the selected customer's deploy log, its tail, escaped,
//! following the selection; closed with `l` or esc. Through the real loop on a
//! `TestBackend`, against a runtime on paused time.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use shipdeck::config;
use shipdeck::domain::ReleaseType;
use shipdeck::engine::{ReleasePlan, Selection};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::tui::cockpit::{self, CockpitOptions};
use shipdeck::tui::input::scripted_keys;
use shipdeck::tui::theme::Theme;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

async fn screen_after(keys: Vec<KeyEvent>, logs: &std::path::Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config::load_builtin().unwrap();
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .unwrap();
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::scaled("2026-11-24T09:00:00Z".parse().unwrap(), 60.0),
            wiring: Arc::new(shipdeck::cli::wiring::CliWiring::new(&cfg.customers, None)),
        },
        "v1.0.1",
        Some(plan),
        "alice",
    )
    .unwrap();
    let mut term = Terminal::new(TestBackend::new(120, 36)).unwrap();
    cockpit::run_with(
        handle.link(),
        CockpitOptions {
            operator: "alice".into(),
            readonly: false,
            theme: Theme::monochrome(),
            demo: None,
            deploy_logs: Some(logs.to_path_buf()),
            stop: None,
            report: None,
            hosting: shipdeck::tui::cockpit::Hosting::Here,
        },
        &mut term,
        scripted_keys(keys),
        std::future::pending(),
    )
    .await
    .unwrap();
    handle.stop().await.unwrap();
    term.backend().to_string()
}

#[tokio::test(start_paused = true)]
async fn l_shows_the_selected_customers_deploy_log_escaped_and_follows_the_selection() {
    let logs = tempfile::tempdir().unwrap();
    std::fs::write(
        logs.path().join("demo-main.log"),
        "[2026-11-24 09:01:00] === demo-main: deploy v1.0.1: kubectl rollout status\nWaiting for rollout \x1b[2J\x1b]0;pwned\x07 to finish\ndeployment \"api\" successfully rolled out\n",
    )
    .unwrap();
    // Health pane, first customer (demo-main), l.
    let s = screen_after(
        vec![
            key(KeyCode::Tab),
            key(KeyCode::Tab),
            key(KeyCode::Char('l')),
        ],
        logs.path(),
    )
    .await;
    assert!(s.contains("Deploy log · Demo (main) (demo-main)"), "{s}");
    assert!(s.contains("successfully rolled out"), "{s}");
    assert!(
        s.contains("Waiting for rollout \\x1b[2J\\x1b]0;pwned\\x07 to finish"),
        "{s}"
    );
    // j: the next customer, which has no log yet.
    let s = screen_after(
        vec![
            key(KeyCode::Tab),
            key(KeyCode::Tab),
            key(KeyCode::Char('l')),
            key(KeyCode::Char('j')),
        ],
        logs.path(),
    )
    .await;
    assert!(s.contains("Deploy log · Demo (sales) (demo-sales)"), "{s}");
    assert!(s.contains("no deploy log yet"), "{s}");
    // l again closes it.
    let s = screen_after(
        vec![
            key(KeyCode::Tab),
            key(KeyCode::Tab),
            key(KeyCode::Char('l')),
            key(KeyCode::Char('l')),
        ],
        logs.path(),
    )
    .await;
    assert!(!s.contains("Deploy log ·"), "{s}");
}

//! The integration suite: one test binary with a module per area (as ripgrep does),
//! so the crate and its heavy dependencies (reqwest, axum, ratatui) link once.
//! `tests/health_env.rs` stays a binary of its own: it sets a process environment
//! variable, which is unsafe while other tests' threads may read the environment.

mod support;

mod attach_e2e;
mod attach_protocol;
mod checkpoints;
mod cli;
mod cli_documented;
mod cli_gates;
mod cli_terminal;
mod cli_words;
mod config_errors;
mod crash_resume;
mod crash_resume_checkpoints;
mod demo_e2e;
mod deploy_cockpit;
mod deploy_command;
mod deploy_config;
mod deploy_demo;
mod deploy_e2e;
mod deploy_engine;
mod deploy_shutdown;
mod deploy_webhook;
mod engine_properties;
mod engine_scenarios;
mod fleet_scenario;
mod fleet_serve;
mod hardening_cli;
mod health_command;
mod health_http_edges;
mod health_probe;
mod health_prometheus;
mod health_triggers;
mod journal_durability;
mod journal_storage;
mod layering;
mod notify_crash;
mod notify_delivery;
mod release_link;
mod runner_cli;
mod runtime_batching;
mod steady_health;
mod telling_notes;
mod telling_report;
mod tui_gates;
mod tui_snapshots;
mod tui_start;
mod tui_terminal;

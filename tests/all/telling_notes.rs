//! Release notes and the changelog: golden output of the default template and of
//! Keep a Changelog (with a rolled-back release `[YANKED]`), per-tier cumulative
//! notes, a runaway user template stopped by fuel, and a malformed one refused at
//! `config check` with its file and line.

use std::path::Path;
use std::process::Command;

use shipdeck::domain::notes::parse_notes_file;
use shipdeck::domain::{ReleaseNotes, ReleaseType, Version};
use shipdeck::engine::Phase;
use shipdeck::present::changelog::{self, ChangelogEntry};
use shipdeck::present::notes::{NotesDoc, NotesSource};

const NOTES: &str = "---
name: Login fix
date: 2026-11-21
---
Fixes the SSO login loop and patches the token parser.

## Notable changes
- fix(auth): login loop for SSO users
- security: patch CVE-2026-1234 in the token parser
- feat(api)!: tokens expire after 12 hours
- perf: cache the tenant lookup

## Migration steps
- Re-issue API tokens older than 12 hours.

## Known issues
- Safari 15 shows a blank avatar
";

fn v(s: &str) -> Version {
    s.parse().expect("version")
}

fn source(version: &str, t: ReleaseType, notes: Option<ReleaseNotes>) -> NotesSource {
    NotesSource {
        version: v(version),
        release_type: t,
        emergency: false,
        started: "2026-11-21".into(),
        notes,
    }
}

#[test]
fn default_release_notes_golden() {
    let notes = parse_notes_file(NOTES).expect("notes");
    let doc = NotesDoc::single(&source("v1.0.2", ReleaseType::BugFix, Some(notes)));
    let md = doc.markdown(&Default::default()).expect("render");
    insta::assert_snapshot!("default_release_notes", md);
    let slack = doc.slack(&Default::default()).expect("render");
    insta::assert_snapshot!("default_release_notes_slack", slack);
}

#[test]
fn a_tier_gets_everything_since_the_version_it_runs() {
    let older = ReleaseNotes {
        summary: "Faster dashboards.".into(),
        changes: vec![shipdeck::domain::notes::parse_commit(
            "perf(dash): render in half the time",
            "",
        )],
        ..ReleaseNotes::default()
    };
    let earlier = vec![
        source("v1.0.1", ReleaseType::Performance, Some(older)),
        source("v1.0.0", ReleaseType::BugFix, None),
    ];
    let this = source(
        "v1.0.2",
        ReleaseType::BugFix,
        Some(parse_notes_file(NOTES).expect("notes")),
    );
    // Enterprise still runs v1.0.0: it hears about v1.0.1 too.
    let ent = NotesDoc::cumulative(&this, &earlier, Some(&v("v1.0.0")), Some("enterprise"));
    assert_eq!(ent.versions, ["v1.0.2", "v1.0.1"]);
    let md = ent.markdown(&Default::default()).expect("render");
    assert!(md.contains("render in half the time — v1.0.1"), "{md}");
    assert!(
        md.contains("everything since v1.0.0 (v1.0.2, v1.0.1)"),
        "{md}"
    );
    // Startup already runs v1.0.1: only this release.
    let startup = NotesDoc::cumulative(&this, &earlier, Some(&v("v1.0.1")), Some("startup"));
    assert_eq!(startup.versions, ["v1.0.2"]);
    assert!(
        !startup
            .markdown(&Default::default())
            .expect("render")
            .contains("half the time")
    );
}

#[test]
fn changelog_golden_with_a_yanked_release() {
    let notes = parse_notes_file(NOTES).expect("notes");
    let entries = vec![
        ChangelogEntry {
            version: v("v1.0.1"),
            release_type: ReleaseType::Security,
            phase: Phase::Completed,
            date: "2026-11-16".into(),
            notes: None,
        },
        ChangelogEntry {
            version: v("v1.0.2"),
            release_type: ReleaseType::BugFix,
            phase: Phase::RolledBack,
            date: "2026-11-18".into(),
            notes: Some(ReleaseNotes {
                changes: vec![shipdeck::domain::notes::parse_commit(
                    "fix: retry the billing export",
                    "",
                )],
                ..ReleaseNotes::default()
            }),
        },
        ChangelogEntry {
            version: v("v1.0.3"),
            release_type: ReleaseType::BugFix,
            phase: Phase::Completed,
            date: "2026-11-21".into(),
            notes: Some(notes),
        },
        ChangelogEntry {
            version: v("v1.0.4"),
            release_type: ReleaseType::Documentation,
            phase: Phase::Aborted,
            date: "2026-11-22".into(),
            notes: None,
        },
    ];
    let text = changelog::render(&entries);
    assert!(text.contains("## [1.0.2] - 2026-11-18 [YANKED]"));
    assert!(
        !text.contains("1.0.4"),
        "an aborted release was never released"
    );
    insta::assert_snapshot!("changelog", text);
}

fn shipdeck(config: &Path, state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--config").arg(config).arg("--state-dir").arg(state);
    c.env("USER", "alice").env_remove("NO_COLOR");
    c
}

fn config_dir(dir: &Path) {
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    for (name, text) in shipdeck::config::builtin_files() {
        std::fs::write(dir.join(name), text).expect("write config");
    }
}

#[test]
fn config_check_refuses_a_malformed_template_and_a_url_in_config() {
    let tmp = tempfile::tempdir().expect("dir");
    let cfg = tmp.path().join("config");
    config_dir(&cfg);
    std::fs::write(
        cfg.join("templates/release-notes.md.j2"),
        "# {{ release.title }}\n\n{% for c in notes.groups %}\n- {{ c.heading }\n{% endfor %}\n",
    )
    .expect("template");
    std::fs::write(
        cfg.join("notifications.json"),
        "{\n  \"channels\": {\n    \"ops\": {\"kind\": \"slack\", \"url_env\": \"https://hooks.slack.com/services/T0/B0/SECRET\"}\n  },\n  \"routes\": [{\"channel\": \"opz\"}]\n}\n",
    )
    .expect("notifications");
    let out = shipdeck(&cfg, &tmp.path().join("state"))
        .args(["config", "check"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let tmpl = format!(
        "{}:4: template syntax error",
        cfg.join("templates/release-notes.md.j2").display()
    );
    assert!(err.contains(&tmpl), "{err}");
    let n = cfg.join("notifications.json").display().to_string();
    assert!(
        err.contains(&format!("{n}:3:"))
            && err.contains("channels.ops.url_env: this names the environment variable"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{n}:5:"))
            && err.contains("routes[0].channel: unknown channel `opz`"),
        "{err}"
    );
    assert!(!err.contains("SECRET"), "the URL is not echoed: {err}");
}

#[test]
fn a_template_that_loops_for_ever_is_stopped_by_fuel() {
    let tmp = tempfile::tempdir().expect("dir");
    let (cfg, state) = (tmp.path().join("config"), tmp.path().join("state"));
    config_dir(&cfg);
    std::fs::write(
        cfg.join("templates/release-notes.md.j2"),
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ a }}{% endfor %}{% endfor %}\n",
    )
    .expect("template");
    let check = shipdeck(&cfg, &state)
        .args(["config", "check"])
        .output()
        .expect("run");
    assert_eq!(
        check.status.code(),
        Some(0),
        "it parses; only running it hangs"
    );
    let dry = shipdeck(&cfg, &state)
        .args([
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "startup",
            "--speed",
            "40000",
            "--yes",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("deploy");
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let notes = shipdeck(&cfg, &state)
        .args(["notes", "--version", "v1.0.1"])
        .output()
        .expect("notes");
    assert_eq!(notes.status.code(), Some(2));
    let err = String::from_utf8_lossy(&notes.stderr);
    assert!(
        err.contains("release-notes.md.j2: the template ran out of fuel"),
        "{err}"
    );
}

mod cockpit {
    //! The notes in the cockpit: `n` shows them, `a` on a release with notes shows
    //! the signer what they sign before Enter signs, `R` asks for the report.

    use chrono::{DateTime, Utc};
    use crossterm::event::KeyCode;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use shipdeck::domain::ReleaseType;
    use shipdeck::engine::{self, Command, ReleasePlan, ReleaseState, Selection};
    use shipdeck::tui::app::{App, Outgoing};
    use shipdeck::tui::input::key;
    use shipdeck::tui::theme::Theme;
    use shipdeck::tui::view;

    fn t0() -> DateTime<Utc> {
        "2026-11-16T10:00:00Z".parse().expect("t")
    }

    fn state() -> ReleaseState {
        let cfg = shipdeck::config::load_builtin().expect("config");
        let mut plan = ReleasePlan::build(
            &cfg,
            "v1.1.0".parse().expect("v"),
            ReleaseType::Minor,
            Selection::All,
            false,
        )
        .expect("plan");
        plan.notes = Some(shipdeck::domain::notes::parse_notes_file(super::NOTES).expect("notes"));
        ReleaseState::fold([&engine::plan_event(plan, "alice", t0())]).expect("fold")
    }

    fn screen(state: &ReleaseState, app: &App) -> String {
        let area = Rect::new(0, 0, 100, 30);
        let mut buf = Buffer::empty(area);
        view::draw(&mut buf, area, state, t0(), app, &Theme::monochrome());
        (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn notes_on_a_key_and_in_the_approval() {
        let s = state();
        let mut app = App::new("bob", false, false);
        assert_eq!(app.on_key(key(KeyCode::Char('n')), &s, t0()), None);
        let shown = screen(&s, &app);
        assert!(shown.contains("Release notes · v1.1.0"), "{shown}");
        assert!(shown.contains("tokens expire after 12 hours"), "{shown}");
        assert_eq!(app.on_key(key(KeyCode::Esc), &s, t0()), None);
        assert!(app.page.is_none());

        // `a`: the signer sees the notes, and only Enter (or y) signs.
        assert_eq!(app.on_key(key(KeyCode::Char('a')), &s, t0()), None);
        let shown = screen(&s, &app);
        assert!(shown.contains("What you sign"), "{shown}");
        assert!(shown.contains("Login fix"), "{shown}");
        assert!(shown.contains("enter or y signs"), "{shown}");
        assert_eq!(app.on_key(key(KeyCode::Char('j')), &s, t0()), None);
        let out = app.on_key(key(KeyCode::Enter), &s, t0());
        assert!(
            matches!(out, Some(Outgoing::Command(Command::Approve { .. }))),
            "{out:?}"
        );
        assert!(app.page.is_none());

        assert_eq!(
            app.on_key(key(KeyCode::Char('R')), &s, t0()),
            Some(Outgoing::ShowReport)
        );
    }
}

#[tokio::test]
async fn notes_from_git_are_the_commits_since_the_previous_tag_grouped() {
    let tmp = tempfile::tempdir().expect("dir");
    let repo = tmp.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "feat: first release"]);
    git(&["tag", "v1.0.0"]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "fix(auth): login loop",
    ]);
    git(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat(api): short-lived tokens",
        "-m",
        "BREAKING CHANGE: tokens expire after 12 hours",
    ]);
    git(&["commit", "-q", "--allow-empty", "-m", "tidy up \x1b[31mred"]);
    let notes = shipdeck::adapters::git::notes_from_git(repo, &v("v1.0.1"))
        .await
        .expect("notes");
    let texts: Vec<&str> = notes.changes.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        ["login loop", "short-lived tokens", "tidy up \x1b[31mred"],
        "oldest first, nothing from before v1.0.0"
    );
    assert!(notes.changes[1].breaking);
    let doc = NotesDoc::single(&source("v1.0.1", ReleaseType::BugFix, Some(notes)));
    let md = doc.markdown(&Default::default()).expect("render");
    let breaking = md.find("### Breaking changes").expect("breaking");
    let fixes = md.find("### Fixes").expect("fixes");
    assert!(breaking < fixes, "breaking changes first:\n{md}");
    let shown = shipdeck::present::printable(&md);
    assert!(!shown.contains('\x1b'), "escaped when printed");

    let err = shipdeck::adapters::git::notes_from_git(&tmp.path().join("nope"), &v("v1.0.1"))
        .await
        .expect_err("not a repository");
    assert!(err.to_string().starts_with("git in "), "{err}");
}

//! The layering, held by a check that can fail: arrows point down only.
//!
//! - `domain/` and `engine/` are pure: no tokio, reqwest, axum, crossterm, ratatui,
//!   no file system, process, network or environment, no clock;
//! - `protocol/` (the attach wire types) is pure data over the engine's types, as
//!   pure as they are: the runtime frames and moves it;
//! - `runtime/` never imports `sim/` (the demo is behind the effect ports), nor the
//!   faces (`tui/`, `cli/`);
//! - `adapters/` and `sim/` never import the faces; `tui/` never imports `cli/`.
//!
//! Comments are ignored, so a doc that says "no tokio here" is not a violation, and
//! so is a file's `#[cfg(test)]` tail: unit tests may use anything.

use std::path::{Path, PathBuf};

struct Rule {
    dirs: &'static [&'static str],
    /// Substrings (after comments are stripped) that must not appear.
    forbidden: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        dirs: &["src/domain", "src/engine"],
        forbidden: &[
            "tokio::",
            "use tokio",
            "reqwest",
            "axum",
            "crossterm",
            "ratatui",
            "std::fs",
            "std::{fs",
            "std::net",
            "std::process",
            "std::env",
            "std::thread",
            "Utc::now",
            "Local::now",
            "SystemTime",
            "Instant::now",
            "crate::runtime",
            "crate::adapters",
            "crate::sim",
            "crate::tui",
            "crate::cli",
            "crate::config",
        ],
        why: "domain/ and engine/ are pure: no I/O, no async runtime, no clock",
    },
    Rule {
        dirs: &["src/protocol"],
        forbidden: &[
            "tokio::",
            "use tokio",
            "tokio_util",
            "reqwest",
            "axum",
            "crossterm",
            "ratatui",
            "std::fs",
            "std::{fs",
            "std::net",
            "std::os",
            "std::process",
            "std::env",
            "std::thread",
            "Utc::now",
            "Instant::now",
            "crate::runtime",
            "crate::adapters",
            "crate::sim",
            "crate::tui",
            "crate::cli",
        ],
        why: "protocol/ is pure data: the runtime does the I/O",
    },
    Rule {
        dirs: &["src/runtime"],
        forbidden: &["crate::sim", "sim::", "crate::tui", "crate::cli"],
        why: "runtime/ knows the ports, never the demo or the faces",
    },
    Rule {
        dirs: &["src/adapters", "src/sim"],
        forbidden: &["crate::tui", "crate::cli"],
        why: "adapters/ and sim/ sit below the faces",
    },
    Rule {
        dirs: &["src/tui"],
        forbidden: &["crate::cli"],
        why: "tui/ is a face; the CLI wires it, not the other way round",
    },
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of `line` without its `//` comment (a `//` inside a string literal is
/// rare enough in these layers to be taken as a comment: it only hides code).
fn code_of(line: &str) -> &str {
    line.find("//").map_or(line, |i| &line[..i])
}

/// Violations of `rule` in one file's text, as `path:line: text`.
fn check_text(rule: &Rule, path: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // A module's own unit tests may use anything (they are not the layer).
        if line.trim() == "#[cfg(test)]" {
            break;
        }
        let code = code_of(line);
        if let Some(needle) = rule.forbidden.iter().find(|f| code.contains(*f)) {
            out.push(format!(
                "{path}:{}: `{needle}` ({}): {}",
                n + 1,
                rule.why,
                line.trim()
            ));
        }
    }
    out
}

#[test]
fn layers_point_down_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut violations = Vec::new();
    let mut scanned = 0;
    for rule in RULES {
        for dir in rule.dirs {
            let mut files = Vec::new();
            rust_files(&root.join(dir), &mut files);
            assert!(!files.is_empty(), "no Rust files under {dir}: check moved?");
            for file in files {
                let text = std::fs::read_to_string(&file).expect("read source");
                let shown = file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string();
                violations.extend(check_text(rule, &shown, &text));
                scanned += 1;
            }
        }
    }
    assert!(scanned > 20, "scanned only {scanned} files");
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}

#[test]
fn a_planted_import_is_caught_and_a_comment_is_not() {
    let planted = "use crate::domain::Version;\nuse tokio::sync::mpsc;\n";
    let found = check_text(&RULES[0], "src/engine/planted.rs", planted);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/engine/planted.rs:2: `tokio::`"));

    let fs = check_text(&RULES[0], "src/domain/x.rs", "let t = std::fs::read(p);");
    assert_eq!(fs.len(), 1, "{fs:?}");
    let grouped = check_text(&RULES[0], "src/domain/x.rs", "use std::{fs, io};");
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    let sim = check_text(
        &RULES[2],
        "src/runtime/x.rs",
        "use crate::sim::FleetHandle;",
    );
    assert_eq!(sim.len(), 1, "{sim:?}");

    let comment = "//! Pure: never imports tokio:: or std::fs.\nlet x = 1; // not Utc::now\n";
    assert!(check_text(&RULES[0], "src/engine/doc.rs", comment).is_empty());
    let tail = "fn pure() {}\n#[cfg(test)]\nmod tests { use tokio::time; }\n";
    assert!(check_text(&RULES[0], "src/engine/t.rs", tail).is_empty());
}

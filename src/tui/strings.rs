//! Every user-facing string of the cockpit, in one place.
//!
//! Kept together (as gitui does) so the wording stays consistent across panes,
//! dialogs and the help overlay, and so a reviewer can read what an operator will
//! read without hunting through layout code. Texts that come from the engine (gate
//! descriptions, refusals, decision lines) are not here: the engine owns them.

use super::keys::Action;
use crate::engine::Command;

/// The key map shown in the help overlay and the README: (keys, what they do).
pub const KEY_HELP: &[(&str, &str)] = &[
    ("a", "sign the selected wave's gate, or pick a pending one"),
    (
        "p",
        "pause at once / resume (asks why; required after a stop)",
    ),
    (
        "r",
        "roll back a customer, its wave or all (asks why, confirms)",
    ),
    (
        "A",
        "abort the release (asks why and the version, confirms)",
    ),
    ("s", "skip the wait of the selected / next wave (asks why)"),
    (
        "x space  u",
        "tick / untick (asks why) the selected checklist item",
    ),
    (
        "[  ]",
        "checklist: previous / next list (gating items first)",
    ),
    (
        "i",
        "report a critical issue on the selected customer (confirms)",
    ),
    (
        "e",
        "declare an emergency: all tiers right after demo (confirms)",
    ),
    ("c", "confirm waves held as overdue"),
    (
        "n  R  N",
        "release notes / release report / resend failed notices",
    ),
    ("f", "demo only: inject a fault into the selected customer"),
    ("l", "the selected customer's deploy log (its tail)"),
    ("tab  shift-tab", "focus the next / previous pane"),
    ("j k  up down", "move the selection, scroll"),
    ("g  G", "first / last"),
    (
        "/  o",
        "filter customers (enter keeps, esc clears) / sort by status",
    ),
    (
        "esc  enter",
        "close a dialog, filter, message; enter: a log line in full",
    ),
    (
        "v",
        "evidence: the selected customer's trigger, queries, values",
    ),
    ("?", "show / hide this help"),
    ("q  ctrl-c", "quit (asks while the release is running)"),
    (
        "in a dialog",
        "tab, arrows, h/l move; enter picks; y yes, n or esc no",
    ),
];

pub const HELP_TITLE: &str = " Keys ";
pub const HELP_FOOTER: &str = "esc or ? closes this help";

pub const PANE_TIMELINE: &str = "Timeline";
pub const PANE_CHECKLIST: &str = "Checklist";
pub const PANE_HEALTH: &str = "Health";
pub const PANE_LOG: &str = "Decision log";

pub const LOG_EMPTY: &str = "no decisions yet";
pub const CHECKLIST_NONE: &str = "no checklist applies now";
pub const CHECKLIST_NO_GATES: &str = "nothing gates what comes next; ] for the lists";
pub const HEALTH_NO_MATCH: &str = "no customer matches the filter";
pub const VALIDATION: &str = "validation";

/// Footer keys, one entry per key. The footer drops entries from the end of the
/// pane's list (never the global ones) when the terminal is too narrow.
pub const FOOTER_GLOBAL: &[&str] = &["tab focus", "? help", "q quit"];
/// When the full footer does not fit.
pub const FOOTER_GLOBAL_SHORT: &[&str] = &["? help", "q quit"];
pub const FOOTER_TIMELINE: &[&str] = &["a approve", "p pause", "r rollback", "s skip", "A abort"];
pub const FOOTER_TIMELINE_PAUSED: &[&str] =
    &["a approve", "p resume", "r rollback", "s skip", "A abort"];
pub const FOOTER_CHECKLIST: &[&str] = &["x tick", "[ ] lists", "u untick", "j/k move"];
pub const FOOTER_HEALTH: &[&str] = &["/ filter", "o sort", "i issue", "r rollback"];
pub const FOOTER_HEALTH_DEMO: &[&str] = &["/ filter", "o sort", "i issue", "f fault", "r rollback"];
pub const FOOTER_LOG: &[&str] = &["enter in full", "j/k scroll", "g/G newest/oldest"];
pub const FOOTER_LOG_DETAIL: &[&str] = &["j/k previous/next", "enter/esc close"];
pub const LOG_DETAIL_TITLE: &str = " Decision ";
pub const LOG_DETAIL_HINT: &str = "j/k: newer / older · enter or esc closes";
pub const FOOTER_TIMELINE_COMPLETED: &[&str] = &["r rollback", "[ ] lists"];
pub const FOOTER_HEALTH_COMPLETED: &[&str] = &["/ filter", "o sort", "r rollback"];
pub const FOOTER_HEALTH_ENDED: &[&str] = &["/ filter", "o sort"];
pub const FOOTER_CHECKLIST_ENDED: &[&str] = &["x tick follow-ups", "[ ] lists", "j/k move"];
pub const FOOTER_ENDED: &[&str] = &["[ ] lists", "j/k move"];
pub const FOOTER_DIALOG: &[&str] = &["tab move", "enter choose", "esc cancel"];
pub const FOOTER_QUIT: &[&str] = &["y quit", "n/esc stay", "tab move", "enter choose"];
pub const FOOTER_FILTER: &[&str] = &["type to filter", "enter keep", "esc clear"];
pub const FOOTER_HELP: &[&str] = &["esc or ? close help", "q quit"];
pub const FOOTER_EVIDENCE: &[&str] = &["esc or v close", "j/k scroll", "q quit"];

pub const EVIDENCE_TITLE: &str = " Evidence ";
pub const EVIDENCE_NO_TRIGGER: &str = "no trigger has fired on this customer";
pub const EVIDENCE_NO_SOURCE: &str =
    "its health source is not a queried one: the samples are the evidence";
pub const EVIDENCE_FOOTER: &str = "esc or v closes · j/k scroll";

pub const BUTTON_CANCEL: &str = "Cancel";
/// The hint under a dialog's buttons, on the buttons.
pub const DIALOG_HINT: &str = "tab moves · enter picks the marked button · esc cancels";
/// In a field of a dialog that Enter does not submit from.
pub const DIALOG_HINT_FIELD: &str = "enter or tab: next field · esc cancels";

/// In the reason of a dialog that Enter submits from (skip wait, resume).
pub fn dialog_hint_submit(confirm: &str) -> String {
    format!("enter: {confirm} · tab moves · esc cancels")
}
pub const QUIT_HINT: &str = "y quits · n or esc stays · tab moves · enter picks";

pub const PAUSE_REASON: &str = "paused from the cockpit";
pub const REASON_REQUIRED: &str = "a reason is required: say why, it goes in the decision log";
pub const NO_CUSTOMER: &str = "no customer selected (tab to Health, j/k to pick one)";
pub const NO_ITEM: &str = "no checklist item selected";
pub const NO_TICK: &str = "the selected item is not ticked; u takes back a tick";
pub const TICK_NEEDS_FOCUS: &str =
    "x ticks the selected checklist item: tab to the Checklist first";
pub const FAULT_DEMO_ONLY: &str = "f injects faults only in `shipdeck demo`";
pub const TOO_SMALL_KEYS: &str = "enlarge the terminal to use the cockpit; q quits";
pub const RUNTIME_STOPPED: &str = "the release is no longer running here; q leaves the cockpit";

pub fn readonly_refusal(what: &str) -> String {
    format!("read-only: `{what}` is not available (the cockpit was opened with --readonly)")
}

/// The key of an action that acts on the release, for read-only refusals.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Approve => "a approve",
        Action::PauseResume => "p pause/resume",
        Action::Rollback => "r rollback",
        Action::Abort => "A abort",
        Action::SkipWait => "s skip wait",
        Action::Tick => "x tick",
        Action::ReportIssue => "i report issue",
        Action::Emergency => "e emergency",
        Action::ConfirmOverdue => "c confirm overdue",
        Action::RetryNotices => "N retry notices",
        Action::Notes => "n notes",
        Action::Report => "R report",
        Action::InjectFault => "f fault",
        Action::Untick => "u untick",
        Action::NextList => "] next list",
        Action::PrevList => "[ previous list",
        Action::Open => "enter",
        Action::DeployLog => "l deploy log",
        Action::FocusNext => "tab",
        Action::FocusPrev => "shift-tab",
        Action::Down => "j down",
        Action::Up => "k up",
        Action::Top => "g first",
        Action::Bottom => "G last",
        Action::Filter => "/ filter",
        Action::Sort => "o sort",
        Action::Back => "esc",
        Action::Help => "? help",
        Action::Quit => "q quit",
        Action::Evidence => "v evidence",
    }
}

pub fn refused(text: &str) -> String {
    format!("refused: {text}")
}

pub fn version_mismatch(version: &str, what: &str) -> String {
    format!("type the release version {version} exactly to {what}")
}
pub const VERSION_FOR_ROLLBACK_ALL: &str = "roll back everything";
pub const VERSION_FOR_ABORT: &str = "abort the release";

/// The quit question when the release can be left to a background runner.
pub fn quit_question_background() -> Vec<String> {
    [
        "Quit the cockpit while the release is running?",
        "  b  leave it running: a background runner takes it over;",
        "     anyone can `shipdeck attach`, approve from any terminal",
        "  y  stop here and quit: nothing advances until it is opened",
        "     again (waves that come due meanwhile wait to be confirmed)",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect()
}

pub const QUIT_HINT_BACKGROUND: &str =
    "b leaves it running · y stops it and quits · n or esc stays";
pub const FOOTER_QUIT_BACKGROUND: &[&str] = &["b background", "y stop+quit", "n/esc stay"];

pub const MOVING: &str = "the release is moving to a background runner; following it…";
pub const MOVED: &str = "the release moved to a background runner; still attached to it";

pub fn joined(name: &str, readonly: bool) -> String {
    let name = crate::protocol::clean_text(name, 64);
    if readonly {
        format!("{name} joined (watching)")
    } else {
        format!("{name} joined")
    }
}

pub fn left(name: &str) -> String {
    format!("{} left", crate::protocol::clean_text(name, 64))
}

pub fn captain_taken(by: &str) -> String {
    format!(
        "{} took over as captain",
        crate::protocol::clean_text(by, 64)
    )
}

pub fn quit_question(running: bool) -> Vec<String> {
    if running {
        vec![
            "Quit the cockpit while the release is running?".to_string(),
            "The release keeps its journal and resumes when you open it again;".to_string(),
            "while no cockpit is open, nothing advances.".to_string(),
        ]
    } else {
        vec!["Quit the cockpit?".to_string()]
    }
}

/// What the message line says when the engine accepted a command.
pub fn accepted(command: &Command) -> String {
    match command {
        Command::TickItem { item, .. } => format!("ticked {item}"),
        Command::UntickItem { item, .. } => format!("unticked {item}; recorded with your reason"),
        Command::Approve {
            wave: Some(w),
            role: Some(r),
        } => format!("signed wave {w} as {r}"),
        Command::Approve { wave: Some(w), .. } => format!("signed wave {w}"),
        Command::Approve { wave: None, .. } => "signed the pending gate".into(),
        Command::SkipWait { .. } => "wait skipped; recorded with your reason".into(),
        Command::Pause { .. } => "paused: no new deploys start until you resume (p)".into(),
        Command::Resume { .. } => "resumed: deploys start again as their gates allow".into(),
        Command::Rollback {
            scope, force: true, ..
        } => format!("forced rollback of {scope} requested"),
        Command::Rollback { scope, .. } => format!("rollback of {scope} requested"),
        Command::Abort { .. } => "release aborted: no more deploys start".into(),
        Command::Emergency {
            override_windows, ..
        } if !override_windows.is_empty() => {
            let names: Vec<&str> = override_windows.iter().map(|c| c.as_str()).collect();
            format!(
                "emergency declared; windows overridden for {}",
                names.join(", ")
            )
        }
        Command::Emergency { .. } => {
            "emergency declared; window-bound customers keep their windows".into()
        }
        Command::ReportIssue { customer, .. } => format!("issue on {customer} reported"),
        Command::ConfirmOverdue => "overdue waves confirmed; they start now".into(),
        Command::RetryNotices => "failed notices queued again; they are being resent".into(),
        Command::TakeOver => "you are the captain now".into(),
    }
}

/// The key each command is bound to, for read-only refusals.
pub fn key_name(command: &Command) -> &'static str {
    match command {
        Command::TickItem { .. } => "x tick",
        Command::UntickItem { .. } => "u untick",
        Command::Approve { .. } => "a approve",
        Command::SkipWait { .. } => "s skip wait",
        Command::Pause { .. } | Command::Resume { .. } => "p pause/resume",
        Command::Rollback { .. } => "r rollback",
        Command::Abort { .. } => "A abort",
        Command::Emergency { .. } => "e emergency",
        Command::ReportIssue { .. } => "i report issue",
        Command::ConfirmOverdue => "c confirm overdue",
        Command::RetryNotices => "N retry notices",
        Command::TakeOver => "take over",
    }
}

pub const PAGE_FOOTER: &str = "j/k scroll · esc close";
pub const APPROVE_FOOTER: &str = "enter or y signs · j/k scroll · esc cancel";
pub const NO_NOTES: &str =
    "No release notes were given for this release (start it with --notes FILE or --git DIR).";
pub const NO_REPORT: &str = "no report here: it is read from the state dir's journals";

pub fn notes_title(version: &str) -> String {
    format!("Release notes · {version}")
}

pub fn approve_title(wave: Option<&str>, version: &str) -> String {
    match wave {
        Some(w) => format!("Sign wave {w} of {version}? What you sign:"),
        None => format!("Sign the next gate of {version}? What you sign:"),
    }
}

pub const DIALOG_ROLLBACK: &str = " Roll back ";
pub const DIALOG_UNTICK: &str = " Untick ";
pub const BUTTON_UNTICK: &str = "Untick";
pub fn untick_intro(key: &str) -> String {
    format!("Take back the tick of {key}: what it gates waits for it again.")
}
pub const DIALOG_APPROVE: &str = " Sign a gate ";
pub const BUTTON_APPROVE: &str = "Sign";
pub const LABEL_CHOICE: &str = "Gate (j/k):";
pub const LABEL_OVERRIDE: &str = "Held to their own windows (shift-tab, space ticks):";
pub const OVERRIDE_ON: &str = "deploys NOW, outside it";
pub const OVERRIDE_OFF: &str = "keeps it";
pub const DIALOG_ISSUE: &str = " Report a critical issue ";
pub const DIALOG_EMERGENCY: &str = " Declare an emergency ";
pub const DIALOG_SKIP: &str = " Skip the wait ";
pub const DIALOG_RESUME: &str = " Resume after a stop ";
pub const DIALOG_RESUME_PAUSE: &str = " Resume ";
pub const DIALOG_ABORT: &str = " Abort the release ";
pub const DIALOG_QUIT: &str = " Quit ";
pub const LABEL_SCOPE: &str = "Scope (j/k):";
pub const LABEL_REASON: &str = "Reason: ";
pub const BUTTON_ROLLBACK: &str = "Roll back";
pub const BUTTON_FORCE_ROLLBACK: &str = "Force roll back";
pub const BUTTON_ABORT: &str = "Abort release";
pub const BUTTON_REPORT: &str = "Report";
pub const BUTTON_EMERGENCY: &str = "Declare";
pub const BUTTON_SKIP: &str = "Skip";
pub const BUTTON_RESUME: &str = "Resume";
pub const BUTTON_QUIT: &str = "Quit";

pub fn label_type_version(version: &str) -> String {
    format!("Type {version} to confirm: ")
}

pub fn issue_intro(name: &str) -> String {
    format!("{name}: the engine rolls it back and pauses the release.")
}
pub const EMERGENCY_INTRO: &str =
    "Every remaining tier starts right after demo; approvals are skipped.";
pub fn skip_intro(wave: Option<&str>) -> String {
    match wave {
        Some(w) => format!("Wave {w} starts as soon as its other gates allow."),
        None => "The next waiting wave starts as soon as its other gates allow.".into(),
    }
}
pub const RESUME_INTRO: &str = "The release stopped on its own; say why it is safe to go on.";
pub const RESUME_PAUSE_INTRO: &str = "Deploys start again as their gates allow.";
pub const ABORT_INTRO: &str = "Ends the release: nothing more deploys; r rolls customers back.";
pub const FORCE_INTRO: &str = "Forcing it: the rollback is recorded as forced, with your reason.";
pub const LABEL_REASON_OPTIONAL: &str = "Reason (optional): ";

/// The deploy log overlay.
pub const DEPLOY_LOG_FOOTER: &str = "l or esc closes · j k another customer";
pub const DEPLOY_LOG_NONE: &str =
    "no deploy log yet: it is written when a command or webhook deploy of this customer runs";

/// Said while the cockpit waits for deploys in flight before it leaves.
pub fn waiting_to_leave(names: &[String]) -> String {
    format!(
        "waiting for {} deploy{} in flight to finish: {} — q or ctrl-c again leaves {} running (journaled as in flight)",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        if names.len() == 1 { "it" } else { "them" }
    )
}

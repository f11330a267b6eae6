//! Keys → actions. The default bindings live here, in code, as one table.
//!
//! The cockpit maps a key press to an [`Action`] first and decides what the action
//! means in context afterwards (in `app`), so the binding table can be tested on
//! its own, shown in the help overlay, and later overridden by a user's key file
//! without touching the handlers. Actions are plain letters (no Ctrl/Alt chords:
//! they collide with tmux and terminal shortcuts over ssh); the one exception is
//! Ctrl-C, which raw mode delivers as a key and which must quit like `q`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    PauseResume,
    Rollback,
    Abort,
    SkipWait,
    Tick,
    ReportIssue,
    Emergency,
    ConfirmOverdue,
    /// Resend notices whose delivery failed.
    RetryNotices,
    /// Show the release notes.
    Notes,
    /// Show the release report.
    Report,
    InjectFault,
    /// Take back the tick of the selected checklist item (asks why).
    Untick,
    /// The next / previous checklist view (gating items, then each list).
    NextList,
    PrevList,
    /// Enter: the selected decision-log line in full.
    Open,
    /// Show the selected customer's deploy log (its tail).
    DeployLog,
    FocusNext,
    FocusPrev,
    Down,
    Up,
    Top,
    Bottom,
    Filter,
    Sort,
    Back,
    Help,
    Quit,
    /// The selected customer's evidence: its last trigger, its health source's
    /// queries and the values they gave.
    Evidence,
}

impl Action {
    /// Actions that act on the release (or, in the demo, on the fleet): refused in
    /// read-only mode. The others only move the operator's view.
    pub fn acts(self) -> bool {
        matches!(
            self,
            Action::Approve
                | Action::PauseResume
                | Action::Rollback
                | Action::Abort
                | Action::SkipWait
                | Action::Tick
                | Action::ReportIssue
                | Action::Emergency
                | Action::ConfirmOverdue
                | Action::RetryNotices
                | Action::InjectFault
                | Action::Untick
        )
    }
}

/// The default bindings: (key code, action). Matching ignores Shift so `G` arrives
/// the same from every terminal.
pub const DEFAULT_BINDINGS: &[(KeyCode, Action)] = &[
    (KeyCode::Char('a'), Action::Approve),
    (KeyCode::Char('p'), Action::PauseResume),
    (KeyCode::Char('r'), Action::Rollback),
    (KeyCode::Char('A'), Action::Abort),
    (KeyCode::Char('s'), Action::SkipWait),
    (KeyCode::Char('x'), Action::Tick),
    (KeyCode::Char(' '), Action::Tick),
    (KeyCode::Char('i'), Action::ReportIssue),
    (KeyCode::Char('e'), Action::Emergency),
    (KeyCode::Char('c'), Action::ConfirmOverdue),
    (KeyCode::Char('N'), Action::RetryNotices),
    (KeyCode::Char('n'), Action::Notes),
    (KeyCode::Char('R'), Action::Report),
    (KeyCode::Char('f'), Action::InjectFault),
    (KeyCode::Char('u'), Action::Untick),
    (KeyCode::Char(']'), Action::NextList),
    (KeyCode::Char('['), Action::PrevList),
    (KeyCode::Enter, Action::Open),
    (KeyCode::Char('l'), Action::DeployLog),
    (KeyCode::Tab, Action::FocusNext),
    (KeyCode::BackTab, Action::FocusPrev),
    (KeyCode::Char('j'), Action::Down),
    (KeyCode::Down, Action::Down),
    (KeyCode::Char('k'), Action::Up),
    (KeyCode::Up, Action::Up),
    (KeyCode::Char('g'), Action::Top),
    (KeyCode::Home, Action::Top),
    (KeyCode::Char('G'), Action::Bottom),
    (KeyCode::End, Action::Bottom),
    (KeyCode::Char('/'), Action::Filter),
    (KeyCode::Char('o'), Action::Sort),
    (KeyCode::Esc, Action::Back),
    (KeyCode::Char('?'), Action::Help),
    (KeyCode::Char('v'), Action::Evidence),
    (KeyCode::Char('q'), Action::Quit),
];

/// True for Ctrl-C, which raw mode turns into a key press instead of SIGINT.
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('C'))
}

/// The action a key press means on the main screen (no dialog, no text field).
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if is_ctrl_c(key) {
        return Some(Action::Quit);
    }
    // Any other chord is not ours: a stray Ctrl-A must not approve a wave.
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER)
    {
        return None;
    }
    DEFAULT_BINDINGS
        .iter()
        .find(|(code, _)| *code == key.code)
        .map(|(_, action)| *action)
}

/// The index after (or before) `i` in a ring of `n` (Tab, Shift-Tab, ←/→ cycling).
pub fn step_around(i: usize, n: usize, forward: bool) -> usize {
    match (n, forward) {
        (0, _) => 0,
        (_, true) => (i + 1) % n,
        (_, false) => (i + n - 1) % n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::input::key;

    fn k(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    #[test]
    fn action_letters_map_to_their_actions() {
        let cases = [
            ('a', Action::Approve),
            ('p', Action::PauseResume),
            ('r', Action::Rollback),
            ('A', Action::Abort),
            ('s', Action::SkipWait),
            ('x', Action::Tick),
            (' ', Action::Tick),
            ('i', Action::ReportIssue),
            ('e', Action::Emergency),
            ('c', Action::ConfirmOverdue),
            ('f', Action::InjectFault),
            ('u', Action::Untick),
            (']', Action::NextList),
            ('[', Action::PrevList),
            ('j', Action::Down),
            ('k', Action::Up),
            ('g', Action::Top),
            ('/', Action::Filter),
            ('o', Action::Sort),
            ('?', Action::Help),
            ('q', Action::Quit),
        ];
        for (c, action) in cases {
            assert_eq!(action_for(&k(c)), Some(action), "key {c:?}");
        }
    }

    #[test]
    fn shifted_g_goes_to_the_bottom_whatever_the_terminal_reports() {
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(action_for(&k('G')), Some(Action::Bottom));
    }

    #[test]
    fn capital_a_aborts_and_small_a_approves() {
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Action::Abort)
        );
        assert_eq!(action_for(&k('a')), Some(Action::Approve));
    }

    #[test]
    fn only_actions_on_the_release_count_as_acting() {
        for (_, action) in DEFAULT_BINDINGS {
            let navigation = matches!(
                action,
                Action::FocusNext
                    | Action::FocusPrev
                    | Action::Down
                    | Action::Up
                    | Action::Top
                    | Action::Bottom
                    | Action::Filter
                    | Action::Sort
                    | Action::NextList
                    | Action::PrevList
                    | Action::Open
                    | Action::Back
                    | Action::Help
                    | Action::DeployLog
                    | Action::Notes
                    | Action::Report
                    | Action::Quit
                    | Action::Evidence
            );
            assert_eq!(action.acts(), !navigation, "{action:?}");
        }
    }

    #[test]
    fn navigation_keys() {
        assert_eq!(action_for(&key(KeyCode::Tab)), Some(Action::FocusNext));
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::FocusPrev)
        );
        assert_eq!(action_for(&key(KeyCode::Down)), Some(Action::Down));
        assert_eq!(action_for(&key(KeyCode::Up)), Some(Action::Up));
        assert_eq!(action_for(&key(KeyCode::Esc)), Some(Action::Back));
    }

    #[test]
    fn ctrl_c_quits_but_other_chords_do_nothing() {
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('r'), KeyModifiers::ALT)),
            None
        );
        assert_eq!(action_for(&k('z')), None);
    }

    #[test]
    fn every_binding_is_in_the_help() {
        let help: String = crate::tui::strings::KEY_HELP
            .iter()
            .map(|(k, _)| format!("{k} "))
            .collect();
        for (code, _) in DEFAULT_BINDINGS {
            let name = match code {
                KeyCode::Char(' ') => "space".to_string(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Tab => "tab".into(),
                KeyCode::BackTab => "shift-tab".into(),
                KeyCode::Down => "down".into(),
                KeyCode::Up => "up".into(),
                KeyCode::Esc => "esc".into(),
                KeyCode::Enter => "enter".into(),
                KeyCode::Home => "g".into(),
                KeyCode::End => "G".into(),
                other => panic!("unnamed binding {other:?}"),
            };
            assert!(
                help.split_whitespace().any(|w| w == name),
                "{name} missing from KEY_HELP"
            );
        }
    }
}

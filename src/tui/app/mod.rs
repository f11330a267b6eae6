//! View state of the cockpit: focus, selections, scroll, filter, dialogs and the
//! message line — and the translation of key presses into engine commands.
//!
//! Nothing here decides anything about the rollout. A key becomes a [`Command`] the
//! runtime sends to the engine; whether it is allowed is the engine's call, and its
//! refusal text comes back to the message line. The only checks made here are about
//! the operator's input (a reason typed, the version typed for a full rollback or an
//! abort), because they concern the dialog, not the release.
//!
//! - this module: the app's state (focus, overlays, message line) and key dispatch;
//! - [`dialogs`]: the dialogs, their keyboard contract, and what a confirm sends;
//! - [`selection`]: what is selected (waves, items, customers, the filter and sort)
//!   and the checklist that matters now.

mod dialogs;
mod selection;
#[cfg(test)]
mod tests;

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::CustomerId;
use crate::engine::{Command, PauseCause, ReleaseState, RollbackScope, WaveStatus};
use crate::runtime::driver::SendError;
use crate::tui::keys::{self, Action};
use crate::tui::strings;

pub use dialogs::{Choice, Dialog, DialogKind, Field};
pub use selection::{current_checklist, rolling_back, status_rank};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Timeline,
    Checklist,
    Health,
    Log,
}

impl Focus {
    pub const ORDER: [Focus; 4] = [Focus::Timeline, Focus::Checklist, Focus::Health, Focus::Log];

    fn index(self) -> usize {
        Self::ORDER.iter().position(|f| *f == self).unwrap_or(0)
    }
    pub fn next(self) -> Focus {
        Self::ORDER[(self.index() + 1) % Self::ORDER.len()]
    }
    pub fn prev(self) -> Focus {
        Self::ORDER[(self.index() + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    pub text: String,
}

/// A line of the log pane that is not a decision (someone joined or left): shown
/// among the decisions by time, never journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// The deploy log overlay's content.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployLogView {
    pub customer: CustomerId,
    pub name: String,
    /// The log's last lines, escaped; `None` when there is no log (yet).
    pub lines: Option<Vec<String>>,
}

/// What the loop must do after a key: send a command, call the demo's fault
/// injector, or leave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Command(Command),
    InjectFault(CustomerId),
    /// Show the release report (the cockpit asks whoever can read the journals).
    ShowReport,
    Quit,
    /// Quit, leaving the release running in a background runner.
    Background,
}

/// A text page over the cockpit (notes, report, what a signer signs).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: usize,
    pub footer: String,
    /// Enter or `y` signs this wave (the approval page).
    pub approve: Option<Option<crate::domain::TierName>>,
}

impl Page {
    pub fn text(title: impl Into<String>, text: &str) -> Page {
        Page {
            title: title.into(),
            lines: crate::present::printable(text)
                .lines()
                .map(str::to_string)
                .collect(),
            scroll: 0,
            footer: strings::PAGE_FOOTER.into(),
            approve: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub operator: String,
    pub readonly: bool,
    pub demo: bool,
    /// Offset for the local clock in the header; None shows UTC only (tests).
    pub local_offset: Option<FixedOffset>,
    pub focus: Focus,
    pub wave_sel: usize,
    pub item_sel: usize,
    /// Position in the filtered, sorted customer list.
    pub customer_sel: usize,
    /// Decision log scroll: 0 = newest at the top.
    pub log_scroll: usize,
    pub filter: String,
    pub filter_editing: bool,
    pub sort_by_status: bool,
    /// The checklist view the operator picked with `[`/`]`; None follows
    /// `checklists::default_view`.
    pub checklist_view: Option<crate::tui::checklists::ListView>,
    pub dialog: Option<Dialog>,
    /// The rollback dialog last submitted, kept until the engine's verdict: if it
    /// refuses because the rollback window closed, the dialog comes back offering
    /// to force it, with the operator's reason and choices intact.
    pub submitted_rollback: Option<Dialog>,
    pub help: bool,
    /// The decision-log line shown in full (index into `state.decisions`).
    pub log_detail: Option<usize>,
    /// The deploy log overlay, for the selected customer: the loop fills `lines`.
    pub deploy_log: Option<DeployLogView>,
    /// The evidence view is open on this customer (`v`), scrolled this many rows.
    pub evidence: Option<(CustomerId, usize)>,
    /// A text page over the cockpit (notes, report, the approval page).
    pub page: Option<Page>,
    pub message: Option<Message>,
    /// Set by the loop when the last frame was the too-small screen: only quitting
    /// works then, since the operator cannot see what a key would act on.
    pub too_small: bool,
    /// The runtime has stopped (the release ended or failed): nothing more to send.
    pub runtime_stopped: bool,
    /// Attached to a release another process runs: `q` just leaves.
    pub attached: bool,
    /// Quitting may leave the release running in a background runner (`b`).
    pub background: bool,
    /// Who is here (from the release's server), for the header.
    pub peers: Vec<crate::protocol::Peer>,
    /// Joins and leaves, for the log pane.
    pub notes: Vec<Note>,
}

impl App {
    pub fn new(operator: &str, readonly: bool, demo: bool) -> App {
        App {
            operator: operator.to_string(),
            readonly,
            demo,
            local_offset: None,
            focus: Focus::Timeline,
            wave_sel: 0,
            item_sel: 0,
            customer_sel: 0,
            log_scroll: 0,
            filter: String::new(),
            filter_editing: false,
            sort_by_status: false,
            checklist_view: None,
            dialog: None,
            submitted_rollback: None,
            help: false,
            log_detail: None,
            deploy_log: None,
            evidence: None,
            page: None,
            message: None,
            too_small: false,
            runtime_stopped: false,
            attached: false,
            background: false,
            peers: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Takes the new list of who is here: joins and leaves become notes in the
    /// log pane (the first list is who was already here, not news).
    pub fn on_presence(&mut self, peers: Vec<crate::protocol::Peer>, at: DateTime<Utc>) {
        const KEEP: usize = 200;
        if !self.peers.is_empty() {
            for p in peers
                .iter()
                .filter(|p| !self.peers.iter().any(|o| o.id == p.id))
            {
                self.notes.push(Note {
                    at,
                    text: strings::joined(&p.name, p.readonly),
                });
            }
            for p in self
                .peers
                .iter()
                .filter(|o| !peers.iter().any(|p| p.id == o.id))
            {
                self.notes.push(Note {
                    at,
                    text: strings::left(&p.name),
                });
            }
            if self.notes.len() > KEEP {
                self.notes.drain(..self.notes.len() - KEEP);
            }
        }
        self.peers = peers;
    }

    /// The release's captain changed: the one who was captain here is told who
    /// took over.
    pub fn on_captain(&mut self, before: &str, now: &str) {
        if before != now && before == self.operator {
            self.info(strings::captain_taken(now));
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            kind: MessageKind::Info,
            text: text.into(),
        });
    }

    pub fn refuse(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            kind: MessageKind::Refused,
            text: text.into(),
        });
    }

    /// Records the engine's verdict on a command the loop sent.
    pub fn on_command_result(&mut self, command: &Command, result: Result<(), SendError>) {
        let submitted = self.submitted_rollback.take();
        match result {
            Ok(()) => self.info(strings::accepted(command)),
            Err(SendError::Rejected(r)) => {
                let text = r.to_string();
                self.refuse(strings::refused(&text));
                // By code, so a refusal relayed from the process that runs the
                // release (an attached cockpit) offers the same forced rollback.
                let closed = r.code() == "rollback_window_closed";
                let unforced = matches!(command, Command::Rollback { force: false, .. });
                if let (true, true, Some(mut d)) = (closed, unforced, submitted) {
                    // The same rollback, offered forced: reason and scope kept (and
                    // still checked), Cancel focused.
                    d.force = true;
                    d.field = Field::Buttons;
                    d.confirm_focused = false;
                    d.error = Some(text);
                    if self.dialog.is_none() {
                        self.dialog = Some(d);
                    }
                }
            }
            Err(SendError::Stopped) => {
                self.runtime_stopped = true;
                self.refuse(strings::RUNTIME_STOPPED)
            }
        }
    }

    /// Text pasted into the cockpit goes into the text field being edited, on one
    /// line (reasons are one line in the decision log).
    pub fn on_paste(&mut self, text: &str) {
        let clean: String = text
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        if let Some(d) = self.dialog.as_mut() {
            if let Some(field) = d.text_mut() {
                field.push_str(&clean);
                d.error = None;
            }
        } else if self.filter_editing {
            self.filter.push_str(&clean);
            self.customer_sel = 0;
        }
    }

    /// Handles one key press against the current snapshot at release time `now`
    /// (dialogs that preview an engine decision ask it at that time).
    pub fn on_key(
        &mut self,
        key: KeyEvent,
        state: &ReleaseState,
        now: DateTime<Utc>,
    ) -> Option<Outgoing> {
        if self.too_small {
            // Only the too-small screen is visible: an open dialog can be neither
            // read nor answered (it waits, intact, for the terminal to grow), and a
            // quit confirmation could not be seen, so `q` quits at once — the
            // release keeps its journal either way.
            return match keys::action_for(&key) {
                Some(Action::Quit) => Some(Outgoing::Quit),
                _ => {
                    self.refuse(strings::TOO_SMALL_KEYS);
                    None
                }
            };
        }
        if self.dialog.is_some() {
            return self.dialog_key(key, state);
        }
        if self.filter_editing {
            self.filter_key(key);
            return None;
        }
        if let Some(page) = &mut self.page {
            let signs = matches!(key.code, KeyCode::Enter | KeyCode::Char('y'));
            if let (true, Some(wave)) = (signs, page.approve.clone()) {
                self.page = None;
                return self.command(Command::Approve { wave, role: None });
            }
            match keys::action_for(&key) {
                Some(Action::Down) => page.scroll += 1,
                Some(Action::Up) => page.scroll = page.scroll.saturating_sub(1),
                Some(Action::Top) => page.scroll = 0,
                Some(Action::Bottom) => page.scroll = page.lines.len(),
                Some(Action::Quit) => {
                    self.page = None;
                    return self.quit(state);
                }
                Some(Action::Back | Action::Notes | Action::Report | Action::Approve) => {
                    self.page = None
                }
                _ => {}
            }
            return None;
        }
        let action = keys::action_for(&key)?;
        if self.log_detail.is_some() {
            return self.log_detail_key(action, state);
        }
        if self.deploy_log.is_some() {
            match action {
                Action::DeployLog | Action::Back => self.deploy_log = None,
                Action::Quit => {
                    self.deploy_log = None;
                    return self.quit(state);
                }
                Action::Down | Action::Up | Action::Top | Action::Bottom => {
                    // Another customer's log: the selection moves underneath.
                    self.focus = Focus::Health;
                    self.on_action(action, state, now);
                    self.open_deploy_log(state);
                }
                _ => {}
            }
            return None;
        }
        if let Some((_, scroll)) = self.evidence.as_mut() {
            match action {
                Action::Evidence | Action::Back => self.evidence = None,
                Action::Down => *scroll = scroll.saturating_add(1),
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::Top => *scroll = 0,
                Action::Quit => {
                    self.evidence = None;
                    return self.quit(state);
                }
                _ => {}
            }
            return None;
        }
        if self.help {
            match action {
                Action::Help | Action::Back => self.help = false,
                Action::Quit => {
                    self.help = false;
                    return self.quit(state);
                }
                _ => {}
            }
            return None;
        }
        self.on_action(action, state, now)
    }

    pub fn on_action(
        &mut self,
        action: Action,
        state: &ReleaseState,
        now: DateTime<Utc>,
    ) -> Option<Outgoing> {
        if self.readonly && action.acts() {
            self.refuse(strings::readonly_refusal(strings::action_name(action)));
            return None;
        }
        match action {
            Action::FocusNext => self.focus = self.focus.next(),
            Action::FocusPrev => self.focus = self.focus.prev(),
            Action::Down => self.move_sel(state, 1),
            Action::Up => self.move_sel(state, -1),
            Action::Top => self.move_sel(state, isize::MIN),
            Action::Bottom => self.move_sel(state, isize::MAX),
            Action::Filter => {
                self.focus = Focus::Health;
                self.filter_editing = true;
            }
            Action::Sort => {
                self.sort_by_status = !self.sort_by_status;
                self.customer_sel = 0;
            }
            Action::Back => {
                if !self.filter.is_empty() {
                    self.filter.clear();
                    self.customer_sel = 0;
                } else {
                    self.message = None;
                }
            }
            Action::Help => self.help = true,
            Action::DeployLog => self.open_deploy_log(state),
            Action::Evidence => {
                let Some(c) = self.selected_customer(state) else {
                    self.refuse(strings::NO_CUSTOMER);
                    return None;
                };
                self.evidence = Some((c.id.clone(), 0));
            }
            Action::Quit => return self.quit(state),
            Action::Notes => self.page = Some(notes_page(state)),
            Action::Report => return Some(Outgoing::ShowReport),
            Action::Approve => {
                // Never a gate the operator did not pick: the selected wave's, or
                // a list of the pending ones to choose from, each with the role the
                // engine would record.
                if self.runtime_stopped {
                    self.refuse(strings::RUNTIME_STOPPED);
                    return None;
                }
                // The signer sees what they sign: with notes, the approval is a
                // page of them, signing the selected wave's gate (or, with none
                // selected, the one gate that waits; the engine refuses to guess).
                if state.plan.notes.as_ref().is_some_and(|n| !n.is_empty()) {
                    let wave = self.approvable_selected_wave(state);
                    let mut page = notes_page(state);
                    page.title = strings::approve_title(
                        wave.as_ref().map(|w| w.as_str()),
                        &state.plan.version.to_string(),
                    );
                    page.footer = strings::APPROVE_FOOTER.into();
                    page.approve = Some(wave);
                    self.page = Some(page);
                    return None;
                }
                let selected = (self.focus == Focus::Timeline).then_some(self.wave_sel);
                match crate::tui::choices::approve_dialog(state, &self.operator, selected, now) {
                    Ok(dialog) => self.dialog = Some(dialog),
                    Err(text) => self.refuse(strings::refused(&text)),
                }
            }
            Action::PauseResume => match &state.pause {
                // Pausing is the brake: one key, at once.
                None => {
                    return self.command(Command::Pause {
                        reason: strings::PAUSE_REASON.into(),
                    });
                }
                Some(p) => {
                    let after_stop = p.cause != PauseCause::Operator;
                    return self.open(DialogKind::Resume { after_stop });
                }
            },
            Action::SkipWait => {
                // The selected waiting wave (the demo wave has no wait: with it
                // selected, the engine picks the next wave that waits).
                let wave = (self.focus == Focus::Timeline && self.wave_sel > 0)
                    .then(|| state.waves.get(self.wave_sel))
                    .flatten()
                    .filter(|w| w.status == WaveStatus::Waiting)
                    .map(|w| w.tier.clone());
                return self.open(DialogKind::SkipWait { wave });
            }
            Action::Tick => {
                if self.focus != Focus::Checklist {
                    self.refuse(strings::TICK_NEEDS_FOCUS);
                    return None;
                }
                // The rows shown can change under the selection (an item ticked
                // leaves the gating view): tick the row the view highlights.
                let rows = crate::tui::checklists::rows(state, self.list_view(state));
                self.item_sel = self.item_sel.min(rows.len().saturating_sub(1));
                let Some(row) = rows.get(self.item_sel) else {
                    self.refuse(strings::NO_ITEM);
                    return None;
                };
                return self.command(Command::TickItem {
                    checklist: Some(row.list.id.clone()),
                    item: row.item.id.clone(),
                    on_word: false,
                });
            }
            Action::Untick => {
                if self.focus != Focus::Checklist {
                    self.refuse(strings::TICK_NEEDS_FOCUS);
                    return None;
                }
                let rows = crate::tui::checklists::rows(state, self.list_view(state));
                self.item_sel = self.item_sel.min(rows.len().saturating_sub(1));
                let Some(row) = rows.get(self.item_sel) else {
                    self.refuse(strings::NO_ITEM);
                    return None;
                };
                if !state.ticks.contains_key(&row.key()) {
                    self.refuse(strings::NO_TICK);
                    return None;
                }
                let kind = DialogKind::Untick {
                    checklist: row.list.id.clone(),
                    item: row.item.id.clone(),
                };
                return self.open(kind);
            }
            Action::Open => {
                // Enter on the decision log: its selected (top) line in full.
                if self.focus == Focus::Log && !state.decisions.is_empty() {
                    let n = state.decisions.len();
                    self.log_scroll = self.log_scroll.min(n - 1);
                    self.log_detail = Some(n - 1 - self.log_scroll);
                }
            }
            Action::NextList | Action::PrevList => {
                let now_view = self.list_view(state);
                let forward = action == Action::NextList;
                self.checklist_view = Some(crate::tui::checklists::step(state, now_view, forward));
                self.focus = Focus::Checklist;
                self.item_sel = 0;
            }
            Action::ConfirmOverdue => return self.command(Command::ConfirmOverdue),
            Action::RetryNotices => return self.command(Command::RetryNotices),
            Action::ReportIssue => {
                let Some(c) = self.selected_customer(state) else {
                    self.refuse(strings::NO_CUSTOMER);
                    return None;
                };
                let kind = DialogKind::ReportIssue {
                    customer: c.id.clone(),
                    name: c.name.clone(),
                };
                return self.open(kind);
            }
            Action::Emergency => {
                if self.runtime_stopped {
                    self.refuse(strings::RUNTIME_STOPPED);
                    return None;
                }
                // What it does to customers' windows and notices is shown before
                // anyone confirms; window-bound customers are overridden by name.
                self.dialog = Some(crate::tui::choices::emergency_dialog(state, now));
            }
            Action::Abort => return self.open(DialogKind::Abort),
            Action::Rollback => {
                if self.runtime_stopped {
                    self.refuse(strings::RUNTIME_STOPPED);
                    return None;
                }
                let mut dialog = Dialog::new(DialogKind::Rollback);
                dialog.scopes = self.rollback_scopes(state);
                if self.focus == Focus::Timeline {
                    // The wave the operator is looking at.
                    dialog.scope_sel = dialog
                        .scopes
                        .iter()
                        .position(|(s, _)| matches!(s, RollbackScope::Wave(_)))
                        .unwrap_or(0);
                }
                self.dialog = Some(dialog);
            }
            Action::InjectFault => {
                if !self.demo {
                    self.refuse(strings::FAULT_DEMO_ONLY);
                    return None;
                }
                let Some(c) = self.selected_customer(state) else {
                    self.refuse(strings::NO_CUSTOMER);
                    return None;
                };
                return Some(Outgoing::InjectFault(c.id.clone()));
            }
        }
        None
    }

    /// Opens (or re-points) the deploy log overlay at the selected customer.
    fn open_deploy_log(&mut self, state: &ReleaseState) {
        match self.selected_customer(state) {
            Some(c) => {
                let same = self.deploy_log.as_ref().is_some_and(|v| v.customer == c.id);
                if !same {
                    self.deploy_log = Some(DeployLogView {
                        customer: c.id.clone(),
                        name: c.name.clone(),
                        lines: None,
                    });
                }
            }
            None => self.refuse(strings::NO_CUSTOMER),
        }
    }

    fn command(&mut self, command: Command) -> Option<Outgoing> {
        if self.readonly {
            self.refuse(strings::readonly_refusal(strings::key_name(&command)));
            return None;
        }
        if self.runtime_stopped {
            self.refuse(strings::RUNTIME_STOPPED);
            return None;
        }
        Some(Outgoing::Command(command))
    }

    fn quit(&mut self, state: &ReleaseState) -> Option<Outgoing> {
        let running = !state.phase.is_final() && !self.runtime_stopped;
        if !running || self.attached {
            // Attached: the release runs elsewhere, leaving changes nothing.
            return Some(Outgoing::Quit);
        }
        self.dialog = Some(Dialog::new(DialogKind::Quit { running }));
        None
    }

    /// Keys while a decision is shown in full: j/k step to the next older / newer
    /// one, Enter or Esc close it, q quits; nothing else acts behind it.
    fn log_detail_key(&mut self, action: Action, state: &ReleaseState) -> Option<Outgoing> {
        let n = state.decisions.len();
        match action {
            Action::Back | Action::Open => self.log_detail = None,
            Action::Quit => {
                self.log_detail = None;
                return self.quit(state);
            }
            Action::Down | Action::Up if n > 0 => {
                // The log lists newest first: down is older.
                self.move_sel(state, if action == Action::Down { 1 } else { -1 });
                self.log_scroll = self.log_scroll.min(n - 1);
                self.log_detail = Some(n - 1 - self.log_scroll);
            }
            _ => {}
        }
        None
    }
}

/// A key held with Ctrl, Alt or Super (Shift is just a capital letter).
pub(super) fn is_chord(key: &KeyEvent) -> bool {
    key.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER)
}

/// The release notes as a page (the built-in template; the CLI's `notes` honours
/// the configuration's templates).
pub fn notes_page(state: &ReleaseState) -> Page {
    use crate::present::notes::{NotesDoc, NotesSource};
    let doc = NotesDoc::single(&NotesSource {
        version: state.plan.version.clone(),
        release_type: state.plan.release_type,
        emergency: state.emergency,
        started: state.started_at.format("%Y-%m-%d").to_string(),
        notes: state.plan.notes.clone(),
    });
    let text = match (&state.plan.notes, doc.markdown(&Default::default())) {
        (None, _) => strings::NO_NOTES.to_string(),
        (Some(_), Ok(md)) => md,
        (Some(_), Err(e)) => e.to_string(),
    };
    Page::text(strings::notes_title(&state.plan.version.to_string()), &text)
}

//! View state of the cockpit: focus, selections, scroll, filter, dialogs and the
//! message line — and the translation of key presses into engine commands.
//!
//! Nothing here decides anything about the rollout. A key becomes a [`Command`] the
//! runtime sends to the engine; whether it is allowed is the engine's call, and its
//! refusal text comes back to the message line. The only checks made here are about
//! the operator's input (a reason typed, the version typed for a full rollback or an
//! abort), because they concern the dialog, not the release.
//!
//! Dialogs follow one keyboard contract, the one people know from desktop dialogs:
//! the focus starts on Cancel whenever it reaches the buttons; Tab / Shift-Tab walk
//! the fields and then each button; Left / Right (and h / l) move between the two
//! buttons; Enter activates the focused button; `y` is the confirm button and `n` /
//! Esc cancel. `y` goes through the same checks as the button, so it can never skip
//! a required reason or the typed version.

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{self, Action};
use super::strings;
use crate::domain::{Checklist, ChecklistKind, CustomerId, Role, TierName};
use crate::engine::state::CustomerState;
use crate::engine::{Command, CustomerStatus, PauseCause, ReleaseState, RollbackScope, WaveStatus};
use crate::runtime::driver::SendError;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogKind {
    Rollback,
    /// Sign a gate: the one chosen in the dialog's list, as the role shown there.
    Approve,
    /// Take back a checklist tick given by mistake (asks why).
    Untick {
        checklist: String,
        item: String,
    },
    ReportIssue {
        customer: CustomerId,
        name: String,
    },
    Emergency,
    /// Ends the release: reason and the typed version required.
    Abort,
    SkipWait {
        wave: Option<TierName>,
    },
    /// `after_stop`: the release stopped on its own (rollback lock, failure,
    /// trigger), and the engine wants a reason to go on; after an operator's pause
    /// the reason is optional.
    Resume {
        after_stop: bool,
    },
    Quit {
        running: bool,
    },
}

/// A line of the log pane that is not a decision (someone joined or left): shown
/// among the decisions by time, never journaled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at: DateTime<Utc>,
    pub text: String,
}

impl DialogKind {
    /// Destructive dialogs never submit from a text field: Enter there moves on,
    /// and reaching the buttons focuses Cancel.
    pub fn destructive(&self) -> bool {
        matches!(
            self,
            DialogKind::Rollback
                | DialogKind::ReportIssue { .. }
                | DialogKind::Emergency
                | DialogKind::Abort
        )
    }

    /// Whether the operator must type a reason before the confirm button acts.
    pub fn reason_required(&self) -> bool {
        !matches!(
            self,
            DialogKind::Quit { .. }
                | DialogKind::Resume { after_stop: false }
                | DialogKind::Approve
        )
    }

    /// Whether the dialog has a reason field at all.
    pub fn has_reason(&self) -> bool {
        !matches!(self, DialogKind::Quit { .. } | DialogKind::Approve)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Scope,
    /// The dialog's list of choices (a gate to sign, customers to override).
    Choice,
    Reason,
    Version,
    Buttons,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub kind: DialogKind,
    /// Rollback only: the scopes offered, with their labels.
    pub scopes: Vec<(RollbackScope, String)>,
    pub scope_sel: usize,
    pub reason: String,
    /// Rollback of everything, abort: the release version, typed.
    pub version: String,
    pub field: Field,
    /// On the buttons: false = Cancel is focused (always, when focus arrives there).
    pub confirm_focused: bool,
    /// Rollback only: the engine refused because the rollback window closed, and
    /// the operator is now asked whether to force it.
    pub force: bool,
    pub error: Option<String>,
    /// A list to choose from (approve: one gate; emergency: the customers whose
    /// windows to override, ticked with space). Built by `tui::choices`.
    pub choices: Vec<Choice>,
    pub choice_sel: usize,
    /// Lines the dialog shows before its fields (what the action affects).
    pub notes: Vec<String>,
}

/// One row of a dialog's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub label: String,
    /// Multi-choice lists only (space toggles).
    pub checked: bool,
    pub wave: Option<TierName>,
    pub role: Option<Role>,
    pub customer: Option<CustomerId>,
}

impl Dialog {
    pub(crate) fn new(kind: DialogKind) -> Dialog {
        let field = match kind {
            DialogKind::Rollback => Field::Scope,
            DialogKind::Quit { .. } => Field::Buttons,
            _ => Field::Reason,
        };
        Dialog {
            kind,
            scopes: Vec::new(),
            scope_sel: 0,
            reason: String::new(),
            version: String::new(),
            field,
            confirm_focused: false,
            force: false,
            error: None,
            choices: Vec::new(),
            choice_sel: 0,
            notes: Vec::new(),
        }
    }

    /// The choice under the list's cursor.
    pub fn selected_choice(&self) -> Option<&Choice> {
        self.choices.get(self.choice_sel)
    }

    pub fn selected_scope(&self) -> Option<&RollbackScope> {
        self.scopes.get(self.scope_sel).map(|(s, _)| s)
    }

    /// Whether the release version must be typed to confirm.
    pub fn needs_version(&self) -> bool {
        match self.kind {
            DialogKind::Abort => true,
            DialogKind::Rollback => self.selected_scope() == Some(&RollbackScope::All),
            _ => false,
        }
    }

    /// The fields this dialog has, in tab order.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = Vec::new();
        if self.kind == DialogKind::Rollback {
            f.push(Field::Scope);
        }
        if self.choices.len() > 1
            || (self.kind == DialogKind::Emergency && !self.choices.is_empty())
        {
            f.push(Field::Choice);
        }
        if self.kind.has_reason() {
            f.push(Field::Reason);
        }
        if self.needs_version() {
            f.push(Field::Version);
        }
        f.push(Field::Buttons);
        f
    }

    /// Tab (forward) / Shift-Tab: through the fields, then Cancel, then the confirm
    /// button. Arriving on the buttons from a field always lands on Cancel.
    fn move_focus(&mut self, forward: bool) {
        if self.field == Field::Buttons {
            if forward && !self.confirm_focused {
                self.confirm_focused = true;
                return;
            }
            if !forward && self.confirm_focused {
                self.confirm_focused = false;
                return;
            }
        }
        let fields = self.fields();
        if fields.len() == 1 {
            // Buttons only (quit): Tab goes round the two buttons.
            self.confirm_focused = !self.confirm_focused;
            return;
        }
        let i = fields.iter().position(|f| *f == self.field).unwrap_or(0);
        self.field = fields[keys::step_around(i, fields.len(), forward)];
        self.confirm_focused = false;
    }

    fn text_mut(&mut self) -> Option<&mut String> {
        match self.field {
            Field::Reason => Some(&mut self.reason),
            Field::Version => Some(&mut self.version),
            _ => None,
        }
    }

    /// Back to a field with an error, and Cancel focused again when the operator
    /// returns to the buttons.
    fn fail(&mut self, field: Field, error: String) {
        self.error = Some(error);
        self.field = field;
        self.confirm_focused = false;
    }
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
    pub checklist_view: Option<super::checklists::ListView>,
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
                match super::choices::approve_dialog(state, &self.operator, selected, now) {
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
                let rows = super::checklists::rows(state, self.list_view(state));
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
                let rows = super::checklists::rows(state, self.list_view(state));
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
                self.checklist_view = Some(super::checklists::step(state, now_view, forward));
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
                self.dialog = Some(super::choices::emergency_dialog(state, now));
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

    /// `a` on the timeline: the selected wave when it still needs a signature
    /// (even if it waits behind an earlier wave: signing ahead is allowed);
    /// otherwise None, and the engine signs the one gate that waits, if one does.
    fn approvable_selected_wave(&self, state: &ReleaseState) -> Option<TierName> {
        if self.focus != Focus::Timeline {
            return None;
        }
        let w = state.waves.get(self.wave_sel)?;
        let plan = state.plan.waves.get(self.wave_sel)?;
        let unsigned = plan
            .manual_roles()
            .iter()
            .any(|r| !w.approvals.iter().any(|(signed, _)| signed == r));
        let waiting = matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue);
        (unsigned && waiting).then(|| w.tier.clone())
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

    fn open(&mut self, kind: DialogKind) -> Option<Outgoing> {
        if self.runtime_stopped {
            self.refuse(strings::RUNTIME_STOPPED);
            return None;
        }
        self.dialog = Some(Dialog::new(kind));
        None
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

    fn rollback_scopes(&self, state: &ReleaseState) -> Vec<(RollbackScope, String)> {
        let mut out = Vec::new();
        let customer = self.selected_customer(state);
        if let Some(c) = customer {
            out.push((
                RollbackScope::Customer(c.id.clone()),
                format!("customer {}", c.name),
            ));
        }
        let wave = if self.focus == Focus::Timeline {
            state.waves.get(self.wave_sel)
        } else {
            customer.and_then(|c| state.waves.get(c.wave))
        };
        if let Some(w) = wave {
            out.push((
                RollbackScope::Wave(w.tier.clone()),
                format!("wave {} ({} customers)", w.tier, w.customer_count),
            ));
        }
        out.push((
            RollbackScope::All,
            "everything deployed (ends the release)".to_string(),
        ));
        out
    }

    fn filter_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter_editing = false;
                self.filter.clear();
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            _ if keys::is_ctrl_c(&key) => self.filter_editing = false,
            // A chord is not text (Alt-x may be Esc then x over a slow link).
            _ if is_chord(&key) => {}
            KeyCode::Char(c) => self.filter.push(c),
            _ => {}
        }
        self.customer_sel = 0;
    }

    fn close_dialog(&mut self) -> Option<Outgoing> {
        self.dialog = None;
        None
    }

    fn dialog_key(&mut self, key: KeyEvent, state: &ReleaseState) -> Option<Outgoing> {
        let d = self.dialog.as_mut()?;
        let ctrl_c = keys::is_ctrl_c(&key);
        if let DialogKind::Quit { .. } = d.kind {
            // The release is safe in its journal: quitting needs no reason, so a
            // direct yes (y, q again, Ctrl-C again) quits and a direct no stays.
            match key.code {
                _ if ctrl_c => return Some(Outgoing::Quit),
                KeyCode::Char('y' | 'Y' | 'q') => return Some(Outgoing::Quit),
                KeyCode::Char('n' | 'N') => return self.close_dialog(),
                KeyCode::Char('b' | 'B') if self.background => return Some(Outgoing::Background),
                _ => {}
            }
        } else if ctrl_c {
            self.dialog = None;
            return self.quit(state);
        }
        if is_chord(&key) {
            // Never a way to confirm or to type a reason: destructive actions take
            // plain keys only, and Esc+y over a slow link arrives as Alt-y.
            return None;
        }
        let on_buttons = d.field == Field::Buttons;
        match key.code {
            KeyCode::Esc => return self.close_dialog(),
            KeyCode::Tab => d.move_focus(true),
            KeyCode::BackTab => d.move_focus(false),
            KeyCode::Enter => {
                if on_buttons {
                    if !d.confirm_focused {
                        return self.close_dialog();
                    }
                    return self.submit(state);
                }
                if d.field == Field::Reason && !d.kind.destructive() {
                    return self.submit(state);
                }
                d.move_focus(true);
            }
            KeyCode::Left | KeyCode::Char('h') if on_buttons => d.confirm_focused = false,
            KeyCode::Right | KeyCode::Char('l') if on_buttons => d.confirm_focused = true,
            // On the buttons, y is the confirm button (with its checks), n is Cancel.
            KeyCode::Char('y' | 'Y') if on_buttons => return self.submit(state),
            KeyCode::Char('n' | 'N') if on_buttons => return self.close_dialog(),
            KeyCode::Up | KeyCode::Char('k') if d.field == Field::Choice => {
                d.choice_sel = d.choice_sel.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') if d.field == Field::Choice => {
                d.choice_sel = (d.choice_sel + 1).min(d.choices.len().saturating_sub(1));
            }
            KeyCode::Char(' ') if d.field == Field::Choice && d.kind == DialogKind::Emergency => {
                if let Some(c) = d.choices.get_mut(d.choice_sel) {
                    c.checked = !c.checked;
                }
            }
            KeyCode::Up | KeyCode::Char('k') if d.field == Field::Scope => {
                d.scope_sel = d.scope_sel.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Char('j') if d.field == Field::Scope => {
                d.scope_sel = (d.scope_sel + 1).min(d.scopes.len().saturating_sub(1));
            }
            KeyCode::Backspace => {
                if let Some(t) = d.text_mut() {
                    t.pop();
                }
            }
            KeyCode::Char(c) => {
                if let Some(t) = d.text_mut() {
                    t.push(c);
                    d.error = None;
                }
            }
            _ => {}
        }
        None
    }

    /// The dialog's confirm button: check the operator's input, then hand the
    /// command over.
    fn submit(&mut self, state: &ReleaseState) -> Option<Outgoing> {
        let d = self.dialog.as_mut()?;
        if matches!(d.kind, DialogKind::Quit { .. }) {
            return Some(Outgoing::Quit);
        }
        let reason = d.reason.trim().to_string();
        if reason.is_empty() && d.kind.reason_required() {
            d.fail(Field::Reason, strings::REASON_REQUIRED.into());
            return None;
        }
        if d.needs_version() {
            let want = state.plan.version.to_string();
            let typed = d.version.trim();
            if typed != want && format!("v{typed}") != want {
                let what = if d.kind == DialogKind::Abort {
                    strings::VERSION_FOR_ABORT
                } else {
                    strings::VERSION_FOR_ROLLBACK_ALL
                };
                d.fail(Field::Version, strings::version_mismatch(&want, what));
                return None;
            }
        }
        let command = match &d.kind {
            DialogKind::Rollback => Command::Rollback {
                scope: d.selected_scope()?.clone(),
                reason,
                force: d.force,
            },
            DialogKind::ReportIssue { customer, .. } => Command::ReportIssue {
                customer: customer.clone(),
                reason,
            },
            DialogKind::Untick { checklist, item } => Command::UntickItem {
                checklist: Some(checklist.clone()),
                item: item.clone(),
                reason,
            },
            DialogKind::Approve => {
                let c = d.selected_choice()?;
                Command::Approve {
                    wave: c.wave.clone(),
                    role: c.role.clone(),
                }
            }
            DialogKind::Emergency => Command::Emergency {
                reason,
                override_windows: d
                    .choices
                    .iter()
                    .filter(|c| c.checked)
                    .filter_map(|c| c.customer.clone())
                    .collect(),
            },
            DialogKind::Abort => Command::Abort { reason },
            DialogKind::SkipWait { wave } => Command::SkipWait {
                wave: wave.clone(),
                reason,
            },
            DialogKind::Resume { .. } => Command::Resume { reason },
            DialogKind::Quit { .. } => return Some(Outgoing::Quit),
        };
        let dialog = self.dialog.take();
        let out = self.command(command);
        if out.is_some() {
            self.submitted_rollback = dialog.filter(|d| d.kind == DialogKind::Rollback);
        }
        out
    }

    fn move_sel(&mut self, state: &ReleaseState, delta: isize) {
        let step = |cur: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            match delta {
                isize::MIN => 0,
                isize::MAX => len - 1,
                d if d < 0 => cur.saturating_sub(d.unsigned_abs()),
                d => (cur + d.unsigned_abs()).min(len - 1),
            }
        };
        match self.focus {
            Focus::Timeline => self.wave_sel = step(self.wave_sel, state.waves.len()),
            Focus::Checklist => {
                let len = super::checklists::rows(state, self.list_view(state)).len();
                self.item_sel = step(self.item_sel, len);
            }
            Focus::Health => {
                let len = self.visible_customers(state).len();
                self.customer_sel = step(self.customer_sel, len);
            }
            Focus::Log => {
                self.log_scroll = step(self.log_scroll, state.decisions.len() + self.notes.len())
            }
        }
    }

    /// Indices into `state.customers` that the health pane lists, filtered and
    /// sorted. Indices only: rows are built later for the visible window alone.
    pub fn visible_customers(&self, state: &ReleaseState) -> Vec<usize> {
        let needle = self.filter.trim().to_lowercase();
        let mut out: Vec<usize> = state
            .customers
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                needle.is_empty()
                    || c.name.to_lowercase().contains(&needle)
                    || c.id.as_str().to_lowercase().contains(&needle)
                    || state
                        .waves
                        .get(c.wave)
                        .is_some_and(|w| w.tier.as_str().to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        if self.sort_by_status {
            out.sort_by_key(|&i| {
                state
                    .customers
                    .get(i)
                    .map_or(u8::MAX, |c| status_rank(c.status))
            });
        }
        out
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

    /// The checklist view on screen: the operator's pick, else the default.
    pub fn list_view(&self, state: &ReleaseState) -> super::checklists::ListView {
        self.checklist_view
            .unwrap_or_else(|| super::checklists::default_view(state))
    }

    pub fn selected_customer<'a>(&self, state: &'a ReleaseState) -> Option<&'a CustomerState> {
        let list = self.visible_customers(state);
        let i = list.get(self.customer_sel.min(list.len().saturating_sub(1)))?;
        state.customers.get(*i)
    }
}

/// Needs-attention first: the order an operator scans a fleet in.
pub fn status_rank(s: CustomerStatus) -> u8 {
    match s {
        CustomerStatus::Failed => 0,
        CustomerStatus::RollingBack => 1,
        CustomerStatus::Deploying => 2,
        CustomerStatus::Verifying => 3,
        CustomerStatus::WaitingWindow => 4,
        CustomerStatus::Pending => 5,
        CustomerStatus::RolledBack => 6,
        CustomerStatus::Healthy => 7,
    }
}

/// Whether a rollback is under way or has ended the release.
pub fn rolling_back(state: &ReleaseState) -> bool {
    state.rolling_back_all
        || state.phase == crate::engine::Phase::RolledBack
        || state
            .customers
            .iter()
            .any(|c| c.status == CustomerStatus::RollingBack)
}

/// The checklist that matters now: rollback during a rollback, hotfix in an
/// emergency, pre-release while any of its gating items is open, else deployment.
pub fn current_checklist(state: &ReleaseState) -> Option<&Checklist> {
    let plan = &state.plan;
    if rolling_back(state) {
        if let Some(c) = plan.checklist(ChecklistKind::Rollback) {
            return Some(c);
        }
    }
    if state.emergency {
        if let Some(c) = plan.checklist(ChecklistKind::Hotfix) {
            return Some(c);
        }
    }
    if let Some(pre) = plan.pre_release() {
        let open = pre.items.iter().any(|i| {
            i.gates.is_some()
                && !i.is_automatic()
                && !state
                    .ticks
                    .contains_key(&crate::engine::state::item_key(&pre.id, &i.id))
        });
        if open
            || matches!(
                state.phase,
                crate::engine::Phase::Planned | crate::engine::Phase::Validating
            )
        {
            return Some(pre);
        }
    }
    plan.checklist(ChecklistKind::Deployment)
        .or_else(|| plan.pre_release())
}

/// A key held with Ctrl, Alt or Super (Shift is just a capital letter).
fn is_chord(key: &KeyEvent) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReleaseType;
    use crate::engine::{self, Input, Rejected, ReleasePlan, Selection};
    use crate::tui::input::key;
    use crossterm::event::KeyModifiers;

    fn t0() -> DateTime<Utc> {
        "2026-11-16T10:00:00Z".parse().expect("time")
    }

    fn state(t: ReleaseType) -> (ReleaseState, DateTime<Utc>) {
        let cfg = crate::config::load_builtin().expect("config");
        let plan = ReleasePlan::build(&cfg, "v1.0.1".parse().expect("v"), t, Selection::All, false)
            .expect("plan");
        let first = engine::plan_event(plan, "alice", t0());
        (ReleaseState::fold([&first]).expect("fold"), t0())
    }

    /// The demo's release: bug fix, enterprise behind the release captain's
    /// approval (alice may sign), gating items ticked, rolling out.
    fn demo_state() -> (ReleaseState, DateTime<Utc>) {
        let cfg = crate::sim::demo_world::demo_config().expect("demo config");
        let plan = ReleasePlan::build(
            &cfg,
            "v1.0.2".parse().expect("v"),
            ReleaseType::BugFix,
            Selection::All,
            false,
        )
        .expect("plan");
        let first = engine::plan_event(plan, "alice", t0());
        let mut s = ReleaseState::fold([&first]).expect("fold");
        for key in s.unticked_gating_all() {
            let _ = run(&mut s, Command::tick(&key, true), t0());
        }
        let _ = engine::step(&mut s, &Input::Tick, t0());
        (s, t0())
    }

    fn run(s: &mut ReleaseState, command: Command, now: DateTime<Utc>) -> Result<(), Rejected> {
        let input = Input::Command {
            actor: "alice".into(),
            command,
        };
        engine::step(s, &input, now).map(drop)
    }

    /// What the cockpit loop does with a key's outcome: a command goes to the
    /// engine, and its verdict comes back to the app.
    fn deliver(
        app: &mut App,
        s: &mut ReleaseState,
        now: DateTime<Utc>,
        out: Option<Outgoing>,
    ) -> Option<Result<(), Rejected>> {
        let Some(Outgoing::Command(command)) = out else {
            return None;
        };
        let verdict = run(s, command.clone(), now);
        app.on_command_result(&command, verdict.clone().map_err(SendError::Rejected));
        Some(verdict)
    }

    fn press(
        app: &mut App,
        s: &ReleaseState,
        now: DateTime<Utc>,
        code: KeyCode,
    ) -> Option<Outgoing> {
        app.on_key(key(code), s, now)
    }

    fn typ(app: &mut App, s: &ReleaseState, now: DateTime<Utc>, text: &str) {
        for c in text.chars() {
            assert_eq!(press(app, s, now, KeyCode::Char(c)), None, "typing {c:?}");
        }
    }

    fn message(app: &App) -> (MessageKind, String) {
        let m = app.message.clone().expect("a message");
        (m.kind, m.text)
    }

    fn dialog(app: &App) -> &Dialog {
        app.dialog.as_ref().expect("a dialog is open")
    }

    /// Where the focus is in a dialog: a field, or which button.
    fn focus_of(app: &App) -> &'static str {
        let d = dialog(app);
        match (d.field, d.confirm_focused) {
            (Field::Scope, _) => "scope",
            (Field::Choice, _) => "choice",
            (Field::Reason, _) => "reason",
            (Field::Version, _) => "version",
            (Field::Buttons, false) => "cancel",
            (Field::Buttons, true) => "confirm",
        }
    }

    // ---- the quit confirmation (the bug: Tab, y, Enter did not quit) ----

    fn quit_dialog() -> (App, ReleaseState, DateTime<Utc>) {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
        assert_eq!(
            dialog(&app).kind,
            DialogKind::Quit { running: true },
            "q asks while the release runs"
        );
        assert_eq!(focus_of(&app), "cancel", "focus starts on Cancel");
        (app, s, now)
    }

    #[test]
    fn quit_dialog_tab_then_enter_quits() {
        let (mut app, s, now) = quit_dialog();
        assert_eq!(press(&mut app, &s, now, KeyCode::Tab), None);
        assert_eq!(focus_of(&app), "confirm", "tab moves to Quit");
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Enter),
            Some(Outgoing::Quit)
        );
    }

    #[test]
    fn quit_dialog_what_the_person_typed_quits() {
        // q, Tab, y, Enter: y already quits.
        let (mut app, s, now) = quit_dialog();
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('y')),
            Some(Outgoing::Quit)
        );
    }

    #[test]
    fn quit_dialog_y_quits_at_once_from_cancel() {
        let (mut app, s, now) = quit_dialog();
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('y')),
            Some(Outgoing::Quit)
        );
        let (mut app, s, now) = quit_dialog();
        let shift_y = KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT);
        assert_eq!(app.on_key(shift_y, &s, now), Some(Outgoing::Quit));
    }

    #[test]
    fn quit_dialog_buttons_move_with_tab_arrows_and_hl() {
        let (mut app, s, now) = quit_dialog();
        let moves = [
            (KeyCode::Tab, "confirm"),
            (KeyCode::Tab, "cancel"),
            (KeyCode::BackTab, "confirm"),
            (KeyCode::BackTab, "cancel"),
            (KeyCode::Right, "confirm"),
            (KeyCode::Right, "confirm"),
            (KeyCode::Left, "cancel"),
            (KeyCode::Left, "cancel"),
            (KeyCode::Char('l'), "confirm"),
            (KeyCode::Char('h'), "cancel"),
        ];
        for (code, want) in moves {
            assert_eq!(press(&mut app, &s, now, code), None, "{code:?}");
            assert_eq!(focus_of(&app), want, "after {code:?}");
        }
    }

    #[test]
    fn quit_dialog_enter_on_cancel_n_and_esc_stay() {
        for code in [KeyCode::Enter, KeyCode::Char('n'), KeyCode::Esc] {
            let (mut app, s, now) = quit_dialog();
            assert_eq!(press(&mut app, &s, now, code), None, "{code:?}");
            assert!(app.dialog.is_none(), "{code:?} closes the question");
        }
        // Tab to Quit, then back to Cancel: Enter stays.
        let (mut app, s, now) = quit_dialog();
        press(&mut app, &s, now, KeyCode::Tab);
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert!(app.dialog.is_none());
    }

    #[test]
    fn quit_dialog_q_and_ctrl_c_again_quit() {
        let (mut app, s, now) = quit_dialog();
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('q')),
            Some(Outgoing::Quit)
        );
        let (mut app, s, now) = quit_dialog();
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.on_key(ctrl_c, &s, now), Some(Outgoing::Quit));
    }

    #[test]
    fn q_quits_at_once_when_the_release_has_ended() {
        let (mut s, now) = demo_state();
        run(&mut s, Command::Abort { reason: "x".into() }, now).expect("abort");
        let mut app = App::new("alice", false, true);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('q')),
            Some(Outgoing::Quit)
        );
    }

    // ---- destructive dialogs: Cancel first, y never skips the checks ----

    #[test]
    fn y_in_a_reason_field_is_text_and_on_the_buttons_it_still_needs_the_reason() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('i'));
        assert_eq!(focus_of(&app), "reason");
        typ(&mut app, &s, now, "yn");
        assert_eq!(dialog(&app).reason, "yn", "y and n are letters in a reason");
        press(&mut app, &s, now, KeyCode::Backspace);
        press(&mut app, &s, now, KeyCode::Backspace);
        // Enter in the reason of a destructive dialog moves to the buttons, on Cancel.
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(focus_of(&app), "cancel");
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('y')),
            None,
            "no reason"
        );
        assert_eq!(focus_of(&app), "reason", "sent back to the reason");
        assert_eq!(
            dialog(&app).error.as_deref(),
            Some(strings::REASON_REQUIRED)
        );
        typ(&mut app, &s, now, "500s on checkout");
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(focus_of(&app), "cancel");
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::ReportIssue {
                customer: s.customers[0].id.clone(),
                reason: "500s on checkout".into()
            }))
        );
        assert!(app.dialog.is_none());
    }

    #[test]
    fn n_on_the_buttons_cancels_a_destructive_dialog() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Char('e'));
        typ(&mut app, &s, now, "why");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('n')), None);
        assert!(app.dialog.is_none());
    }

    #[test]
    fn rollback_tab_order_walks_fields_then_cancel_then_confirm() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('r'));
        let order: Vec<&str> = (0..5)
            .map(|_| {
                press(&mut app, &s, now, KeyCode::Tab);
                focus_of(&app)
            })
            .collect();
        assert_eq!(order, ["reason", "cancel", "confirm", "scope", "reason"]);
        // Shift-Tab from the first field wraps to the buttons, on Cancel.
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(focus_of(&app), "scope");
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(focus_of(&app), "cancel");
        // Everything: the typed version joins the tab order.
        press(&mut app, &s, now, KeyCode::Tab);
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(focus_of(&app), "scope");
        press(&mut app, &s, now, KeyCode::Char('G'));
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('j'));
        assert_eq!(dialog(&app).selected_scope(), Some(&RollbackScope::All));
        let order: Vec<&str> = (0..4)
            .map(|_| {
                press(&mut app, &s, now, KeyCode::Tab);
                focus_of(&app)
            })
            .collect();
        assert_eq!(order, ["reason", "version", "cancel", "confirm"]);
    }

    #[test]
    fn r_opens_the_rollback_dialog_with_cancel_focused_and_all_needs_the_version() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.focus = Focus::Health;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('r')), None);
        let d = dialog(&app).clone();
        assert_eq!(d.kind, DialogKind::Rollback);
        assert!(!d.confirm_focused);
        assert!(matches!(
            d.selected_scope(),
            Some(RollbackScope::Customer(_))
        ));
        let labels: Vec<&str> = d.scopes.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "customer Demo (main)",
                "wave demo (2 customers)",
                "everything deployed (ends the release)"
            ]
        );
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Enter);
        typ(&mut app, &s, now, "bad");
        press(&mut app, &s, now, KeyCode::Enter); // to version
        typ(&mut app, &s, now, "1.0.0");
        press(&mut app, &s, now, KeyCode::Enter); // to buttons, Cancel focused
        assert_eq!(focus_of(&app), "cancel");
        press(&mut app, &s, now, KeyCode::Right);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Enter),
            None,
            "wrong version refused"
        );
        assert_eq!(focus_of(&app), "version");
        assert!(
            dialog(&app)
                .error
                .as_ref()
                .is_some_and(|e| e.contains("v1.0.1") && e.contains("roll back everything"))
        );
        for _ in 0..5 {
            press(&mut app, &s, now, KeyCode::Backspace);
        }
        typ(&mut app, &s, now, "v1.0.1");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(focus_of(&app), "cancel", "back on Cancel after an error");
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Rollback {
                scope: RollbackScope::All,
                reason: "bad".into(),
                force: false
            }))
        );
    }

    #[test]
    fn rollback_on_the_timeline_offers_the_selected_wave_first() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('r'));
        assert_eq!(
            dialog(&app).selected_scope(),
            Some(&RollbackScope::Wave(TierName::new("startup")))
        );
    }

    #[test]
    fn a_refused_rollback_after_the_window_comes_back_offering_force_with_the_reason() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('r'));
        press(&mut app, &s, now, KeyCode::Tab);
        typ(&mut app, &s, now, "late regression");
        press(&mut app, &s, now, KeyCode::Enter);
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        let Some(Outgoing::Command(cmd)) = out else {
            panic!("no command: {out:?}");
        };
        assert!(matches!(cmd, Command::Rollback { force: false, .. }));
        let closed = t0() - chrono::TimeDelta::hours(1);
        app.on_command_result(
            &cmd,
            Err(SendError::Rejected(Rejected::RollbackWindowClosed {
                closed,
            })),
        );
        let (kind, text) = message(&app);
        assert_eq!(kind, MessageKind::Refused);
        assert!(text.contains("rollback window closed"), "{text}");
        let d = dialog(&app).clone();
        assert!(d.force, "force offered");
        assert_eq!(d.reason, "late regression", "the reason is kept");
        assert_eq!(focus_of(&app), "cancel", "Cancel focused");
        assert!(
            d.error
                .as_deref()
                .is_some_and(|e| e.contains("rollback window closed"))
        );
        // Force still needs the reason.
        press(&mut app, &s, now, KeyCode::BackTab);
        for _ in 0.."late regression".len() {
            press(&mut app, &s, now, KeyCode::Backspace);
        }
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
        assert_eq!(focus_of(&app), "reason");
        typ(&mut app, &s, now, "customer escalation");
        press(&mut app, &s, now, KeyCode::Enter);
        press(&mut app, &s, now, KeyCode::Right);
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Rollback {
                scope: RollbackScope::Customer(s.customers[0].id.clone()),
                reason: "customer escalation".into(),
                force: true
            }))
        );
    }

    #[test]
    fn other_refusals_of_a_rollback_do_not_offer_force() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('G'));
        press(&mut app, &s, now, KeyCode::Char('r'));
        press(&mut app, &s, now, KeyCode::Tab);
        typ(&mut app, &s, now, "not deployed yet");
        press(&mut app, &s, now, KeyCode::Tab);
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
        assert!(
            matches!(verdict, Err(Rejected::NothingToRollBack(_))),
            "{verdict:?}"
        );
        assert!(app.dialog.is_none());
        assert!(message(&app).1.starts_with("refused: nothing to roll back"));
    }

    #[test]
    fn capital_a_aborts_after_reason_version_and_an_explicit_confirm() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        let shift_a = KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT);
        assert_eq!(app.on_key(shift_a, &s, now), None);
        assert_eq!(dialog(&app).kind, DialogKind::Abort);
        assert_eq!(focus_of(&app), "reason");
        assert!(dialog(&app).kind.destructive());
        // Straight to the buttons: Cancel, and y without a reason goes back.
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(focus_of(&app), "cancel");
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
        assert_eq!(focus_of(&app), "reason");
        typ(&mut app, &s, now, "wrong build");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(focus_of(&app), "version");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
        assert_eq!(focus_of(&app), "version", "the version must be typed");
        assert!(
            dialog(&app)
                .error
                .as_deref()
                .is_some_and(|e| e.contains("v1.0.2") && e.contains("abort"))
        );
        typ(&mut app, &s, now, "1.0.2");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(focus_of(&app), "cancel");
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None, "Cancel");
        assert!(app.dialog.is_none());
        assert!(!s.phase.is_final());

        app.on_key(shift_a, &s, now);
        typ(&mut app, &s, now, "wrong build");
        press(&mut app, &s, now, KeyCode::Tab);
        typ(&mut app, &s, now, "v1.0.2");
        press(&mut app, &s, now, KeyCode::Tab);
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(focus_of(&app), "confirm");
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Abort {
                reason: "wrong build".into()
            }))
        );
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert_eq!(s.phase, engine::Phase::Aborted);
        assert_eq!(message(&app).0, MessageKind::Info);
    }

    #[test]
    fn enter_on_the_default_button_cancels() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        press(&mut app, &s, now, KeyCode::Char('e'));
        typ(&mut app, &s, now, "why");
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert!(app.dialog.is_none(), "cancelled");
    }

    // ---- the keys of the issue, one by one ----

    #[test]
    fn a_with_no_pending_gate_says_so_in_any_focus() {
        let (s, now) = state(ReleaseType::Security);
        for focus in Focus::ORDER {
            let mut app = App::new("alice", false, false);
            app.focus = focus;
            assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
            assert!(app.dialog.is_none(), "{focus:?}");
            assert_eq!(
                message(&app),
                (
                    MessageKind::Refused,
                    "refused: no wave is waiting for an approval".to_string()
                ),
                "{focus:?}"
            );
        }
    }

    /// Issue 10, item 3: with demo selected, `a` signed enterprise ten hours early
    /// and said only "approval recorded for the next pending gate".
    #[test]
    fn a_asks_before_signing_and_names_the_wave_and_role() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        assert_eq!(app.wave_sel, 0, "demo selected");
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
        let d = dialog(&app);
        assert_eq!(d.kind, DialogKind::Approve);
        assert_eq!(focus_of(&app), "cancel", "nothing is signed by accident");
        let label = d.choices[0].label.clone();
        assert!(
            label.starts_with("wave enterprise as release_captain (Release captain)"),
            "{label}"
        );
        assert!(label.ends_with("· after validation"), "{label}");
        // Enter on Cancel: nothing sent.
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert!(app.dialog.is_none());
        press(&mut app, &s, now, KeyCode::Char('a'));
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Approve {
                wave: Some(TierName::new("enterprise")),
                role: Some(crate::domain::Role::new("release_captain")),
            }))
        );
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert_eq!(
            message(&app),
            (
                MessageKind::Info,
                "signed wave enterprise as release_captain".to_string()
            )
        );
        let d = s.decisions.last().expect("decision");
        assert_eq!(d.what, "approved wave enterprise as release_captain");
        // The demo's gate wants a second signature, the product owner's, which
        // alice also holds there.
        press(&mut app, &s, now, KeyCode::Char('a'));
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        let d = s.decisions.last().expect("decision");
        assert_eq!(d.what, "approved wave enterprise as product_owner");
        // Nothing left to sign: the engine's words on the message line.
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
        assert_eq!(
            message(&app),
            (
                MessageKind::Refused,
                "refused: no wave is waiting for an approval".to_string()
            )
        );
    }

    #[test]
    fn a_lists_the_pending_gates_when_the_selection_names_none() {
        let (s, now) = state(ReleaseType::Minor);
        let mut app = App::new("bob", false, false);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('a'));
        let waves: Vec<String> = dialog(&app)
            .choices
            .iter()
            .map(|c| c.label.split(" · ").next().unwrap_or("").to_string())
            .collect();
        assert_eq!(
            waves,
            [
                "wave startup as qa_lead (QA lead)",
                "wave standard as qa_lead (QA lead)",
                "wave enterprise as qa_lead (QA lead)"
            ]
        );
        assert_eq!(focus_of(&app), "choice");
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(focus_of(&app), "cancel");
        press(&mut app, &s, now, KeyCode::Right);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Enter),
            Some(Outgoing::Command(Command::Approve {
                wave: Some(TierName::new("standard")),
                role: Some(crate::domain::Role::new("qa_lead")),
            }))
        );
        // The selected wave on the timeline: that gate only.
        let mut app = App::new("bob", false, false);
        press(&mut app, &s, now, KeyCode::Char('G'));
        press(&mut app, &s, now, KeyCode::Char('a'));
        assert_eq!(dialog(&app).choices.len(), 1);
        assert_eq!(
            dialog(&app).choices[0].wave,
            Some(TierName::new("enterprise"))
        );
        // Someone who may not sign: the engine's refusal, no dialog.
        let mut app = App::new("alice", false, false);
        press(&mut app, &s, now, KeyCode::Char('a'));
        assert!(app.dialog.is_none());
        assert!(
            message(&app).1.contains("may not approve"),
            "{:?}",
            app.message
        );
    }

    #[test]
    fn joins_and_leaves_become_notes_and_the_old_captain_is_told() {
        use crate::protocol::Peer;
        let (s, now) = demo_state();
        let peer = |id: u64, name: &str, readonly: bool| Peer {
            id,
            name: name.into(),
            user: "u".into(),
            uid: 1,
            readonly,
            host: id == 0,
        };
        let mut app = App::new("alice", false, true);
        // Who was already here is not news.
        app.on_presence(vec![peer(0, "alice", false), peer(1, "bob", false)], now);
        assert!(app.notes.is_empty());
        app.on_presence(
            vec![
                peer(0, "alice", false),
                peer(1, "bob", false),
                peer(2, "carol", true),
            ],
            now,
        );
        app.on_presence(vec![peer(0, "alice", false), peer(2, "carol", true)], now);
        let notes: Vec<&str> = app.notes.iter().map(|n| n.text.as_str()).collect();
        assert_eq!(notes, ["carol joined (watching)", "bob left"]);
        // Not a decision: the journal's decision log is untouched.
        assert!(s.decisions.iter().all(|d| !d.what.contains("joined")));
        app.on_captain("alice", "bob");
        assert_eq!(
            message(&app),
            (MessageKind::Info, "bob took over as captain".into())
        );
        let mut other = App::new("carol", false, true);
        other.on_captain("alice", "bob");
        assert!(other.message.is_none(), "only the captain who was is told");
    }

    #[test]
    fn q_in_an_attached_cockpit_just_leaves_and_b_hands_over_only_when_offered() {
        let (s, now) = demo_state();
        let mut app = App::new("bob", false, false);
        app.attached = true;
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('q')),
            Some(Outgoing::Quit)
        );
        let mut app = App::new("alice", false, false);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('b')),
            None,
            "not offered"
        );
        let mut app = App::new("alice", false, false);
        app.background = true;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('b')),
            Some(Outgoing::Background)
        );
    }

    #[test]
    fn p_pauses_at_once_and_resuming_asks_why() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        let out = press(&mut app, &s, now, KeyCode::Char('p'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Pause {
                reason: strings::PAUSE_REASON.into()
            }))
        );
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert!(s.is_paused());
        // Resuming an operator's pause: a dialog, reason optional, Enter resumes.
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('p')), None);
        assert_eq!(dialog(&app).kind, DialogKind::Resume { after_stop: false });
        assert_eq!(focus_of(&app), "reason");
        typ(&mut app, &s, now, "call over");
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Resume {
                reason: "call over".into()
            }))
        );
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert!(!s.is_paused());
        let d = s.decisions.last().expect("decision");
        assert_eq!(
            (d.what.as_str(), d.reason.as_str()),
            ("resumed", "call over")
        );
        // Without a reason, after an operator's pause, Enter still resumes.
        let out = press(&mut app, &s, now, KeyCode::Char('p'));
        deliver(&mut app, &mut s, now, out);
        press(&mut app, &s, now, KeyCode::Char('p'));
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Resume {
                reason: String::new()
            }))
        );
    }

    #[test]
    fn resuming_after_a_stop_requires_a_reason() {
        let (mut s, now) = demo_state();
        s.pause = Some(crate::engine::state::Pause {
            actor: "shipdeck".into(),
            reason: "after rollback".into(),
            since: now,
            cause: PauseCause::RollbackLock,
        });
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Char('p'));
        assert_eq!(dialog(&app).kind, DialogKind::Resume { after_stop: true });
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(
            dialog(&app).error.as_deref(),
            Some(strings::REASON_REQUIRED)
        );
        typ(&mut app, &s, now, "techstart back on v1.0.1");
        assert!(matches!(
            press(&mut app, &s, now, KeyCode::Enter),
            Some(Outgoing::Command(Command::Resume { .. }))
        ));
    }

    #[test]
    fn s_skips_the_selected_wave_or_the_next_with_a_reason() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        // Demo (running) selected: the engine picks the next wave.
        press(&mut app, &s, now, KeyCode::Char('s'));
        assert_eq!(dialog(&app).kind, DialogKind::SkipWait { wave: None });
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(
            dialog(&app).error.as_deref(),
            Some(strings::REASON_REQUIRED)
        );
        press(&mut app, &s, now, KeyCode::Esc);
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('s'));
        typ(&mut app, &s, now, "customer asked");
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::SkipWait {
                wave: Some(TierName::new("startup")),
                reason: "customer asked".into()
            }))
        );
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        let d = s.decisions.last().expect("decision");
        assert_eq!(d.reason, "customer asked");
    }

    #[test]
    fn x_ticks_the_selected_item_only_in_the_checklist() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('x')), None);
        assert_eq!(
            app.message.as_ref().map(|m| m.text.as_str()),
            Some(strings::TICK_NEEDS_FOCUS)
        );
        app.focus = Focus::Checklist;
        press(&mut app, &s, now, KeyCode::Char('j'));
        let out = press(&mut app, &s, now, KeyCode::Char(' '));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::TickItem {
                checklist: Some("pre-release-security".into()),
                item: "fix-complete".into(),
                on_word: false
            }))
        );
    }

    #[test]
    fn x_ticks_the_row_shown_when_a_shorter_list_replaced_the_selection() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.focus = Focus::Checklist;
        let rows = crate::tui::checklists::rows(&s, app.list_view(&s));
        // A selection left far down a longer list the view no longer shows.
        app.item_sel = rows.len() + 5;
        let last = rows.last().expect("rows");
        let out = press(&mut app, &s, now, KeyCode::Char('x'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::TickItem {
                checklist: Some(last.list.id.clone()),
                item: last.item.id.clone(),
                on_word: false
            }))
        );
    }

    #[test]
    fn ticking_an_item_twice_is_refused_by_the_engine() {
        let (mut s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        // The first list itself (the gating view moves a ticked item down).
        press(&mut app, &s, now, KeyCode::Char(']'));
        assert_eq!(app.focus, Focus::Checklist);
        let out = press(&mut app, &s, now, KeyCode::Char('x'));
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert_eq!(message(&app).0, MessageKind::Info);
        let out = press(&mut app, &s, now, KeyCode::Char('x'));
        let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
        assert!(matches!(verdict, Err(Rejected::AlreadyTicked(_))));
        let (kind, text) = message(&app);
        assert_eq!(kind, MessageKind::Refused);
        assert!(text.contains("already ticked"), "{text}");
    }

    /// Issue 10, item 2: the gating view lists every open item that holds what
    /// comes next, whichever list; x works through them; u takes one back (asks
    /// why).
    #[test]
    fn the_gating_view_works_through_open_items_and_u_takes_one_back() {
        let (mut s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.focus = Focus::Checklist;
        let open = s.unticked_gating_all();
        for _ in 0..open.len() {
            let out = press(&mut app, &s, now, KeyCode::Char('x'));
            assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        }
        assert!(
            s.unticked_gating_all().is_empty(),
            "every gating item ticked"
        );
        // The first row now is a ticked one: u asks why, then takes it back.
        let rows = crate::tui::checklists::rows(&s, crate::tui::checklists::ListView::Gating);
        assert!(rows.iter().all(|r| r.holds.is_none()));
        app.checklist_view = Some(crate::tui::checklists::ListView::Gating);
        app.item_sel = rows.len() - 1;
        let key = rows[rows.len() - 1].key();
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('u')), None);
        assert!(matches!(dialog(&app).kind, DialogKind::Untick { .. }));
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(
            dialog(&app).error.as_deref(),
            Some(strings::REASON_REQUIRED)
        );
        typ(&mut app, &s, now, "ticked the wrong row");
        let out = press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert_eq!(s.unticked_gating_all(), vec![key]);
        let d = s.decisions.last().expect("decision");
        assert_eq!(d.reason, "ticked the wrong row");
        // u on an open item says there is nothing to take back.
        app.item_sel = 0;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('u')), None);
        assert_eq!(message(&app).1, strings::NO_TICK);
    }

    #[test]
    fn i_on_a_customer_not_deployed_is_refused_by_the_engine() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('G'));
        press(&mut app, &s, now, KeyCode::Char('i'));
        let name = match &dialog(&app).kind {
            DialogKind::ReportIssue { name, .. } => name.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            Some(name.as_str()),
            s.customers.last().map(|c| c.name.as_str())
        );
        typ(&mut app, &s, now, "pager");
        press(&mut app, &s, now, KeyCode::Enter);
        press(&mut app, &s, now, KeyCode::Right);
        let out = press(&mut app, &s, now, KeyCode::Enter);
        let verdict = deliver(&mut app, &mut s, now, out).expect("sent");
        assert!(
            matches!(verdict, Err(Rejected::NotDeployed(_))),
            "{verdict:?}"
        );
        assert!(message(&app).1.contains("has not been deployed"));
    }

    #[test]
    fn e_declares_an_emergency_after_confirming_and_the_engine_may_refuse() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Char('e'));
        assert!(dialog(&app).kind.destructive());
        typ(&mut app, &s, now, "exploit");
        press(&mut app, &s, now, KeyCode::Enter);
        assert_eq!(focus_of(&app), "cancel");
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(deliver(&mut app, &mut s, now, out), Some(Ok(())));
        assert!(s.emergency);
        press(&mut app, &s, now, KeyCode::Char('e'));
        typ(&mut app, &s, now, "again");
        press(&mut app, &s, now, KeyCode::Tab);
        let out = press(&mut app, &s, now, KeyCode::Char('y'));
        assert_eq!(
            deliver(&mut app, &mut s, now, out),
            Some(Err(Rejected::AlreadyEmergency))
        );
        assert!(message(&app).1.contains("already in emergency mode"));
    }

    #[test]
    fn c_confirms_overdue_waves_and_the_engine_says_when_there_are_none() {
        let (mut s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        let out = press(&mut app, &s, now, KeyCode::Char('c'));
        assert_eq!(out, Some(Outgoing::Command(Command::ConfirmOverdue)));
        assert_eq!(
            deliver(&mut app, &mut s, now, out),
            Some(Err(Rejected::NothingOverdue))
        );
        assert_eq!(
            message(&app).1,
            "refused: no wave is waiting for confirmation"
        );
    }

    #[test]
    fn navigation_keys_move_focus_selection_and_scroll() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Checklist);
        app.on_key(
            KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            &s,
            now,
        );
        assert_eq!(app.focus, Focus::Timeline);
        press(&mut app, &s, now, KeyCode::BackTab);
        assert_eq!(app.focus, Focus::Log);
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Timeline);
        let last_wave = s.waves.len() - 1;
        for (code, want) in [
            (KeyCode::Char('j'), 1),
            (KeyCode::Down, 2),
            (KeyCode::Char('k'), 1),
            (KeyCode::Up, 0),
            (KeyCode::Up, 0),
            (KeyCode::Char('G'), last_wave),
            (KeyCode::Down, last_wave),
            (KeyCode::Char('g'), 0),
            (KeyCode::End, last_wave),
            (KeyCode::Home, 0),
        ] {
            press(&mut app, &s, now, code);
            assert_eq!(app.wave_sel, want, "timeline {code:?}");
        }
        app.focus = Focus::Checklist;
        press(&mut app, &s, now, KeyCode::Char('G'));
        let items = current_checklist(&s).map_or(0, |c| c.items.len());
        assert_eq!(app.item_sel, items - 1);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('j'));
        assert_eq!(app.customer_sel, 2);
        app.focus = Focus::Log;
        press(&mut app, &s, now, KeyCode::Char('G'));
        assert_eq!(app.log_scroll, s.decisions.len() - 1);
        press(&mut app, &s, now, KeyCode::Char('g'));
        assert_eq!(app.log_scroll, 0);
    }

    #[test]
    fn slash_filters_esc_clears_and_question_mark_toggles_help() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        press(&mut app, &s, now, KeyCode::Char('/'));
        assert!(app.filter_editing);
        assert_eq!(app.focus, Focus::Health);
        // Keys are text while filtering: q does not quit, a does not approve.
        typ(&mut app, &s, now, "aq");
        assert_eq!(app.filter, "aq");
        press(&mut app, &s, now, KeyCode::Backspace);
        press(&mut app, &s, now, KeyCode::Backspace);
        typ(&mut app, &s, now, "acme");
        press(&mut app, &s, now, KeyCode::Enter);
        assert!(!app.filter_editing);
        assert_eq!(app.visible_customers(&s).len(), 1);
        press(&mut app, &s, now, KeyCode::Esc);
        assert!(app.filter.is_empty());
        assert_eq!(app.visible_customers(&s).len(), s.customers.len());
        app.refuse("something");
        press(&mut app, &s, now, KeyCode::Esc);
        assert!(app.message.is_none(), "esc clears the message");
        press(&mut app, &s, now, KeyCode::Char('?'));
        assert!(app.help);
        // Help swallows action keys.
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
        press(&mut app, &s, now, KeyCode::Char('?'));
        assert!(!app.help);
        press(&mut app, &s, now, KeyCode::Char('?'));
        press(&mut app, &s, now, KeyCode::Esc);
        assert!(!app.help);
    }

    /// Every key of the issue's list in every focus: what it does there.
    #[test]
    fn every_key_in_every_focus() {
        let (s, now) = demo_state();
        let pause = Some(Outgoing::Command(Command::Pause {
            reason: strings::PAUSE_REASON.into(),
        }));
        for focus in Focus::ORDER {
            let fresh = || {
                let mut app = App::new("alice", false, true);
                app.focus = focus;
                app
            };
            let mut app = fresh();
            assert_eq!(press(&mut app, &s, now, KeyCode::Char('a')), None);
            assert_eq!(dialog(&app).kind, DialogKind::Approve, "{focus:?}");
            let mut app = fresh();
            assert_eq!(
                press(&mut app, &s, now, KeyCode::Char('p')),
                pause,
                "{focus:?}"
            );
            for (c, kind) in [
                ('r', DialogKind::Rollback),
                ('s', DialogKind::SkipWait { wave: None }),
                ('e', DialogKind::Emergency),
                ('A', DialogKind::Abort),
                ('q', DialogKind::Quit { running: true }),
            ] {
                let mut app = fresh();
                assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None);
                assert_eq!(dialog(&app).kind, kind, "{c} in {focus:?}");
                assert_ne!(
                    focus_of(&app),
                    "confirm",
                    "{c}: confirm never focused at first"
                );
            }
            let mut app = fresh();
            press(&mut app, &s, now, KeyCode::Char('i'));
            assert!(
                matches!(dialog(&app).kind, DialogKind::ReportIssue { .. }),
                "i in {focus:?}"
            );
            for c in ['x', ' '] {
                let mut app = fresh();
                let out = press(&mut app, &s, now, KeyCode::Char(c));
                if focus == Focus::Checklist {
                    assert!(
                        matches!(out, Some(Outgoing::Command(Command::TickItem { .. }))),
                        "{c:?}"
                    );
                } else {
                    assert_eq!(out, None);
                    assert_eq!(message(&app).1, strings::TICK_NEEDS_FOCUS);
                }
            }
            let mut app = fresh();
            assert_eq!(
                press(&mut app, &s, now, KeyCode::Char('c')),
                Some(Outgoing::Command(Command::ConfirmOverdue))
            );
            let mut app = fresh();
            assert_eq!(
                press(&mut app, &s, now, KeyCode::Char('f')),
                Some(Outgoing::InjectFault(s.customers[0].id.clone()))
            );
            let mut app = fresh();
            press(&mut app, &s, now, KeyCode::Tab);
            assert_eq!(app.focus, focus.next());
            press(&mut app, &s, now, KeyCode::BackTab);
            assert_eq!(app.focus, focus);
            let mut app = fresh();
            press(&mut app, &s, now, KeyCode::Char('?'));
            assert!(app.help);
            let mut app = fresh();
            press(&mut app, &s, now, KeyCode::Char('/'));
            assert!(app.filter_editing);
        }
    }

    #[test]
    fn readonly_refuses_every_action_key_with_a_note_and_still_navigates() {
        let (s, now) = demo_state();
        let actions: Vec<char> = keys::DEFAULT_BINDINGS
            .iter()
            .filter(|(_, a)| a.acts())
            .filter_map(|(code, _)| match code {
                KeyCode::Char(c) => Some(*c),
                _ => None,
            })
            .collect();
        assert!(
            actions.contains(&'A') && actions.contains(&'f'),
            "{actions:?}"
        );
        for focus in Focus::ORDER {
            let mut app = App::new("alice", true, true);
            app.focus = focus;
            for &c in &actions {
                app.message = None;
                assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None, "{c}");
                assert!(app.dialog.is_none(), "{c} opened a dialog");
                let (kind, text) = message(&app);
                assert_eq!(kind, MessageKind::Refused);
                assert!(
                    text.starts_with("read-only: `") && text.contains("--readonly"),
                    "{c}: {text}"
                );
            }
        }
        let mut app = App::new("alice", true, true);
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Checklist);
        press(&mut app, &s, now, KeyCode::Char('q'));
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('y')),
            Some(Outgoing::Quit)
        );
    }

    #[test]
    fn too_small_only_quits() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.too_small = true;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('p')), None);
        assert_eq!(
            app.message.as_ref().map(|m| m.text.as_str()),
            Some(strings::TOO_SMALL_KEYS)
        );
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Char('q')),
            Some(Outgoing::Quit),
            "a confirmation could not be seen: q quits at once"
        );
    }

    #[test]
    fn a_dialog_cannot_be_answered_while_the_terminal_is_too_small() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('r'));
        press(&mut app, &s, now, KeyCode::Tab);
        typ(&mut app, &s, now, "bad");
        press(&mut app, &s, now, KeyCode::Enter);
        press(&mut app, &s, now, KeyCode::Right);
        assert_eq!(focus_of(&app), "confirm");
        app.too_small = true;
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('y')), None);
        assert_eq!(dialog(&app).reason, "bad", "the dialog waits, intact");
        app.too_small = false;
        assert!(matches!(
            press(&mut app, &s, now, KeyCode::Enter),
            Some(Outgoing::Command(Command::Rollback { .. }))
        ));
    }

    #[test]
    fn chords_neither_confirm_a_dialog_nor_type_into_it() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.focus = Focus::Health;
        press(&mut app, &s, now, KeyCode::Char('r'));
        press(&mut app, &s, now, KeyCode::Tab);
        typ(&mut app, &s, now, "bad");
        let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        assert_eq!(app.on_key(ctrl('w'), &s, now), None);
        assert_eq!(dialog(&app).reason, "bad", "Ctrl-W typed nothing");
        press(&mut app, &s, now, KeyCode::Enter);
        press(&mut app, &s, now, KeyCode::Right);
        assert_eq!(app.on_key(alt('y'), &s, now), None);
        assert_eq!(
            app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT), &s, now),
            None
        );
        assert!(app.dialog.is_some(), "still asking");
    }

    #[test]
    fn f_is_demo_only_and_names_the_selected_customer() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('f')), None);
        let mut demo = App::new("alice", false, true);
        demo.focus = Focus::Health;
        press(&mut demo, &s, now, KeyCode::Char('G'));
        let last = s.customers.last().expect("customers").id.clone();
        assert_eq!(
            press(&mut demo, &s, now, KeyCode::Char('f')),
            Some(Outgoing::InjectFault(last))
        );
    }

    #[test]
    fn after_the_runtime_stopped_action_keys_say_so() {
        let (s, now) = demo_state();
        let mut app = App::new("alice", false, true);
        app.runtime_stopped = true;
        for c in ['a', 'p', 'r', 's', 'e', 'A'] {
            app.message = None;
            assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None, "{c}");
            assert!(app.dialog.is_none(), "{c}");
            assert_eq!(message(&app).1, strings::RUNTIME_STOPPED, "{c}");
        }
    }

    #[test]
    fn engine_refusal_reaches_the_message_line() {
        let mut app = App::new("alice", false, false);
        let cmd = Command::Approve {
            wave: None,
            role: None,
        };
        app.on_command_result(
            &cmd,
            Err(SendError::Rejected(crate::engine::Rejected::NoPendingGate)),
        );
        assert_eq!(
            app.message,
            Some(Message {
                kind: MessageKind::Refused,
                text: "refused: no wave is waiting for an approval".into()
            })
        );
    }

    #[test]
    fn pasted_newlines_become_spaces_in_the_reason() {
        let (s, now) = state(ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        press(&mut app, &s, now, KeyCode::Char('e'));
        app.on_paste("line one\rline two");
        assert_eq!(
            app.dialog.as_ref().map(|d| d.reason.as_str()),
            Some("line one line two")
        );
    }
}

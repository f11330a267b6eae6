//! View state of the cockpit: focus, selections, scroll, filter, dialogs and the
//! message line — and the translation of key presses into engine commands.
//!
//! Nothing here decides anything about the rollout. A key becomes a [`Command`] the
//! runtime sends to the engine; whether it is allowed is the engine's call, and its
//! refusal text comes back to the message line. The only checks made here are about
//! the operator's input (a reason typed, the version typed for a full rollback),
//! because they concern the dialog, not the release.

use chrono::{DateTime, FixedOffset, Utc};
use crossterm::event::{KeyCode, KeyEvent};

use super::keys::{self, Action};
use super::strings;
use crate::domain::{Checklist, ChecklistKind, CustomerId, TierName};
use crate::engine::state::CustomerState;
use crate::engine::{self, Command, CustomerStatus, Gate, ReleaseState, RollbackScope, WaveStatus};
use crate::runtime::driver::SendError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Timeline,
    Checklist,
    Health,
    Log,
}

impl Focus {
    const ORDER: [Focus; 4] = [Focus::Timeline, Focus::Checklist, Focus::Health, Focus::Log];

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
    ReportIssue { customer: CustomerId, name: String },
    Emergency,
    SkipWait { wave: Option<TierName> },
    Resume,
    Quit { running: bool },
}

impl DialogKind {
    /// Destructive dialogs never submit from the reason field: the operator has to
    /// move to the buttons, where Cancel is focused.
    pub fn destructive(&self) -> bool {
        matches!(
            self,
            DialogKind::Rollback | DialogKind::ReportIssue { .. } | DialogKind::Emergency
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Scope,
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
    /// Rollback of everything: the release version, typed.
    pub version: String,
    pub field: Field,
    /// False = Cancel is focused (the default for every dialog).
    pub confirm_focused: bool,
    pub error: Option<String>,
}

impl Dialog {
    fn new(kind: DialogKind) -> Dialog {
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
            error: None,
        }
    }

    pub fn selected_scope(&self) -> Option<&RollbackScope> {
        self.scopes.get(self.scope_sel).map(|(s, _)| s)
    }

    /// The fields this dialog has, in tab order.
    pub fn fields(&self) -> Vec<Field> {
        match self.kind {
            DialogKind::Rollback => {
                let mut f = vec![Field::Scope, Field::Reason];
                if self.selected_scope() == Some(&RollbackScope::All) {
                    f.push(Field::Version);
                }
                f.push(Field::Buttons);
                f
            }
            DialogKind::Quit { .. } => vec![Field::Buttons],
            _ => vec![Field::Reason, Field::Buttons],
        }
    }

    fn move_field(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.field).unwrap_or(0);
        let n = fields.len();
        let j = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.field = fields[j];
    }

    fn text_mut(&mut self) -> Option<&mut String> {
        match self.field {
            Field::Reason => Some(&mut self.reason),
            Field::Version => Some(&mut self.version),
            _ => None,
        }
    }
}

/// What the loop must do after a key: send a command, call the demo's fault
/// injector, or leave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Command(Command),
    InjectFault(CustomerId),
    Quit,
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
    pub dialog: Option<Dialog>,
    pub help: bool,
    pub message: Option<Message>,
    /// Set by the loop when the last frame was the too-small screen: only quitting
    /// works then, since the operator cannot see what a key would act on.
    pub too_small: bool,
    /// The runtime has stopped (the release ended or failed): nothing more to send.
    pub runtime_stopped: bool,
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
            dialog: None,
            help: false,
            message: None,
            too_small: false,
            runtime_stopped: false,
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
        match result {
            Ok(()) => self.info(strings::accepted(command)),
            Err(SendError::Rejected(r)) => self.refuse(strings::refused(&r.to_string())),
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
        if let Some(field) = self.dialog.as_mut().and_then(Dialog::text_mut) {
            field.push_str(&clean);
        } else if self.filter_editing {
            self.filter.push_str(&clean);
            self.customer_sel = 0;
        }
    }

    /// Handles one key press against the current snapshot.
    /// `now` is the release time, for reading gates.
    pub fn on_key(
        &mut self,
        key: KeyEvent,
        state: &ReleaseState,
        now: DateTime<Utc>,
    ) -> Option<Outgoing> {
        if self.dialog.is_some() {
            return self.dialog_key(key, state);
        }
        if self.too_small {
            return match keys::action_for(&key) {
                Some(Action::Quit) => self.quit(state),
                _ => {
                    self.refuse(strings::TOO_SMALL_KEYS);
                    None
                }
            };
        }
        if self.filter_editing {
            self.filter_key(key);
            return None;
        }
        let action = keys::action_for(&key)?;
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
            Action::Quit => return self.quit(state),
            Action::Approve => {
                // The selected wave when its gate is an approval; otherwise the
                // engine picks the next pending gate (and says if there is none).
                let wave = (self.focus == Focus::Timeline)
                    .then(|| state.waves.get(self.wave_sel))
                    .flatten()
                    .filter(|_| {
                        matches!(
                            engine::gate(state, self.wave_sel, now),
                            Gate::Approval { .. }
                        )
                    })
                    .map(|w| w.tier.clone());
                return self.command(Command::Approve { wave, role: None });
            }
            Action::PauseResume => match &state.pause {
                None => {
                    return self.command(Command::Pause {
                        reason: strings::PAUSE_REASON.into(),
                    });
                }
                Some(p) if p.cause == crate::engine::PauseCause::Operator => {
                    return self.command(Command::Resume {
                        reason: String::new(),
                    });
                }
                Some(_) => return self.open(DialogKind::Resume, "p pause/resume"),
            },
            Action::SkipWait => {
                let wave = (self.focus == Focus::Timeline)
                    .then(|| state.waves.get(self.wave_sel))
                    .flatten()
                    .filter(|w| w.status == WaveStatus::Waiting)
                    .map(|w| w.tier.clone());
                return self.open(DialogKind::SkipWait { wave }, "s skip wait");
            }
            Action::Tick => {
                if self.focus != Focus::Checklist {
                    self.refuse(strings::TICK_NEEDS_FOCUS);
                    return None;
                }
                let Some(list) = current_checklist(state) else {
                    self.refuse(strings::NO_ITEM);
                    return None;
                };
                let Some(item) = list.items.get(self.item_sel) else {
                    self.refuse(strings::NO_ITEM);
                    return None;
                };
                return self.command(Command::TickItem {
                    checklist: Some(list.id.clone()),
                    item: item.id.clone(),
                    on_word: false,
                });
            }
            Action::ConfirmOverdue => return self.command(Command::ConfirmOverdue),
            Action::ReportIssue => {
                let Some(c) = self.selected_customer(state) else {
                    self.refuse(strings::NO_CUSTOMER);
                    return None;
                };
                let kind = DialogKind::ReportIssue {
                    customer: c.id.clone(),
                    name: c.name.clone(),
                };
                return self.open(kind, "i report issue");
            }
            Action::Emergency => return self.open(DialogKind::Emergency, "e emergency"),
            Action::Rollback => {
                if self.readonly {
                    self.refuse(strings::readonly_refusal("r rollback"));
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

    fn open(&mut self, kind: DialogKind, key: &str) -> Option<Outgoing> {
        if self.readonly {
            self.refuse(strings::readonly_refusal(key));
            return None;
        }
        self.dialog = Some(Dialog::new(kind));
        None
    }

    fn quit(&mut self, state: &ReleaseState) -> Option<Outgoing> {
        let running = !state.phase.is_final() && !self.runtime_stopped;
        if !running {
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
            KeyCode::Char(c) if !keys::is_ctrl_c(&key) => self.filter.push(c),
            _ if keys::is_ctrl_c(&key) => self.filter_editing = false,
            _ => {}
        }
        self.customer_sel = 0;
    }

    fn dialog_key(&mut self, key: KeyEvent, state: &ReleaseState) -> Option<Outgoing> {
        let d = self.dialog.as_mut()?;
        if let DialogKind::Quit { .. } = d.kind {
            // q again (or Ctrl-C) confirms: the release is safe in its journal.
            match key.code {
                KeyCode::Char('q') if !keys::is_ctrl_c(&key) => return Some(Outgoing::Quit),
                _ if keys::is_ctrl_c(&key) => return Some(Outgoing::Quit),
                _ => {}
            }
        } else if keys::is_ctrl_c(&key) {
            self.dialog = None;
            return self.quit(state);
        }
        match key.code {
            KeyCode::Esc => {
                self.dialog = None;
                return None;
            }
            KeyCode::Tab => d.move_field(true),
            KeyCode::BackTab => d.move_field(false),
            KeyCode::Enter => {
                if d.field == Field::Buttons {
                    if !d.confirm_focused {
                        self.dialog = None;
                        return None;
                    }
                    return self.submit(state);
                }
                if d.field == Field::Reason && !d.kind.destructive() {
                    return self.submit(state);
                }
                d.move_field(true);
                if d.field == Field::Buttons {
                    d.confirm_focused = false;
                }
            }
            KeyCode::Left | KeyCode::Right if d.field == Field::Buttons => {
                d.confirm_focused = !d.confirm_focused;
            }
            KeyCode::Char('h' | 'l') if d.field == Field::Buttons => {
                d.confirm_focused = !d.confirm_focused;
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
        if reason.is_empty() {
            d.error = Some(strings::REASON_REQUIRED.into());
            d.field = Field::Reason;
            return None;
        }
        let command = match &d.kind {
            DialogKind::Rollback => {
                let scope = d.selected_scope()?.clone();
                if scope == RollbackScope::All {
                    let want = state.plan.version.to_string();
                    let typed = d.version.trim();
                    let matches = typed == want || format!("v{typed}") == want;
                    if !matches {
                        d.error = Some(strings::version_mismatch(&want));
                        d.field = Field::Version;
                        d.confirm_focused = false;
                        return None;
                    }
                }
                Command::Rollback {
                    scope,
                    reason,
                    force: false,
                }
            }
            DialogKind::ReportIssue { customer, .. } => Command::ReportIssue {
                customer: customer.clone(),
                reason,
            },
            DialogKind::Emergency => Command::Emergency { reason },
            DialogKind::SkipWait { wave } => Command::SkipWait {
                wave: wave.clone(),
                reason,
            },
            DialogKind::Resume => Command::Resume { reason },
            DialogKind::Quit { .. } => return Some(Outgoing::Quit),
        };
        self.dialog = None;
        self.command(command)
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
                let len = current_checklist(state).map_or(0, |c| c.items.len());
                self.item_sel = step(self.item_sel, len);
            }
            Focus::Health => {
                let len = self.visible_customers(state).len();
                self.customer_sel = step(self.customer_sel, len);
            }
            Focus::Log => self.log_scroll = step(self.log_scroll, state.decisions.len()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{self, ReleasePlan, Selection};
    use crate::tui::input::key;
    use crossterm::event::KeyModifiers;

    fn state(t: crate::domain::ReleaseType) -> (ReleaseState, DateTime<Utc>) {
        let cfg = crate::config::load_builtin().expect("config");
        let now: DateTime<Utc> = "2026-11-16T10:00:00Z".parse().expect("time");
        let plan = ReleasePlan::build(&cfg, "v1.0.1".parse().expect("v"), t, Selection::All, false)
            .expect("plan");
        let first = engine::plan_event(plan, "alice", now);
        (ReleaseState::fold([&first]).expect("fold"), now)
    }

    fn press(
        app: &mut App,
        s: &ReleaseState,
        now: DateTime<Utc>,
        code: KeyCode,
    ) -> Option<Outgoing> {
        app.on_key(key(code), s, now)
    }

    #[test]
    fn a_approves_the_next_pending_gate_in_any_focus() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        for focus in Focus::ORDER {
            let mut app = App::new("alice", false, false);
            app.focus = focus;
            let out = press(&mut app, &s, now, KeyCode::Char('a'));
            assert_eq!(
                out,
                Some(Outgoing::Command(Command::Approve {
                    wave: None,
                    role: None
                })),
                "{focus:?}"
            );
        }
    }

    #[test]
    fn p_pauses_with_a_reason_and_resumes_an_operator_pause_at_once() {
        let (mut s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        let out = press(&mut app, &s, now, KeyCode::Char('p'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Pause {
                reason: strings::PAUSE_REASON.into()
            }))
        );
        engine::step(
            &mut s,
            &engine::Input::Command {
                actor: "alice".into(),
                command: Command::Pause { reason: "x".into() },
            },
            now,
        )
        .expect("pause");
        let out = press(&mut app, &s, now, KeyCode::Char('p'));
        assert_eq!(
            out,
            Some(Outgoing::Command(Command::Resume {
                reason: String::new()
            }))
        );
    }

    #[test]
    fn x_ticks_the_selected_item_only_in_the_checklist() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
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
    fn r_opens_the_rollback_dialog_with_cancel_focused_and_all_needs_the_version() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.focus = Focus::Health;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('r')), None);
        let d = app.dialog.clone().expect("dialog");
        assert_eq!(d.kind, DialogKind::Rollback);
        assert!(!d.confirm_focused);
        assert!(matches!(
            d.selected_scope(),
            Some(RollbackScope::Customer(_))
        ));
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Char('j'));
        press(&mut app, &s, now, KeyCode::Enter);
        for c in "bad".chars() {
            press(&mut app, &s, now, KeyCode::Char(c));
        }
        press(&mut app, &s, now, KeyCode::Enter); // to version
        for c in "1.0.0".chars() {
            press(&mut app, &s, now, KeyCode::Char(c));
        }
        press(&mut app, &s, now, KeyCode::Enter); // to buttons, Cancel focused
        assert_eq!(app.dialog.as_ref().map(|d| d.field), Some(Field::Buttons));
        press(&mut app, &s, now, KeyCode::Right);
        assert_eq!(
            press(&mut app, &s, now, KeyCode::Enter),
            None,
            "wrong version refused"
        );
        assert!(
            app.dialog
                .as_ref()
                .and_then(|d| d.error.clone())
                .is_some_and(|e| e.contains("v1.0.1"))
        );
        let d = app.dialog.as_mut().expect("dialog");
        d.version = "v1.0.1".into();
        d.field = Field::Buttons;
        d.confirm_focused = true;
        let out = press(&mut app, &s, now, KeyCode::Enter);
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
    fn enter_on_the_default_button_cancels() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        press(&mut app, &s, now, KeyCode::Char('e'));
        for c in "why".chars() {
            press(&mut app, &s, now, KeyCode::Char(c));
        }
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert_eq!(press(&mut app, &s, now, KeyCode::Enter), None);
        assert!(app.dialog.is_none(), "cancelled");
    }

    #[test]
    fn readonly_refuses_action_keys_with_a_note_and_still_navigates() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", true, false);
        for c in ['a', 'p', 'r', 's', 'e', 'c', 'i'] {
            app.message = None;
            assert_eq!(press(&mut app, &s, now, KeyCode::Char(c)), None, "{c}");
            assert!(app.dialog.is_none(), "{c} opened a dialog");
            let m = app.message.clone().expect("a note");
            assert_eq!(m.kind, MessageKind::Refused);
            assert!(
                m.text.starts_with("read-only") || m.text == strings::NO_CUSTOMER,
                "{c}: {}",
                m.text
            );
        }
        press(&mut app, &s, now, KeyCode::Tab);
        assert_eq!(app.focus, Focus::Checklist);
    }

    #[test]
    fn q_and_ctrl_c_ask_while_running_then_quit() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('q')), None);
        assert!(matches!(
            app.dialog.as_ref().map(|d| &d.kind),
            Some(DialogKind::Quit { running: true })
        ));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(app.on_key(ctrl_c, &s, now), Some(Outgoing::Quit));
    }

    #[test]
    fn too_small_only_quits() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        app.too_small = true;
        assert_eq!(press(&mut app, &s, now, KeyCode::Char('p')), None);
        assert_eq!(
            app.message.as_ref().map(|m| m.text.as_str()),
            Some(strings::TOO_SMALL_KEYS)
        );
        press(&mut app, &s, now, KeyCode::Char('q'));
        assert!(app.dialog.is_some());
    }

    #[test]
    fn f_is_demo_only_and_names_the_selected_customer() {
        let (s, now) = state(crate::domain::ReleaseType::Security);
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
        let (s, now) = state(crate::domain::ReleaseType::Security);
        let mut app = App::new("alice", false, false);
        press(&mut app, &s, now, KeyCode::Char('e'));
        app.on_paste("line one\rline two");
        assert_eq!(
            app.dialog.as_ref().map(|d| d.reason.as_str()),
            Some("line one line two")
        );
    }
}

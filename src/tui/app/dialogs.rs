//! The cockpit's dialogs: what each asks, its fields, and the command its
//! confirm button sends.
//!
//! Dialogs follow one keyboard contract, the one people know from desktop dialogs:
//! the focus starts on Cancel whenever it reaches the buttons; Tab / Shift-Tab walk
//! the fields and then each button; Left / Right (and h / l) move between the two
//! buttons; Enter activates the focused button; `y` is the confirm button and `n` /
//! Esc cancel. `y` goes through the same checks as the button, so it can never skip
//! a required reason or the typed version.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Focus, Outgoing, is_chord};
use crate::domain::{CustomerId, Role, TierName};
use crate::engine::{Command, ReleaseState, RollbackScope};
use crate::tui::keys;
use crate::tui::strings;

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
    pub(super) fn move_focus(&mut self, forward: bool) {
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

    pub(super) fn text_mut(&mut self) -> Option<&mut String> {
        match self.field {
            Field::Reason => Some(&mut self.reason),
            Field::Version => Some(&mut self.version),
            _ => None,
        }
    }

    /// Back to a field with an error, and Cancel focused again when the operator
    /// returns to the buttons.
    pub(super) fn fail(&mut self, field: Field, error: String) {
        self.error = Some(error);
        self.field = field;
        self.confirm_focused = false;
    }
}

impl App {
    pub(super) fn open(&mut self, kind: DialogKind) -> Option<Outgoing> {
        if self.runtime_stopped {
            self.refuse(strings::RUNTIME_STOPPED);
            return None;
        }
        self.dialog = Some(Dialog::new(kind));
        None
    }

    pub(super) fn rollback_scopes(&self, state: &ReleaseState) -> Vec<(RollbackScope, String)> {
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

    pub(super) fn close_dialog(&mut self) -> Option<Outgoing> {
        self.dialog = None;
        None
    }

    pub(super) fn dialog_key(&mut self, key: KeyEvent, state: &ReleaseState) -> Option<Outgoing> {
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
    pub(super) fn submit(&mut self, state: &ReleaseState) -> Option<Outgoing> {
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
}

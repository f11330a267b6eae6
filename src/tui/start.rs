//! The start screen: what bare `shipdeck` shows when no release is active — the
//! recent releases and how they ended, and a form to start the next one, which
//! shows the plan before anything starts.
//!
//! Like the cockpit, it decides nothing about rollouts: the version rule is the
//! domain's (`ReleaseType::check_bump`), the plan is the engine's
//! (`ReleasePlan::build`), and starting is the caller's (the CLI opens the runtime
//! with the plan this screen hands back). The screen reads the history it is given
//! and writes nothing, so quitting it leaves no trace in the state dir.
//!
//! The model ([`StartScreen`]) turns keys into an outcome and is tested without a
//! terminal; the loop (`start_loop::run_with`) takes any frame sink and event stream, as the
//! cockpit's does, so tests drive it with a `TestBackend` and scripted keys, and the
//! CLI drives it on the same terminal session the cockpit then draws on.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys;
use super::terminal::ShutdownSignal;
use crate::domain::{Configuration, ReleaseType, Version};
use crate::engine::plan::PlanError;
use crate::engine::{ReleasePlan, Selection};
use crate::runtime::history::ReleaseSummary;

/// The start screen's words, in one place (as `strings` is for the cockpit).
pub mod text {
    pub const TITLE_NO_ACTIVE: &str = "no active release";
    pub const TITLE_PREVIEW: &str = "plan preview";
    pub const PANE_RECENT: &str = "Recent releases";
    pub const PANE_FORM: &str = "Start a release";
    pub const PANE_PLAN: &str = "Plan · nothing has started yet";

    pub const LABEL_VERSION: &str = "Version";
    pub const LABEL_TYPE: &str = "Type";
    pub const LABEL_CUSTOMERS: &str = "Customers";
    pub const BUTTON_SHOW_PLAN: &str = "[ Show plan ]";

    pub const CUSTOMERS_SYNTAX: &str = "all, a tier, or names: A, B";
    /// Under a patch type: the form starts no emergency, because an override must
    /// record who and why — the cockpit's `e` asks for the reason and journals it.
    pub const EMERGENCY_HOWTO: &str = "emergency: start it, then press e in the cockpit (asks why)";
    pub const CUSTOMERS_BLANK: &str = "type all, a tier, or customer names";
    pub const CUSTOMERS_ALL_MIXED: &str = "all stands alone";

    pub const NO_TYPES: &str =
        "no release type has a policy in policies.json: add one to start a release";
    pub const FIX_FIRST: &str = "the plan needs the marked fields fixed first";
    pub const PREVIEW_HINT: &str =
        "enter or y starts the release and opens the cockpit · esc goes back to the form";
    pub const TOO_SMALL_KEYS: &str = "enlarge the terminal to use the start screen; q quits";

    pub const FOOTER_TEXT_FIELD: &str = "tab next field  enter show plan";
    pub const FOOTER_TYPE: &str = "←/→ change type  tab next field  enter show plan";
    pub const FOOTER_BUTTON: &str = "enter show plan  tab next field";
    pub const FOOTER_PREVIEW: &str = "enter/y start  esc back  j/k scroll";
    pub const FOOTER_GLOBAL_TEXT: &str = "? help  esc quit";
    pub const FOOTER_GLOBAL: &str = "? help  q quit";
    pub const FOOTER_HELP: &str = "esc or ? closes this help";
    pub const STATUS_FORM: &str = "nothing started";
    pub const STATUS_PREVIEW: &str = "preview · nothing started";

    pub const HELP_TITLE: &str = " Keys: start screen ";
    /// (keys, what they do) on the form.
    pub const HELP_FORM: &[(&str, &str)] = &[
        ("tab  shift-tab", "next / previous field (also down / up)"),
        ("type  backspace", "edit the version or the customers"),
        ("left right space", "change the type"),
        ("enter", "show the plan (nothing starts yet)"),
        ("?", "show / hide this help"),
        ("esc", "quit; nothing is started or written"),
        ("q  ctrl-c", "quit (q types a letter in a text field)"),
    ];
    /// (keys, what they do) on the plan preview.
    pub const HELP_PREVIEW: &[(&str, &str)] = &[
        ("enter  y", "start the release and open the cockpit"),
        ("esc  n", "back to the form"),
        ("j k  up down", "scroll the plan"),
        ("g  G", "top / bottom"),
        ("?", "show / hide this help"),
        ("q  ctrl-c", "quit; nothing is started or written"),
    ];

    pub fn empty_history(state_dir: &str) -> [String; 2] {
        [
            format!("No releases yet in {state_dir}."),
            "Fill in the form below to start the first one, or try `shipdeck demo`.".into(),
        ]
    }
}

/// The form's fields, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Version,
    Type,
    Customers,
    ShowPlan,
}

impl Field {
    /// Fields that take typed text: there `q` is a letter, and Esc quits.
    pub fn is_text(self) -> bool {
        matches!(self, Field::Version | Field::Customers)
    }
}

/// What is wrong with the form, per field, in words an operator can act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub version: Option<String>,
    pub release_type: Option<String>,
    pub customers: Option<String>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.version.is_none() && self.release_type.is_none() && self.customers.is_none()
    }

    /// The first field with a problem, in tab order: where the focus goes.
    pub fn first_field(&self) -> Option<Field> {
        if self.version.is_some() {
            Some(Field::Version)
        } else if self.release_type.is_some() {
            Some(Field::Type)
        } else if self.customers.is_some() {
            Some(Field::Customers)
        } else {
            None
        }
    }
}

/// Which screen the operator is looking at.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Form,
    /// The plan the form built, shown before anything starts.
    Preview(Box<ReleasePlan>),
}

/// What a key asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    /// Start this plan (the operator confirmed it on the preview).
    Start(Box<ReleasePlan>),
    /// Leave; nothing was started.
    Quit,
}

/// How the start screen's loop ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StartExit {
    Start(Box<ReleasePlan>),
    Quit,
    Signal(ShutdownSignal),
}

/// Where a new version counts from, and how to say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    pub version: Version,
    /// "after v1.0.3 (rolled back)", "customers run v1.0.0 (config)".
    pub source: String,
}

/// The start screen's state: the history it shows, the form, and the view state.
#[derive(Debug, Clone)]
pub struct StartScreen {
    pub cfg: Configuration,
    /// Newest first.
    pub history: Vec<ReleaseSummary>,
    pub operator: String,
    /// Where the journals live, named when there are none.
    pub state_dir: String,
    /// The release types the configuration has a policy for, in the domain's order.
    pub types: Vec<ReleaseType>,
    pub type_sel: usize,
    pub version: String,
    /// False while the version is the screen's suggestion: changing the type then
    /// suggests the version that type expects.
    pub version_edited: bool,
    pub customers: String,
    pub field: Field,
    pub stage: Stage,
    /// Set by the first "show plan": from then on the form marks every problem.
    pub show_problems: bool,
    pub help: bool,
    /// The preview's first visible line.
    pub scroll: u16,
    /// Set by the loop when the last frame was the too-small screen.
    pub too_small: bool,
    pub message: Option<String>,
}

impl StartScreen {
    /// A start screen over `history` (any order) for `cfg`, pre-filled: the type
    /// is `bug_fix` when configured (the everyday patch), the version the one
    /// that type expects after the last release, the customers all.
    pub fn new(
        cfg: Configuration,
        mut history: Vec<ReleaseSummary>,
        operator: &str,
        state_dir: &str,
    ) -> StartScreen {
        history.sort_by(|a, b| {
            b.started_at
                .cmp(&a.started_at)
                .then_with(|| b.version.cmp(&a.version))
        });
        let types: Vec<ReleaseType> = ReleaseType::ALL
            .into_iter()
            .filter(|t| cfg.policy(*t).is_some())
            .collect();
        let type_sel = types
            .iter()
            .position(|t| *t == ReleaseType::BugFix)
            .unwrap_or(0);
        let mut screen = StartScreen {
            cfg,
            history,
            operator: operator.to_string(),
            state_dir: state_dir.to_string(),
            types,
            type_sel,
            version: String::new(),
            version_edited: false,
            customers: "all".to_string(),
            field: Field::Version,
            stage: Stage::Form,
            show_problems: false,
            help: false,
            scroll: 0,
            too_small: false,
            message: None,
        };
        screen.version = screen.suggested_version().to_string();
        screen
    }

    pub fn release_type(&self) -> Option<ReleaseType> {
        self.types.get(self.type_sel).copied()
    }

    /// The version a new release counts from: the newest version the history has
    /// started — a rolled-back or aborted release has spent its number, so the
    /// next one goes after it — else the newest version the customers run (config).
    pub fn base(&self) -> Option<Base> {
        if let Some(s) = self.history.iter().max_by(|a, b| a.version.cmp(&b.version)) {
            return Some(Base {
                version: s.version.clone(),
                source: format!("after {} ({})", s.version, s.phase.as_str()),
            });
        }
        self.cfg
            .customers
            .iter()
            .map(|c| &c.version)
            .max()
            .map(|v| Base {
                version: v.clone(),
                source: format!("customers run {v} (config)"),
            })
    }

    /// What the selected type expects after the base (the next patch for patch
    /// types), or v1.0.1 when there is nothing to count from.
    pub fn suggested_version(&self) -> Version {
        let t = self.release_type().unwrap_or(ReleaseType::BugFix);
        match self.base() {
            Some(b) => t.expected_after(&b.version),
            None => Version::new(1, 0, 1),
        }
    }

    /// The fields in tab order. There is no emergency toggle: an emergency is
    /// declared in the cockpit (`e`), which asks why and journals it.
    pub fn fields(&self) -> Vec<Field> {
        vec![
            Field::Version,
            Field::Type,
            Field::Customers,
            Field::ShowPlan,
        ]
    }

    /// The customers field as the engine reads it, once it says what it means:
    /// a blank field is not "all customers" (the engine's reading of nothing), and
    /// `all` next to names or tiers is refused rather than quietly winning.
    pub fn selection(&self) -> Result<Selection, String> {
        let parts: Vec<&str> = self
            .customers
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(text::CUSTOMERS_BLANK.to_string());
        }
        if parts.len() > 1 && parts.iter().any(|p| p.eq_ignore_ascii_case("all")) {
            return Err(text::CUSTOMERS_ALL_MIXED.to_string());
        }
        Ok(Selection::parse(&self.customers, &self.cfg))
    }

    /// The version as typed, checked: it parses, it was never started, and it is
    /// the bump the type allows from the base.
    pub fn check_version(&self) -> Result<Version, String> {
        let typed = self.version.trim();
        let t = self.release_type();
        let suggestion = || {
            let base = self.base();
            match (t, base) {
                (Some(t), Some(b)) => t.expected_after(&b.version),
                _ => self.suggested_version(),
            }
        };
        if typed.is_empty() {
            return Err(format!("type a version, e.g. {}", suggestion()));
        }
        let v: Version = typed.parse().map_err(|e| format!("{e}"))?;
        if let Some(prev) = self.history.iter().find(|s| s.version == v) {
            return Err(format!(
                "{v} was already started ({} by {}, {}): use a new version, e.g. {}",
                prev.started_at.format("%Y-%m-%d %H:%M UTC"),
                prev.started_by,
                prev.phase.as_str(),
                suggestion()
            ));
        }
        match (t, self.base()) {
            (Some(t), Some(b)) => {
                t.check_bump(&b.version, &v).map_err(|e| e.to_string())?;
            }
            _ => {
                if !v.0.pre.is_empty() || !v.0.build.is_empty() {
                    return Err(format!(
                        "{v} has a pre-release or build tag; releases are plain MAJOR.MINOR.PATCH"
                    ));
                }
            }
        }
        Ok(v)
    }

    /// The plan the form describes, or every problem with it.
    pub fn check(&self) -> Result<ReleasePlan, Problems> {
        let mut problems = Problems::default();
        let t = self.release_type();
        match t {
            None => problems.release_type = Some(text::NO_TYPES.to_string()),
            Some(t) if self.cfg.pre_release_checklist(t).is_none() => {
                problems.release_type = Some(format!(
                    "no pre-release checklist for {t} in checklists.json: add one to release {t}"
                ));
            }
            Some(_) => {}
        }
        let version = match self.check_version() {
            Ok(v) => Some(v),
            Err(e) => {
                problems.version = Some(e);
                None
            }
        };
        let plan = match t {
            Some(t) => match self.build(t, version.clone()) {
                Ok(plan) => Some(plan),
                Err(e) => {
                    problems.customers = Some(e);
                    None
                }
            },
            None => None,
        };
        match plan {
            Some(plan) if problems.is_empty() && version.is_some() => Ok(plan),
            _ => Err(problems),
        }
    }

    /// The plan for the customers field alone (with a stand-in version when the
    /// typed one does not parse yet), for the live customer count and its problems.
    pub fn selection_plan(&self) -> Option<Result<ReleasePlan, String>> {
        let t = self.release_type()?;
        let version = self.version.trim().parse().ok();
        Some(self.build(t, version))
    }

    fn build(&self, t: ReleaseType, version: Option<Version>) -> Result<ReleasePlan, String> {
        let selection = self.selection()?;
        let version = version.unwrap_or_else(|| self.suggested_version());
        // Never an emergency from the form: see `fields`.
        ReleasePlan::build(&self.cfg, version, t, selection, false).map_err(|e| match e {
            PlanError::UnknownCustomer(name) if self.is_tier(&name) => format!(
                "`{name}` is a tier: list tiers alone (startup, standard) or customer names alone"
            ),
            PlanError::UnknownCustomer(name) => {
                let like = self.customers_like(&name);
                if like.is_empty() {
                    PlanError::UnknownCustomer(name).to_string()
                } else {
                    format!(
                        "unknown customer `{name}`: did you mean {}?",
                        like.join(", ")
                    )
                }
            }
            other => other.to_string(),
        })
    }

    /// Up to three customers whose name or id contains `key`, for "did you mean".
    fn customers_like(&self, key: &str) -> Vec<String> {
        let key = key.trim().to_lowercase();
        if key.is_empty() {
            return Vec::new();
        }
        let like: Vec<String> = self
            .cfg
            .customers
            .iter()
            .filter(|c| {
                c.name.to_lowercase().contains(&key) || c.id.as_str().to_lowercase().contains(&key)
            })
            .map(|c| c.name.clone())
            .collect();
        if like.len() > 3 { Vec::new() } else { like }
    }

    fn is_tier(&self, name: &str) -> bool {
        self.cfg
            .tiers
            .iter()
            .any(|t| t.name.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Handles one key press. Returns what the operator asked for, if anything
    /// beyond the screen itself.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<StartOutcome> {
        if keys::is_ctrl_c(&key) {
            return Some(StartOutcome::Quit);
        }
        // No chords: a stray Ctrl-S must not start anything, nor type an `s`.
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER)
        {
            return None;
        }
        if self.too_small {
            return match key.code {
                // As the message says: q. Esc would mean "back" on the preview.
                KeyCode::Char('q') => Some(StartOutcome::Quit),
                _ => {
                    self.message = Some(text::TOO_SMALL_KEYS.to_string());
                    None
                }
            };
        }
        if self.help {
            match key.code {
                KeyCode::Char('?') | KeyCode::Esc => self.help = false,
                KeyCode::Char('q') => return Some(StartOutcome::Quit),
                _ => {}
            }
            return None;
        }
        if key.code == KeyCode::Char('?') {
            self.help = true;
            return None;
        }
        match self.stage {
            Stage::Form => self.form_key(key),
            Stage::Preview(_) => self.preview_key(key),
        }
    }

    /// A paste goes into the text field being edited, on one line.
    pub fn on_paste(&mut self, pasted: &str) {
        if self.stage != Stage::Form || self.help {
            return;
        }
        let clean: String = pasted
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        match self.field {
            Field::Version => {
                self.version.push_str(clean.trim());
                self.version_edited = true;
            }
            Field::Customers => self.customers.push_str(&clean),
            _ => {}
        }
    }

    fn form_key(&mut self, key: KeyEvent) -> Option<StartOutcome> {
        self.message = None;
        match key.code {
            KeyCode::Esc => return Some(StartOutcome::Quit),
            KeyCode::Tab | KeyCode::Down => {
                self.move_field(true);
                return None;
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.move_field(false);
                return None;
            }
            KeyCode::Enter => {
                self.show_plan();
                return None;
            }
            _ => {}
        }
        match self.field {
            Field::Version | Field::Customers => {
                let field = self.field;
                let edited = match field {
                    Field::Version => &mut self.version,
                    _ => &mut self.customers,
                };
                let changed = match key.code {
                    KeyCode::Backspace => edited.pop().is_some(),
                    KeyCode::Char(c) => {
                        edited.push(c);
                        true
                    }
                    _ => false,
                };
                if changed && field == Field::Version {
                    self.version_edited = true;
                }
            }
            Field::Type => match key.code {
                KeyCode::Left | KeyCode::Char('h') => self.cycle_type(false),
                KeyCode::Right | KeyCode::Char('l' | ' ') => self.cycle_type(true),
                KeyCode::Char('q') => return Some(StartOutcome::Quit),
                _ => {}
            },
            Field::ShowPlan => match key.code {
                KeyCode::Char(' ') => self.show_plan(),
                KeyCode::Char('q') => return Some(StartOutcome::Quit),
                _ => {}
            },
        }
        None
    }

    fn preview_key(&mut self, key: KeyEvent) -> Option<StartOutcome> {
        match key.code {
            KeyCode::Enter | KeyCode::Char('y') => {
                if let Stage::Preview(plan) = &self.stage {
                    return Some(StartOutcome::Start(plan.clone()));
                }
            }
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Backspace => {
                self.stage = Stage::Form;
                self.scroll = 0;
            }
            KeyCode::Char('q') => return Some(StartOutcome::Quit),
            KeyCode::Down | KeyCode::Char('j') => self.scroll = self.scroll.saturating_add(1),
            KeyCode::Up | KeyCode::Char('k') => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown => self.scroll = self.scroll.saturating_add(10),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => self.scroll = 0,
            // Clamped to the last page when drawn.
            KeyCode::End | KeyCode::Char('G') => self.scroll = u16::MAX,
            _ => {}
        }
        None
    }

    fn move_field(&mut self, forward: bool) {
        let fields = self.fields();
        let i = fields.iter().position(|f| *f == self.field).unwrap_or(0);
        self.field = fields[keys::step_around(i, fields.len(), forward)];
    }

    fn cycle_type(&mut self, forward: bool) {
        if self.types.is_empty() {
            return;
        }
        self.type_sel = keys::step_around(self.type_sel, self.types.len(), forward);
        if !self.version_edited {
            self.version = self.suggested_version().to_string();
        }
    }

    /// Builds the plan and shows it, or marks what is wrong and focuses it.
    pub fn show_plan(&mut self) {
        match self.check() {
            Ok(plan) => {
                self.stage = Stage::Preview(Box::new(plan));
                self.scroll = 0;
                self.message = None;
            }
            Err(problems) => {
                self.show_problems = true;
                if let Some(f) = problems.first_field() {
                    self.field = f;
                }
                self.message = Some(text::FIX_FIRST.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TierName;

    fn screen(customers: &str) -> StartScreen {
        let cfg = crate::config::load_builtin().expect("built-in config");
        let mut s = StartScreen::new(cfg, Vec::new(), "alice", "/srv/shipdeck");
        s.customers = customers.to_string();
        s
    }

    #[test]
    fn a_blank_customers_field_is_a_problem_not_all_customers() {
        for blank in ["", "   ", " , ,"] {
            let s = screen(blank);
            assert_eq!(
                s.selection(),
                Err(text::CUSTOMERS_BLANK.to_string()),
                "{blank:?}"
            );
            let problems = s.check().expect_err("no plan");
            assert_eq!(
                problems.customers.as_deref(),
                Some(text::CUSTOMERS_BLANK),
                "{blank:?}"
            );
            assert_eq!(problems.first_field(), Some(Field::Customers));
        }
    }

    #[test]
    fn all_stands_alone() {
        for mixed in ["ACME Corp, all", "all, startup", "Globex, ALL , Initech"] {
            let s = screen(mixed);
            assert_eq!(
                s.selection(),
                Err(text::CUSTOMERS_ALL_MIXED.to_string()),
                "{mixed:?}"
            );
            assert!(s.check().is_err(), "{mixed:?}");
        }
        assert_eq!(screen(" all ").selection(), Ok(Selection::All));
        assert_eq!(screen("All,").selection(), Ok(Selection::All));
        assert_eq!(
            screen("startup").selection(),
            Ok(Selection::Tiers(vec![TierName::new("startup")]))
        );
    }

    #[test]
    fn plans_from_the_form_are_never_emergencies() {
        let mut s = screen("all");
        let mut built = 0;
        for _ in 0..s.types.len() {
            let t = s.release_type().expect("a type");
            if let Ok(plan) = s.check() {
                assert!(!plan.emergency, "{t}");
                built += 1;
            }
            s.field = Field::Type;
            s.on_key(KeyEvent::from(KeyCode::Right));
        }
        assert!(built > 0, "no type built a plan");
    }
}

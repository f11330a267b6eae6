//! Plain data and the rules that belong to a single value: versions, release types,
//! tiers, customers, policies, checklists, the roster, health samples.
//!
//! Nothing here does I/O, reads a clock or knows about async: the engine builds on
//! these types, the config loader fills them, the views print them.

pub mod checklist;
pub mod configuration;
pub mod customer;
pub mod deploy;
pub mod dice;
pub mod duration;
pub mod health;
pub mod notes;
pub mod notify;
pub mod policy;
pub mod promql;
pub mod release_type;
pub mod roster;
pub mod text;
pub mod tier;
pub mod version;
pub mod window;

pub use checklist::{CheckCommand, Checklist, ChecklistItem, ChecklistKind, GatedPhase};
pub use configuration::Configuration;
pub use customer::{Contact, Customer, CustomerId, HeaderFromEnv, HealthSource};
pub use customer::{MinTraffic, PrometheusSource};
pub use deploy::{CommandLine, CommandTarget, DeployTarget, StatusPolling, Verify, WebhookTarget};
pub use duration::HumanDuration;
pub use health::{FigureRange, HealthSample, HealthSummary, ProbeOutcome};
pub use notes::{Change, ChangeKind, ReleaseNotes};
pub use notify::{Channel, NoticeKind, Notifications, RetryPolicy, Route};
pub use policy::{
    Approval, ApprovalRules, CustomerOverride, DeploymentPolicies, Monitoring, Notify,
    NotifyTiming, Policy, TierPolicy, TriggerAction, TriggerPolicy, Urgency,
};
pub use release_type::{BumpError, ReleaseType};
pub use roster::{Person, Role, RoleDef, Roster};
pub use text::escape;
pub use tier::{Tier, TierName};
pub use version::Version;
pub use window::MaintenanceWindow;

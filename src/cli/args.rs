//! Command-line definitions (clap derive). Raw flags only: validation into domain
//! values happens in the subcommand modules, so errors can say how to fix them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "shipdeck",
    about = "A release cockpit for the terminal: tiered rollouts, gates, health triggers and a decision log.",
    long_about = None,
    disable_version_flag = true,
    after_help = "Examples:\n  shipdeck demo                                   the cockpit on a simulated fleet\n  shipdeck plan --version v1.0.1 --type security\n  shipdeck deploy --version v1.0.2 --type bug_fix --dry-run\n\nExit codes: 0 done, 1 waiting on a person / refused / rolled back, 2 error,\n129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (deploy pauses the release first)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Configuration directory (else $SHIPDECK_CONFIG, ./config, the user config dir, built-in).
    #[arg(long, global = true, value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// Where journals, locks and logs live (else the user data dir).
    #[arg(long, global = true, value_name = "DIR", env = "SHIPDECK_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Who is acting (else the OS user); recorded with every decision.
    #[arg(long = "as", global = true, value_name = "NAME")]
    pub operator: Option<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    /// No colours (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Go on with a journal whose hash chain is broken (edited after it was
    /// written); commands that write journal that they did, and who.
    #[arg(long, global = true)]
    pub accept_tampered: bool,
    /// A group whose members may connect to the socket of a release this process
    /// runs (mode 0660; else 0600, the owner only).
    #[arg(
        long,
        global = true,
        value_name = "GROUP",
        env = "SHIPDECK_SOCKET_GROUP"
    )]
    pub socket_group: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ReleaseArgs {
    /// The version to release, e.g. v1.0.1.
    #[arg(long)]
    pub version: String,
    /// security, bug_fix, performance, documentation, minor or major.
    #[arg(long = "type", value_name = "TYPE")]
    pub release_type: String,
    /// all, a tier (startup), or customers by name or id ("ACME Corp,TechStart").
    #[arg(long, default_value = "all")]
    pub customers: String,
    /// Emergency mode: all tiers right after demo, approvals skipped (recorded).
    #[arg(long)]
    pub emergency: bool,
    /// Release notes: Markdown with a small front matter (name, date, summary).
    #[arg(long, value_name = "FILE")]
    pub notes: Option<PathBuf>,
    /// Add the commits since the previous release tag in this git repository,
    /// grouped by conventional-commit type.
    #[arg(long, value_name = "DIR")]
    pub git: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct VersionArg {
    /// The release, e.g. v1.0.1 (default: the most recent one).
    #[arg(long)]
    pub version: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct Reason {
    /// Why; goes into the decision log.
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print the schedule of a release: waves, gates, earliest starts.
    #[command(
        visible_alias = "plan-patch",
        after_help = "Example: shipdeck plan --version v1.0.1 --type security --customers startup"
    )]
    Plan(ReleaseArgs),
    /// Check a version and type before releasing: bump, history, checklist.
    #[command(
        visible_alias = "validate-patch",
        after_help = "Example: shipdeck validate --version v1.0.2 --type bug_fix --from v1.0.1"
    )]
    Validate {
        /// The version to check, e.g. v1.0.2.
        #[arg(long)]
        version: String,
        /// security, bug_fix, performance, documentation, minor or major.
        #[arg(long = "type", value_name = "TYPE")]
        release_type: String,
        /// The last released version (else the release history in the state dir).
        #[arg(long)]
        from: Option<String>,
    },
    /// Run a release to its end in the foreground, one line per event.
    #[command(
        visible_alias = "deploy-patch",
        after_help = "Example: shipdeck deploy --version v1.0.1 --type security --dry-run\n\nCtrl-C pauses and exits; running the same command again resumes."
    )]
    Deploy(DeployArgs),
    /// Deploy in emergency mode (all tiers right after demo, approvals skipped).
    #[command(
        visible_alias = "emergency-patch",
        after_help = "Example: shipdeck emergency --version v1.0.1 --type security --reason \"CVE-2026-1234 exploited\""
    )]
    Emergency {
        #[command(flatten)]
        deploy: DeployArgs,
        /// Why; goes into the decision log.
        #[arg(long, default_value = "emergency declared from the command line")]
        reason: String,
    },
    /// Where a release stands: phase, waves, customers, pending gates.
    #[command(
        visible_alias = "check-patch-status",
        after_help = "Example: shipdeck status --version v1.0.1 --json"
    )]
    Status(VersionArg),
    /// Tick checklist items before or during a release.
    #[command(after_help = "Example: shipdeck tick --version v1.0.1 vuln-confirmed fix-complete")]
    Tick {
        /// The release whose items to tick, e.g. v1.0.1.
        #[arg(long)]
        version: String,
        /// Item ids (`item` or `checklist/item`).
        #[arg(required = true)]
        items: Vec<String>,
    },
    /// Sign a wave's approval gate (as --as).
    #[command(after_help = "Example: shipdeck approve --version v1.1.0 --wave enterprise --as bob")]
    Approve {
        /// The release, e.g. v1.1.0 (default: the most recent one).
        #[arg(long)]
        version: Option<String>,
        /// The wave whose gate to sign (a tier: startup, standard, enterprise).
        /// Needed when more than one gate waits for signatures.
        #[arg(long)]
        wave: Option<String>,
        /// The role to sign as (default: the first unsigned role you hold).
        #[arg(long)]
        role: Option<String>,
    },
    /// Pause a release: no new deploys start; countdowns freeze.
    #[command(after_help = "Example: shipdeck pause --version v1.0.1 --reason \"support call\"")]
    Pause {
        #[command(flatten)]
        version: VersionArg,
        #[command(flatten)]
        reason: Reason,
    },
    /// Resume a paused release.
    #[command(
        after_help = "Example: shipdeck resume --version v1.0.1 --reason \"root cause fixed\""
    )]
    Resume {
        #[command(flatten)]
        version: VersionArg,
        #[command(flatten)]
        reason: Reason,
    },
    /// Skip the remaining wait of a wave (an override; needs a reason).
    #[command(
        after_help = "Example: shipdeck skip-wait --version v1.0.2 --wave startup --reason \"customer asked\""
    )]
    SkipWait {
        #[command(flatten)]
        version: VersionArg,
        /// The wave whose wait to skip (default: the next wave waiting on the clock).
        #[arg(long)]
        wave: Option<String>,
        #[command(flatten)]
        reason: Reason,
    },
    /// Roll back customers to their previous version.
    #[command(
        visible_alias = "rollback-patch",
        after_help = "Examples:\n  shipdeck rollback --version v1.0.1 --customers acme-corp --reason \"login errors\"\n  shipdeck rollback --version v1.0.1 --customers all --reason \"data corruption\""
    )]
    Rollback {
        #[command(flatten)]
        version: VersionArg,
        /// A customer, a tier (wave), or all.
        #[arg(long, default_value = "all")]
        customers: String,
        #[command(flatten)]
        reason: Reason,
        /// Roll back after the rollback window closed.
        #[arg(long)]
        force: bool,
    },
    /// Stop a release for good.
    Abort {
        #[command(flatten)]
        version: VersionArg,
        #[command(flatten)]
        reason: Reason,
    },
    /// Report a customer-critical issue: rolls that customer back.
    #[command(
        after_help = "Example: shipdeck report-issue --customer techstart --reason \"checkout returns 500\""
    )]
    ReportIssue {
        #[command(flatten)]
        version: VersionArg,
        /// The customer with the issue, by id or name.
        #[arg(long)]
        customer: String,
        #[command(flatten)]
        reason: Reason,
    },
    /// Confirm waves that came due while shipdeck was not running.
    Confirm {
        #[command(flatten)]
        version: VersionArg,
    },
    /// Every customer's deploy history across releases.
    #[command(
        visible_alias = "list-deployments",
        after_help = "Example: shipdeck deployments --customer acme-corp"
    )]
    Deployments {
        /// Only this customer, by id or name.
        #[arg(long)]
        customer: Option<String>,
    },
    /// The decision log of a release: who did what, when and why.
    #[command(
        after_help = "Examples:\n  shipdeck log --version v1.0.1\n  shipdeck log --version v1.0.1 --verify   the journal's hash chain: intact, unchained or broken (where)"
    )]
    Log {
        #[command(flatten)]
        version: VersionArg,
        /// Check the journal's hash chain and print its status (exit 2 if broken).
        #[arg(long)]
        verify: bool,
    },
    /// One health probe round now, a line per customer.
    #[command(
        visible_alias = "check-health",
        after_help = "Examples:\n  shipdeck health\n  shipdeck health techstart\n  shipdeck health --customer acme-corp --json"
    )]
    Health {
        /// Only this customer, by id or name (any case).
        #[arg(value_name = "CUSTOMER", conflicts_with = "customer")]
        name: Option<String>,
        /// Only this customer, by id or name (same as the positional CUSTOMER).
        #[arg(long)]
        customer: Option<String>,
    },
    /// Serve the simulated fleet alone on loopback, for drills and benchmarks.
    #[command(after_help = "Example: shipdeck fleet --customers 1000 --port 8700")]
    Fleet {
        /// How many simulated customers to serve.
        #[arg(long, default_value_t = 100)]
        customers: usize,
        /// The port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// A scenario from assets/demo (default, flaky, outage) that changes
        /// customers' health over time.
        #[arg(long)]
        scenario: Option<String>,
    },
    /// The cockpit on the built-in configuration and a simulated fleet, time compressed.
    #[command(after_help = "Example: shipdeck demo --speed 240 --scenario default")]
    Demo {
        /// Seconds of release time per real second (a bug-fix rollout in about 3 minutes); 0.01 to 1000000.
        #[arg(long, default_value_t = 240.0, value_parser = crate::runtime::clock::parse_speed)]
        speed: f64,
        /// A scenario from assets/demo (default, flaky, outage).
        #[arg(long, default_value = "default")]
        scenario: String,
        /// Observer mode: every action key is refused.
        #[arg(long)]
        readonly: bool,
    },
    /// The full-screen cockpit on a release (new or existing).
    #[command(after_help = "Example: shipdeck cockpit --version v1.0.2 --type bug_fix --speed 60")]
    Cockpit {
        #[command(flatten)]
        release: ReleaseArgs,
        /// Seconds of release time per real second (drills), 0.01 to 1000000; default real time.
        #[arg(long, value_parser = crate::runtime::clock::parse_speed)]
        speed: Option<f64>,
        /// Observer mode: every action key is refused.
        #[arg(long)]
        readonly: bool,
        /// Start even though the version fails the checks `validate` runs; the
        /// reason and every problem are recorded in the journal.
        #[arg(long, value_name = "REASON")]
        force_version: Option<String>,
    },
    /// Open the cockpit on a release another process runs (its cockpit, `deploy`,
    /// a background runner, `demo`): pairing over ssh, on-call joining an incident.
    #[command(
        after_help = "Examples:\n  shipdeck attach                          the running release, as yourself\n  shipdeck attach --as bob                 as bob (the roster must map your OS user to bob)\n  shipdeck attach --readonly               watch: the release's process refuses every action\n  shipdeck attach --take-over              become the captain (release_captain role; journaled)\n\nq leaves; the release keeps running where it runs."
    )]
    Attach {
        /// The release (default: the one running).
        #[arg(long)]
        version: Option<String>,
        /// Watch only: the process that runs the release refuses every action.
        #[arg(long)]
        readonly: bool,
        /// Become the release's captain (needs the release_captain role).
        #[arg(long)]
        take_over: bool,
    },
    /// Run a release in a process of its own that outlives the terminal (detached),
    /// or in the foreground for systemd, containers and CI.
    #[command(
        after_help = "Examples:\n  shipdeck start --version v1.0.2 --type bug_fix --detach\n  shipdeck start --resume --detach                     the current release, again\n  shipdeck start --version v1.0.2 --type bug_fix --foreground   (systemd, CI)\n\nAttach with `shipdeck attach`; approve, pause, rollback from any terminal."
    )]
    Start(StartArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// What a customer's deploys printed: its deploy log in a release.
    #[command(
        after_help = "Examples:\n  shipdeck logs acme-corp\n  shipdeck logs \"ACME Corp\" --version v1.0.2 --lines 50"
    )]
    Logs {
        /// The customer, by id or name.
        customer: String,
        /// The release (default: the most recent one).
        #[arg(long)]
        version: Option<String>,
        /// Only the last N lines.
        #[arg(long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Notices: resend failed deliveries.
    #[command(subcommand)]
    Notify(NotifyCmd),
    /// Print a release's notes (a tier's: everything since the version it runs).
    #[command(
        after_help = "Examples:\n  shipdeck notes --version v1.0.2\n  shipdeck notes --version v1.0.2 --tier enterprise --format slack"
    )]
    Notes {
        /// The release whose notes to print.
        #[arg(long)]
        version: String,
        /// Cumulative notes for this tier's customers.
        #[arg(long)]
        tier: Option<String>,
        /// md, json or slack.
        #[arg(long, default_value = "md")]
        format: String,
    },
    /// The changelog (Keep a Changelog) of every release; rolled back ones [YANKED].
    #[command(after_help = "Example: shipdeck changelog --write CHANGELOG.md")]
    Changelog {
        /// Write it to FILE (atomically) instead of printing it.
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
    /// How releases went: targets, DORA's four keys, rollbacks per tier, waiting on people.
    #[command(after_help = "Example: shipdeck report --since 30d --type security --json")]
    Report {
        /// How far back the report looks (s, m, h or d).
        #[arg(long, default_value = "30d")]
        since: String,
        /// Only releases of this type.
        #[arg(long = "type", value_name = "TYPE")]
        release_type: Option<String>,
    },
    /// The weekly summary (documentation patches are told weekly); --send delivers it.
    #[command(after_help = "Example: shipdeck digest --since 7d --send")]
    Digest {
        /// How far back the summary looks (s, m, h or d).
        #[arg(long, default_value = "7d")]
        since: String,
        /// Deliver it to the configured channels (at most once a week each).
        #[arg(long)]
        send: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum NotifyCmd {
    /// Resend failed notice deliveries (and any queued without an answer).
    #[command(after_help = "Example: shipdeck notify retry --version v1.0.2")]
    Retry {
        #[command(flatten)]
        version: VersionArg,
    },
}

#[derive(Debug, Args, Clone)]
pub struct StartArgs {
    /// The version to release, e.g. v1.0.2 (with --resume: default the current one).
    #[arg(long)]
    pub version: Option<String>,
    /// security, bug_fix, performance, documentation, minor or major (a new release).
    #[arg(long = "type", value_name = "TYPE")]
    pub release_type: Option<String>,
    /// all, a tier (startup), or customers by name or id.
    #[arg(long, default_value = "all")]
    pub customers: String,
    /// Emergency mode: all tiers right after demo, approvals skipped (recorded).
    #[arg(long)]
    pub emergency: bool,
    /// Seconds of release time per real second (drills).
    #[arg(long)]
    pub speed: Option<f64>,
    /// Run a release that already exists (stopped, or whose process died).
    #[arg(long)]
    pub resume: bool,
    /// Run in the background: a new session, output to the release's log (default).
    #[arg(long, conflicts_with = "foreground")]
    pub detach: bool,
    /// Run in this process until the release ends (systemd, containers, CI).
    #[arg(long)]
    pub foreground: bool,
    /// Tick gating checklist items and confirm overdue waves on the operator's word.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Internal (cockpit handover): the inherited descriptor that holds the lock.
    #[arg(long, hide = true)]
    pub handoff_fd: Option<i32>,
    /// Internal (cockpit handover): who handed the release over.
    #[arg(long, hide = true)]
    pub handoff_by: Option<String>,
    /// Internal (cockpit handover): release time to continue from (RFC 3339).
    #[arg(long, hide = true)]
    pub clock_at: Option<String>,
    /// Internal: run the demo's world (its fleet and scenario) with the release.
    #[arg(long, hide = true)]
    pub demo: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Print what would happen, in order, with times; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds of release time per real second (drills); 0.01 to 1000000.
    #[arg(long, value_parser = crate::runtime::clock::parse_speed)]
    pub speed: Option<f64>,
    /// Tick gating checklist items and confirm overdue waves on the operator's word.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Start even though the version fails the checks `validate` runs; the reason
    /// and every problem are recorded in the journal.
    #[arg(long, value_name = "REASON")]
    pub force_version: Option<String>,
    /// Emergency only: customers held to their maintenance window ("Contoso
    /// Bank,umbrella-health") to deploy outside it; the others keep their windows.
    #[arg(long, value_name = "CUSTOMERS")]
    pub override_windows: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Validate the configuration; print a summary or every error.
    #[command(after_help = "Example: shipdeck config check --config ./config")]
    Check,
}

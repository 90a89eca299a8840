//! Command-line definitions. Doc comments here are the `--help` text and the man page.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Keep a community's contacts and organizations in step with HubSpot contacts and companies.
///
/// hubsync reads a YAML mapping file and a local SQLite store. Results go to stdout; logs and
/// progress go to stderr. Exit codes: 0 done, 1 error, 2 usage, 3 partial (some records failed),
/// 4 authentication needed, 75 try later, 130 stopped by Ctrl-C or SIGTERM (what was in flight
/// is saved; run the command again).
#[derive(Debug, Parser)]
#[command(
    name = "hubsync",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Mapping file [default: $XDG_CONFIG_HOME/hubsync/mappings.yaml]
    #[arg(
        long,
        global = true,
        env = "HUBSYNC_MAPPINGS",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub mappings: Option<PathBuf>,

    /// Local state store (SQLite) [default: $XDG_DATA_HOME/hubsync/hubsync.db]
    #[arg(
        long,
        global = true,
        env = "HUBSYNC_DB",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub db: Option<PathBuf>,

    /// HubSpot API base URL
    #[arg(
        long,
        global = true,
        env = "HUBSYNC_API_BASE",
        hide_env_values = true,
        value_name = "URL",
        default_value = "https://api.hubapi.com"
    )]
    pub api_base: String,

    /// HubSpot authorize page base URL
    #[arg(
        long,
        global = true,
        env = "HUBSYNC_AUTH_BASE",
        hide_env_values = true,
        value_name = "URL",
        default_value = "https://app.hubspot.com"
    )]
    pub auth_base: String,

    /// More logging on stderr: -v info, -vv debug, -vvv trace
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Machine-readable output on stdout (one JSON document)
    #[arg(long, global = true)]
    pub json: bool,

    /// When to colour the output: on a terminal (auto, which also honours NO_COLOR and
    /// CLICOLOR_FORCE), always, or never
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Format of log lines on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Where OAuth tokens are kept: the OS keyring, or `credentials.json` (mode 0600) beside the
    /// store, for machines without a keyring (cron, headless servers)
    #[arg(
        long,
        global = true,
        value_enum,
        env = "HUBSYNC_TOKEN_STORE", hide_env_values = true,
        default_value_t = TokenStoreKind::Keyring,
        value_name = "STORE"
    )]
    pub token_store: TokenStoreKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenStoreKind {
    /// The OS keyring (service `hubsync`)
    Keyring,
    /// `credentials.json` beside the store, mode 0600
    File,
}

impl From<TokenStoreKind> for crate::hubspot::auth::StoreKind {
    fn from(k: TokenStoreKind) -> Self {
        match k {
            TokenStoreKind::Keyring => Self::Keyring,
            TokenStoreKind::File => Self::File,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object per line
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import local contacts or organizations from JSON, NDJSON or CSV (all or nothing)
    Import(ImportArgs),

    /// Export local contacts or organizations (pulled values included) in the import formats
    Export(ExportArgs),

    /// Local contacts with their HubSpot link and sync state
    #[command(subcommand)]
    Contacts(RecordsCommand),

    /// Local organizations with their HubSpot link and sync state
    #[command(subcommand)]
    Organizations(RecordsCommand),

    /// The mapping between local fields and HubSpot properties
    #[command(subcommand, alias = "mappings")]
    Map(MapCommand),

    /// Connection, store counts, mapping validity, recent runs, pending failures, automations
    Status,
    /// Check the installation: token, scopes, mapping against HubSpot's live properties,
    /// automation lists, the store's integrity and the run lock; each problem with its fix
    Doctor,

    /// Connect a HubSpot account (OAuth in the browser, or verify HUBSPOT_ACCESS_TOKEN)
    Connect(ConnectArgs),

    /// Delete the stored tokens and revoke the refresh token at HubSpot
    Disconnect,

    /// HubSpot contact lists: id, name, processing type, size; static ones are usable
    Lists(ListsArgs),

    /// Data-in: enrich existing local records from HubSpot (only what changed since the last pull)
    Pull(PullArgs),

    /// The field-level change log of data-in (old → new), conflicts included
    History(HistoryArgs),

    /// Restore the local values a pull run changed; the next sync pushes them
    Undo(UndoArgs),

    /// Filter-based automations: push matching records and add them to a HubSpot static list
    #[command(subcommand)]
    Automate(AutomateCommand),

    /// Send contacts and organizations to HubSpot (data-out); pushed records stay marked
    Push(PushArgs),

    /// The cron job: pull, push what is marked and changed, run every active automation
    Sync(SyncArgs),

    /// Print shell completions to stdout
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Do nothing (and send no request) when the last successful sync is younger than the
    /// mapping file's `refresh_period`
    #[arg(long)]
    pub if_due: bool,

    /// Show what pull, push and the automations would do; change nothing anywhere
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EntityKind {
    /// Local contacts (HubSpot contacts)
    Contacts,
    /// Local organizations (HubSpot companies)
    Organizations,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// A JSON array of objects
    Json,
    /// One JSON object per line
    Ndjson,
    /// A header row of field paths, lists joined with `;`
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds
    #[arg(value_enum)]
    pub entity: EntityKind,

    /// The file to import; `-` reads stdin (then --format is required)
    pub file: PathBuf,

    /// File format [default: from the extension: .json, .ndjson/.jsonl, .csv]
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export
    #[arg(value_enum)]
    pub entity: EntityKind,

    /// Format: one JSON object per line, a JSON array, or CSV (lists joined with `;`)
    #[arg(long, value_enum, default_value_t = ImportFormat::Ndjson)]
    pub format: ImportFormat,

    /// Write to FILE (replaced whole when the export succeeds) instead of stdout
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RecordsCommand {
    /// List local records
    List,
    /// Show one local record
    Show {
        /// The local id
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Write the documented example mapping (the one this hubsync carries) to the mapping path
    Init {
        /// Replace a mapping file that exists
        #[arg(long)]
        force: bool,
    },
    /// The mapping table: every mappable local field, its HubSpot property and status
    Show,
    /// Validate the mapping file against the cached HubSpot properties (exit 1 on problems)
    Check,
    /// Fetch HubSpot's contact and company properties into the cache, then run `check`
    Refresh,
    /// Interactively pick, per local field, one of the compatible HubSpot properties; the file is
    /// written back keeping its order and comments
    Edit {
        /// Local fields to edit (`FIELD`, `contacts.FIELD` or `organizations.FIELD`)
        /// [default: every field of the enabled entities]
        fields: Vec<String>,
    },
    /// Create a custom HubSpot property (group `hubsync`) for each named or every unmapped local
    /// field and map it; needs the scopes `hubsync connect --with-scaffold` asks for
    Scaffold {
        /// Local fields to scaffold (`FIELD`, `contacts.FIELD` or `organizations.FIELD`)
        /// [default: every unmapped field of the enabled entities]
        fields: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The port `connect` listens on by default. Register `http://localhost:47321/callback` as a
/// redirect URL of your HubSpot app (or pick another port with `--port`).
pub const DEFAULT_CONNECT_PORT: u16 = 47321;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The OAuth app's client id (HubSpot developer account → your app → Auth)
    #[arg(
        long,
        env = "HUBSYNC_CLIENT_ID",
        hide_env_values = true,
        value_name = "ID"
    )]
    pub client_id: Option<String>,

    /// The OAuth app's client secret; stored with the refresh token, never printed
    #[arg(
        long,
        env = "HUBSYNC_CLIENT_SECRET",
        hide_env_values = true,
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub client_secret: Option<String>,

    /// Port of the loopback listener; the redirect URL is `http://localhost:PORT/callback`
    #[arg(long, default_value_t = DEFAULT_CONNECT_PORT, value_name = "PORT")]
    pub port: u16,

    /// Don't open a browser; print the authorization URL instead. Without it, the URL is opened
    /// with `$BROWSER` when set, else the desktop's default browser
    #[arg(long)]
    pub no_browser: bool,

    /// Also ask for the optional scopes `map scaffold` needs to create properties
    /// (`crm.schemas.contacts.write`, `crm.schemas.companies.write`)
    #[arg(long)]
    pub with_scaffold: bool,
}

#[derive(Debug, Args)]
pub struct ListsArgs {
    /// Fetch the lists from HubSpot again instead of showing the cached ones
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only this entity [default: every entity enabled in the mapping file]
    #[arg(long, value_enum)]
    pub entity: Option<EntityKind>,

    /// Read every HubSpot record, not only those modified since the last pull
    #[arg(long)]
    pub full: bool,

    /// Print the local changes a pull would make; write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Seconds before the last pull that the next one reads again, to catch records HubSpot's
    /// search had not indexed yet
    #[arg(
        long,
        env = "HUBSYNC_PULL_OVERLAP",
        hide_env_values = true,
        default_value_t = 120,
        value_name = "SECONDS"
    )]
    pub overlap: u64,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only changes to this entity
    #[arg(long, value_enum)]
    pub entity: Option<EntityKind>,

    /// Only changes to the local record with this id
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,

    /// Only changes made by this run
    #[arg(long, value_name = "N")]
    pub run: Option<i64>,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The pull run to undo, or a sync run (its pull is undone); see `hubsync history`
    #[arg(long, value_name = "N")]
    pub run: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchMode {
    /// Every filter must match
    All,
    /// At least one filter must match
    Any,
}

#[derive(Debug, Subcommand)]
pub enum AutomateCommand {
    /// Create an automation and (unless --no-run) run it at once
    Add(AutomateAddArgs),
    /// List automations
    List,
    /// Show one automation
    Show {
        /// The automation's name
        name: String,
    },
    /// Delete an automation (HubSpot and the records already pushed are left as they are)
    Remove {
        /// The automation's name
        name: String,
    },
    /// Stop running an automation until it is resumed
    Pause {
        /// The automation's name
        name: String,
    },
    /// Run a paused automation again
    Resume {
        /// The automation's name
        name: String,
    },
    /// Run one automation, or every active one
    Run {
        /// The automation's name [default: every active automation]
        name: Option<String>,
        /// Show who would be pushed and added to lists; change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct AutomateAddArgs {
    /// A unique name for the automation
    pub name: String,

    /// What the filters select
    #[arg(long, value_enum)]
    pub entity: EntityKind,

    /// Combine the filters with AND (all) or OR (any)
    #[arg(long = "match", value_enum, default_value_t = MatchMode::All)]
    pub match_mode: MatchMode,

    /// A filter `FIELD OP VALUE` (OP: = != < <= > >= ~ !~) or `FIELD is set` / `FIELD is not set`;
    /// repeat for more. Dates may be relative: `lastActive>=-30d`
    #[arg(long = "filter", value_name = "EXPR", required = true)]
    pub filters: Vec<String>,

    /// The HubSpot static contact list (id or exact name) that matching contacts are added to;
    /// required for contacts and with --sync-contacts
    #[arg(long, value_name = "LIST")]
    pub list: Option<String>,

    /// For organizations: also push all their contacts and add them to the list
    #[arg(long)]
    pub sync_contacts: bool,

    /// Create the automation without running it now
    #[arg(long)]
    pub no_run: bool,

    /// Show what the first run would do; create nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// What `push` sends. Contacts are upserted by e-mail, organizations found by website domain.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("selection")
        .required(true)
        .multiple(true)
        .args(["contact", "organization", "marked"])
))]
pub struct PushArgs {
    /// A local contact id to push (repeat the flag for more)
    #[arg(long, value_name = "ID")]
    pub contact: Vec<String>,

    /// A local organization id to push (repeat the flag for more)
    #[arg(long, value_name = "ID")]
    pub organization: Vec<String>,

    /// Every marked record whose mapped values changed since its last push, and every record
    /// a previous push could not send
    #[arg(long)]
    pub marked: bool,

    /// Print what would be sent (creates, updates with field-level changes, skips); write
    /// nothing to HubSpot or the store
    #[arg(long)]
    pub dry_run: bool,

    /// Send records even when their values did not change since the last push
    #[arg(long)]
    pub force: bool,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl From<ColorWhen> for anstream::ColorChoice {
    fn from(when: ColorWhen) -> Self {
        match when {
            ColorWhen::Auto => Self::Auto,
            ColorWhen::Always => Self::Always,
            ColorWhen::Never => Self::Never,
        }
    }
}

impl From<EntityKind> for crate::model::Entity {
    fn from(kind: EntityKind) -> Self {
        match kind {
            EntityKind::Contacts => Self::Contact,
            EntityKind::Organizations => Self::Organization,
        }
    }
}

//! One module per subcommand: open what it needs, call the engine, print the result.

use anyhow::Result;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Paths;

pub mod automate;
pub mod completions;
pub mod connect;
pub mod disconnect;
pub mod doctor;
pub mod export;
pub mod history;
pub mod import;
pub mod lists;
pub mod map;
pub mod pull;
pub mod push;
pub mod records;
pub mod status;
pub mod sync;
pub mod undo;

/// What every command gets: the global flags and resolved paths.
#[derive(Debug)]
pub struct Context {
    pub global: GlobalArgs,
    pub paths: Paths,
}

impl Context {
    #[must_use]
    pub fn json(&self) -> bool {
        self.global.json
    }

    /// Where OAuth tokens are kept.
    #[must_use]
    pub fn token_store(&self) -> crate::hubspot::auth::StoreKind {
        self.global.token_store.into()
    }

    /// A HubSpot client for the command's API base and token store; a bad API base is named
    /// by its flag.
    pub async fn client(
        &self,
        version: crate::mapping::ApiVersion,
    ) -> Result<crate::hubspot::Client> {
        crate::hubspot::connect_client(
            &self.global.api_base,
            self.token_store(),
            &self.paths,
            version.into(),
        )
        .await
        .map_err(|e| match e {
            crate::hubspot::Error::BadBase(why) => {
                crate::error::Exit::Failed(format!("--api-base (or HUBSYNC_API_BASE): {why}"))
                    .into()
            }
            e => e.into(),
        })
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let paths = Paths::resolve(cli.global.mappings.as_deref(), cli.global.db.as_deref())?;
    let ctx = Context {
        global: cli.global,
        paths,
    };
    match cli.command {
        Command::Import(args) => import::run(&ctx, &args),
        Command::Export(args) => export::run(&ctx, &args),
        Command::Contacts(cmd) => records::run(&ctx, crate::model::Entity::Contact, &cmd),
        Command::Organizations(cmd) => records::run(&ctx, crate::model::Entity::Organization, &cmd),
        Command::Map(cmd) => map::run(&ctx, &cmd),
        Command::Status => status::run(&ctx),
        Command::Doctor => doctor::run(&ctx),
        Command::Completions(args) => completions::run(&args),
        Command::Sync(args) => sync::run(&ctx, &args),
        Command::Connect(args) => connect::run(&ctx, &args),
        Command::Disconnect => disconnect::run(&ctx),
        Command::Lists(args) => lists::run(&ctx, &args),
        Command::Pull(args) => pull::run(&ctx, &args),
        Command::History(args) => history::run(&ctx, &args),
        Command::Undo(args) => undo::run(&ctx, &args),
        Command::Automate(cmd) => automate::run(&ctx, &cmd),
        Command::Push(args) => push::run(&ctx, &args),
    }
}

/// Run async work (the HubSpot client) from a command.
pub fn block_on<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let rt = match RUNTIME.get() {
        Some(rt) => rt,
        None => {
            let built = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
            RUNTIME.get_or_init(|| built)
        }
    };
    rt.block_on(async {
        let watcher = tokio::spawn(stop_on_signal());
        let result = fut.await;
        watcher.abort();
        result
    })
}

/// The grace a stopped run gets to save what is in flight before the process ends anyway.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// On Ctrl-C or SIGTERM: ask the engine to stop at its next safe point; on a second signal, or
/// when the grace is over, end the process (exit 130; `status` then flags the run).
async fn stop_on_signal() {
    signal().await;
    crate::sync::cancel::request();
    errln!(
        "stopping: saving what HubSpot has answered (at most {} s; press Ctrl-C again to quit at once)",
        STOP_GRACE.as_secs()
    );
    tokio::select! {
        () = signal() => {}
        () = tokio::time::sleep(STOP_GRACE) => {}
    }
    errln!("stopped before the run could be closed; run the same command again to finish");
    std::process::exit(130);
}

/// The next SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Print a run's summary to stdout (JSON or text) and turn failures into exit 3.
pub fn print_summary(summary: crate::sync::summary::Summary, json: bool, what: &str) -> Result<()> {
    // The status is the run's, as `sync::run::finish` recorded it.
    if json {
        print_json(&summary)?;
    } else if summary.status == crate::sync::run::Status::DryRun {
        // The plan first, then what it adds up to.
        out!("{}", crate::output::plan::render(&summary.plan));
        let what = format!("{what} --dry-run");
        out!("{}", crate::output::summary::render(&summary, &what));
    } else {
        out!("{}", crate::output::summary::render(&summary, what));
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(crate::error::Exit::Partial(format!(
            "{} record{} failed and will be retried by the next run; `hubsync status` lists them",
            summary.failed.len(),
            if summary.failed.len() == 1 { "" } else { "s" }
        ))
        .into())
    }
}

/// The one `--json` document a command prints: pretty, on stdout, newline-terminated (SPEC §7).
pub(crate) fn print_json(doc: &impl serde::Serialize) -> Result<()> {
    outln!("{}", serde_json::to_string_pretty(doc)?);
    Ok(())
}

/// One indicatif bar per entity type, on stderr.
pub(crate) struct Bars {
    /// Drawn at all (stderr is a terminal and not `--quiet`); otherwise reports go nowhere.
    enabled: bool,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl Bars {
    /// Bars when stderr is a terminal and `--quiet` was not given.
    pub(crate) fn for_terminal(ctx: &Context) -> Self {
        use std::io::IsTerminal as _;
        Self {
            enabled: !ctx.global.quiet && std::io::stderr().is_terminal(),
            bar: std::sync::Mutex::new(None),
        }
    }
}

impl crate::sync::progress::Progress for Bars {
    fn start(&self, what: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix:>13} [{bar:30}] {pos}/{len} {elapsed_precise}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_owned());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn set_total(&self, total: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_length(total);
            }
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(n);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

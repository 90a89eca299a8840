//! One module per subcommand: open what it needs, call the engine, print the result.

use anyhow::Result;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Paths;

pub mod completions;
pub mod contacts;
pub mod import;
pub mod map;
pub mod organizations;
pub mod status;

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
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let paths = Paths::resolve(&cli.global)?;
    let ctx = Context {
        global: cli.global,
        paths,
    };
    match cli.command {
        Command::Import(args) => import::run(&ctx, &args),
        Command::Contacts(cmd) => contacts::run(&ctx, &cmd),
        Command::Organizations(cmd) => organizations::run(&ctx, &cmd),
        Command::Map(cmd) => map::run(&ctx, &cmd),
        Command::Status => status::run(&ctx),
        Command::Completions(args) => completions::run(&args),
    }
}

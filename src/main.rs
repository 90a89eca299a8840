use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;
use hubsync::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if code == 2 && std::env::args().any(|a| a == "--json") {
                let message = e.kind().to_string();
                print_json_error(&message, code);
            }
            return ExitCode::from(code);
        }
    };
    hubsync::output::set_color(cli.global.color.into());
    init_tracing(&cli.global);
    let json = cli.global.json;
    match hubsync::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output went away (`hubsync status | head`): nothing left to say.
        Err(err) if closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let code = hubsync::error::exit_code(&err);
            let message = render(&err);
            let mut err_out = hubsync::output::stderr();
            let _ = writeln!(
                err_out,
                "{} {message}",
                hubsync::output::paint(hubsync::output::BAD, "error:")
            );
            // A command that printed its document (a run's summary listing failures, doctor's
            // report) has said it all.
            if json && !hubsync::wrote_stdout() {
                print_json_error(&message, code);
            }
            ExitCode::from(code)
        }
    }
}

/// Under `--json`, an error is one JSON document on stdout too (SPEC §3).
fn print_json_error(message: &str, code: u8) {
    let hint = match code {
        2 => Some("`hubsync --help` lists the commands and their flags"),
        4 => Some("run `hubsync connect`"),
        75 => Some("nothing is lost: the next run resumes"),
        130 => Some("run the same command again to finish"),
        _ => None,
    };
    let doc = serde_json::json!({
        "error": {"message": message, "exit_code": code, "hint": hint}
    });
    // A closed stdout has nothing left to tell.
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string());
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Whether the error is a write to a closed stdout.
fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line each, without repeating a cause already in the message.
fn render(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str("\n  caused by: ");
            out.push_str(&c);
        }
    }
    out
}

fn init_tracing(global: &hubsync::cli::GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let default = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = std::env::var("HUBSYNC_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match global.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder
            .with_ansi(hubsync::output::stderr_colored())
            .without_time()
            .init(),
    }
}

//! The man pages, generated from the clap definition (`man/*.1`, checked by a test):
//! `hubsync.1` with EXIT STATUS, ENVIRONMENT and FILES, and one `hubsync-COMMAND.1` per
//! subcommand (its own subcommands as sections).

use clap::CommandFactory as _;

use crate::cli::Cli;

/// Every page: (file name, content).
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let cmd = command();
    let mut pages = vec![("hubsync.1".to_owned(), main_page(&cmd)?)];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("hubsync-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub_page(&name, sub)?));
    }
    Ok(pages)
}

/// `hubsync.1` alone (the top-level page).
pub fn render() -> std::io::Result<Vec<u8>> {
    main_page(&command())
}

/// The CLI without clap's `help` subcommand, which has no page (`--help` is on every page).
fn command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

fn main_page(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    out.extend_from_slice(EXTRA.as_bytes());
    out.extend_from_slice(b".SH \"SEE ALSO\"\n");
    let see: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| format!("\\fBhubsync-{}\\fR(1)", s.get_name()))
        .collect();
    out.extend_from_slice(format!("{}\n", see.join(", ")).as_bytes());
    Ok(out)
}

fn sub_page(name: &str, sub: &clap::Command) -> std::io::Result<Vec<u8>> {
    let path = name.replacen('-', " ", 1);
    let top = sub.clone().bin_name(path.clone());
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(top.clone()).title(name.to_owned());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if top
        .get_arguments()
        .any(|a| !a.is_hide_set() && !a.is_global_set())
    {
        man.render_options_section(&mut out)?;
    }
    // Its subcommands follow as sections of this page (clap's list would name pages that
    // don't exist).
    // NAME carries the command's own name (`push`); the page is `hubsync-push`.
    let short = format!(".SH NAME\n{} \\-", sub.get_name());
    let full = format!(".SH NAME\n{} \\-", name.replace('-', "\\-"));
    let out = String::from_utf8_lossy(&out).replacen(&short, &full, 1);
    let mut out = out.into_bytes();
    let mut stack: Vec<(String, clap::Command)> = sub
        .get_subcommands()
        .filter(|c| c.get_name() != "help")
        .map(|c| (format!("{path} {}", c.get_name()), c.clone()))
        .collect();
    stack.reverse();
    while let Some((p, c)) = stack.pop() {
        out.extend_from_slice(format!(".SH \"{}\"\n", p.to_uppercase()).as_bytes());
        let c = c.clone().bin_name(p.clone());
        let man = clap_mangen::Man::new(c.clone());
        man.render_description_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        if c.get_arguments()
            .any(|a| !a.is_hide_set() && !a.is_global_set())
        {
            man.render_options_section(&mut out)?;
        }
        let mut children: Vec<_> = c
            .get_subcommands()
            .filter(|x| x.get_name() != "help")
            .map(|x| (format!("{p} {}", x.get_name()), x.clone()))
            .collect();
        children.reverse();
        stack.extend(children);
    }
    out.extend_from_slice(b".SH \"SEE ALSO\"\n\\fBhubsync\\fR(1)\n");
    Ok(out)
}

/// The sections of the main page that clap does not know.
const EXTRA: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
All done.
.TP
\fB1\fR
Error: configuration, mapping, bad input, or a HubSpot error that is not transient. A person must fix something; the message says what.
.TP
\fB2\fR
Usage: an unknown command or flag.
.TP
\fB3\fR
Partial: the run finished but some records failed; they are listed and retried by the next run.
.TP
\fB4\fR
Authentication needed: not connected, token revoked, or scopes missing (run \fBhubsync connect\fR).
.TP
\fB75\fR
Try later: daily API limit, HubSpot unavailable, or another run holds the lock. Nothing is lost; the next run resumes.
.TP
\fB130\fR
Stopped by Ctrl-C or SIGTERM after saving what was in flight; run the same command again.
.SH ENVIRONMENT
.TP
\fBHUBSYNC_MAPPINGS\fR, \fBHUBSYNC_DB\fR, \fBHUBSYNC_API_BASE\fR, \fBHUBSYNC_AUTH_BASE\fR, \fBHUBSYNC_TOKEN_STORE\fR
The same as \fB--mappings\fR, \fB--db\fR, \fB--api-base\fR, \fB--auth-base\fR and \fB--token-store\fR.
.TP
\fBHUBSPOT_ACCESS_TOKEN\fR
A private-app token; wins over stored OAuth tokens.
.TP
\fBHUBSYNC_CLIENT_ID\fR, \fBHUBSYNC_CLIENT_SECRET\fR
The OAuth app for \fBhubsync connect\fR.
.TP
\fBHUBSYNC_LOG\fR
Log filter (tracing EnvFilter syntax); overrides \fB-v\fR and \fB-q\fR.
.TP
\fBNO_COLOR\fR, \fBXDG_CONFIG_HOME\fR, \fBXDG_DATA_HOME\fR
As usual.
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/hubsync/mappings.yaml\fR
The mapping file (\fBhubsync map init\fR writes a documented example).
.TP
\fI$XDG_DATA_HOME/hubsync/hubsync.db\fR
The store (SQLite, with its \fI-wal\fR and \fI-shm\fR files; mode 0600 in a 0700 folder).
.TP
\fIhubsync.lock\fR, \fIcredentials.json\fR
Beside the store: the run lock, and OAuth tokens with \fB--token-store file\fR (mode 0600).
"#;

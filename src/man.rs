//! The man page, generated from the clap definition (`man/hubsync.1` is checked by a test).

use clap::CommandFactory as _;

use crate::cli::Cli;

/// Render `hubsync.1`: the top-level page, then one section per subcommand with its options.
pub fn render() -> std::io::Result<Vec<u8>> {
    let cmd = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
    let mut stack: Vec<(String, clap::Command)> = cmd
        .get_subcommands()
        .map(|s| (format!("hubsync {}", s.get_name()), s.clone()))
        .collect();
    stack.reverse();
    while let Some((path, sub)) = stack.pop() {
        if sub.get_name() == "help" {
            continue;
        }
        out.extend_from_slice(format!(".SH \"{}\"\n", path.to_uppercase()).as_bytes());
        let sub = sub.clone().bin_name(path.clone());
        let man = clap_mangen::Man::new(sub.clone());
        man.render_description_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        if sub
            .get_arguments()
            .any(|a| !a.is_hide_set() && !a.is_global_set())
        {
            man.render_options_section(&mut out)?;
        }
        let mut children: Vec<_> = sub
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| (format!("{path} {}", c.get_name()), c.clone()))
            .collect();
        children.reverse();
        stack.extend(children);
    }
    Ok(out)
}

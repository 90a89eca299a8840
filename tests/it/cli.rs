//! Tests: the command-line surface, the man page, completions.

use crate::common::{repo, Env};

#[test]
fn man_page_is_generated_from_the_cli() {
    let pages = hubsync::man::pages().expect("render man pages");
    let dir = repo().join("man");
    if std::env::var_os("HUBSYNC_UPDATE_MAN").is_some() {
        for entry in std::fs::read_dir(&dir).expect("man/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "1") {
                std::fs::remove_file(path).expect("remove an old page");
            }
        }
        for (name, content) in &pages {
            std::fs::write(dir.join(name), content).expect("write man page");
        }
    }
    let mut stale = Vec::new();
    for (name, content) in &pages {
        if std::fs::read(dir.join(name)).unwrap_or_default() != *content {
            stale.push(name.clone());
        }
    }
    let committed: Vec<String> = std::fs::read_dir(&dir)
        .expect("man/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    for n in committed {
        if !pages.iter().any(|(p, _)| *p == n) {
            stale.push(format!("{n} (no such command)"));
        }
    }
    assert!(
        stale.is_empty(),
        "man pages are stale ({stale:?}); regenerate them with `HUBSYNC_UPDATE_MAN=1 cargo test man_page`"
    );
    let main = String::from_utf8_lossy(&pages[0].1).into_owned();
    for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "hubsync-import"] {
        assert!(main.contains(section), "the main page has {section}");
    }
    // Every page the main page names exists.
    let plain = main.replace("\\-", "-");
    let mut named = 0;
    for (at, _) in plain.match_indices("hubsync-") {
        let rest = &plain[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        if rest[end..].starts_with("(1)") || rest[end..].starts_with("\\fR(1)") {
            named += 1;
            let page = format!("{}.1", &rest[..end]);
            assert!(
                pages.iter().any(|(p, _)| *p == page),
                "the main page names {page}, which does not exist"
            );
        }
    }
    assert!(named >= 17, "the main page names {named} pages");
}

#[test]
fn every_command_and_flag_has_help() {
    use clap::CommandFactory as _;
    let mut missing = Vec::new();
    let mut stack = vec![("hubsync".to_owned(), hubsync::cli::Cli::command())];
    while let Some((path, cmd)) = stack.pop() {
        if cmd.get_about().is_none() && path != "hubsync" {
            missing.push(path.clone());
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && !["help", "version"].contains(&arg.get_id().as_str()) {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_name() != "help" {
                stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
            }
        }
    }
    assert!(missing.is_empty(), "without help text: {missing:?}");
}

#[test]
fn completions_are_printed_for_bash() {
    let env = Env::new();
    let out = env.cmd().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("_hubsync()"), "{text}");
    assert!(text.contains("import"));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["import", "people", "x.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = env.cmd().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let env = Env::new();
    env.write("m.yaml", "version: 1\n");
    let out = env
        .cmd()
        .env_remove("HUBSYNC_MAPPINGS")
        .args(["map", "check", "--mappings"])
        .arg(env.path("m.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("m.yaml: mapping ok"));
}

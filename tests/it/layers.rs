//! Tests: the layers of ARCHITECTURE.md hold. Nothing below `commands/` names the CLI or
//! prints; `hubspot/` knows neither the store nor the mapping; `mapping/` depends on the model
//! only, and the model on nothing. Read from the sources, so an arrow that points up fails here before review.

use std::path::{Path, PathBuf};

use crate::common::repo;

/// Every non-test source file under `dir`, with its lines before any `#[cfg(test)]` and
/// without comments.
fn sources(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read src") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".rs")
                && !name.ends_with("_tests.rs")
                && !name.ends_with("proptests.rs")
                && name != "tests.rs"
            {
                let text = std::fs::read_to_string(&path).expect("read source");
                let lines = text
                    .lines()
                    .take_while(|l| l.trim() != "#[cfg(test)]")
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.starts_with("//"))
                    .collect();
                out.push((path, lines));
            }
        }
    }
    out.sort();
    out
}

/// `(file:line, token)` for each forbidden token in the files `select` picks.
fn offences(select: impl Fn(&str) -> bool, forbidden: &[&str]) -> Vec<String> {
    let src = repo().join("src");
    let mut found = Vec::new();
    for (path, lines) in sources(&src) {
        let rel = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !select(&rel) {
            continue;
        }
        for (n, line) in lines.iter().enumerate() {
            for token in forbidden {
                if line.contains(token) {
                    found.push(format!("src/{rel}:{}: {token}", n + 1));
                }
            }
        }
    }
    found
}

/// The files that sit above the engine: they may print and name the CLI.
fn top(rel: &str) -> bool {
    rel.starts_with("commands/")
        || rel.starts_with("output/")
        || ["main.rs", "cli.rs", "lib.rs", "man.rs"].contains(&rel)
}

#[test]
fn nothing_below_commands_names_the_cli_or_prints() {
    let found = offences(
        |rel| !top(rel),
        &[
            "crate::cli",
            "crate::commands",
            "crate::output",
            "println!",
            "print!(",
            "eprintln!",
            "eprint!(",
            "outln!",
            "out!(",
            "errln!",
            "io::stdout",
            "io::stderr",
            "indicatif",
        ],
    );
    assert!(found.is_empty(), "upward arrows: {found:#?}");
}

#[test]
fn hubspot_knows_neither_the_store_nor_the_mapping() {
    let found = offences(
        |rel| rel.starts_with("hubspot/"),
        &[
            "crate::store",
            "crate::mapping",
            "crate::sync",
            "crate::model",
            "crate::import",
            "crate::export",
            "crate::error",
            "rusqlite",
        ],
    );
    assert!(found.is_empty(), "hubspot/ reaches sideways: {found:#?}");
}

#[test]
fn mapping_depends_on_the_model_only() {
    let found = offences(
        |rel| rel.starts_with("mapping/"),
        &[
            "crate::store",
            "crate::hubspot",
            "crate::sync",
            "crate::import",
            "crate::export",
            "rusqlite",
        ],
    );
    assert!(found.is_empty(), "mapping/ reaches sideways: {found:#?}");
}

#[test]
fn the_model_depends_on_nothing() {
    let found = offences(
        |rel| rel.starts_with("model/"),
        &[
            "crate::store",
            "crate::mapping",
            "crate::hubspot",
            "crate::sync",
            "crate::import",
            "crate::export",
            "rusqlite",
        ],
    );
    assert!(found.is_empty(), "model/ reaches out: {found:#?}");
}

/// The checks above read real files: an empty selection would pass anything.
#[test]
fn the_layer_checks_see_the_sources() {
    let src = repo().join("src");
    let all = sources(&src);
    assert!(all.len() > 50, "{} source files", all.len());
    assert!(!offences(|rel| rel == "commands/mod.rs", &["outln!"]).is_empty());
    assert!(!offences(|rel| rel.starts_with("hubspot/"), &["reqwest"]).is_empty());
}

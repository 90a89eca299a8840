//! HubSpot's properties as the engine uses them: the cache `map refresh` fills, checked against
//! the mapping before anything is typed and sent.

use anyhow::Result;

use crate::error::Exit;
use crate::mapping::check::{self, Properties, Severity};
use crate::mapping::Mapping;
use crate::store::{properties, Store};

/// The property cache as `map check` sees it.
pub fn cached(store: &Store) -> Result<Properties> {
    Ok(Properties::new(
        properties::load(store.conn(), "contacts")?,
        properties::load(store.conn(), "companies")?,
    ))
}

/// The property cache for a command that sends or writes values: refused when empty or when the
/// mapping has errors for `sections` (`contacts`, `organizations`), naming every problem.
pub fn usable(
    store: &Store,
    mapping: &Mapping,
    sections: &[&str],
    what: &str,
) -> Result<Properties> {
    let props = cached(store)?;
    if props.contacts.is_empty() && props.companies.is_empty() {
        return Err(Exit::Failed(format!(
            "HubSpot's properties are not cached yet, so values can't be typed; run `hubsync map refresh`; nothing was {what}"
        ))
        .into());
    }
    let problems: Vec<String> = check::check(mapping, &props)
        .into_iter()
        .filter(|p| p.severity == Severity::Error && sections.contains(&p.entity))
        .map(|p| format!("  {p}"))
        .collect();
    if !problems.is_empty() {
        return Err(Exit::Failed(format!(
            "the mapping file has {} problem{}; nothing was {what}. Fix {} (`hubsync map check`; `hubsync map refresh` after changing properties in HubSpot):\n{}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            if problems.len() == 1 { "it" } else { "them" },
            problems.join("\n")
        ))
        .into());
    }
    Ok(props)
}

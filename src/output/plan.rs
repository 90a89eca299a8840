//! A dry run's plan in words: one line per record, then its field changes.

use std::fmt::Write as _;

use crate::sync::summary::Planned;

/// Every entry of `plan`, as `--dry-run` prints it before the summary.
#[must_use]
pub fn render(plan: &[Planned]) -> String {
    let mut out = String::new();
    for entry in plan {
        match entry {
            Planned::Push {
                entity,
                id,
                action,
                hubspot_id,
                changes,
                companies,
            } => {
                let target = hubspot_id
                    .as_deref()
                    .map_or_else(String::new, |h| format!(" (HubSpot {h})"));
                let _ = writeln!(out, "{action} {entity} {id}{target}");
                for c in changes {
                    let _ = match &c.old {
                        Some(old) => writeln!(out, "    {}: {old} → {}", c.property, c.new),
                        None => writeln!(out, "    {}: {}", c.property, c.new),
                    };
                }
                if !companies.is_empty() {
                    let _ = writeln!(out, "    associated to companies {}", companies.join(", "));
                }
            }
            Planned::Pull {
                entity,
                id,
                hubspot_id,
                changes,
                ..
            } => {
                let _ = writeln!(out, "would update {entity} {id} from HubSpot {hubspot_id}:");
                for c in changes {
                    let old = c
                        .old
                        .as_ref()
                        .map_or_else(|| "(empty)".to_owned(), ToString::to_string);
                    let _ = writeln!(out, "  {}: {old} → {}", c.field, c.new);
                }
            }
            Planned::ListAddition {
                action,
                entity,
                id,
                hubspot_id,
                ..
            } => {
                let _ = writeln!(out, "{action} {entity} {id} (HubSpot {hubspot_id})");
            }
        }
    }
    out
}

//! The result of a push, pull, automation run or sync: what it did, what it skipped, what failed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::three_way::Side;

pub use super::run::Status;

/// A record left out on purpose (no e-mail, no website), reported by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub entity: String,
    pub id: String,
    pub reason: String,
}

/// A record that failed; it is kept and retried by the next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failed {
    pub entity: String,
    pub id: String,
    pub error: String,
}

/// A conflict a run reports (SPEC §7 `conflicts`): a field edited on both sides since they
/// last agreed, or a key claimed by several records. A key conflict has `field` null and
/// lists every id involved (`key`, `local_ids`, `hubspot_ids`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub entity: String,
    /// The local record (the first one, for a key several local records claim).
    pub id: String,
    pub hubspot_id: Option<String>,
    pub field: Option<String>,
    /// The values, as HubSpot property values: here, in HubSpot, last agreed.
    pub local: Option<String>,
    pub hubspot: Option<String>,
    pub base: Option<String>,
    /// Which side's value both now hold.
    pub kept: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub local_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hubspot_ids: Vec<String>,
    /// The sentence the text output prints.
    pub message: String,
}

/// One entry of a dry run's plan (`--json` `plan`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Planned {
    /// Push would create (`create`) or update (`update`) this HubSpot record.
    Push {
        entity: String,
        id: String,
        action: &'static str,
        hubspot_id: Option<String>,
        changes: Vec<super::plan::Change>,
        companies: Vec<String>,
    },
    /// Pull would change this local record (`action` is `update local`).
    Pull {
        action: &'static str,
        entity: String,
        id: String,
        hubspot_id: String,
        matched_by: super::pull::plan::Via,
        changes: Vec<super::pull::plan::Change>,
    },
    /// An automation would add this contact to a list (`action` names the list).
    ListAddition {
        action: String,
        entity: &'static str,
        id: String,
        hubspot_id: String,
        list: String,
        list_id: String,
    },
}

/// The `--json` document of SPEC §7 for `push`, `pull`, `automate run` and `sync`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub run_id: i64,
    pub status: Status,
    pub counts: BTreeMap<String, u64>,
    pub skipped: Vec<Skipped>,
    pub failed: Vec<Failed>,
    pub conflicts: Vec<Conflict>,
    /// The plan, for `--dry-run`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<Planned>,
    /// The parts of a `sync` (pull, push, automations) with their run ids and counts, for the
    /// text output; the JSON document keeps the merged `counts`.
    #[serde(skip)]
    pub phases: Vec<Phase>,
}

/// One part of a run that has several (`sync`): its name, its own run id (0 when it has none)
/// and what it counted.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    pub name: String,
    pub run_id: i64,
    pub counts: BTreeMap<String, u64>,
}

/// A counter in words: `contacts_created` 2 → "2 contacts created".
#[must_use]
pub fn phrase(key: &str, n: u64) -> String {
    let pick = |one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    let subject = match key.split_once('_') {
        Some(("contacts", rest)) => Some((pick("contact", "contacts"), rest)),
        Some(("organizations", rest)) => Some((pick("organization", "organizations"), rest)),
        _ => None,
    };
    if let Some((subject, rest)) = subject {
        let rest = match rest {
            "to_create" => "to create",
            "to_update" => "to update",
            other => other,
        };
        return format!("{n} {subject} {rest}");
    }
    let words = match key {
        "read" => pick("record read from HubSpot", "records read from HubSpot"),
        "matched" => pick("matched to a local record", "matched to local records"),
        "unmatched" => pick("not in the local store", "not in the local store"),
        "changed" => pick("local record changed", "local records changed"),
        "unchanged" => pick("local record unchanged", "local records unchanged"),
        "fields_changed" => pick("field changed", "fields changed"),
        "conflicts" => pick("conflict", "conflicts"),
        "associations" => pick("association written", "associations written"),
        "automation_matches" => pick(
            "record matched by automations",
            "records matched by automations",
        ),
        "list_additions" => pick("contact added to lists", "contacts added to lists"),
        "list_additions_planned" => pick("contact to add to lists", "contacts to add to lists"),
        other => other.replace('_', " "),
    };
    format!("{n} {words}")
}

/// Counters in words, joined with commas; "nothing to do" when there are none.
pub fn sentence(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "nothing to do".to_owned();
    }
    // In the order a run does things: read, match, change; then what was sent.
    const ORDER: [&str; 9] = [
        "read",
        "matched",
        "unmatched",
        "changed",
        "fields_changed",
        "unchanged",
        "conflicts",
        "automation_matches",
        "list_additions",
    ];
    let rank = |k: &str| ORDER.iter().position(|o| *o == k).unwrap_or(ORDER.len());
    let mut keys: Vec<(&String, &u64)> = counts.iter().collect();
    keys.sort_by_key(|(k, _)| rank(k));
    keys.into_iter()
        .map(|(k, v)| phrase(k, *v))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Summary {
    /// Fold a part's summary into this one and remember it as a phase of the text output.
    pub fn merge_phase(&mut self, name: &str, other: Summary) {
        self.phases.push(Phase {
            name: name.to_owned(),
            run_id: other.run_id,
            counts: other.counts.clone(),
        });
        self.merge(other);
    }

    #[must_use]
    pub fn new(run_id: i64) -> Self {
        Self {
            run_id,
            status: Status::Ok,
            ..Self::default()
        }
    }

    /// Add `n` to a counter.
    pub fn add(&mut self, counter: &str, n: u64) {
        *self.counts.entry(counter.to_owned()).or_default() += n;
    }

    pub fn skip(&mut self, entity: &str, id: &str, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            entity: entity.into(),
            id: id.into(),
            reason: reason.into(),
        });
    }

    pub fn fail(&mut self, entity: &str, id: &str, error: impl Into<String>) {
        self.failed.push(Failed {
            entity: entity.into(),
            id: id.into(),
            error: error.into(),
        });
    }

    /// Fold a sub-run's summary into this one (for `sync`).
    pub fn merge(&mut self, other: Summary) {
        for (k, v) in other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
        self.conflicts.extend(other.conflicts);
        self.plan.extend(other.plan);
    }

    /// The status of a run that got to its end: `partial` when records failed.
    #[must_use]
    pub fn final_status(&self) -> Status {
        if self.failed.is_empty() {
            Status::Ok
        } else {
            Status::Partial
        }
    }
}

#[cfg(test)]
mod phrase_tests {
    use super::*;

    #[test]
    fn counters_read_as_words() {
        assert_eq!(phrase("contacts_created", 2), "2 contacts created");
        assert_eq!(
            phrase("organizations_to_update", 1),
            "1 organization to update"
        );
        assert_eq!(phrase("changed", 1), "1 local record changed");
        assert_eq!(phrase("list_additions", 50), "50 contacts added to lists");
        assert_eq!(phrase("something_new", 3), "3 something new");
    }
}

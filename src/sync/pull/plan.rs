//! Data-in planning (SPEC §6), with no IO: which HubSpot record belongs to which local record,
//! which claims conflict, and which mapped local fields change.
//!
//! Matching, in order: the stored link (HubSpot id → local id); a link to a record HubSpot has
//! since merged into this one (`hs_merged_object_ids`), which moves to the survivor; then the key
//! (contacts: every local e-mail against `email` and `hs_additional_emails`; organizations: the
//! normalised name). Two claimants of one key on either side is a conflict: reported with every
//! id involved, nothing touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::hubspot::models::SimplePublicObject;
use crate::mapping::catalogue::{self, Direction, Entity};
use crate::mapping::check::Properties;
use crate::mapping::format;
use crate::mapping::property::CachedProperty;
use crate::mapping::{Mapping, PullPolicy, ValueType};
use crate::model::{self, normalize_email, normalize_name};
use crate::store::base::Base;

use super::three_way::{self, Rule, Side};

/// A mapped local field that data-in may write.
#[derive(Debug, Clone)]
pub struct PullField {
    pub path: String,
    pub ty: ValueType,
    pub property: String,
    pub policy: PullPolicy,
    /// The pull, push and conflict policies of the three-way rule.
    pub rule: Rule,
    pub prop: CachedProperty,
}

/// The fields data-in writes for `entity`: mapped, not read-only locally, `pull:` not `never`.
/// A mapped property missing from the property cache is an error naming `map refresh`.
pub fn pull_fields(
    entity: Entity,
    mapping: &Mapping,
    props: &Properties,
) -> Result<Vec<PullField>> {
    let section = mapping.section(entity == Entity::Contact);
    let cached = props.of(entity);
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (path, spec) in &section.fields {
        let Ok(field) = catalogue::lookup(entity, section, path) else {
            continue; // `map check` reports it
        };
        if field.direction == Direction::OutOnly || spec.pull() == PullPolicy::Never {
            continue;
        }
        match cached.get(spec.property()) {
            Some(prop) => out.push(PullField {
                path: path.clone(),
                ty: field.ty,
                property: spec.property().to_owned(),
                policy: spec.pull(),
                rule: Rule {
                    pull: spec.pull(),
                    push: spec.push(),
                    conflict: spec.conflict(),
                },
                prop: prop.clone(),
            }),
            None => missing.push(spec.property().to_owned()),
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "the property cache has no {} propert{} {}; run `hubsync map refresh` (and create {} in HubSpot if needed)",
            entity.hubspot_object(),
            if missing.len() == 1 { "y" } else { "ies" },
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        );
    }
    Ok(out)
}

use crate::model::Record;

/// The matching keys of a HubSpot record: contacts' e-mails (primary and additional, trimmed,
/// lowercase), a company's normalised name.
#[must_use]
pub fn hubspot_keys(entity: Entity, r: &SimplePublicObject) -> Vec<String> {
    let mut keys = Vec::new();
    match entity {
        Entity::Contact => {
            if let Some(e) = r.prop("email") {
                keys.push(normalize_email(e));
            }
            if let Some(extra) = r.prop("hs_additional_emails") {
                keys.extend(extra.split(';').map(normalize_email));
            }
        }
        Entity::Organization => {
            if let Some(n) = r.prop("name") {
                keys.push(normalize_name(n));
            }
        }
    }
    keys.retain(|k| !k.is_empty());
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Ids of records HubSpot merged into `r`.
#[must_use]
pub fn merged_ids(r: &SimplePublicObject) -> Vec<String> {
    r.prop("hs_merged_object_ids")
        .map(|v| {
            v.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What the planner knows about the local side.
#[derive(Debug, Clone)]
pub struct LocalIndex<L> {
    /// The local records that may be touched, by id.
    pub records: HashMap<String, L>,
    /// Normalised key (e-mail or name) → every local id having it.
    pub by_key: HashMap<String, Vec<String>>,
    /// HubSpot id → linked local id.
    pub links: HashMap<String, String>,
    /// Local id → its linked HubSpot id.
    pub linked: HashMap<String, String>,
}

impl<L> Default for LocalIndex<L> {
    fn default() -> Self {
        Self {
            records: HashMap::new(),
            by_key: HashMap::new(),
            links: HashMap::new(),
            linked: HashMap::new(),
        }
    }
}

/// How a HubSpot record was matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// The stored link.
    Link,
    /// The link of a record HubSpot merged into this one; the link moves here.
    Merge,
    /// The e-mail or name; a new link.
    Key,
}

/// One local field change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: Option<Value>,
    pub new: Value,
    /// Set when both sides had moved and HubSpot's value won.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<FieldConflict>,
}

/// A field edited on both sides since they last agreed (values as HubSpot property values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldConflict {
    pub field: String,
    pub property: String,
    pub local: Option<String>,
    pub hubspot: String,
    pub base: Option<String>,
    pub kept: Side,
}

/// What data-in does to one matched record, field by field (the three-way rule).
#[derive(Debug, Clone)]
pub struct FieldPlan<L> {
    /// Local changes (HubSpot's value taken), with history.
    pub changes: Vec<Change>,
    /// The record with the changes applied.
    pub updated: L,
    /// Mapped values that could not be read (the field is left alone).
    pub problems: Vec<String>,
    /// HubSpot property → the value both sides now agree on (the new base).
    pub agreed: Vec<(String, String)>,
    /// Every conflict, whichever side it kept.
    pub conflicts: Vec<FieldConflict>,
    /// Properties of `newest` conflicts that need HubSpot's timestamp before deciding.
    pub needs_times: Vec<String>,
}

/// A HubSpot record matched to a local record.
#[derive(Debug, Clone)]
pub struct Match<L> {
    pub local_id: String,
    pub hubspot_id: String,
    pub via: Via,
    /// The link must be written (new, or moved to a merge survivor).
    pub relink: bool,
    pub changes: Vec<Change>,
    /// The record with the changes applied.
    pub updated: L,
    /// The record as stored.
    pub previous: L,
    /// Mapped values that could not be read (the field is left alone).
    pub problems: Vec<String>,
}

/// Two claimants of one key: nothing is touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub entity: &'static str,
    pub key: String,
    pub hubspot_ids: Vec<String>,
    pub local_ids: Vec<String>,
    pub message: String,
}

impl From<Conflict> for crate::sync::summary::Conflict {
    /// A key claimed by several records, as a run reports it: `field` null, every id listed.
    fn from(c: Conflict) -> Self {
        Self {
            entity: c.entity.to_owned(),
            id: c.local_ids.first().cloned().unwrap_or_default(),
            hubspot_id: match c.hubspot_ids.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            },
            key: Some(c.key),
            local_ids: c.local_ids,
            hubspot_ids: c.hubspot_ids,
            message: c.message,
            ..Self::default()
        }
    }
}

/// The whole plan for one batch of HubSpot records.
#[derive(Debug, Clone)]
pub struct Plan<L> {
    pub matches: Vec<Match<L>>,
    pub conflicts: Vec<Conflict>,
    /// HubSpot ids with no local record (data-in never creates one).
    pub unmatched: Vec<String>,
}

impl<L> Default for Plan<L> {
    fn default() -> Self {
        Self {
            matches: Vec::new(),
            conflicts: Vec::new(),
            unmatched: Vec::new(),
        }
    }
}

fn local_word(entity: Entity) -> &'static str {
    match entity {
        Entity::Contact => "contact",
        Entity::Organization => "organization",
    }
}

fn hubspot_word(entity: Entity) -> &'static str {
    match entity {
        Entity::Contact => "contact",
        Entity::Organization => "company",
    }
}

fn key_word(entity: Entity) -> &'static str {
    match entity {
        Entity::Contact => "e-mail",
        Entity::Organization => "name",
    }
}

/// What one HubSpot record claims, before claims are grouped by local record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// It claims this local record.
    Local {
        local_id: String,
        via: Via,
        /// The key it matched by (for [`Via::Key`]).
        key: String,
    },
    /// It conflicts on its own (linked to two local records, or its key matches several).
    Conflict(Conflict),
    /// No local record has its link or key.
    Unmatched,
}

/// Step 1 of planning: the local record one HubSpot record claims. `local` needs `links` for
/// the record's id and merged ids, and `by_key` for its keys; `records` and `linked` are not read.
#[must_use]
pub fn claim<L>(entity: Entity, r: &SimplePublicObject, local: &LocalIndex<L>) -> Claimed {
    let (lw, hw, kw) = (local_word(entity), hubspot_word(entity), key_word(entity));
    let mut by_link: BTreeSet<(String, Via)> = BTreeSet::new();
    if let Some(l) = local.links.get(&r.id) {
        by_link.insert((l.clone(), Via::Link));
    }
    for m in merged_ids(r) {
        if let Some(l) = local.links.get(&m) {
            by_link.insert((l.clone(), Via::Merge));
        }
    }
    let linked_locals: BTreeSet<&String> = by_link.iter().map(|(l, _)| l).collect();
    if linked_locals.len() > 1 {
        let ids: Vec<String> = linked_locals.into_iter().cloned().collect();
        return Claimed::Conflict(Conflict {
            entity: lw,
            key: format!("hubspot:{}", r.id),
            hubspot_ids: vec![r.id.clone()],
            message: format!(
                "HubSpot {hw} {} (merged from {}) is linked to local {lw}s {}; neither was changed",
                r.id,
                merged_ids(r).join(", "),
                ids.join(" and ")
            ),
            local_ids: ids,
        });
    }
    if let Some((l, via)) = by_link.into_iter().next() {
        // A link to this id wins over a merge link to the same record.
        let via = if local.links.get(&r.id) == Some(&l) {
            Via::Link
        } else {
            via
        };
        return Claimed::Local {
            local_id: l,
            via,
            key: String::new(),
        };
    }
    let mut by_key: BTreeMap<String, String> = BTreeMap::new(); // local id → key
    for k in hubspot_keys(entity, r) {
        for l in local.by_key.get(&k).into_iter().flatten() {
            by_key.entry(l.clone()).or_insert_with(|| k.clone());
        }
    }
    match by_key.len() {
        0 => Claimed::Unmatched,
        1 => match by_key.into_iter().next() {
            Some((l, k)) => Claimed::Local {
                local_id: l,
                via: Via::Key,
                key: k,
            },
            None => Claimed::Unmatched,
        },
        _ => {
            let keys: BTreeSet<&String> = by_key.values().collect();
            let key = keys
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let ids: Vec<String> = by_key.keys().cloned().collect();
            Claimed::Conflict(Conflict {
                entity: lw,
                key: key.clone(),
                hubspot_ids: vec![r.id.clone()],
                message: format!(
                    "local {lw}s {} share the {kw} {key} of HubSpot {hw} {}; none was changed",
                    ids.join(" and "),
                    r.id
                ),
                local_ids: ids,
            })
        }
    }
}

/// One claim on a local record, as [`resolve`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimOn {
    pub hubspot_id: String,
    pub via: Via,
    pub key: String,
    /// Read to be applied (not only to find competing claims).
    pub apply: bool,
}

/// Step 2 of planning: every claim on one local record (in the order the HubSpot records were
/// read) → the winning claim, if any, and the conflicts. A link is authoritative; two key claims
/// conflict; a key claim on a record linked elsewhere (`linked`: its stored link) conflicts.
#[must_use]
pub fn resolve<'c>(
    entity: Entity,
    local_id: &str,
    claims: &'c [ClaimOn],
    linked: Option<&str>,
) -> (Option<&'c ClaimOn>, Vec<Conflict>) {
    let (lw, hw, kw) = (local_word(entity), hubspot_word(entity), key_word(entity));
    let mut conflicts = Vec::new();
    let Some(first) = claims.first() else {
        return (None, conflicts);
    };
    let winner = if let Some(w) = claims.iter().find(|c| c.via != Via::Key) {
        for c in claims.iter().filter(|c| c.via == Via::Key && c.apply) {
            conflicts.push(Conflict {
                entity: lw,
                key: c.key.clone(),
                hubspot_ids: vec![c.hubspot_id.clone(), w.hubspot_id.clone()],
                local_ids: vec![local_id.to_owned()],
                message: format!(
                    "HubSpot {hw} {} matches local {lw} {local_id} by {kw} {}, but {local_id} is linked to HubSpot {hw} {}; {} was not applied",
                    c.hubspot_id, c.key, w.hubspot_id, c.hubspot_id
                ),
            });
        }
        w
    } else {
        let ids: BTreeSet<&str> = claims.iter().map(|c| c.hubspot_id.as_str()).collect();
        // A key match on a record that is linked elsewhere: the link wins.
        let other_link = linked.filter(|h| !ids.contains(h));
        if ids.len() > 1 || other_link.is_some() {
            if claims.iter().any(|c| c.apply) {
                let mut hubspot_ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
                if let Some(h) = other_link {
                    hubspot_ids.push(h.to_owned());
                }
                let key = first.key.clone();
                let message = match other_link {
                    Some(h) if ids.len() == 1 => format!(
                        "HubSpot {hw} {} matches local {lw} {local_id} by {kw} {key}, but {local_id} is linked to HubSpot {hw} {h}; {} was not applied",
                        hubspot_ids[0], hubspot_ids[0]
                    ),
                    _ => format!(
                        "HubSpot {hw}s {} all match local {lw} {local_id} by {kw} {key}; {local_id} was not changed",
                        hubspot_ids.join(" and ")
                    ),
                };
                conflicts.push(Conflict {
                    entity: lw,
                    key,
                    hubspot_ids,
                    local_ids: vec![local_id.to_owned()],
                    message,
                });
            }
            return (None, conflicts);
        }
        first
    };
    (winner.apply.then_some(winner), conflicts)
}

/// Plan data-in for `records` (the HubSpot records read). `context` holds other HubSpot records
/// known to exist (read only to find competing claims); they are never applied. All in memory:
/// the pull engine runs the same two steps ([`claim`], [`resolve`]) page by page.
#[must_use]
pub fn plan<L: Record>(
    entity: Entity,
    fields: &[PullField],
    records: &[SimplePublicObject],
    context: &[SimplePublicObject],
    local: &LocalIndex<L>,
) -> Plan<L> {
    let mut out = Plan::default();
    let applied: BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let by_id: HashMap<&str, &SimplePublicObject> =
        records.iter().map(|r| (r.id.as_str(), r)).collect();
    let all = records.iter().map(|r| (r, true)).chain(
        context
            .iter()
            .filter(|r| !applied.contains(r.id.as_str()))
            .map(|r| (r, false)),
    );
    let mut by_local: BTreeMap<String, Vec<ClaimOn>> = BTreeMap::new();
    for (r, apply) in all {
        match claim(entity, r, local) {
            Claimed::Local { local_id, via, key } => {
                by_local.entry(local_id).or_default().push(ClaimOn {
                    hubspot_id: r.id.clone(),
                    via,
                    key,
                    apply,
                });
            }
            Claimed::Conflict(c) => {
                if apply {
                    out.conflicts.push(c);
                }
            }
            Claimed::Unmatched => {
                if apply {
                    out.unmatched.push(r.id.clone());
                }
            }
        }
    }
    for (local_id, cs) in by_local {
        let (winner, conflicts) = resolve(
            entity,
            &local_id,
            &cs,
            local.linked.get(&local_id).map(String::as_str),
        );
        out.conflicts.extend(conflicts);
        let Some(winner) = winner else {
            continue;
        };
        let (Some(previous), Some(hubspot)) = (
            local.records.get(&local_id),
            by_id.get(winner.hubspot_id.as_str()),
        ) else {
            continue;
        };
        let FieldPlan {
            changes,
            updated,
            problems,
            ..
        } = field_changes(fields, hubspot, previous, &Base::new(), &|_| None);
        out.matches.push(Match {
            relink: local.links.get(&winner.hubspot_id) != Some(&local_id),
            local_id,
            hubspot_id: winner.hubspot_id.clone(),
            via: winner.via,
            changes,
            updated,
            previous: previous.clone(),
            problems,
        });
    }
    out.matches.sort_by(|a, b| a.local_id.cmp(&b.local_id));
    out
}

/// Numbers as the model stores them (`17`, not `17.0`), so equal values compare equal.
fn normalize(v: Value) -> Value {
    match &v {
        Value::Number(n) => n.as_f64().and_then(model::number_json).unwrap_or(v),
        _ => v,
    }
}

/// Whether two values of `ty` say the same thing (datetimes compare as instants).
fn same(ty: ValueType, a: Option<&Value>, b: &Value) -> bool {
    let Some(a) = a else { return false };
    if a == b {
        return true;
    }
    if matches!(ty, ValueType::Datetime | ValueType::Date) {
        if let (Value::String(x), Value::String(y)) = (a, b) {
            let (x, y) = (model::normalize_datetime(x), model::normalize_datetime(y));
            return x.is_ok() && x == y;
        }
    }
    normalize(a.clone()) == normalize(b.clone())
}

/// A local value as push would send it (`None` when empty). A value that can't be formatted
/// stands as its JSON text: it differs from every HubSpot value, so it counts as a local edit.
fn local_form(f: &PullField, v: Option<&Value>) -> Option<String> {
    let v = v?;
    match format::to_hubspot(v, f.ty, &f.prop) {
        Ok(s) => s,
        Err(_) => Some(v.to_string()),
    }
}

/// The mapped field changes HubSpot's record brings to a local record: per field, HubSpot's
/// value R, the local value L and the base B decide (the three-way rule, SPEC §6), then the pull
/// policy. An empty HubSpot value never erases a local value. `local_newer(property)` answers a
/// `newest` conflict when HubSpot's timestamp is known.
pub fn field_changes<L: Record>(
    fields: &[PullField],
    r: &SimplePublicObject,
    local: &L,
    base: &Base,
    local_newer: &dyn Fn(&str) -> Option<bool>,
) -> FieldPlan<L> {
    let mut plan = FieldPlan {
        changes: Vec::new(),
        updated: local.clone(),
        problems: Vec::new(),
        agreed: Vec::new(),
        conflicts: Vec::new(),
        needs_times: Vec::new(),
    };
    for f in fields {
        let problem =
            |e: &dyn std::fmt::Display| format!("{} (HubSpot `{}`): {e}", f.path, f.property);
        let new = match format::from_hubspot(r.prop(&f.property), f.ty, &f.prop) {
            Ok(Some(v)) => normalize(v),
            Ok(None) => continue,
            Err(e) => {
                plan.problems.push(problem(&e));
                continue;
            }
        };
        let new = match model::coerce(f.ty, new) {
            Ok(v) => v,
            Err(e) => {
                plan.problems.push(problem(&e));
                continue;
            }
        };
        let Some(remote) = local_form(f, Some(&new)) else {
            continue;
        };
        let old = plan.updated.get(&f.path);
        let mine = local_form(f, old.as_ref());
        let b = base.get(&f.property).map(String::as_str);
        let decision = three_way::pull(
            f.rule,
            Some(&remote),
            mine.as_deref(),
            b,
            local_newer(&f.property),
        );
        let conflict = |kept| FieldConflict {
            field: f.path.clone(),
            property: f.property.clone(),
            local: mine.clone(),
            hubspot: remote.clone(),
            base: b.map(str::to_owned),
            kept,
        };
        match decision {
            three_way::Pull::Skip | three_way::Pull::Keep => {}
            three_way::Pull::NeedsTimes => plan.needs_times.push(f.property.clone()),
            three_way::Pull::Agree => plan.agreed.push((f.property.clone(), remote.clone())),
            three_way::Pull::Conflict(Side::Local) => {
                plan.conflicts.push(conflict(Side::Local));
                // HubSpot's value becomes the base, so push sends the local one over it.
                plan.agreed.push((f.property.clone(), remote.clone()));
            }
            three_way::Pull::Take | three_way::Pull::Conflict(Side::Hubspot) => {
                let c = matches!(decision, three_way::Pull::Conflict(_))
                    .then(|| conflict(Side::Hubspot));
                if let Some(c) = &c {
                    plan.conflicts.push(c.clone());
                }
                if same(f.ty, old.as_ref(), &new) {
                    plan.agreed.push((f.property.clone(), remote.clone()));
                    continue;
                }
                if let Err(e) = plan.updated.set(&f.path, new) {
                    plan.problems.push(problem(&e.message));
                    continue;
                }
                plan.agreed.push((f.property.clone(), remote.clone()));
                // Read back what the record holds now (normalised by the model).
                let Some(stored) = plan.updated.get(&f.path) else {
                    continue;
                };
                if same(f.ty, old.as_ref(), &stored) {
                    continue;
                }
                plan.changes.push(Change {
                    field: f.path.clone(),
                    old,
                    new: stored,
                    conflict: c,
                });
            }
        }
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

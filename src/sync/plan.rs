//! Push planning: local records, their links, the mapping and HubSpot's property types → what to
//! send. Pure: no IO, so every rule is tested with a case table.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::three_way;
use crate::mapping::catalogue::{self, Entity};
use crate::mapping::format::to_hubspot;
use crate::mapping::property::CachedProperty;
use crate::mapping::EntitySection;
use crate::model::{normalize_email, Contact, Organization};
use crate::store::base::{self, Base};
use crate::store::Link;

/// One record ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushItem {
    pub local_id: String,
    /// The identity: the normalised primary e-mail (contacts) or domain (organizations).
    pub key: String,
    /// The linked HubSpot record, when known.
    pub hubspot_id: Option<String>,
    /// Every property sent, identity properties (`email`, `name`, `domain`) included.
    pub properties: BTreeMap<String, String>,
    /// Contacts: the HubSpot company ids to associate with.
    pub companies: Vec<String>,
    /// The content hash of `properties` and `companies`.
    pub hash: String,
    /// A linked record with a base: the properties whose local value moved away from it (an
    /// update sends only these). `None`: send everything (no base, a new record, `--force`).
    pub changed: Option<Vec<String>>,
    /// Mapped properties left out because the local value is empty.
    pub empty: Vec<String>,
    /// With `changed`: the base the update was planned against (the rest of what both sides
    /// agree on after it).
    pub base: Option<Base>,
}

impl PushItem {
    /// What an update of the linked record sends: the properties that moved, or all of them.
    #[must_use]
    pub fn update_properties(&self) -> BTreeMap<String, String> {
        match &self.changed {
            None => self.properties.clone(),
            Some(names) => names
                .iter()
                .filter_map(|n| self.properties.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        }
    }

    /// The base both sides agree on once HubSpot acknowledged the write: every property sent
    /// (all of them for a whole write) and the companies associated. A record HubSpot
    /// `created` holds nothing else, so the properties left empty are agreed empty too.
    #[must_use]
    pub fn agreed(&self, whole: bool, created: bool) -> Base {
        let mut out = if whole {
            self.properties.clone()
        } else {
            let mut out = self.base.clone().unwrap_or_default();
            out.extend(self.update_properties());
            out
        };
        if created {
            for p in &self.empty {
                out.entry(p.clone()).or_default();
            }
        }
        out.insert(base::COMPANIES.to_owned(), companies_value(&self.companies));
        out
    }
}

/// The base value of the association targets: sorted, deduplicated, `;`-joined.
#[must_use]
pub fn companies_value(companies: &[String]) -> String {
    let mut targets: Vec<&str> = companies.iter().map(String::as_str).collect();
    targets.sort_unstable();
    targets.dedup();
    targets.join(";")
}

/// What push does with one selected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOp {
    /// Send it (create, update or upsert is decided against HubSpot).
    Send(PushItem),
    /// Already sent with these exact values. `base`: the base derived for a linked record that
    /// had none (a store from before the three-way rule, whose content hash matched), to be
    /// stored.
    Unchanged {
        local_id: String,
        hubspot_id: Option<String>,
        base: Option<Base>,
    },
    /// Not synced, with the reason (no e-mail, no website, a duplicate identity).
    Skip { local_id: String, reason: String },
    /// A value cannot be formatted for its HubSpot property: this record fails, the rest go on.
    Fail { local_id: String, error: String },
}

impl PushOp {
    #[must_use]
    pub fn local_id(&self) -> &str {
        match self {
            PushOp::Send(i) => &i.local_id,
            PushOp::Unchanged { local_id, .. }
            | PushOp::Skip { local_id, .. }
            | PushOp::Fail { local_id, .. } => local_id,
        }
    }
}

/// Options that change the plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Send even when the content hash is unchanged.
    pub force: bool,
}

/// A record left out, and why (reported by id).
fn skip(local_id: &str, reason: impl Into<String>) -> PushOp {
    PushOp::Skip {
        local_id: local_id.to_owned(),
        reason: reason.into(),
    }
}

/// What planning a page of records of one entity works with.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The records' links, by local id (records never pushed have none).
    pub links: &'a HashMap<String, Link>,
    /// The values both sides last agreed on, by local id.
    pub bases: &'a HashMap<String, Base>,
    /// The entity's section of the mapping file.
    pub section: &'a EntitySection,
    /// HubSpot's properties of the entity, by name.
    pub props: &'a HashMap<String, CachedProperty>,
    pub opts: PlanOptions,
}

/// A stable hash of what is sent: the sorted properties and the association targets.
#[must_use]
pub fn content_hash(properties: &BTreeMap<String, String>, companies: &[String]) -> String {
    let mut h = Sha256::new();
    for (k, v) in properties {
        h.update((k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    let mut targets: Vec<&String> = companies.iter().collect();
    targets.sort();
    targets.dedup();
    h.update(b"\x00companies");
    for t in targets {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    }
    let digest = h.finalize();
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A mapped field that can be pushed: its path, local type and HubSpot property.
struct Pushable<'a> {
    path: &'a str,
    ty: crate::mapping::types::ValueType,
    prop: &'a CachedProperty,
}

/// The mapped fields of a section that have a known HubSpot property, resolved once per plan.
fn pushable<'a>(
    entity: Entity,
    section: &'a EntitySection,
    props: &'a HashMap<String, CachedProperty>,
) -> Vec<Pushable<'a>> {
    section
        .fields
        .iter()
        .filter(|(_, spec)| spec.push() != crate::mapping::PushPolicy::Never)
        .filter_map(|(path, spec)| {
            let field = catalogue::lookup(entity, section, path).ok()?;
            let prop = props.get(spec.property())?;
            Some(Pushable {
                path,
                ty: field.ty,
                prop,
            })
        })
        .collect()
}

/// Format every mapped field of a record. Errors name the field and the property.
fn mapped_properties(
    fields: &[Pushable<'_>],
    value_of: impl Fn(&str) -> Option<Value>,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let mut errors = Vec::new();
    for f in fields {
        let Some(value) = value_of(f.path) else {
            continue;
        };
        match to_hubspot(&value, f.ty, f.prop) {
            Ok(Some(v)) => {
                out.insert(f.prop.name.clone(), v);
            }
            Ok(None) => {}
            Err(e) => errors.push(format!("{} → {}: {e}", f.path, f.prop.name)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The mapped properties a record has no value for (an emptied local field: never sent).
fn unset(fields: &[Pushable<'_>], properties: &BTreeMap<String, String>) -> Vec<String> {
    fields
        .iter()
        .filter(|f| !properties.contains_key(&f.prop.name))
        .map(|f| f.prop.name.clone())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn decide(
    local_id: &str,
    key: String,
    properties: BTreeMap<String, String>,
    empty: Vec<String>,
    companies: Vec<String>,
    link: Option<&Link>,
    base: Option<&Base>,
    opts: PlanOptions,
) -> PushOp {
    let hash = content_hash(&properties, &companies);
    let hubspot_id = link.and_then(|l| l.hubspot_id.clone());
    let mut changed = None;
    let mut planned_against = None;
    if hubspot_id.is_some() {
        match base.filter(|b| !b.is_empty()) {
            Some(b) => {
                // Only what moved locally since both sides agreed is sent: a value HubSpot
                // changed since is not overwritten with the old local one.
                let moved: Vec<String> = properties
                    .iter()
                    .filter(|(k, v)| three_way::push(v, b.get(*k).map(String::as_str)))
                    .map(|(k, _)| k.clone())
                    .collect();
                let targets = companies_value(&companies);
                let companies_moved = b.get(base::COMPANIES) != Some(&targets);
                if moved.is_empty() && !companies_moved && !opts.force {
                    return PushOp::Unchanged {
                        local_id: local_id.to_owned(),
                        hubspot_id,
                        base: None,
                    };
                }
                if !opts.force {
                    let mut moved = moved;
                    if moved.is_empty() {
                        // Only the associations changed: an update needs one property.
                        moved.extend(properties.keys().next().cloned());
                    }
                    changed = Some(moved);
                    planned_against = Some(b.clone());
                }
            }
            None => {
                // A store from before the base existed: a matching hash means HubSpot holds
                // exactly these values, which become the base.
                if link.and_then(|l| l.content_hash.as_deref()) == Some(hash.as_str())
                    && !opts.force
                {
                    let mut agreed = properties;
                    agreed.insert(base::COMPANIES.to_owned(), companies_value(&companies));
                    return PushOp::Unchanged {
                        local_id: local_id.to_owned(),
                        hubspot_id,
                        base: Some(agreed),
                    };
                }
            }
        }
    }
    PushOp::Send(PushItem {
        local_id: local_id.to_owned(),
        key,
        hubspot_id,
        properties,
        companies,
        hash,
        changed,
        empty,
        base: planned_against,
    })
}

/// Plan contacts. `companies` maps a local organization id to its HubSpot company id (only
/// synced organizations appear). Contacts sharing a primary e-mail: the first (by the order
/// given) is sent, the others are skipped. `seen` holds the e-mails planned so far (normalised
/// e-mail → local id), so a selection can be planned page by page.
#[must_use]
pub fn plan_contacts(
    seen: &mut HashMap<String, String>,
    contacts: &[Contact],
    page: Page<'_>,
    companies: &HashMap<String, String>,
) -> Vec<PushOp> {
    let Page {
        links,
        bases,
        section,
        props,
        opts,
    } = page;
    let fields = pushable(Entity::Contact, section, props);
    let mut out = Vec::with_capacity(contacts.len());
    for c in contacts {
        let email = c
            .primary_email()
            .map(normalize_email)
            .filter(|e| !e.is_empty());
        let Some(email) = email else {
            out.push(skip(
                &c.id,
                "no e-mail: contacts are matched in HubSpot by e-mail",
            ));
            continue;
        };
        if let Some(first) = seen.get(&email) {
            out.push(skip(&c.id, format!("its e-mail {email} is also the primary e-mail of contact {first}, which is pushed instead")));
            continue;
        }
        seen.insert(email.clone(), c.id.clone());
        let mut properties = BTreeMap::new();
        properties.insert("email".to_owned(), email.clone());
        if let Err(error) = mapped_properties(&fields, |p| c.field(p), &mut properties) {
            out.push(PushOp::Fail {
                local_id: c.id.clone(),
                error,
            });
            continue;
        }
        let mut targets: Vec<String> = Vec::new();
        let mut uniq = HashSet::new();
        for org in &c.organizations {
            if let Some(id) = companies.get(org) {
                if uniq.insert(id.clone()) {
                    targets.push(id.clone());
                }
            }
        }
        let empty = unset(&fields, &properties);
        out.push(decide(
            &c.id,
            email,
            properties,
            empty,
            targets,
            links.get(&c.id),
            bases.get(&c.id),
            opts,
        ));
    }
    out
}

/// Plan organizations: `name` and `domain` always, then the mapped fields. Organizations
/// sharing a domain: the first is sent, the others are skipped (HubSpot gets one company).
/// `seen` holds the domains planned so far (domain → local id).
#[must_use]
pub fn plan_organizations(
    seen: &mut HashMap<String, String>,
    orgs: &[Organization],
    page: Page<'_>,
) -> Vec<PushOp> {
    let fields = pushable(Entity::Organization, page.section, page.props);
    let mut out = Vec::with_capacity(orgs.len());
    for o in orgs {
        let Some(domain) = o.domain() else {
            out.push(skip(
                &o.id,
                "no website: organizations are matched in HubSpot by domain",
            ));
            continue;
        };
        if let Some(first) = seen.get(&domain) {
            out.push(skip(&o.id, format!(
                    "its domain {domain} is also the domain of organization {first}, which is pushed as that company"
                )));
            continue;
        }
        seen.insert(domain.clone(), o.id.clone());
        let mut properties = BTreeMap::new();
        properties.insert("domain".to_owned(), domain.clone());
        if let Some(name) = o.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            properties.insert("name".to_owned(), name.to_owned());
        }
        if let Err(error) = mapped_properties(&fields, |p| o.field(p), &mut properties) {
            out.push(PushOp::Fail {
                local_id: o.id.clone(),
                error,
            });
            continue;
        }
        let empty = unset(&fields, &properties);
        out.push(decide(
            &o.id,
            domain,
            properties,
            empty,
            Vec::new(),
            page.links.get(&o.id),
            page.bases.get(&o.id),
            page.opts,
        ));
    }
    out
}

/// One property that a push would change: HubSpot's current value (if read) and the new one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub property: String,
    pub old: Option<String>,
    pub new: String,
}

/// The properties whose value differs from `current` (HubSpot's values, as read).
#[must_use]
pub fn diff(
    properties: &BTreeMap<String, String>,
    current: &BTreeMap<String, Option<String>>,
) -> Vec<Change> {
    properties
        .iter()
        .filter_map(|(k, v)| {
            let old = current.get(k).cloned().flatten();
            let same = old.as_deref().is_some_and(|o| same_value(o, v));
            (!same).then(|| Change {
                property: k.clone(),
                old,
                new: v.clone(),
            })
        })
        .collect()
}

/// HubSpot echoes values in its own format (`2024-01-02T00:00:00.000Z` for a date, `17` for
/// `17.0`, e-mails lowercased): compare loosely so a dry run shows real changes only.
fn same_value(old: &str, new: &str) -> bool {
    if old == new || old.eq_ignore_ascii_case(new) {
        return true;
    }
    if let (Ok(a), Ok(b)) = (old.parse::<f64>(), new.parse::<f64>()) {
        return (a - b).abs() < f64::EPSILON;
    }
    if let (Ok(a), Ok(b)) = (
        chrono::DateTime::parse_from_rfc3339(old),
        chrono::DateTime::parse_from_rfc3339(new),
    ) {
        return a == b;
    }
    old.len() > new.len() && old.starts_with(new) && old[new.len()..].starts_with("T00:00:00")
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

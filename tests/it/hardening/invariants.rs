//! What must hold after any run: every pushable record in HubSpot once with its values, lists
//! holding exactly their members, every local change recorded, nothing left to send.

use super::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

// ---- the invariants ---------------------------------------------------------------------------

/// The local records, and the history, at one moment.
#[derive(Clone)]
pub(super) struct Snapshot {
    pub(super) contacts: BTreeMap<String, Value>,
    pub(super) organizations: BTreeMap<String, Value>,
    pub(super) history: Vec<Value>,
}

/// What must be in HubSpot.
#[derive(Default)]
pub(super) struct Expect {
    /// Local contacts pushed by hand (`push --contact`), so marked.
    pub(super) contacts: BTreeSet<String>,
    /// Local organizations pushed by hand.
    pub(super) organizations: BTreeSet<String>,
    /// The automations of the fault test (`champions`, `enterprise`) exist.
    pub(super) automations: bool,
}

pub(super) fn primary_email(c: &Value) -> Option<String> {
    c["emails"]
        .as_array()?
        .first()?
        .as_str()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
}

pub(super) fn is_champion(c: &Value) -> bool {
    c["tags"].as_array().is_some_and(|t| {
        t.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.to_lowercase().contains("champion"))
        })
    })
}

/// Organizations the `enterprise` automation selects (`employees>=BIG`).
pub(super) fn big_orgs(now: &Snapshot) -> BTreeSet<String> {
    now.organizations
        .iter()
        .filter(|(_, o)| o["employees"].as_f64().is_some_and(|n| n >= BIG))
        .map(|(id, _)| id.clone())
        .collect()
}

pub(super) fn in_any(c: &Value, orgs: &BTreeSet<String>) -> bool {
    c["organizations"].as_array().is_some_and(|os| {
        os.iter()
            .any(|o| o.as_str().is_some_and(|o| orgs.contains(o)))
    })
}

/// Which local contacts each automation's list must hold, by list name.
pub(super) fn list_members(
    now: &Snapshot,
    expect: &Expect,
) -> Vec<(&'static str, BTreeSet<String>)> {
    if !expect.automations {
        return Vec::new();
    }
    let big = big_orgs(now);
    let with_email = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<String> {
        now.contacts
            .iter()
            .filter(|(_, c)| primary_email(c).is_some() && pred(c))
            .map(|(id, _)| id.clone())
            .collect()
    };
    vec![
        (CHAMPIONS, with_email(&is_champion)),
        (ENTERPRISE, with_email(&|c| in_any(c, &big))),
    ]
}

/// Every local record that must be in HubSpot: pushed by hand or selected by an automation,
/// with an e-mail (contacts) or a website (organizations).
pub(super) fn pushable(now: &Snapshot, expect: &Expect) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut contacts: BTreeSet<String> = expect.contacts.clone();
    let mut orgs: BTreeSet<String> = expect.organizations.clone();
    for (_, members) in list_members(now, expect) {
        contacts.extend(members);
    }
    if expect.automations {
        orgs.extend(big_orgs(now));
    }
    contacts.retain(|id| now.contacts.get(id).and_then(primary_email).is_some());
    // Organizations sharing a domain: the first is pushed as that company, the others are
    // skipped (and say so).
    let mut first_of_domain: BTreeMap<String, String> = BTreeMap::new();
    for id in &orgs {
        let domain = now
            .organizations
            .get(id)
            .and_then(|o| o["website"].as_str())
            .and_then(hubsync::model::normalize_domain);
        if let Some(d) = domain {
            first_of_domain.entry(d).or_insert_with(|| id.clone());
        }
    }
    let orgs = first_of_domain.into_values().collect();
    (contacts, orgs)
}

/// The live (not archived, not merged) records of one kind in the sandbox's state.
pub(super) fn live<'a>(state: &'a Value, kind: &str) -> Vec<&'a Value> {
    state[kind]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r.get("mergedInto").is_none() && r["archived"] != json!(true))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn prop<'a>(r: &'a Value, name: &str) -> Option<&'a str> {
    r["properties"][name].as_str().filter(|s| !s.is_empty())
}

/// Every e-mail (primary and additional, lowercase) → the live contacts holding it.
pub(super) fn contacts_by_email(state: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in live(state, "contacts") {
        let id = c["id"].as_str().unwrap_or_default().to_owned();
        let mut emails: BTreeSet<String> = BTreeSet::new();
        if let Some(e) = prop(c, "email") {
            emails.insert(e.trim().to_lowercase());
        }
        if let Some(more) = prop(c, "hs_additional_emails") {
            emails.extend(
                more.split(';')
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty()),
            );
        }
        for e in emails {
            out.entry(e).or_default().push(id.clone());
        }
    }
    out
}

pub(super) fn companies_by_domain(state: &Value) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in live(state, "companies") {
        if let Some(d) = prop(c, "domain") {
            out.entry(d.trim().to_lowercase())
                .or_default()
                .push(c["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    out
}

/// No two live HubSpot contacts share an e-mail, no two companies a domain.
pub(super) fn duplicates(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (email, ids) in contacts_by_email(state) {
        if ids.len() > 1 {
            out.push(format!(
                "HubSpot has {} contacts with e-mail {email}: {ids:?}",
                ids.len()
            ));
        }
    }
    for (domain, ids) in companies_by_domain(state) {
        if ids.len() > 1 {
            out.push(format!(
                "HubSpot has {} companies with domain {domain}: {ids:?}",
                ids.len()
            ));
        }
    }
    out
}

/// A local value as text, the way the mapping sends it: `None` when empty.
pub(super) fn sent(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()).filter(|s| !s.trim().is_empty()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().filter_map(sent).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Object(_) => Some(v.to_string()),
    }
}

pub(super) fn same_value(local: &str, hubspot: &str, numeric: bool) -> bool {
    if numeric {
        match (local.parse::<f64>(), hubspot.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() < 1e-9,
            _ => false,
        }
    } else {
        local.trim() == hubspot.trim()
    }
}

/// A field path (`identities.github`) in a record as `contacts list --json` shows it.
pub(super) fn at<'a>(record: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(record, |v, k| &v[k])
}

/// Local field → HubSpot property, and whether it is a number (`mappings.example.yaml`).
pub(super) const CONTACT_FIELDS: [(&str, &str, bool); 7] = [
    ("displayName", "gitmesh_display_name", false),
    ("identities.github", "gitmesh_github", false),
    ("identities.twitter", "twitterhandle", false),
    ("attributes.seniorityLevel", "gitmesh_seniority", false),
    ("attributes.isHiring", "gitmesh_is_hiring", false),
    ("score", "gitmesh_score", true),
    ("tags", "gitmesh_tags", false),
];
pub(super) const ORG_FIELDS: [(&str, &str, bool); 5] = [
    ("description", "gitmesh_description", false),
    ("industry", "gitmesh_industry", false),
    ("employees", "numberofemployees", true),
    ("github", "gitmesh_github", false),
    ("memberCount", "gitmesh_member_count", true),
];

pub(super) fn compare_fields(
    what: &str,
    local: &Value,
    hubspot: &Value,
    fields: &[(&str, &str, bool)],
    out: &mut Vec<String>,
) {
    for (field, property, numeric) in fields {
        // An empty local value is not sent, so HubSpot may keep what it had.
        let Some(l) = sent(at(local, field)) else {
            continue;
        };
        match prop(hubspot, property) {
            Some(h) if same_value(&l, h, *numeric) => {}
            h => out.push(format!(
                "{what}: local {field} = {l:?} but HubSpot {property} = {h:?}"
            )),
        }
    }
}

/// Every pushable record is in HubSpot exactly once, linked, marked, with its mapped values;
/// every contact is associated to the companies of its synced organizations.
pub(super) fn missing_or_wrong(state: &Value, now: &Snapshot, expect: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    let (contacts, orgs) = pushable(now, expect);
    let by_email = contacts_by_email(state);
    let by_domain = companies_by_domain(state);
    let records: HashMap<(&str, &str), &Value> = ["contacts", "companies"]
        .into_iter()
        .flat_map(|k| {
            live(state, k)
                .into_iter()
                .map(move |r| ((k, r["id"].as_str().unwrap_or_default()), r))
        })
        .collect();
    let associations: BTreeSet<(String, String)> = array(&state["associations"])
        .iter()
        .map(|a| {
            (
                a["contact"].as_str().unwrap_or_default().to_owned(),
                a["company"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();

    // Organizations sharing a domain share one company; only one of them can own its values.
    let mut domain_count: HashMap<String, usize> = HashMap::new();
    for o in now.organizations.values() {
        if let Some(d) = o["website"]
            .as_str()
            .and_then(hubsync::model::normalize_domain)
        {
            *domain_count.entry(d).or_default() += 1;
        }
    }
    let mut company_of: HashMap<String, String> = HashMap::new();
    for id in &orgs {
        let o = &now.organizations[id];
        let domain = o["website"]
            .as_str()
            .and_then(hubsync::model::normalize_domain)
            .unwrap_or_default();
        let found = by_domain.get(&domain).cloned().unwrap_or_default();
        let [hid] = found.as_slice() else {
            out.push(format!(
                "organization {id}: HubSpot has {} companies with domain {domain}",
                found.len()
            ));
            continue;
        };
        company_of.insert(id.clone(), hid.clone());
        if o["hubspot"]["id"].as_str() != Some(hid) {
            out.push(format!(
                "organization {id}: linked to {} but its company in HubSpot is {hid}",
                o["hubspot"]["id"]
            ));
        }
        if o["hubspot"]["marked"].is_null() {
            out.push(format!("organization {id}: pushed but not marked"));
        }
        if domain_count.get(&domain) == Some(&1) {
            let c = records[&("companies", hid.as_str())];
            let what = format!("organization {id} (company {hid})");
            let name = o["name"].as_str().map(str::trim);
            if prop(c, "name").map(str::trim) != name {
                out.push(format!(
                    "{what}: local name {name:?} but HubSpot name {:?}",
                    prop(c, "name")
                ));
            }
            compare_fields(&what, o, c, &ORG_FIELDS, &mut out);
        }
    }

    for id in &contacts {
        let c = &now.contacts[id];
        let email = primary_email(c).unwrap_or_default();
        let found = by_email.get(&email).cloned().unwrap_or_default();
        let [hid] = found.as_slice() else {
            out.push(format!(
                "contact {id}: HubSpot has {} contacts with e-mail {email}",
                found.len()
            ));
            continue;
        };
        if c["hubspot"]["id"].as_str() != Some(hid) {
            out.push(format!(
                "contact {id}: linked to {} but its HubSpot contact is {hid}",
                c["hubspot"]["id"]
            ));
        }
        if c["hubspot"]["marked"].is_null() {
            out.push(format!("contact {id}: pushed but not marked"));
        }
        let h = records[&("contacts", hid.as_str())];
        compare_fields(
            &format!("contact {id} ({hid})"),
            c,
            h,
            &CONTACT_FIELDS,
            &mut out,
        );
        for org in c["organizations"].as_array().into_iter().flatten() {
            let Some(company) = org.as_str().and_then(|o| company_of.get(o)) else {
                continue;
            };
            if !associations.contains(&(hid.clone(), company.clone())) {
                out.push(format!(
                    "contact {id} ({hid}) is not associated to company {company} of {org}"
                ));
            }
        }
    }
    out
}

/// Each automation's list holds exactly the HubSpot contacts of the local records it selects.
pub(super) fn list_problems(state: &Value, now: &Snapshot, expect: &Expect) -> Vec<String> {
    let mut out = Vec::new();
    let by_email = contacts_by_email(state);
    for (name, locals) in list_members(now, expect) {
        let expected: BTreeSet<String> = locals
            .iter()
            .filter_map(|id| primary_email(&now.contacts[id]))
            .filter_map(|e| by_email.get(&e).and_then(|ids| ids.first()).cloned())
            .collect();
        let Some(list) = array(&state["lists"])
            .into_iter()
            .find(|l| l["name"] == json!(name))
        else {
            out.push(format!("HubSpot has no list {name}"));
            continue;
        };
        let actual: BTreeSet<String> = array(&list["members"])
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect();
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        if !missing.is_empty() {
            out.push(format!("list {name} misses {missing:?}"));
        }
        if !extra.is_empty() {
            out.push(format!(
                "list {name} holds contacts it should not: {extra:?}"
            ));
        }
    }
    out
}

/// A value as history and `list --json` show it, with "empty" as `None`.
pub(super) fn norm(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) if o.is_empty() => None,
        Value::Number(n) => n.as_f64().map(|f| json!(f)),
        other => Some(other.clone()),
    }
}

/// The fields of a record as `path → value` (`identities.github`), without its HubSpot link.
pub(super) fn fields(record: Option<&Value>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(map)) = record else {
        return out;
    };
    for (k, v) in map {
        match (k.as_str(), v) {
            ("hubspot", _) => {}
            ("identities" | "attributes", Value::Object(inner)) => {
                for (ik, iv) in inner {
                    out.insert(format!("{k}.{ik}"), iv.clone());
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// Every local field that differs between `before` and `now` is explained by the history
/// entries recorded since `before`, in order: the first one's `old` is the value before, each
/// `new` is the next one's `old`, and the last `new` is the value now. Records are never
/// created or deleted by a run.
pub(super) fn unexplained(before: &Snapshot, now: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    if now.history.len() < before.history.len()
        || now.history[..before.history.len()] != before.history[..]
    {
        out.push("history entries recorded before were changed or removed".to_owned());
        return out;
    }
    let mut entries: BTreeMap<(String, String), BTreeMap<String, Vec<&Value>>> = BTreeMap::new();
    for e in &now.history[before.history.len()..] {
        entries
            .entry((
                e["entity"].as_str().unwrap_or_default().to_owned(),
                e["id"].as_str().unwrap_or_default().to_owned(),
            ))
            .or_default()
            .entry(e["field"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push(e);
    }
    for (entity, was, is) in [
        ("contact", &before.contacts, &now.contacts),
        ("organization", &before.organizations, &now.organizations),
    ] {
        let ids: BTreeSet<&String> = was.keys().chain(is.keys()).collect();
        for id in ids {
            if was.contains_key(id) != is.contains_key(id) {
                out.push(format!(
                    "{entity} {id} was {}",
                    if is.contains_key(id) {
                        "added"
                    } else {
                        "removed"
                    }
                ));
                continue;
            }
            let (a, b) = (fields(was.get(id)), fields(is.get(id)));
            let recorded = entries
                .remove(&(entity.to_owned(), id.clone()))
                .unwrap_or_default();
            let names: BTreeSet<&String> =
                a.keys().chain(b.keys()).chain(recorded.keys()).collect();
            for f in names {
                let (old, new) = (norm(a.get(f)), norm(b.get(f)));
                let chain = recorded.get(f).map(Vec::as_slice).unwrap_or_default();
                let Some((first, last)) = chain.first().zip(chain.last()) else {
                    if old != new {
                        out.push(format!(
                            "{entity} {id}: {f} changed {old:?} → {new:?} with no history entry"
                        ));
                    }
                    continue;
                };
                let linked = chain
                    .windows(2)
                    .all(|w| norm(w[0].get("new")) == norm(w[1].get("old")));
                if norm(first.get("old")) != old || norm(last.get("new")) != new || !linked {
                    out.push(format!(
                        "{entity} {id}: {f} went {old:?} → {new:?} but history says {:?}",
                        chain
                            .iter()
                            .map(|e| format!("{} → {}", e["old"], e["new"]))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    for ((entity, id), _) in entries {
        out.push(format!(
            "history names {entity} {id}, which is not in the store"
        ));
    }
    out
}

/// Every invariant, against the live sandbox and store.
pub(super) fn problems(w: &World, before: &Snapshot, expect: &Expect) -> Vec<String> {
    let now = w.snapshot();
    let state = w.sb.state();
    let mut out = duplicates(&state);
    out.extend(missing_or_wrong(&state, &now, expect));
    out.extend(list_problems(&state, &now, expect));
    out.extend(unexplained(before, &now));
    out
}

pub(super) fn assert_invariants(w: &World, before: &Snapshot, expect: &Expect, context: &str) {
    let found = problems(w, before, expect);
    if !found.is_empty() {
        let shown: Vec<&String> = found.iter().take(25).collect();
        w.fail(format!(
            "{context}: {} invariant violations (first {}):\n  {}",
            found.len(),
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
}

/// Once a run has finished, the next `sync` (nothing changed on either side) writes nothing.
pub(super) fn assert_nothing_left_to_send(w: &World, context: &str) {
    let base = w.sb.requests().len();
    w.ok(&["sync"]);
    let writes: Vec<String> = w.sb.requests()[base..]
        .iter()
        .filter(|r| {
            r.method != "GET" && !r.path.ends_with("/search") && !r.path.ends_with("/batch/read")
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    if !writes.is_empty() {
        w.fail(format!(
            "{context}: a sync with nothing changed still wrote to HubSpot: {writes:?}"
        ));
    }
}

/// The store opens, passes `PRAGMA integrity_check`, and `hubsync status` exits 0.
pub(super) fn assert_store_intact(w: &World) {
    let conn = rusqlite::Connection::open(w.env.db())
        .unwrap_or_else(|e| w.fail(format!("the store does not open: {e}")));
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap_or_else(|e| w.fail(format!("integrity_check failed to run: {e}")));
    if check != "ok" {
        w.fail(format!("PRAGMA integrity_check: {check}"));
    }
    drop(conn);
    w.ok(&["status"]);
}

//! Loading a seed document: custom properties, records, associations and lists.
//!
//! ```json
//! {"properties": {"contacts": [{"name": "...", "label": "...", "type": "string",
//!                               "fieldType": "text", "groupName": "hubsync"}], "companies": []},
//!  "contacts":  [{"id": "501", "properties": {"email": "ada@example.com"}}],
//!  "companies": [{"id": "901", "properties": {"name": "Acme", "domain": "acme.io"}}],
//!  "associations": [{"contact": "501", "company": "901"}],
//!  "lists": [{"name": "Champions", "processingType": "MANUAL", "members": ["501"]}]}
//! ```

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::lists::{create_list, CreateBody};
use super::properties::PropertyCreate;
use super::state::{Inner, ObjectType};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    properties: SeedProperties,
    #[serde(default)]
    contacts: Vec<SeedRecord>,
    #[serde(default)]
    companies: Vec<SeedRecord>,
    #[serde(default)]
    associations: Vec<SeedAssociation>,
    #[serde(default)]
    lists: Vec<SeedList>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SeedProperties {
    #[serde(default)]
    contacts: Vec<PropertyCreate>,
    #[serde(default)]
    companies: Vec<PropertyCreate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRecord {
    #[serde(default)]
    id: Option<String>,
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedAssociation {
    contact: String,
    company: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedList {
    name: String,
    processing_type: String,
    #[serde(default)]
    object_type_id: Option<String>,
    #[serde(default)]
    filter_branch: Option<Value>,
    #[serde(default)]
    members: Vec<String>,
}

/// Values as a user (or an import) would set them in HubSpot: read-only properties allowed,
/// unknown properties and invalid values refused, e-mails unique.
pub fn user_values(
    s: &Inner,
    o: ObjectType,
    props: &Map<String, Value>,
    record: Option<u64>,
) -> Result<HashMap<String, String>> {
    let defs = s.defs(o);
    let existing = record.and_then(|id| s.store(o).records.get(&id));
    let mut out = HashMap::new();
    for (name, value) in props {
        let def = defs
            .get(name)
            .ok_or_else(|| anyhow!("property {name} does not exist on {}", o.name()))?;
        let raw = match value {
            Value::String(v) => v.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            other => bail!("property {name}: {other} is not a string"),
        };
        if matches!(
            name.as_str(),
            "hs_object_id" | "createdate" | "hs_merged_object_ids"
        ) {
            bail!("property {name} is managed by the sandbox");
        }
        let v = if def.read_only_value {
            raw
        } else {
            def.normalize(&raw, existing.and_then(|r| r.get(name)))
                .map_err(|(_, msg)| anyhow!(msg))?
        };
        out.insert(name.clone(), v);
    }
    if o == ObjectType::Contacts {
        let mut emails: Vec<String> = Vec::new();
        if let Some(e) = out.get("email") {
            emails.push(e.trim().to_lowercase());
        }
        if let Some(extra) = out.get("hs_additional_emails") {
            emails.extend(extra.split(';').map(|e| e.trim().to_lowercase()));
        }
        for e in emails.iter().filter(|e| !e.is_empty()) {
            if let Some(owner) = s.store(o).by_email(e) {
                if Some(owner) != record {
                    bail!("e-mail {e} already belongs to contact {owner}");
                }
            }
        }
    }
    Ok(out)
}

fn id_of(raw: &str) -> Result<u64> {
    raw.trim()
        .parse()
        .with_context(|| format!("\"{raw}\" is not a numeric record id"))
}

/// Applies a seed document.
pub fn apply(s: &mut Inner, doc: &Value) -> Result<()> {
    let seed: Seed = serde_path_to_error::deserialize(doc.clone()).context("seed document")?;
    for (o, props) in [
        (ObjectType::Contacts, seed.properties.contacts),
        (ObjectType::Companies, seed.properties.companies),
    ] {
        for p in props {
            if s.defs(o).get(&p.name).is_some() {
                bail!("property {} already exists on {}", p.name, o.name());
            }
            let now = s.now();
            let name = p.name.clone();
            let p = p
                .into_property(now)
                .map_err(|e| anyhow!(e))
                .with_context(|| format!("property {name}"))?;
            s.props[o.index()].add(p);
        }
    }
    for (o, records) in [
        (ObjectType::Contacts, seed.contacts),
        (ObjectType::Companies, seed.companies),
    ] {
        for (i, r) in records.into_iter().enumerate() {
            let id = r.id.as_deref().map(id_of).transpose()?;
            if let Some(id) = id {
                if s.store(o).records.contains_key(&id) {
                    bail!("{} #{}: id {id} already exists", o.name(), i + 1);
                }
            }
            let values = user_values(s, o, &r.properties, None)
                .with_context(|| format!("{} #{}", o.name(), i + 1))?;
            s.create_record(o, values, id);
        }
    }
    for a in seed.associations {
        let (c, co) = (id_of(&a.contact)?, id_of(&a.company)?);
        if s.store(ObjectType::Contacts).resolve(c).is_none()
            || s.store(ObjectType::Companies).resolve(co).is_none()
        {
            bail!("association {c} → {co}: both records must exist");
        }
        s.associate(c, co);
    }
    for l in seed.lists {
        let dynamic = l.processing_type == "DYNAMIC";
        let filter_branch = l.filter_branch.or_else(|| {
            dynamic.then(|| {
                serde_json::json!({"filterBranchType": "OR", "filterBranches": [], "filters": []})
            })
        });
        let name = l.name.clone();
        let id = create_list(
            s,
            CreateBody {
                name: l.name,
                object_type_id: l.object_type_id.unwrap_or_else(|| "0-1".into()),
                processing_type: l.processing_type,
                filter_branch,
            },
        )
        .map_err(|e| anyhow!("list {name}: {}", e.body["message"]))?;
        let now = s.now();
        let object = s.lists[&id].object;
        for m in &l.members {
            let mid = id_of(m)?;
            if s.store(object).resolve(mid).is_none() {
                bail!("list {name}: member {mid} does not exist");
            }
            if let Some(list) = s.lists.get_mut(&id) {
                list.members.insert(mid, now);
            }
        }
    }
    Ok(())
}

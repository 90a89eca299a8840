//! Contacts and companies: list, get, create, update, archive and the batch endpoints.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::errors::{ApiError, ApiResult};
use super::state::{iso, Inner, ObjectType, Record};

mod batch;
mod single;

pub use batch::{batch_archive, batch_create, batch_read, batch_update, batch_upsert};
pub use single::{create, delete, get, list, patch};

pub const BATCH_LIMIT: usize = 100;

pub type QueryPairs = Vec<(String, String)>;

pub fn object_type(s: &str) -> ApiResult<ObjectType> {
    ObjectType::parse(s)
        .ok_or_else(|| ApiError::validation(format!("Unable to infer object type from: {s}")))
}

fn query_value<'a>(q: &'a QueryPairs, key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `properties=a,b&properties=c` → `[a, b, c]`; `None` when absent.
fn query_properties(q: &QueryPairs) -> Option<Vec<String>> {
    let names: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "properties")
        .flat_map(|(_, v)| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

fn query_bool(q: &QueryPairs, key: &str) -> bool {
    query_value(q, key) == Some("true")
}

pub fn parse_id(id: &str) -> Option<u64> {
    id.trim().parse().ok()
}

/// One invalid property value.
pub struct PropError {
    pub name: String,
    pub code: String,
    pub message: String,
}

/// HubSpot's 400 for invalid property values.
pub fn prop_errors(errors: &[PropError]) -> ApiError {
    let items: Vec<Value> = errors
        .iter()
        .map(|e| {
            json!({"isValid": false, "message": e.message, "error": e.code, "name": e.name,
                   "localizedErrorMessage": e.message})
        })
        .collect();
    let list = serde_json::to_string(&items).unwrap_or_default();
    ApiError::validation(format!("Property values were not valid: {list}")).with(
        "errors",
        Value::Array(
            errors
                .iter()
                .map(|e| {
                    json!({"message": e.message, "code": e.code,
                           "context": {"propertyName": [e.name]}})
                })
                .collect(),
        ),
    )
}

/// Checks and normalises written values against the property definitions.
/// Unknown and read-only properties are refused, as HubSpot does.
pub fn validate_values(
    s: &Inner,
    o: ObjectType,
    props: &Map<String, Value>,
    existing: Option<&Record>,
) -> Result<HashMap<String, String>, Vec<PropError>> {
    let defs = s.defs(o);
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for (name, value) in props {
        let Some(def) = defs.get(name) else {
            errors.push(PropError {
                name: name.clone(),
                code: "PROPERTY_DOESNT_EXIST".into(),
                message: format!("Property \"{name}\" does not exist"),
            });
            continue;
        };
        if def.read_only_value {
            errors.push(PropError {
                name: name.clone(),
                code: "READ_ONLY_VALUE".into(),
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
            });
            continue;
        }
        let Value::String(raw) = value else {
            errors.push(PropError {
                name: name.clone(),
                code: "INVALID_TYPE".into(),
                message: format!("Property \"{name}\" must be sent as a string, not {value}"),
            });
            continue;
        };
        match def.normalize(raw, existing.and_then(|r| r.get(name))) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err((code, message)) => errors.push(PropError {
                name: name.clone(),
                code,
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn too_many(n: usize, limit: usize) -> ApiError {
    ApiError::validation(format!(
        "Batch input of {n} items is too large: at most {limit} inputs are allowed per request."
    ))
}

fn existing_contact(id: u64) -> ApiError {
    ApiError::conflict(format!("Contact already exists. Existing ID: {id}"))
}

/// Tracks e-mails claimed inside one batch so duplicates and conflicts are caught before writing.
#[derive(Default)]
pub(crate) struct EmailClaims {
    claimed: HashMap<String, Option<u64>>,
}

impl EmailClaims {
    /// `values`: what the input writes; `record`: the target (None = create).
    fn claim(
        &mut self,
        s: &Inner,
        values: &HashMap<String, String>,
        record: Option<u64>,
    ) -> ApiResult<()> {
        let Some(email) = values.get("email").filter(|e| !e.is_empty()) else {
            return Ok(());
        };
        let email = email.trim().to_lowercase();
        if let Some(owner) = s.store(ObjectType::Contacts).by_email(&email) {
            if Some(owner) != record {
                return Err(existing_contact(owner));
            }
        }
        if let Some(prev) = self.claimed.get(&email) {
            if prev.is_none() || *prev != record {
                return Err(ApiError::conflict(format!(
                    "Duplicate email in batch input: {email}"
                )));
            }
        }
        self.claimed.insert(email, record);
        Ok(())
    }
}

#[derive(Deserialize)]
pub(crate) struct AssocTarget {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssocType {
    #[serde(default)]
    association_category: String,
    association_type_id: i64,
}

#[derive(Deserialize)]
pub(crate) struct CreateAssociation {
    to: AssocTarget,
    #[serde(default)]
    types: Vec<AssocType>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput {
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    associations: Vec<CreateAssociation>,
    #[serde(default)]
    object_write_trace_id: Option<String>,
}

/// Checks create-time associations; returns the other records' ids.
fn check_associations(s: &Inner, o: ObjectType, list: &[CreateAssociation]) -> ApiResult<Vec<u64>> {
    let other = match o {
        ObjectType::Contacts => ObjectType::Companies,
        ObjectType::Companies => ObjectType::Contacts,
    };
    let mut ids = Vec::new();
    for a in list {
        for t in &a.types {
            let ok = t.association_category == "HUBSPOT_DEFINED"
                && matches!(
                    (o, t.association_type_id),
                    (ObjectType::Contacts, 279 | 1) | (ObjectType::Companies, 280 | 2)
                );
            if !ok {
                return Err(ApiError::validation(format!(
                    "associationTypeId {} ({}) is not valid from {} to {}",
                    t.association_type_id,
                    t.association_category,
                    o.name(),
                    other.name()
                )));
            }
        }
        let id = parse_id(&a.to.id)
            .and_then(|id| s.store(other).resolve(id))
            .map(|r| r.id)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Association target {} {} does not exist",
                    other.upper(),
                    a.to.id
                ))
            })?;
        ids.push(id);
    }
    Ok(ids)
}

fn associate_pair(s: &mut Inner, o: ObjectType, id: u64, other: u64) {
    match o {
        ObjectType::Contacts => s.associate(id, other),
        ObjectType::Companies => s.associate(other, id),
    }
}

/// Validates one create input: `Ok((values, associated ids))` or the error for the batch.
fn check_create(
    s: &Inner,
    o: ObjectType,
    input: &CreateInput,
    claims: &mut EmailClaims,
) -> ApiResult<(HashMap<String, String>, Vec<u64>)> {
    let values = validate_values(s, o, &input.properties, None).map_err(|e| prop_errors(&e))?;
    if o == ObjectType::Contacts
        && !["email", "firstname", "lastname"]
            .iter()
            .any(|k| values.get(*k).is_some_and(|v| !v.is_empty()))
    {
        return Err(ApiError::validation(
            "A contact needs at least one of email, firstname or lastname",
        ));
    }
    claims.claim(s, &values, None)?;
    let assoc = check_associations(s, o, &input.associations)?;
    Ok((values, assoc))
}

fn write_result(s: &Inner, o: ObjectType, id: u64) -> Value {
    s.store(o)
        .records
        .get(&id)
        .map(|r| r.to_json(o, s.defs(o), Some(&r.all_names())))
        .unwrap_or(Value::Null)
}

/// A batch answer: `status` when every input went through, 207 when some have errors.
fn batch_answer(
    status: StatusCode,
    results: Vec<Value>,
    errors: Vec<Value>,
    started: String,
) -> Response {
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso(chrono::Utc::now()),
    });
    let status = if errors.is_empty() {
        status
    } else {
        if let Some(map) = body.as_object_mut() {
            map.insert("numErrors".into(), json!(errors.len()));
            map.insert("errors".into(), Value::Array(errors));
        }
        StatusCode::MULTI_STATUS
    };
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Inputs<T> {
    inputs: Vec<T>,
}

/// Finds a live record by id or by a unique property.
fn find(s: &Inner, o: ObjectType, id: &str, id_property: Option<&str>) -> Option<u64> {
    match id_property {
        None | Some("hs_object_id") => parse_id(id)
            .and_then(|n| s.store(o).resolve(n))
            .map(|r| r.id),
        Some("email") if o == ObjectType::Contacts => s.store(o).by_email(id),
        Some(p) => s
            .store(o)
            .records
            .values()
            .find(|r| r.is_live() && r.get(p) == Some(id))
            .map(|r| r.id),
    }
}

/// Refuses an `idProperty` HubSpot would refuse.
fn check_id_property(s: &Inner, o: ObjectType, p: &str) -> ApiResult<()> {
    match s.defs(o).get(p) {
        Some(def) if def.has_unique_value || (p == "email" && o == ObjectType::Contacts) => Ok(()),
        Some(_) => Err(ApiError::validation(format!(
            "Unable to perform update/upsert by non-unique {} property {p}",
            o.type_id()
        ))),
        None => Err(ApiError::validation(format!(
            "Property \"{p}\" does not exist and cannot be used as idProperty"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateInput {
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    id_property: Option<String>,
}

fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut seen = HashSet::new();
    let dups: Vec<&str> = ids.filter(|i| !seen.insert(*i)).collect();
    (!dups.is_empty()).then(|| format!("Duplicate IDs found in batch input: [{}]", dups.join(", ")))
}

fn not_found_error(o: ObjectType, ids: &[String]) -> Value {
    json!({
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", o.upper()),
        "context": {"ids": ids},
    })
}

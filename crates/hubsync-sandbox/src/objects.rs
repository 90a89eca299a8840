//! Contacts and companies: list, get, create, update, archive and the batch endpoints.

use crate::extract::{Input, Object};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::errors::{parse, ApiError, ApiResult};
use super::state::{iso, Inner, ObjectType, Record};
use super::Shared;

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
    if !errors.is_empty() {
        if let Some(map) = body.as_object_mut() {
            map.insert("numErrors".into(), json!(errors.len()));
            map.insert("errors".into(), Value::Array(errors));
        }
    }
    (status, Json(body)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Inputs<T> {
    inputs: Vec<T>,
}

/// `POST …/{object}/batch/create`. Atomic, unless every input carries a distinct
/// `objectWriteTraceId`: then good inputs are written and the answer is 207.
pub async fn batch_create(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    body: Bytes,
) -> ApiResult<Response> {
    let req: Inputs<CreateInput> = parse(&body)?;
    super::errors::require_fields(&body, &[], &["associations"])?;
    if req.inputs.len() > BATCH_LIMIT {
        return Err(too_many(req.inputs.len(), BATCH_LIMIT));
    }
    let started = iso(chrono::Utc::now());
    let mut s = shared.lock();
    let traces: HashSet<&str> = req
        .inputs
        .iter()
        .filter_map(|i| i.object_write_trace_id.as_deref())
        .collect();
    let partial = !req.inputs.is_empty() && traces.len() == req.inputs.len();
    let mut claims = EmailClaims::default();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for input in &req.inputs {
        match check_create(&s, o, input, &mut claims) {
            Ok(v) => good.push(v),
            Err(e) if partial => {
                let mut b = e.body;
                if let Some(map) = b.as_object_mut() {
                    map.remove("correlationId");
                    map.insert(
                        "context".into(),
                        json!({"objectWriteTraceId": [input.object_write_trace_id]}),
                    );
                }
                errors.push(b);
            }
            Err(e) => return Err(e),
        }
    }
    let mut results = Vec::new();
    for (values, assoc) in good {
        let id = s.create_record(o, values, None);
        for other in assoc {
            associate_pair(&mut s, o, id, other);
        }
        results.push(write_result(&s, o, id));
    }
    let status = if errors.is_empty() {
        StatusCode::CREATED
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(batch_answer(status, results, errors, started))
}

/// `POST …/{object}`: create one record.
pub async fn create(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Input(input): Input<CreateInput>,
) -> ApiResult<Response> {
    let mut s = shared.lock();
    let (values, assoc) = check_create(&s, o, &input, &mut EmailClaims::default())?;
    let id = s.create_record(o, values, None);
    for other in assoc {
        associate_pair(&mut s, o, id, other);
    }
    Ok((StatusCode::CREATED, Json(write_result(&s, o, id))).into_response())
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

/// `POST …/{object}/batch/update`. Any invalid value fails the batch and writes nothing;
/// unknown ids are reported (207) and the others are written.
pub async fn batch_update(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Input(req): Input<Inputs<UpdateInput>>,
) -> ApiResult<Response> {
    if req.inputs.len() > BATCH_LIMIT {
        return Err(too_many(req.inputs.len(), BATCH_LIMIT));
    }
    if let Some(msg) = duplicates(req.inputs.iter().map(|i| i.id.as_str())) {
        return Err(ApiError::validation(msg));
    }
    let started = iso(chrono::Utc::now());
    let mut s = shared.lock();
    let mut claims = EmailClaims::default();
    let mut writes = Vec::new();
    let mut missing = Vec::new();
    for input in &req.inputs {
        if let Some(p) = &input.id_property {
            check_id_property(&s, o, p)?;
        }
        let Some(id) = find(&s, o, &input.id, input.id_property.as_deref()) else {
            missing.push(input.id.clone());
            continue;
        };
        let record = s.store(o).records.get(&id);
        let values =
            validate_values(&s, o, &input.properties, record).map_err(|e| prop_errors(&e))?;
        if o == ObjectType::Contacts {
            claims.claim(&s, &values, Some(id))?;
        }
        writes.push((id, values));
    }
    let mut results = Vec::new();
    for (id, values) in writes {
        s.update_record(o, id, values);
        results.push(write_result(&s, o, id));
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(o, &missing)]
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(batch_answer(status, results, errors, started))
}

fn not_found_error(o: ObjectType, ids: &[String]) -> Value {
    json!({
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", o.upper()),
        "context": {"ids": ids},
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpsertInput {
    id: String,
    #[serde(default)]
    id_property: Option<String>,
    #[serde(default)]
    properties: Map<String, Value>,
}

/// `POST …/{object}/batch/upsert`: update by a unique property, or create. All or nothing.
pub async fn batch_upsert(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Input(req): Input<Inputs<UpsertInput>>,
) -> ApiResult<Response> {
    if req.inputs.len() > BATCH_LIMIT {
        return Err(too_many(req.inputs.len(), BATCH_LIMIT));
    }
    let keys: Vec<String> = req
        .inputs
        .iter()
        .map(|i| i.id.trim().to_lowercase())
        .collect();
    if let Some(msg) = duplicates(keys.iter().map(String::as_str)) {
        return Err(ApiError::validation(msg));
    }
    let started = iso(chrono::Utc::now());
    let mut s = shared.lock();
    let mut claims = EmailClaims::default();
    let mut plan = Vec::new();
    for input in &req.inputs {
        let Some(p) = input.id_property.as_deref() else {
            return Err(ApiError::validation(format!(
                "idProperty is required for upsert (input id {})",
                input.id
            )));
        };
        if p != "hs_object_id" {
            check_id_property(&s, o, p)?;
        }
        let target = find(&s, o, &input.id, Some(p));
        if target.is_none() && p == "hs_object_id" {
            return Err(ApiError::not_found(format!(
                "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                o.upper()
            ))
            .with("context", json!({"ids": [input.id]})));
        }
        let record = target.and_then(|id| s.store(o).records.get(&id));
        let mut values =
            validate_values(&s, o, &input.properties, record).map_err(|e| prop_errors(&e))?;
        if target.is_none() {
            // A new record carries its key.
            let key = s
                .defs(o)
                .get(p)
                .map_or(Ok(input.id.clone()), |d| d.normalize(&input.id, None))
                .map_err(|(code, message)| {
                    prop_errors(&[PropError {
                        name: p.to_string(),
                        code,
                        message,
                    }])
                })?;
            match values.get(p) {
                Some(v) if !v.eq_ignore_ascii_case(&key) => {
                    return Err(ApiError::validation(format!(
                        "Input id {} does not match its {p} property {v}",
                        input.id
                    )));
                }
                _ => {
                    values.insert(p.to_string(), key);
                }
            }
        }
        if o == ObjectType::Contacts {
            claims.claim(&s, &values, target)?;
        }
        plan.push((target, values));
    }
    let mut results = Vec::new();
    for (target, values) in plan {
        let (id, new) = match target {
            Some(id) => {
                s.update_record(o, id, values);
                (id, false)
            }
            None => (s.create_record(o, values, None), true),
        };
        let mut r = write_result(&s, o, id);
        if let Some(map) = r.as_object_mut() {
            map.insert("new".into(), Value::Bool(new));
        }
        results.push(r);
    }
    for k in &keys {
        *s.upserts_applied.entry(k.clone()).or_default() += 1;
    }
    Ok(batch_answer(StatusCode::OK, results, Vec::new(), started))
}

#[derive(Deserialize)]
pub(crate) struct IdInput {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchRead {
    inputs: Vec<IdInput>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    properties_with_history: Vec<String>,
    #[serde(default)]
    id_property: Option<String>,
}

/// `POST …/{object}/batch/read`: 207 when some ids are missing.
pub async fn batch_read(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Query(q): Query<QueryPairs>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: BatchRead = parse(&body)?;
    super::errors::require_fields(&body, &["propertiesWithHistory"], &[])?;
    let limit = if req.properties_with_history.is_empty() {
        BATCH_LIMIT
    } else {
        50
    };
    if req.inputs.len() > limit {
        return Err(too_many(req.inputs.len(), limit));
    }
    let archived = query_bool(&q, "archived");
    let started = iso(chrono::Utc::now());
    let s = shared.lock();
    if let Some(p) = &req.id_property {
        if p != "hs_object_id" {
            check_id_property(&s, o, p)?;
        }
    }
    let names = (!req.properties.is_empty()).then_some(req.properties.as_slice());
    let mut results = Vec::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for input in &req.inputs {
        let found = if archived {
            parse_id(&input.id)
                .and_then(|id| s.store(o).records.get(&id))
                .filter(|r| !r.is_live())
        } else {
            find(&s, o, &input.id, req.id_property.as_deref())
                .and_then(|id| s.store(o).records.get(&id))
        };
        match found {
            Some(r) => {
                if seen.insert(r.id) {
                    let mut v = r.to_json(o, s.defs(o), names);
                    if !req.properties_with_history.is_empty() {
                        if let Some(map) = v.as_object_mut() {
                            map.insert(
                                "propertiesWithHistory".into(),
                                r.history_json(&req.properties_with_history),
                            );
                        }
                    }
                    results.push(v);
                }
            }
            None => missing.push(input.id.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(o, &missing)]
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok(batch_answer(status, results, errors, started))
}

/// `POST …/{object}/batch/archive` → 204.
pub async fn batch_archive(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Input(req): Input<Inputs<IdInput>>,
) -> ApiResult<Response> {
    if req.inputs.len() > BATCH_LIMIT {
        return Err(too_many(req.inputs.len(), BATCH_LIMIT));
    }
    let mut s = shared.lock();
    for input in &req.inputs {
        if let Some(id) = parse_id(&input.id) {
            s.archive_record(o, id);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/{object}?limit&after&properties&archived`: pages by record id.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    Query(q): Query<QueryPairs>,
) -> ApiResult<Response> {
    let limit = match query_value(&q, "limit") {
        None => 10,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                    "limit must be between 1 and 100, got {v}"
                )))
            }
        },
    };
    let after = match query_value(&q, "after") {
        None | Some("") => 0,
        Some(v) => parse_id(v)
            .ok_or_else(|| ApiError::validation(format!("after \"{v}\" is not a valid cursor")))?,
    };
    let archived = query_bool(&q, "archived");
    let names = query_properties(&q);
    let s = shared.lock();
    let mut page: Vec<&Record> = s
        .store(o)
        .records
        .range(after..)
        .map(|(_, r)| r)
        .filter(|r| r.is_live() != archived && r.merged_into.is_none())
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit)
        .then(|| page.pop().map(|r| r.id))
        .flatten();
    let results: Vec<Value> = page
        .iter()
        .map(|r| r.to_json(o, s.defs(o), names.as_deref()))
        .collect();
    let mut body = json!({ "results": results });
    if let (Some(next), Some(map)) = (next, body.as_object_mut()) {
        map.insert(
            "paging".into(),
            json!({"next": {"after": next.to_string(),
                "link": format!("?after={next}&limit={limit}")}}),
        );
    }
    Ok(Json(body).into_response())
}

/// `GET …/{object}/{id}[?idProperty=email]`.
pub async fn get(
    State(shared): State<Arc<Shared>>,
    Path((object, id)): Path<(String, String)>,
    Query(q): Query<QueryPairs>,
) -> ApiResult<Response> {
    let o = object_type(&object)?;
    let s = shared.lock();
    let id_property = query_value(&q, "idProperty");
    if let Some(p) = id_property {
        if p != "hs_object_id" {
            check_id_property(&s, o, p)?;
        }
    }
    let record = if query_bool(&q, "archived") {
        parse_id(&id)
            .and_then(|n| s.store(o).records.get(&n))
            .filter(|r| !r.is_live())
    } else {
        find(&s, o, &id, id_property).and_then(|n| s.store(o).records.get(&n))
    };
    match record {
        Some(r) => {
            Ok(Json(r.to_json(o, s.defs(o), query_properties(&q).as_deref())).into_response())
        }
        None => Err(ApiError::not_found(format!(
            "resource not found: {} {id} does not exist",
            o.upper()
        ))),
    }
}

#[derive(Deserialize)]
pub(crate) struct PatchInput {
    #[serde(default)]
    properties: Map<String, Value>,
}

/// `PATCH …/{object}/{id}`.
pub async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((object, id)): Path<(String, String)>,
    Query(q): Query<QueryPairs>,
    Input(input): Input<PatchInput>,
) -> ApiResult<Response> {
    let o = object_type(&object)?;
    let mut s = shared.lock();
    let id_property = query_value(&q, "idProperty");
    if let Some(p) = id_property {
        if p != "hs_object_id" {
            check_id_property(&s, o, p)?;
        }
    }
    let Some(target) = find(&s, o, &id, id_property) else {
        return Err(ApiError::not_found(format!(
            "resource not found: {} {id} does not exist",
            o.upper()
        )));
    };
    let record = s.store(o).records.get(&target);
    let values = validate_values(&s, o, &input.properties, record).map_err(|e| prop_errors(&e))?;
    if o == ObjectType::Contacts {
        EmailClaims::default().claim(&s, &values, Some(target))?;
    }
    s.update_record(o, target, values);
    Ok(Json(write_result(&s, o, target)).into_response())
}

/// `DELETE …/{object}/{id}` → 204 (archives the record).
pub async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((object, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let o = object_type(&object)?;
    let mut s = shared.lock();
    if let Some(n) = parse_id(&id) {
        s.archive_record(o, n);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

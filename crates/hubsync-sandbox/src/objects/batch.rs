//! The batch endpoints: create, update, upsert, read and archive, up to 100 inputs each.

use crate::extract::{Input, Object};
use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::errors::{parse, ApiError, ApiResult};
use crate::state::{iso, ObjectType};
use crate::Shared;

use super::{
    associate_pair, batch_answer, check_create, check_id_property, duplicates, find,
    not_found_error, parse_id, prop_errors, query_bool, too_many, validate_values, write_result,
    CreateInput, EmailClaims, Inputs, PropError, QueryPairs, UpdateInput, BATCH_LIMIT,
};

/// `POST …/{object}/batch/create`. Atomic, unless every input carries a distinct
/// `objectWriteTraceId`: then good inputs are written and the answer is 207.
pub async fn batch_create(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    body: Bytes,
) -> ApiResult<Response> {
    let req: Inputs<CreateInput> = parse(&body)?;
    crate::errors::require_fields(&body, &[], &["associations"])?;
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
    Ok(batch_answer(StatusCode::CREATED, results, errors, started))
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
    Ok(batch_answer(StatusCode::OK, results, errors, started))
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
    crate::errors::require_fields(&body, &["propertiesWithHistory"], &[])?;
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
    Ok(batch_answer(StatusCode::OK, results, errors, started))
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

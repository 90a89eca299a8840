//! Associations v4 between contacts and companies: batch associate (default type), reads.

use crate::extract::Input;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{parse, ApiError, ApiResult};
use super::objects::{object_type, parse_id, too_many};
use super::state::{iso, Inner, ObjectType};
use super::Shared;

const CREATE_LIMIT: usize = 2_000;
const READ_LIMIT: usize = 1_000;

/// The default (unlabelled) association type from `from` to the other object.
fn default_type(from: ObjectType) -> i64 {
    match from {
        ObjectType::Contacts => 279,
        ObjectType::Companies => 280,
    }
}

fn pair(from: ObjectType, to: ObjectType) -> ApiResult<()> {
    if from == to {
        return Err(ApiError::validation(format!(
            "Associations between {} and {} are not supported here",
            from.name(),
            to.name()
        )));
    }
    Ok(())
}

fn live(s: &Inner, o: ObjectType, id: &str) -> Option<u64> {
    parse_id(id)
        .and_then(|n| s.store(o).resolve(n))
        .map(|r| r.id)
}

fn link(s: &mut Inner, from: ObjectType, a: u64, b: u64) {
    match from {
        ObjectType::Contacts => s.associate(a, b),
        ObjectType::Companies => s.associate(b, a),
    }
}

fn linked(s: &Inner, from: ObjectType, id: u64) -> Vec<u64> {
    let map = match from {
        ObjectType::Contacts => &s.contact_companies,
        ObjectType::Companies => &s.company_contacts,
    };
    map.get(&id)
        .map(|set| set.iter().copied().collect())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub(crate) struct Ref {
    id: String,
}

#[derive(Deserialize)]
pub(crate) struct AssocInput {
    from: Ref,
    to: Ref,
}

#[derive(Deserialize)]
pub(crate) struct Inputs<T> {
    inputs: Vec<T>,
}

/// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`. Pairs whose records don't
/// exist are reported (207); the others are written.
pub async fn batch_associate_default(
    State(shared): State<Arc<Shared>>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    pair(from, to)?;
    let req: Inputs<AssocInput> = parse(&body)?;
    if req.inputs.len() > CREATE_LIMIT {
        return Err(too_many(req.inputs.len(), CREATE_LIMIT));
    }
    let started = iso(chrono::Utc::now());
    let mut s = shared.lock();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in &req.inputs {
        match (live(&s, from, &input.from.id), live(&s, to, &input.to.id)) {
            (Some(a), Some(b)) => {
                link(&mut s, from, a, b);
                results.push(json!({
                    "from": {"id": a.to_string()},
                    "to": {"id": b.to_string()},
                    "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                        "associationTypeId": default_type(from)},
                }));
            }
            (a, _) => missing.push(if a.is_none() {
                input.from.id.clone()
            } else {
                input.to.id.clone()
            }),
        }
    }
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso(chrono::Utc::now()),
    });
    let status = if missing.is_empty() {
        StatusCode::OK
    } else {
        if let Some(map) = body.as_object_mut() {
            map.insert("numErrors".into(), json!(1));
            map.insert(
                "errors".into(),
                json!([{
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Some records do not exist or were deleted; they were not associated.",
                    "context": {"ids": missing},
                }]),
            );
        }
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(body)).into_response())
}

/// `PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}`.
pub async fn associate_default(
    State(shared): State<Arc<Shared>>,
    Path((from, id, to, to_id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    pair(from, to)?;
    let mut s = shared.lock();
    let (Some(a), Some(b)) = (live(&s, from, &id), live(&s, to, &to_id)) else {
        return Err(ApiError::not_found(format!(
            "{} {id} or {} {to_id} does not exist",
            from.upper(),
            to.upper()
        )));
    };
    link(&mut s, from, a, b);
    Ok(Json(json!({
        "status": "COMPLETE",
        "results": [{
            "from": {"id": a.to_string()},
            "to": {"id": b.to_string()},
            "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                "associationTypeId": default_type(from)},
        }],
        "startedAt": iso(chrono::Utc::now()),
        "completedAt": iso(chrono::Utc::now()),
    }))
    .into_response())
}

fn to_items(from: ObjectType, ids: &[u64]) -> Vec<Value> {
    ids.iter()
        .map(|id| {
            json!({
                "toObjectId": id,
                "associationTypes": [{"category": "HUBSPOT_DEFINED",
                                      "typeId": default_type(from), "label": null}],
            })
        })
        .collect()
}

/// `GET /crm/v4/objects/{from}/{id}/associations/{to}`.
pub async fn read_one(
    State(shared): State<Arc<Shared>>,
    Path((from, id, to)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    pair(from, to)?;
    let s = shared.lock();
    let Some(a) = live(&s, from, &id) else {
        return Err(ApiError::not_found(format!(
            "{} {id} does not exist",
            from.upper()
        )));
    };
    Ok(Json(json!({"results": to_items(from, &linked(&s, from, a))})).into_response())
}

/// `POST /crm/v4/associations/{from}/{to}/batch/read` with `{inputs:[{id}]}`.
pub async fn batch_read(
    State(shared): State<Arc<Shared>>,
    Path((from, to)): Path<(String, String)>,
    Input(req): Input<Inputs<Ref>>,
) -> ApiResult<Response> {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    pair(from, to)?;
    if req.inputs.len() > READ_LIMIT {
        return Err(too_many(req.inputs.len(), READ_LIMIT));
    }
    let s = shared.lock();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for input in &req.inputs {
        match live(&s, from, &input.id) {
            Some(a) => results.push(json!({
                "from": {"id": a.to_string()},
                "to": to_items(from, &linked(&s, from, a)),
            })),
            None => missing.push(input.id.clone()),
        }
    }
    let mut out = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(chrono::Utc::now()),
        "completedAt": iso(chrono::Utc::now()),
    });
    let status = if missing.is_empty() {
        StatusCode::OK
    } else {
        if let Some(map) = out.as_object_mut() {
            map.insert("numErrors".into(), json!(1));
            map.insert(
                "errors".into(),
                json!([{"status": "error", "category": "OBJECT_NOT_FOUND",
                        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", from.upper()),
                        "context": {"ids": missing}}]),
            );
        }
        StatusCode::MULTI_STATUS
    };
    Ok((status, Json(out)).into_response())
}

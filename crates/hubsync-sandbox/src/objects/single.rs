//! One record at a time: create, list, get, update and archive.

use crate::extract::{Input, Object};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::errors::{ApiError, ApiResult};
use crate::state::{ObjectType, Record};
use crate::Shared;

use super::{
    associate_pair, check_create, check_id_property, find, object_type, parse_id, prop_errors,
    query_bool, query_properties, query_value, validate_values, write_result, CreateInput,
    EmailClaims, QueryPairs,
};

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

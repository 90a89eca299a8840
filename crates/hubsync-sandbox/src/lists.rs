//! Lists v3: search, get by id or name, create, memberships (MANUAL and SNAPSHOT only).

use crate::extract::Input;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{parse, ApiError, ApiResult};
use super::objects::{parse_id, QueryPairs};
use super::state::{Inner, List, ObjectType};
use super::Shared;

pub const PROCESSING_TYPES: [&str; 3] = ["MANUAL", "SNAPSHOT", "DYNAMIC"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchBody {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    processing_types: Vec<String>,
    #[serde(default)]
    list_ids: Vec<String>,
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    count: Option<usize>,
}

/// `POST /crm/v3/lists/search` (the v3 spec requires `additionalProperties` and `offset`).
pub async fn search_v3(state: State<Arc<Shared>>, body: Bytes) -> ApiResult<Response> {
    super::errors::require_fields(&body, &["additionalProperties", "offset"], &[])?;
    search(state, body).await
}

/// `POST /crm/lists/2026-03/search` (its spec also requires `listIds` and `processingTypes`).
pub async fn search_dated(state: State<Arc<Shared>>, body: Bytes) -> ApiResult<Response> {
    super::errors::require_fields(
        &body,
        &[
            "listIds",
            "processingTypes",
            "additionalProperties",
            "offset",
        ],
        &[],
    )?;
    search(state, body).await
}

async fn search(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Response> {
    let req: SearchBody = parse(&body)?;
    let count = req.count.unwrap_or(20);
    if count > 500 {
        return Err(ApiError::validation(format!(
            "count {count} is too large: at most 500"
        )));
    }
    let s = shared.lock();
    let q = req
        .query
        .as_deref()
        .map(str::to_lowercase)
        .unwrap_or_default();
    let matching: Vec<&List> = s
        .lists
        .values()
        .filter(|l| q.is_empty() || l.name.to_lowercase().contains(&q))
        .filter(|l| {
            req.processing_types.is_empty() || req.processing_types.contains(&l.processing_type)
        })
        .filter(|l| req.list_ids.is_empty() || req.list_ids.contains(&l.id.to_string()))
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(req.offset)
        .take(count)
        .map(|l| without_filters(l.to_json(s.cfg.portal_id)))
        .collect();
    Ok(Json(json!({
        "lists": page,
        "offset": req.offset + page.len(),
        "hasMore": req.offset + page.len() < total,
        "total": total,
    }))
    .into_response())
}

fn without_filters(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove("filterBranch");
        map.remove("size");
    }
    v
}

fn find_list(s: &Inner, id: &str) -> ApiResult<u64> {
    parse_id(id)
        .filter(|n| s.lists.contains_key(n))
        .ok_or_else(|| ApiError::not_found(format!("List {id} does not exist")))
}

/// `GET /crm/v3/lists/{listId}`.
pub async fn get(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> ApiResult<Response> {
    let s = shared.lock();
    let id = find_list(&s, &id)?;
    Ok(Json(json!({ "list": s.lists[&id].to_json(s.cfg.portal_id) })).into_response())
}

/// `GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{name}` (case-insensitive).
pub async fn get_by_name(
    State(shared): State<Arc<Shared>>,
    Path((object_type_id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let s = shared.lock();
    let o = ObjectType::parse(&object_type_id);
    s.lists
        .values()
        .find(|l| Some(l.object) == o && l.name.eq_ignore_ascii_case(&name))
        .map(|l| Json(json!({ "list": l.to_json(s.cfg.portal_id) })).into_response())
        .ok_or_else(|| ApiError::not_found(format!("List \"{name}\" does not exist")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateBody {
    pub name: String,
    pub object_type_id: String,
    pub processing_type: String,
    #[serde(default)]
    pub filter_branch: Option<Value>,
}

/// Creates a list (API and test controls).
pub fn create_list(s: &mut Inner, req: CreateBody) -> ApiResult<u64> {
    let name = req.name.trim().to_string();
    if name.is_empty() {
        return Err(ApiError::validation("List name is required"));
    }
    let Some(o) = ObjectType::parse(&req.object_type_id) else {
        return Err(ApiError::validation(format!(
            "objectTypeId {} is not supported",
            req.object_type_id
        )));
    };
    if !PROCESSING_TYPES.contains(&req.processing_type.as_str()) {
        return Err(ApiError::validation(format!(
            "processingType {} is not one of MANUAL, SNAPSHOT, DYNAMIC",
            req.processing_type
        )));
    }
    if req.processing_type == "DYNAMIC" && req.filter_branch.is_none() {
        return Err(ApiError::validation("A DYNAMIC list needs a filterBranch"));
    }
    if s.lists.values().any(|l| l.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::conflict(format!(
            "A list named \"{name}\" already exists"
        )));
    }
    let now = s.now();
    let id = s.next_list_id;
    s.next_list_id += 1;
    s.lists.insert(
        id,
        List {
            id,
            name,
            object: o,
            processing_type: req.processing_type,
            created: now,
            updated: now,
            filter_branch: req.filter_branch,
            members: BTreeMap::new(),
        },
    );
    Ok(id)
}

/// `POST /crm/v3/lists`.
pub async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> ApiResult<Response> {
    let req: CreateBody = parse(&body)?;
    let mut s = shared.lock();
    let id = create_list(&mut s, req)?;
    Ok(Json(json!({ "list": s.lists[&id].to_json(s.cfg.portal_id) })).into_response())
}

fn writable(s: &Inner, id: &str) -> ApiResult<u64> {
    let id = find_list(s, id)?;
    let list = &s.lists[&id];
    if list.processing_type == "DYNAMIC" {
        return Err(ApiError::validation(format!(
            "List {} (\"{}\") is a DYNAMIC list: its memberships follow its filters and cannot be changed manually. Use a MANUAL or SNAPSHOT list.",
            list.id, list.name
        ))
        .with("subCategory", json!("LIST_PROCESSING_TYPE_DOES_NOT_SUPPORT_MANUAL_MEMBERSHIP")));
    }
    Ok(id)
}

fn ids(v: &[String]) -> Vec<(String, Option<u64>)> {
    v.iter().map(|x| (x.clone(), parse_id(x))).collect()
}

/// Adds and removes; returns HubSpot's answer (note `recordsIdsAdded`).
fn change(s: &mut Inner, list_id: u64, add: &[String], remove: &[String]) -> Value {
    let now = s.now();
    let object = s.lists[&list_id].object;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut missing = Vec::new();
    for (raw, id) in ids(add) {
        let live = id.and_then(|n| s.store(object).resolve(n)).map(|r| r.id);
        let list = s.lists.get_mut(&list_id);
        match (live, list) {
            (Some(n), Some(list)) if !list.members.contains_key(&n) => {
                list.members.insert(n, now);
                added.push(n.to_string());
            }
            _ => missing.push(raw),
        }
    }
    for (raw, id) in ids(remove) {
        let was_member = match (id, s.lists.get_mut(&list_id)) {
            (Some(n), Some(list)) => list.members.remove(&n).is_some(),
            _ => false,
        };
        match id {
            Some(n) if was_member => removed.push(n.to_string()),
            _ => missing.push(raw),
        }
    }
    if let Some(list) = s.lists.get_mut(&list_id) {
        list.updated = now;
    }
    json!({
        "recordsIdsAdded": added,
        "recordIdsRemoved": removed,
        "recordIdsMissing": missing,
    })
}

/// `PUT /crm/v3/lists/{listId}/memberships/add` with `["id", ...]`.
pub async fn add(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Input(records): Input<Vec<String>>,
) -> ApiResult<Response> {
    let mut s = shared.lock();
    let id = writable(&s, &id)?;
    Ok(Json(change(&mut s, id, &records, &[])).into_response())
}

/// `PUT /crm/v3/lists/{listId}/memberships/remove`.
pub async fn remove(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Input(records): Input<Vec<String>>,
) -> ApiResult<Response> {
    let mut s = shared.lock();
    let id = writable(&s, &id)?;
    Ok(Json(change(&mut s, id, &[], &records)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AddAndRemove {
    #[serde(default)]
    record_ids_to_add: Vec<String>,
    #[serde(default)]
    record_ids_to_remove: Vec<String>,
}

/// `PUT /crm/v3/lists/{listId}/memberships/add-and-remove`.
pub async fn add_and_remove(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Input(req): Input<AddAndRemove>,
) -> ApiResult<Response> {
    let mut s = shared.lock();
    let id = writable(&s, &id)?;
    Ok(Json(change(
        &mut s,
        id,
        &req.record_ids_to_add,
        &req.record_ids_to_remove,
    ))
    .into_response())
}

/// `GET /crm/v3/lists/{listId}/memberships?limit&after`.
pub async fn memberships(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(q): Query<QueryPairs>,
) -> ApiResult<Response> {
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let limit = match get("limit") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=250).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                    "limit must be between 1 and 250, got {v}"
                )))
            }
        },
    };
    let after = match get("after") {
        None => 0,
        Some(v) => parse_id(&v)
            .ok_or_else(|| ApiError::validation(format!("after \"{v}\" is not a valid cursor")))?,
    };
    let s = shared.lock();
    let id = find_list(&s, &id)?;
    let list = &s.lists[&id];
    let mut page: Vec<(u64, String)> = list
        .members
        .range(after..)
        .take(limit + 1)
        .map(|(id, t)| (*id, super::state::iso(*t)))
        .collect();
    let next = (page.len() > limit)
        .then(|| page.pop().map(|p| p.0))
        .flatten();
    let results: Vec<Value> = page
        .iter()
        .map(|(id, t)| json!({"recordId": id.to_string(), "membershipTimestamp": t}))
        .collect();
    let mut out = json!({"results": results, "total": list.members.len()});
    if let (Some(next), Some(map)) = (next, out.as_object_mut()) {
        map.insert(
            "paging".into(),
            json!({"next": {"after": next.to_string()}}),
        );
    }
    Ok(Json(out).into_response())
}

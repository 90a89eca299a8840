//! `POST /crm/v3/objects/{object}/search`: filter groups, one sort, offset paging, 10,000 cap.

use crate::extract::Object;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{parse, ApiError, ApiResult};
use super::properties::{parse_date, parse_datetime, Property};
use super::state::{Inner, ObjectType, Record};
use super::Shared;

pub const MAX_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 6;
pub const MAX_FILTERS: usize = 18;
pub const MAX_LIMIT: usize = 200;
pub const MAX_RESULTS: usize = 10_000;
pub const MAX_BODY: usize = 3_000;

#[derive(Deserialize, serde::Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    property_name: String,
    operator: String,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    high_value: Option<Value>,
    #[serde(default)]
    values: Option<Vec<Value>>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilterGroup {
    #[serde(default)]
    filters: Vec<Filter>,
}

#[derive(Deserialize, Clone)]
#[serde(untagged)]
pub(crate) enum Sort {
    Text(String),
    Object {
        #[serde(rename = "propertyName")]
        property_name: String,
        #[serde(default)]
        direction: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchBody {
    #[serde(default)]
    filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    sorts: Vec<Sort>,
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    after: Option<Value>,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A comparable form of a stored or filter value for one property type.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(crate) enum Key {
    Num(f64),
    Text(String),
}

fn key(def: Option<&Property>, raw: &str) -> Option<Key> {
    let kind = def.map_or("string", |d| d.kind.as_str());
    match kind {
        "number" => raw.trim().parse::<f64>().ok().map(Key::Num),
        "datetime" => parse_datetime(raw)
            .or_else(|| {
                parse_date(raw)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            })
            .map(|t| Key::Num(t.timestamp_millis() as f64)),
        "date" => parse_date(raw)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Key::Num(t.and_utc().timestamp_millis() as f64))
            .or_else(|| parse_datetime(raw).map(|t| Key::Num(t.timestamp_millis() as f64))),
        // Enumerations compare case-sensitively; other values ignore case.
        "enumeration" | "bool" => Some(Key::Text(raw.to_string())),
        _ => Some(Key::Text(raw.to_lowercase())),
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn contains_token(value: &str, token: &str) -> bool {
    let value = value.to_lowercase();
    let token = token.to_lowercase();
    glob(&token, &value)
        || value
            .split(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '@'))
            .any(|t| !t.is_empty() && glob(&token, t))
}

/// A filter checked once against the definitions, ready to match records.
pub(crate) struct Compiled {
    prop: String,
    op: String,
    def: Option<Property>,
    value: Option<String>,
    high: Option<String>,
    values: Vec<String>,
    /// `associations.contact` / `associations.company`: the associated ids.
    assoc: Option<Vec<u64>>,
}

impl Compiled {
    fn matches(&self, s: &Inner, o: ObjectType, r: &Record) -> bool {
        if let Some(ids) = &self.assoc {
            let linked = match o {
                ObjectType::Contacts => s.contact_companies.get(&r.id),
                ObjectType::Companies => s.company_contacts.get(&r.id),
            };
            let hit = linked.is_some_and(|set| ids.iter().any(|i| set.contains(i)));
            return if self.op.starts_with("N") { !hit } else { hit };
        }
        let stored = r.get(&self.prop);
        let d = self.def.as_ref();
        let cmp = |raw: &str| -> Option<Ordering> {
            let a = key(d, stored?)?;
            let b = key(d, raw)?;
            a.partial_cmp(&b)
        };
        let v = self.value.as_deref().unwrap_or("");
        match self.op.as_str() {
            "HAS_PROPERTY" => stored.is_some(),
            "NOT_HAS_PROPERTY" => stored.is_none(),
            "EQ" => cmp(v) == Some(Ordering::Equal),
            "NEQ" => cmp(v) != Some(Ordering::Equal),
            "LT" => cmp(v) == Some(Ordering::Less),
            "LTE" => matches!(cmp(v), Some(Ordering::Less | Ordering::Equal)),
            "GT" => cmp(v) == Some(Ordering::Greater),
            "GTE" => matches!(cmp(v), Some(Ordering::Greater | Ordering::Equal)),
            "BETWEEN" => {
                let hi = self.high.as_deref().unwrap_or("");
                matches!(cmp(v), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(hi), Some(Ordering::Less | Ordering::Equal))
            }
            "IN" | "NOT_IN" => {
                // IN on strings compares the lowercased stored value with the given values
                // as they are: upper-case values never match (API.md §5).
                let hit = stored.is_some_and(|st| {
                    let kind = d.map_or("string", |p| p.kind.as_str());
                    let st_key = match kind {
                        "string" => st.to_lowercase(),
                        "enumeration" | "bool" => st.to_string(),
                        _ => return self.values.iter().any(|x| cmp(x) == Some(Ordering::Equal)),
                    };
                    if kind == "enumeration" && d.is_some_and(|p| p.field_type == "checkbox") {
                        st.split(';')
                            .any(|part| self.values.iter().any(|x| x == part))
                    } else {
                        self.values.contains(&st_key)
                    }
                });
                if self.op == "IN" {
                    hit
                } else {
                    !hit
                }
            }
            "CONTAINS_TOKEN" => stored.is_some_and(|st| contains_token(st, v)),
            "NOT_CONTAINS_TOKEN" => !stored.is_some_and(|st| contains_token(st, v)),
            _ => false,
        }
    }
}

const OPERATORS: &[&str] = &[
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
];

fn compile(s: &Inner, o: ObjectType, f: &Filter) -> ApiResult<Compiled> {
    if !OPERATORS.contains(&f.operator.as_str()) {
        return Err(ApiError::validation(format!(
            "Unknown operator {} in filter on {}",
            f.operator, f.property_name
        )));
    }
    let value = f.value.as_ref().and_then(scalar);
    let high = f.high_value.as_ref().and_then(scalar);
    let values: Vec<String> = f
        .values
        .as_ref()
        .map(|v| v.iter().filter_map(scalar).collect())
        .unwrap_or_default();
    let needs_value = !matches!(
        f.operator.as_str(),
        "HAS_PROPERTY" | "NOT_HAS_PROPERTY" | "IN" | "NOT_IN"
    );
    if needs_value && value.is_none() {
        return Err(ApiError::validation(format!(
            "Filter {} {} needs a value",
            f.property_name, f.operator
        )));
    }
    if f.operator == "BETWEEN" && high.is_none() {
        return Err(ApiError::validation(format!(
            "BETWEEN filter on {} needs highValue",
            f.property_name
        )));
    }
    if matches!(f.operator.as_str(), "IN" | "NOT_IN") && values.is_empty() {
        return Err(ApiError::validation(format!(
            "{} filter on {} needs values",
            f.operator, f.property_name
        )));
    }
    let assoc_target = match (o, f.property_name.as_str()) {
        (ObjectType::Contacts, "associations.company") => Some(ObjectType::Companies),
        (ObjectType::Companies, "associations.contact") => Some(ObjectType::Contacts),
        _ => None,
    };
    if assoc_target.is_some() {
        let ids = value
            .iter()
            .chain(values.iter())
            .filter_map(|v| v.parse().ok())
            .collect();
        return Ok(Compiled {
            prop: f.property_name.clone(),
            op: if f.operator.starts_with('N') {
                "NEQ".into()
            } else {
                "EQ".into()
            },
            def: None,
            value,
            high,
            values,
            assoc: Some(ids),
        });
    }
    let Some(def) = s.defs(o).get(&f.property_name) else {
        return Err(ApiError::validation(format!(
            "There was a problem with the request: property {} does not exist",
            f.property_name
        )));
    };
    Ok(Compiled {
        prop: f.property_name.clone(),
        op: f.operator.clone(),
        def: Some(def.clone()),
        value,
        high,
        values,
        assoc: None,
    })
}

fn query_fields(o: ObjectType) -> &'static [&'static str] {
    match o {
        ObjectType::Contacts => &[
            "email",
            "firstname",
            "lastname",
            "phone",
            "company",
            "website",
        ],
        ObjectType::Companies => &["name", "domain", "website", "phone"],
    }
}

/// The ordered ids matching a search, computed fresh.
fn run(
    s: &Inner,
    o: ObjectType,
    groups: &[Vec<Compiled>],
    query: Option<&str>,
    sort: Option<(String, bool)>,
) -> Vec<u64> {
    let query = query.map(str::to_lowercase).filter(|q| !q.is_empty());
    let store = s.store(o);
    // Look e-mails up in the index, as HubSpot would, when every group names them.
    let indexed: Option<BTreeSet<u64>> = groups
        .iter()
        .map(|g| email_candidates(s, o, g))
        .try_fold(BTreeSet::new(), |mut all, ids| {
            all.extend(ids?);
            Some(all)
        })
        .filter(|_| !groups.is_empty());
    let records: Box<dyn Iterator<Item = &Record>> = match &indexed {
        Some(ids) => Box::new(ids.iter().filter_map(|id| store.records.get(id))),
        None => Box::new(store.records.values()),
    };
    let mut hits: Vec<&Record> = records
        .filter(|r| r.is_live())
        .filter(|r| {
            groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| f.matches(s, o, r)))
        })
        .filter(|r| {
            query.as_ref().is_none_or(|q| {
                query_fields(o).iter().any(|p| {
                    r.get(p)
                        .is_some_and(|v| v.to_lowercase().contains(q.as_str()))
                })
            })
        })
        .collect();
    if let Some((prop, descending)) = sort {
        if prop == "hs_object_id" {
            // The id itself: `hits` are in id order already.
            if descending {
                hits.reverse();
            }
            return hits.into_iter().map(|r| r.id).collect();
        }
        let def = s.defs(o).get(&prop).cloned();
        let keys: std::collections::HashMap<u64, Option<Key>> = hits
            .iter()
            .map(|r| (r.id, r.get(&prop).and_then(|v| key(def.as_ref(), v))))
            .collect();
        hits.sort_by(|a, b| {
            let (ka, kb) = (&keys[&a.id], &keys[&b.id]);
            // Records without a value come last either way; ties by id.
            let ord = match (ka, kb) {
                (Some(x), Some(y)) => {
                    let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
                    if descending {
                        o.reverse()
                    } else {
                        o
                    }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            ord.then(a.id.cmp(&b.id))
        });
    }
    hits.into_iter().map(|r| r.id).collect()
}

/// The ids one group of filters can match at most, from the e-mail index: contacts, and an
/// `EQ` or `IN` filter on `email`. `None` when the group has no such filter.
fn email_candidates(s: &Inner, o: ObjectType, group: &[Compiled]) -> Option<BTreeSet<u64>> {
    if o != ObjectType::Contacts {
        return None;
    }
    let f = group
        .iter()
        .find(|f| f.prop == "email" && f.assoc.is_none() && matches!(f.op.as_str(), "EQ" | "IN"))?;
    let store = s.store(o);
    let values: Vec<&String> = match f.op.as_str() {
        "EQ" => f.value.iter().collect(),
        _ => f.values.iter().collect(),
    };
    Some(
        values
            .into_iter()
            .filter_map(|v| store.by_email(v))
            .collect(),
    )
}

/// `POST …/{object}/search`.
pub async fn search(
    State(shared): State<Arc<Shared>>,
    Object(o): Object,
    body: Bytes,
) -> ApiResult<Response> {
    if body.len() > MAX_BODY {
        return Err(ApiError::validation(format!(
            "Search request body is {} characters; the limit is {MAX_BODY}",
            body.len()
        )));
    }
    let req: SearchBody = parse(&body)?;
    if req.filter_groups.len() > MAX_GROUPS {
        return Err(ApiError::validation(format!(
            "Too many filter groups: {} (at most {MAX_GROUPS})",
            req.filter_groups.len()
        )));
    }
    let total_filters: usize = req.filter_groups.iter().map(|g| g.filters.len()).sum();
    if req
        .filter_groups
        .iter()
        .any(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
    {
        return Err(ApiError::validation(format!(
            "Too many filters in a filter group (at most {MAX_FILTERS_PER_GROUP})"
        )));
    }
    if total_filters > MAX_FILTERS {
        return Err(ApiError::validation(format!(
            "Too many filters: {total_filters} (at most {MAX_FILTERS} in all groups)"
        )));
    }
    if req.sorts.len() > 1 {
        return Err(ApiError::validation("Only one sort is allowed"));
    }
    let limit = req.limit.unwrap_or(10);
    if limit > MAX_LIMIT {
        return Err(ApiError::validation(format!(
            "limit {limit} is too large: at most {MAX_LIMIT}"
        )));
    }
    let after: usize = match &req.after {
        None => 0,
        Some(v) => scalar(v)
            .and_then(|x| {
                if x.is_empty() {
                    Some(0)
                } else {
                    x.parse().ok()
                }
            })
            .ok_or_else(|| ApiError::validation(format!("after {v} is not a valid offset")))?,
    };
    if after + limit > MAX_RESULTS {
        return Err(ApiError::validation(format!(
            "The search API returns at most {MAX_RESULTS} results per query; after={after} with limit={limit} goes past it. Narrow the query (for example by {} range) instead of paging further.",
            o.lastmodified()
        )));
    }
    let sort = match req.sorts.first() {
        None => None,
        Some(Sort::Text(t)) => Some(match t.strip_prefix('-') {
            Some(p) => (p.to_string(), true),
            None => (t.clone(), false),
        }),
        Some(Sort::Object {
            property_name,
            direction,
        }) => {
            let descending = match direction.as_deref() {
                None | Some("ASCENDING") => false,
                Some("DESCENDING") => true,
                Some(d) => {
                    return Err(ApiError::validation(format!(
                        "Sort direction {d} is not ASCENDING or DESCENDING"
                    )))
                }
            };
            Some((property_name.clone(), descending))
        }
    };
    // A keyset page (`hs_object_id > last` or `< last`, in id order): the query's matches without that
    // bound are computed once and the bound found by binary search, as an index would.
    let mut req = req;
    let bound = keyset_bound(&mut req, sort.as_ref());
    let mut s = shared.lock();
    if let Some((p, _)) = &sort {
        if s.defs(o).get(p).is_none() {
            return Err(ApiError::validation(format!(
                "Cannot sort by {p}: the property does not exist"
            )));
        }
    }
    let groups: Vec<Vec<Compiled>> = req
        .filter_groups
        .iter()
        .map(|g| g.filters.iter().map(|f| compile(&s, o, f)).collect())
        .collect::<ApiResult<_>>()?;
    // Pages of one query reuse its matches until the next write.
    let cache_key = {
        let mut g = body_without_paging(&body);
        if bound.is_some() {
            if let Some(filters) = g.pointer_mut("/filterGroups/0/filters") {
                *filters =
                    serde_json::to_value(&req.filter_groups[0].filters).unwrap_or(Value::Null);
            }
        }
        json!({"o": o.name(), "g": g}).to_string()
    };
    let generation = s.generation;
    let cached = s
        .search_cache
        .entries
        .iter()
        .find(|(k, g, _)| *g == generation && *k == cache_key)
        .map(|(_, _, ids)| ids.clone());
    let ids = match cached {
        Some(ids) => ids,
        None => {
            let ids = Arc::new(run(&s, o, &groups, req.query.as_deref(), sort));
            let entries = &mut s.search_cache.entries;
            entries.retain(|(_, g, _)| *g == generation);
            if entries.len() >= 8 {
                entries.remove(0);
            }
            entries.push((cache_key, generation, ids.clone()));
            ids
        }
    };
    let names: Vec<String> = if req.properties.is_empty() {
        o.default_properties()
            .iter()
            .map(|p| (*p).to_string())
            .collect()
    } else {
        req.properties.clone()
    };
    let store = s.store(o);
    let ids: &[u64] = match bound {
        None => &ids,
        Some(keyset) => keyset.after(&ids),
    };
    let results: Vec<Value> = ids
        .iter()
        .skip(after)
        .take(limit)
        .filter_map(|id| store.records.get(id))
        .map(|r| r.to_json(o, s.defs(o), Some(&names)))
        .collect();
    let mut out = json!({"total": ids.len(), "results": results});
    if after + limit < ids.len() {
        if let Some(map) = out.as_object_mut() {
            map.insert(
                "paging".into(),
                json!({"next": {"after": (after + limit).to_string(), "link": null}}),
            );
        }
    }
    drop(s);
    Ok(Json(out).into_response())
}

/// A keyset bound taken out of a query: results from this id on, in id order.
#[derive(Debug, Clone, Copy)]
struct Keyset {
    id: u64,
    inclusive: bool,
    descending: bool,
}

impl Keyset {
    /// The part of `ids` (in this keyset's order) past the bound.
    fn after(self, ids: &[u64]) -> &[u64] {
        let start = ids.partition_point(|&x| match (self.descending, self.inclusive) {
            (false, true) => x < self.id,
            (false, false) => x <= self.id,
            (true, true) => x > self.id,
            (true, false) => x >= self.id,
        });
        ids.get(start..).unwrap_or_default()
    }
}

/// A keyset bound to take out of the query: one group holding one `hs_object_id` filter,
/// `GT`/`GTE` with results in id order (no sort, or `hs_object_id` ascending) or `LT`/`LTE`
/// with `hs_object_id` descending. Removes the filter and returns the bound.
fn keyset_bound(req: &mut SearchBody, sort: Option<&(String, bool)>) -> Option<Keyset> {
    let descending = match sort {
        None => false,
        Some((p, descending)) if p == "hs_object_id" => *descending,
        Some(_) => return None,
    };
    if req.filter_groups.len() != 1 {
        return None;
    }
    let operators: [&str; 2] = if descending {
        ["LT", "LTE"]
    } else {
        ["GT", "GTE"]
    };
    let filters = &mut req.filter_groups[0].filters;
    let mut found = filters.iter().enumerate().filter(|(_, f)| {
        f.property_name == "hs_object_id" && operators.contains(&f.operator.as_str())
    });
    let (i, f) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    let id = f.value.as_ref().and_then(scalar)?.parse::<u64>().ok()?;
    let inclusive = f.operator.ends_with('E');
    filters.remove(i);
    Some(Keyset {
        id,
        inclusive,
        descending,
    })
}

/// The request body minus `limit`/`after`, so every page of a query shares one cache entry.
fn body_without_paging(body: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.remove("after");
        map.remove("limit");
        map.remove("properties");
    }
    v
}

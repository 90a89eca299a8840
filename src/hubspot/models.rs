//! HubSpot's JSON shapes (API.md §4–§8), decoded with the path of any field that surprises us.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::Error;

/// Decode `body` as `T`; a mismatch names the JSON path of the field, e.g. `results[3].id`.
pub fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, Error> {
    // The fast decoder first; only a body that doesn't fit is decoded again to find the path.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Decode {
        what: what.to_owned(),
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

/// HubSpot sends ids as strings, but some older endpoints (and `hub_id`) as numbers.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct Id;
    impl serde::de::Visitor<'_> for Id {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an id (a string or a number)")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(Id)
}

fn opt_u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A CRM record: `{id, properties{…all strings…}, createdAt, updatedAt, archived}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObject {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Every value is a string; a defined property without a value is `null`.
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties_with_history: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associations: Option<serde_json::Value>,
    /// Batch upsert only: whether the record was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
}

/// The properties of a written record that the writer reads back to match answers to inputs.
const WRITTEN_PROPERTIES: [&str; 6] = [
    "email",
    "hs_additional_emails",
    "domain",
    "name",
    "createdate",
    "hs_object_id",
];

/// A record as a batch write answers it. HubSpot echoes every property of every record written;
/// only [`WRITTEN_PROPERTIES`] are kept (the others are skipped without being allocated), which
/// makes decoding the answer several times cheaper.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WrittenObject {
    #[serde(deserialize_with = "string_or_number")]
    id: String,
    #[serde(default, deserialize_with = "written_properties")]
    properties: BTreeMap<String, Option<String>>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    new: Option<bool>,
}

impl From<WrittenObject> for SimplePublicObject {
    fn from(w: WrittenObject) -> Self {
        SimplePublicObject {
            id: w.id,
            properties: w.properties,
            created_at: w.created_at,
            updated_at: w.updated_at,
            archived: w.archived,
            properties_with_history: None,
            associations: None,
            new: w.new,
        }
    }
}

fn written_properties<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Option<String>>, D::Error> {
    /// A property name → its index in `WRITTEN_PROPERTIES`, without allocating.
    struct Key;
    impl<'de> serde::de::DeserializeSeed<'de> for Key {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl serde::de::Visitor<'_> for Key {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a property name")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(WRITTEN_PROPERTIES.iter().position(|p| *p == v))
        }
    }
    struct Props;
    impl<'de> serde::de::Visitor<'de> for Props {
        type Value = BTreeMap<String, Option<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of property values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key_seed(Key)? {
                match key {
                    Some(i) => {
                        out.insert(
                            WRITTEN_PROPERTIES[i].to_owned(),
                            map.next_value::<Option<String>>()?,
                        );
                    }
                    None => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    d.deserialize_map(Props)
}

impl SimplePublicObject {
    /// A property's value, `None` when absent or null.
    #[must_use]
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(|v| v.as_deref())
    }

    /// When a property last changed, from `propertiesWithHistory` (epoch milliseconds): the
    /// latest timestamp among its versions, read as ISO 8601 or epoch milliseconds. `None` when
    /// the history is absent or unreadable.
    #[must_use]
    pub fn property_changed_ms(&self, name: &str) -> Option<i64> {
        self.properties_with_history
            .as_ref()?
            .get(name)?
            .as_array()?
            .iter()
            .filter_map(|v| match v.get("timestamp")? {
                serde_json::Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
                    chrono::DateTime::parse_from_rfc3339(s.trim())
                        .ok()
                        .map(|t| t.timestamp_millis())
                }),
                serde_json::Value::Number(n) => n.as_i64(),
                _ => None,
            })
            .max()
    }
}

/// `paging.next.after`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub next: Option<NextPage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextPage {
    #[serde(deserialize_with = "string_or_number")]
    pub after: String,
    #[serde(default)]
    pub link: Option<String>,
}

/// A page of a list endpoint: `{results[], paging?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CollectionResponse<T> {
    pub results: Vec<T>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

impl<T> CollectionResponse<T> {
    /// The cursor of the next page, if any.
    #[must_use]
    pub fn next_after(&self) -> Option<String> {
        self.paging
            .as_ref()
            .and_then(|p| p.next.as_ref())
            .map(|n| n.after.clone())
    }
}

/// An error inside a batch response (`StandardError`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardError {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub context: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub sub_category: Option<serde_json::Value>,
}

impl StandardError {
    /// The input ids this error is about (`context.ids`, `context.id`).
    #[must_use]
    pub fn ids(&self) -> Vec<&str> {
        ["ids", "id"]
            .iter()
            .filter_map(|k| self.context.get(*k))
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// The `objectWriteTraceId`s of the inputs that failed.
    #[must_use]
    pub fn trace_ids(&self) -> Vec<&str> {
        self.context
            .get("objectWriteTraceId")
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

/// A batch response: 200/201, or 207 with `errors[]` (API.md §4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse<T> {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
    #[serde(default)]
    pub errors: Vec<StandardError>,
    #[serde(default)]
    pub num_errors: Option<u32>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
}

/// One input of batch create/update/upsert.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInput {
    /// Record id (update) or the `idProperty` value (upsert); absent for create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_property: Option<String>,
    pub properties: BTreeMap<String, String>,
    /// Makes batch create report failures per input (207) instead of failing the whole batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_write_trace_id: Option<String>,
    /// Associations made at creation; HubSpot's specs require the field on batch create
    /// inputs (`[]` when none), so creates send `Some(vec![])`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associations: Option<Vec<serde_json::Value>>,
}

/// A batch request body: `{"inputs": [...]}` (serialized straight from the slice).
#[derive(Debug, Serialize)]
pub struct Inputs<'a, T> {
    pub inputs: &'a [T],
}

// ---- search ----

/// `POST …/search` body (API.md §5). At most 5 groups, 6 filters per group, 18 in total.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_groups: Vec<FilterGroup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sorts: Vec<Sort>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
    /// At most 200.
    pub limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FilterGroup {
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: String,
    pub operator: Operator,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
}

impl Filter {
    #[must_use]
    pub fn new(property: &str, operator: Operator, value: impl Into<String>) -> Self {
        Self {
            property_name: property.to_owned(),
            operator,
            value: Some(value.into()),
            values: None,
            high_value: None,
        }
    }

    /// `IN` / `NOT_IN` (string values must be lowercase).
    #[must_use]
    pub fn any_of(property: &str, values: Vec<String>) -> Self {
        Self {
            property_name: property.to_owned(),
            operator: Operator::In,
            value: None,
            values: Some(values),
            high_value: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Operator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sort {
    pub property_name: String,
    pub direction: Direction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Ascending,
    Descending,
}

/// `{total, results, paging?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResponse {
    #[serde(default)]
    pub total: u64,
    pub results: Vec<SimplePublicObject>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

// ---- properties ----

/// A HubSpot property definition (API.md §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub field_type: String,
    #[serde(default)]
    pub group_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub has_unique_value: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub hubspot_defined: bool,
    #[serde(default)]
    pub modification_metadata: Option<ModificationMetadata>,
    #[serde(default)]
    pub archived: bool,
}

impl Property {
    /// HubSpot won't accept writes to this property.
    #[must_use]
    pub fn read_only_value(&self) -> bool {
        self.calculated
            || self
                .modification_metadata
                .as_ref()
                .is_some_and(|m| m.read_only_value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub display_order: Option<i64>,
    #[serde(default)]
    pub hidden: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModificationMetadata {
    #[serde(default)]
    pub archivable: bool,
    #[serde(default)]
    pub read_only_definition: bool,
    #[serde(default)]
    pub read_only_options: Option<bool>,
    #[serde(default)]
    pub read_only_value: bool,
}

/// `POST …/properties/{obj}` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<PropertyOption>,
}

/// `POST …/properties/{obj}/groups` body and answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_order: Option<i64>,
}

// ---- lists ----

/// A list (API.md §7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List {
    #[serde(deserialize_with = "string_or_number")]
    pub list_id: String,
    pub name: String,
    #[serde(default)]
    pub object_type_id: Option<String>,
    /// `MANUAL`, `SNAPSHOT` or `DYNAMIC`.
    pub processing_type: String,
    #[serde(default)]
    pub processing_status: Option<String>,
    #[serde(default, deserialize_with = "opt_u64_lenient")]
    pub size: Option<u64>,
    #[serde(default)]
    pub additional_properties: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub deleted_at: Option<String>,
}

impl List {
    /// Manual members can be added (MANUAL and SNAPSHOT lists).
    #[must_use]
    pub fn is_static(&self) -> bool {
        matches!(self.processing_type.as_str(), "MANUAL" | "SNAPSHOT")
    }

    /// The member count: `size`, or the `hs_list_size` additional property.
    #[must_use]
    pub fn member_count(&self) -> Option<u64> {
        self.size.or_else(|| {
            self.additional_properties
                .get("hs_list_size")
                .and_then(|v| v.as_deref())
                .and_then(|v| v.parse().ok())
        })
    }
}

/// `POST …/lists/search` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListSearchResponse {
    pub lists: Vec<List>,
    #[serde(default)]
    pub offset: u64,
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub total: Option<u64>,
}

/// `{list: …}` of get/create.
#[derive(Debug, Clone, Deserialize)]
pub struct ListEnvelope {
    pub list: List,
}

/// Membership add/remove answer. Note HubSpot's spelling `recordsIdsAdded`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembershipChange {
    #[serde(default, rename = "recordsIdsAdded")]
    pub records_ids_added: Vec<String>,
    #[serde(default)]
    pub record_ids_removed: Vec<String>,
    #[serde(default)]
    pub record_ids_missing: Vec<String>,
}

/// One member of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    #[serde(deserialize_with = "string_or_number")]
    pub record_id: String,
    #[serde(default)]
    pub membership_timestamp: Option<String>,
}

// ---- associations ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectId {
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
}

/// One pair of a batch associate call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssociationInput {
    pub from: ObjectId,
    pub to: ObjectId,
}

impl AssociationInput {
    #[must_use]
    pub fn new(from: &str, to: &str) -> Self {
        Self {
            from: ObjectId {
                id: from.to_owned(),
            },
            to: ObjectId { id: to.to_owned() },
        }
    }
}

/// One created association.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationResult {
    pub from: ObjectId,
    pub to: ObjectId,
    #[serde(default)]
    pub association_spec: Option<serde_json::Value>,
}

// ---- OAuth ----

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: super::Secret,
    #[serde(default)]
    pub refresh_token: Option<super::Secret>,
    pub expires_in: u64,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default, deserialize_with = "opt_u64_lenient")]
    pub hub_id: Option<u64>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// Access-token information.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    #[serde(default, deserialize_with = "opt_u64_lenient")]
    pub hub_id: Option<u64>,
    #[serde(default)]
    pub hub_domain: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "opt_u64_lenient")]
    pub app_id: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_write_answer_keeps_the_properties_used_to_match_it() {
        let body = br#"{"status":"COMPLETE","results":[{"id":"901","new":true,
            "properties":{"email":"ada@example.com","hs_additional_emails":"a@b.c;d@e.f",
              "firstname":"Ada","gitmesh_score":"7","lastmodifieddate":"2024-01-01T00:00:00Z",
              "na\u006de":"escaped key","nested":{"ignored":[1,2]}},
            "createdAt":"2024-01-01T00:00:00Z","archived":false}]}"#;
        let r: BatchResponse<WrittenObject> = decode("batch write", body).expect("decodes");
        let o = SimplePublicObject::from(r.results.into_iter().next().expect("one"));
        assert_eq!(o.id, "901");
        assert_eq!(o.new, Some(true));
        assert_eq!(o.prop("email"), Some("ada@example.com"));
        assert_eq!(o.prop("hs_additional_emails"), Some("a@b.c;d@e.f"));
        assert_eq!(o.prop("name"), Some("escaped key"));
        assert_eq!(o.prop("firstname"), None);
        assert_eq!(o.properties.len(), 3);
    }

    #[test]
    fn decode_names_the_field() {
        let body = br#"{"results":[{"id":"1","properties":{}},{"properties":{}}]}"#;
        let err = decode::<CollectionResponse<SimplePublicObject>>("contacts page", body)
            .expect_err("missing id");
        let text = err.to_string();
        assert!(text.contains("results[1]"), "{text}");
        assert!(text.contains("contacts page"), "{text}");
    }

    #[test]
    fn batch_207_with_errors() {
        let body = br#"{"status":"COMPLETE","results":[{"id":"5","properties":{"email":"a@b.c","firstname":null},"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z","archived":false}],"numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND","message":"Could not get some CONTACT objects","context":{"ids":["9"]}}]}"#;
        let r: BatchResponse<SimplePublicObject> = decode("batch read", body).expect("decodes");
        assert_eq!(r.results[0].prop("email"), Some("a@b.c"));
        assert_eq!(r.results[0].prop("firstname"), None);
        assert_eq!(r.errors[0].ids(), vec!["9"]);
        assert_eq!(r.num_errors, Some(1));
    }

    #[test]
    fn membership_spelling() {
        let body =
            br#"{"recordsIdsAdded":["1","2"],"recordIdsRemoved":[],"recordIdsMissing":["3"]}"#;
        let m: MembershipChange = decode("membership", body).expect("decodes");
        assert_eq!(m.records_ids_added, vec!["1", "2"]);
        assert_eq!(m.record_ids_missing, vec!["3"]);
    }

    #[test]
    fn list_ids_and_sizes() {
        let body = br#"{"lists":[{"listId":12,"name":"A","processingType":"MANUAL","additionalProperties":{"hs_list_size":"7"}},{"listId":"13","name":"B","processingType":"DYNAMIC","size":3}],"offset":2,"hasMore":false,"total":2}"#;
        let r: ListSearchResponse = decode("lists", body).expect("decodes");
        assert_eq!(r.lists[0].list_id, "12");
        assert_eq!(r.lists[0].member_count(), Some(7));
        assert!(r.lists[0].is_static());
        assert!(!r.lists[1].is_static());
        assert_eq!(r.lists[1].member_count(), Some(3));
    }

    #[test]
    fn search_request_shape() {
        let req = SearchRequest {
            filter_groups: vec![FilterGroup {
                filters: vec![Filter::new("email", Operator::Eq, "a@b.c")],
            }],
            sorts: vec![Sort {
                property_name: "hs_object_id".into(),
                direction: Direction::Ascending,
            }],
            limit: 100,
            ..SearchRequest::default()
        };
        let v = serde_json::to_value(&req).expect("serializes");
        assert_eq!(
            v,
            serde_json::json!({"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"a@b.c"}]}],"sorts":[{"propertyName":"hs_object_id","direction":"ASCENDING"}],"limit":100})
        );
    }

    #[test]
    fn token_response_hides_tokens() {
        let body = br#"{"token_type":"bearer","refresh_token":"na1-rrr","access_token":"aaa-token","hub_id":1234567,"scopes":["oauth"],"expires_in":1800}"#;
        let t: TokenResponse = decode("token", body).expect("decodes");
        assert_eq!(t.hub_id, Some(1_234_567));
        let dbg = format!("{t:?}");
        assert!(
            !dbg.contains("aaa-token") && !dbg.contains("na1-rrr"),
            "{dbg}"
        );
    }
}

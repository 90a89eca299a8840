//! Contacts and companies: pages, batch read, batch create/update/upsert.

use reqwest::Method;

use super::client::{Client, Request};
use super::error::{ApiError, Error};
use super::models::{
    BatchResponse, CollectionResponse, ObjectInput, SimplePublicObject, StandardError,
    WrittenObject,
};
use super::paging::Page;
use super::paths::ObjectType;

/// Most inputs HubSpot takes in one batch call.
pub const BATCH_LIMIT: usize = 100;

/// One page of records (`limit` ≤ 100), with the cursor of the next.
pub async fn list_page(
    client: &Client,
    t: ObjectType,
    properties: &[String],
    after: Option<&str>,
    limit: u32,
) -> Result<Page<SimplePublicObject>, Error> {
    let mut req = Request::new(Method::GET, client.paths().objects(t), "records page")
        .query("limit", limit.clamp(1, 100).to_string());
    if !properties.is_empty() {
        req = req.query("properties", properties.join(","));
    }
    if let Some(a) = after {
        req = req.query("after", a);
    }
    let page: CollectionResponse<SimplePublicObject> = client.send_json(&req).await?;
    let next = page.next_after();
    Ok(Page {
        items: page.results,
        next,
    })
}

/// Read records by id (or by `id_property`, e.g. `email`). Ids HubSpot doesn't know come back
/// in `errors` (207).
pub async fn batch_read(
    client: &Client,
    t: ObjectType,
    ids: &[String],
    properties: &[String],
    id_property: Option<&str>,
) -> Result<BatchResponse<SimplePublicObject>, Error> {
    batch_read_with_history(client, t, ids, properties, &[], id_property).await
}

/// Batch read with the change history of `with_history` (each entry `{value, timestamp, …}`,
/// newest first): at most [`HISTORY_BATCH_LIMIT`] ids.
pub async fn batch_read_with_history(
    client: &Client,
    t: ObjectType,
    ids: &[String],
    properties: &[String],
    with_history: &[String],
    id_property: Option<&str>,
) -> Result<BatchResponse<SimplePublicObject>, Error> {
    // The specs mark `propertiesWithHistory` required: `[]` when no history is wanted.
    let mut body = serde_json::json!({
        "inputs": ids.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>(),
        "properties": properties,
        "propertiesWithHistory": with_history,
    });
    if let Some(p) = id_property {
        body["idProperty"] = serde_json::Value::String(p.to_owned());
    }
    let req = Request::new(Method::POST, client.paths().batch(t, "read"), "batch read").json(&body);
    client.send_json(&req).await
}

/// Ids per batch read that asks for property history (HubSpot's limit).
pub const HISTORY_BATCH_LIMIT: usize = 50;

/// The answer to a batch write.
#[derive(Debug, Clone)]
pub enum BatchWrite {
    /// HubSpot processed the batch (200/201, or 207 with per-input `errors`).
    Done {
        status: u16,
        results: Vec<SimplePublicObject>,
        errors: Vec<StandardError>,
    },
    /// HubSpot rejected the whole batch (one bad input fails it; nothing was written). Split the
    /// batch to isolate the bad inputs.
    Rejected(Box<ApiError>),
}

impl BatchWrite {
    /// The inputs HubSpot refused, by index into `inputs`, with its message: matched by
    /// `objectWriteTraceId`, or by the ids HubSpot names (`context.ids`, compared
    /// case-insensitively so e-mails match). A rejected batch fails every input.
    #[must_use]
    pub fn failures(&self, inputs: &[ObjectInput]) -> Vec<(usize, String)> {
        let errors = match self {
            BatchWrite::Rejected(e) => {
                return (0..inputs.len()).map(|i| (i, e.to_string())).collect();
            }
            BatchWrite::Done { errors, .. } => errors,
        };
        let mut out = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let hit = errors.iter().find(|e| {
                let by_trace = input
                    .object_write_trace_id
                    .as_deref()
                    .is_some_and(|t| e.trace_ids().contains(&t));
                let by_id = input
                    .id
                    .as_deref()
                    .is_some_and(|id| e.ids().iter().any(|x| x.eq_ignore_ascii_case(id)));
                by_trace || by_id
            });
            if let Some(e) = hit {
                out.push((i, e.message.clone()));
            }
        }
        out
    }

    /// The per-input errors, or the batch error, as text.
    #[must_use]
    pub fn error_messages(&self) -> Vec<String> {
        match self {
            BatchWrite::Done { errors, .. } => errors.iter().map(|e| e.message.clone()).collect(),
            BatchWrite::Rejected(e) => vec![e.to_string()],
        }
    }
}

/// Which batch write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `batch/create`. Give every input a unique `object_write_trace_id` to get per-input
    /// errors. Never retried blindly: HubSpot may have done it.
    Create,
    /// `batch/update` by record id.
    Update,
    /// `batch/upsert` by `id_property` (contacts: `email`).
    Upsert,
}

/// `batch/create|update|upsert` of up to 100 inputs.
pub async fn batch_write(
    client: &Client,
    t: ObjectType,
    write: Write,
    inputs: &[ObjectInput],
) -> Result<BatchWrite, Error> {
    let op = match write {
        Write::Create => "create",
        Write::Update => "update",
        Write::Upsert => "upsert",
    };
    let filled: Vec<ObjectInput>;
    let inputs = if write == Write::Create && inputs.iter().any(|i| i.associations.is_none()) {
        // The specs require `associations` on every create input: `[]` when none.
        filled = inputs
            .iter()
            .cloned()
            .map(|mut i| {
                i.associations.get_or_insert_with(Vec::new);
                i
            })
            .collect();
        &filled
    } else {
        inputs
    };
    let body = super::models::Inputs { inputs };
    let mut req =
        Request::new(Method::POST, client.paths().batch(t, op), "batch write").json(&body);
    if write == Write::Create {
        // A create HubSpot may already have done must not be sent again blindly.
        req = req.no_ambiguous_retry();
    }
    match client.send(&req).await {
        Ok(resp) => {
            let r: BatchResponse<WrittenObject> = resp.json("batch write")?;
            Ok(BatchWrite::Done {
                status: resp.status,
                results: r
                    .results
                    .into_iter()
                    .map(SimplePublicObject::from)
                    .collect(),
                errors: r.errors,
            })
        }
        Err(Error::Api(e)) if matches!(e.status, 400 | 404 | 409 | 422) => {
            Ok(BatchWrite::Rejected(e))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(id: Option<&str>, trace: Option<&str>) -> ObjectInput {
        ObjectInput {
            id: id.map(str::to_owned),
            object_write_trace_id: trace.map(str::to_owned),
            ..ObjectInput::default()
        }
    }

    fn error(key: &str, values: &[&str], message: &str) -> StandardError {
        StandardError {
            message: message.to_owned(),
            context: [(
                key.to_owned(),
                values.iter().map(|v| (*v).to_owned()).collect(),
            )]
            .into_iter()
            .collect(),
            ..StandardError::default()
        }
    }

    #[test]
    fn failures_match_trace_ids_and_ids() {
        let inputs = [
            input(None, Some("0")),
            input(None, Some("1")),
            input(Some("Ada@Example.com"), None),
            input(Some("7"), None),
        ];
        let w = BatchWrite::Done {
            status: 207,
            results: Vec::new(),
            errors: vec![
                error("objectWriteTraceId", &["1"], "bad value"),
                error("ids", &["ada@example.com"], "not found"),
            ],
        };
        assert_eq!(
            w.failures(&inputs),
            vec![(1, "bad value".to_owned()), (2, "not found".to_owned())]
        );
        let rejected = BatchWrite::Rejected(Box::new(ApiError {
            status: 400,
            message: "nope".into(),
            ..ApiError::default()
        }));
        assert_eq!(rejected.failures(&inputs).len(), 4);
    }
}

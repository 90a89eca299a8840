//! Contact lists: search, get, create, memberships.

use reqwest::Method;

use super::client::{Client, Request};
use super::error::Error;
use super::models::{
    CollectionResponse, List, ListEnvelope, ListSearchResponse, Membership, MembershipChange,
};
use super::paging::{collect_all, Page};
use super::paths::ObjectType;

/// Every contact list (`POST …/lists/search`, paged by offset).
pub async fn all(client: &Client) -> Result<Vec<List>, Error> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    loop {
        // The specs require the filters: empty arrays mean all lists.
        let body = serde_json::json!({
            "listIds": [],
            "processingTypes": [],
            "offset": offset,
            "count": 500,
            "additionalProperties": ["hs_list_size"],
        });
        let req = Request::new(Method::POST, client.paths().lists_search(), "lists").json(&body);
        let r: ListSearchResponse = client.send_json(&req).await?;
        let n = r.lists.len() as u64;
        out.extend(r.lists.into_iter().filter(|l| {
            l.object_type_id
                .as_deref()
                .is_none_or(|t| t == ObjectType::Contacts.type_id())
        }));
        // Stop when HubSpot says so, or when the offset wouldn't move.
        if !r.has_more || n == 0 || r.offset <= offset {
            break;
        }
        offset = r.offset;
    }
    Ok(out)
}

/// One list by id; `None` when HubSpot doesn't know it.
pub async fn get(client: &Client, id: &str) -> Result<Option<List>, Error> {
    let req = Request::new(Method::GET, client.paths().list(id), "list");
    match client.send_json::<ListEnvelope>(&req).await {
        Ok(l) => Ok(Some(l.list)),
        Err(Error::Api(e)) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// A contact list by its exact name (HubSpot compares case-insensitively); `None` when absent.
pub async fn get_by_name(client: &Client, name: &str) -> Result<Option<List>, Error> {
    let req = Request::new(
        Method::GET,
        client.paths().list_by_name(ObjectType::Contacts, name),
        "list",
    );
    match client.send_json::<ListEnvelope>(&req).await {
        Ok(l) => Ok(Some(l.list)),
        Err(Error::Api(e)) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Create a contact list; `processing_type` is `MANUAL` for one hubsync adds members to.
pub async fn create(client: &Client, name: &str, processing_type: &str) -> Result<List, Error> {
    let body = serde_json::json!({
        "name": name,
        "objectTypeId": ObjectType::Contacts.type_id(),
        "processingType": processing_type,
    });
    let req = Request::new(Method::POST, client.paths().lists(), "list").json(&body);
    Ok(client.send_json::<ListEnvelope>(&req).await?.list)
}

/// Which way a membership change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipEdit {
    Add,
    Remove,
}

/// Add records to a MANUAL or SNAPSHOT list, or remove them (`PUT …/memberships/add|remove`).
/// Unknown ids and existing members are reported, not errors.
pub async fn change_members(
    client: &Client,
    list_id: &str,
    change: MembershipEdit,
    record_ids: &[String],
) -> Result<MembershipChange, Error> {
    let change = match change {
        MembershipEdit::Add => "add",
        MembershipEdit::Remove => "remove",
    };
    let path = client.paths().list_memberships(list_id, Some(change));
    let req = Request::new(Method::PUT, path, "membership change").json(&record_ids);
    client.send_json(&req).await
}

/// Every member's record id.
pub async fn members(client: &Client, list_id: &str) -> Result<Vec<String>, Error> {
    let all = collect_all(|after| async move {
        let mut req = Request::new(
            Method::GET,
            client.paths().list_memberships(list_id, None),
            "memberships",
        )
        .query("limit", "250");
        if let Some(a) = after {
            req = req.query("after", a);
        }
        let r: CollectionResponse<Membership> = client.send_json(&req).await?;
        let next = r.next_after();
        Ok(Page {
            items: r.results,
            next,
        })
    })
    .await?;
    Ok(all.into_iter().map(|m| m.record_id).collect())
}

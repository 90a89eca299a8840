//! Property definitions: list, create, create group.

use reqwest::Method;

use super::client::{Client, Request};
use super::error::Error;
use super::models::{CollectionResponse, Property, PropertyCreate, PropertyGroup};
use super::paths::ObjectType;

/// Every property of contacts or companies (unpaged).
pub async fn list(client: &Client, t: ObjectType) -> Result<Vec<Property>, Error> {
    let req = Request::new(Method::GET, client.paths().properties(t), "properties");
    let r: CollectionResponse<Property> = client.send_json(&req).await?;
    Ok(r.results)
}

/// Create a custom property (needs `crm.schemas.<object>.write`: `connect --with-scaffold`).
pub async fn create(
    client: &Client,
    t: ObjectType,
    property: &PropertyCreate,
) -> Result<Property, Error> {
    let req = Request::new(Method::POST, client.paths().properties(t), "property").json(property);
    client.send_json(&req).await
}

/// Create a property group; one that already exists (409) is fine.
pub async fn create_group(
    client: &Client,
    t: ObjectType,
    group: &PropertyGroup,
) -> Result<(), Error> {
    let req = Request::new(
        Method::POST,
        client.paths().property_groups(t),
        "property group",
    )
    .json(group);
    match client.send(&req).await {
        Ok(_) => Ok(()),
        Err(Error::Api(e)) if e.status == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

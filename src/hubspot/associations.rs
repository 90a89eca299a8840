//! Associations (v4 semantics): contact → company with the default type.

use reqwest::Method;

use super::client::{Client, Request};
use super::error::Error;
use super::models::{AssociationInput, AssociationResult, BatchResponse};
use super::paths::ObjectType;

/// Most pairs per batch create call.
pub const BATCH_LIMIT: usize = 2_000;

/// Associate each `from` with its `to` using the default (unlabeled) association type.
pub async fn associate_default(
    client: &Client,
    from: ObjectType,
    to: ObjectType,
    inputs: &[AssociationInput],
) -> Result<BatchResponse<AssociationResult>, Error> {
    let req = Request::new(
        Method::POST,
        client.paths().associate_default(from, to),
        "associations",
    )
    .json(&super::models::Inputs { inputs });
    client.send_json(&req).await
}

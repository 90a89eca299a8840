//! CRM search: 5 requests per second, ≤200 per page, 10,000 results per query.

use reqwest::Method;

use super::client::{Client, Limit, Request};
use super::error::Error;
use super::models::{SearchRequest, SearchResponse};
use super::paths::ObjectType;

/// Most results one search query can page through.
pub const RESULT_CAP: u64 = 10_000;
/// Filter limits (API.md §5).
pub const MAX_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 6;
pub const MAX_FILTERS: usize = 18;

/// One page of search results; counted against the search limiter, not the burst one.
pub async fn search(
    client: &Client,
    t: ObjectType,
    body: &SearchRequest,
) -> Result<SearchResponse, Error> {
    let req = Request::new(Method::POST, client.paths().search(t), "search results")
        .json(body)
        .limit(Limit::Search);
    client.send_json(&req).await
}

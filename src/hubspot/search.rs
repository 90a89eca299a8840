//! CRM search: 5 requests per second, ≤200 per page, 10,000 results per query.

use reqwest::Method;

use super::client::{Client, Limit, Request};
use super::error::Error;
use super::models::{Filter, FilterGroup, SearchRequest, SearchResponse, SimplePublicObject};
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

/// Most results one search page holds.
pub const PAGE_LIMIT: u32 = 200;
/// Most values one `IN` filter is given.
pub const MAX_IN_VALUES: usize = 100;

/// Every page of one query, cursor by cursor, handed to `each`. Stops when there is no next
/// page, when HubSpot repeats a cursor, or before a page that would cross the 10,000-result cap
/// (HubSpot answers that one with a 400); the last is logged, since results were left unread.
pub async fn each_page<E: From<Error>>(
    client: &Client,
    t: ObjectType,
    mut body: SearchRequest,
    mut each: impl FnMut(Vec<SimplePublicObject>) -> Result<(), E>,
) -> Result<(), E> {
    loop {
        let page = search(client, t, &body).await?;
        each(page.results)?;
        let Some(next) = page.paging.and_then(|p| p.next).map(|n| n.after) else {
            return Ok(());
        };
        if body.after.as_ref() == Some(&next) {
            return Ok(());
        }
        let within_cap = next
            .parse::<u64>()
            .is_ok_and(|offset| offset + u64::from(body.limit) <= RESULT_CAP);
        if !within_cap {
            tracing::warn!(
                object = %t,
                total = page.total,
                "a search matched more than {RESULT_CAP} {t}; the rest were not read"
            );
            return Ok(());
        }
        body.after = Some(next);
    }
}

/// `values` cut into groups for `IN` filters: at most [`MAX_IN_VALUES`] each, and at most
/// `chars` characters of values (with their quoting) so the body stays under HubSpot's 3,000.
#[must_use]
pub fn chunk_values(values: &[String], chars: usize) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut len = 0;
    for v in values {
        let cost = v.len() + 3;
        if !cur.is_empty() && (cur.len() >= MAX_IN_VALUES || len + cost > chars) {
            out.push(std::mem::take(&mut cur));
            len = 0;
        }
        len += cost;
        cur.push(v.clone());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The records whose `property` is one of `values` (one `IN` query per chunk, every page),
/// with `properties`, handed to `each` page by page.
pub async fn any_of<E: From<Error>>(
    client: &Client,
    t: ObjectType,
    property: &str,
    values: &[String],
    properties: &[String],
    chars: usize,
    mut each: impl FnMut(Vec<SimplePublicObject>) -> Result<(), E>,
) -> Result<(), E> {
    for chunk in chunk_values(values, chars) {
        let body = SearchRequest {
            filter_groups: vec![FilterGroup {
                filters: vec![Filter::any_of(property, chunk)],
            }],
            properties: properties.to_vec(),
            limit: PAGE_LIMIT,
            ..SearchRequest::default()
        };
        each_page(client, t, body, &mut each).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_values_are_chunked_by_count_and_size() {
        let values: Vec<String> = (0..250).map(|i| format!("d{i:03}.example")).collect();
        let chunks = chunk_values(&values, 100_000);
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        let long: Vec<String> = (0..10).map(|i| format!("{i}{}", "x".repeat(500))).collect();
        let chunks = chunk_values(&long, 2_400);
        assert!(chunks
            .iter()
            .all(|c| c.iter().map(|v| v.len() + 3).sum::<usize>() <= 2_400));
        assert_eq!(chunks.concat(), long);
        // One value longer than the budget still goes, alone.
        let huge = vec!["y".repeat(5_000)];
        assert_eq!(chunk_values(&huge, 2_400), vec![huge.clone()]);
    }
}

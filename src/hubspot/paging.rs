//! The one cursor pager: follows `paging.next.after` and stops when the cursor is absent or
//! repeats (a repeat would otherwise loop forever).

use std::collections::HashSet;
use std::future::Future;

use super::error::Error;

/// One page: its items and the cursor of the next page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Cursor bookkeeping, separate from IO so it can be tested alone.
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    after: Option<String>,
    seen: HashSet<String>,
    done: bool,
}

impl Cursor {
    /// Start at the first page, or at `after` when resuming.
    #[must_use]
    pub fn new(after: Option<String>) -> Self {
        let mut seen = HashSet::new();
        if let Some(a) = &after {
            seen.insert(a.clone());
        }
        Self {
            after,
            seen,
            done: false,
        }
    }

    /// The cursor to request next; `None` once finished.
    #[must_use]
    pub fn next_request(&self) -> Option<Option<&str>> {
        if self.done {
            None
        } else {
            Some(self.after.as_deref())
        }
    }

    /// Record a page's next cursor. Returns `false` when paging is over.
    pub fn advance(&mut self, next: Option<String>) -> bool {
        match next {
            Some(n) if !n.is_empty() && self.seen.insert(n.clone()) => {
                self.after = Some(n);
                true
            }
            Some(n) if !n.is_empty() => {
                tracing::warn!(cursor = %n, "HubSpot repeated a paging cursor; stopping there");
                self.done = true;
                false
            }
            _ => {
                self.done = true;
                false
            }
        }
    }

    /// The last cursor followed (to resume later).
    #[must_use]
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }
}

/// Fetch every page with `fetch(after)` and collect the items.
pub async fn collect_all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, Error>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, Error>>,
{
    let mut cursor = Cursor::new(None);
    let mut out = Vec::new();
    while let Some(after) = cursor.next_request() {
        let page = fetch(after.map(str::to_owned)).await?;
        out.extend(page.items);
        if !cursor.advance(page.next) {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_when_absent() {
        let mut c = Cursor::new(None);
        assert_eq!(c.next_request(), Some(None));
        assert!(c.advance(Some("10".into())));
        assert_eq!(c.next_request(), Some(Some("10")));
        assert!(!c.advance(None));
        assert_eq!(c.next_request(), None);
    }

    #[test]
    fn stops_when_repeated() {
        let mut c = Cursor::new(None);
        assert!(c.advance(Some("a".into())));
        assert!(c.advance(Some("b".into())));
        assert!(!c.advance(Some("a".into())));
        assert_eq!(c.next_request(), None);
    }

    #[tokio::test]
    async fn collects_every_page_once() {
        let pages = [
            (vec![1, 2], Some("x")),
            (vec![3], Some("y")),
            (vec![4], Some("x")),
        ];
        let mut calls = 0;
        let all = collect_all(|after| {
            calls += 1;
            let idx = match after.as_deref() {
                None => 0,
                Some("x") => 1,
                _ => 2,
            };
            let (items, next) = pages[idx].clone();
            async move {
                Ok(Page {
                    items,
                    next: next.map(str::to_owned),
                })
            }
        })
        .await
        .expect("pages");
        assert_eq!(all, vec![1, 2, 3, 4]);
        assert_eq!(calls, 3);
    }
}

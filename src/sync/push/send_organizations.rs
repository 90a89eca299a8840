//! Organizations: found by link or by domain (search with `IN`), then batch update or create;
//! a create whose answer is lost is looked up by domain before it is sent again.

use super::*;
use crate::sync::summary::Conflict;

impl Pusher<'_> {
    pub(super) async fn organizations(&mut self, total: u64) -> Result<()> {
        self.progress.start("organizations", total);
        let mut after = 0;
        while let Some(page) = self.next_page(Entity::Organization, &mut after)? {
            self.organization_page(&page).await?;
        }
        self.progress.finish();
        Ok(())
    }

    /// Plan and send one page of organizations.
    pub(super) async fn organization_page(&mut self, ids: &[String]) -> Result<()> {
        let entity = Entity::Organization;
        let records: Vec<crate::model::Organization> = crate::store::rows::some(self.conn, ids)?;
        let domains: Vec<String> = records.iter().filter_map(|o| o.domain()).collect();
        let mut seen = selection::keys_seen(self.conn, entity, domains.iter().map(String::as_str))?;
        let ops = self.plan_page(entity, ids, |page| {
            plan::plan_organizations(&mut seen, &records, page)
        })?;
        selection::remember_keys(self.conn, entity, &seen)?;
        drop(records);
        let settled = ops.iter().filter(|o| !matches!(o, PushOp::Send(_))).count();
        self.progress.advance(settled as u64);
        let mut items = self.settle_plan(entity, ops)?;

        // Unlinked organizations: find their companies by domain.
        let mut to_search: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_none())
            .collect();
        let mut to_update: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_some())
            .collect();
        let mut to_create: Vec<usize> = Vec::new();
        for _round in 0..2 {
            if !to_search.is_empty() {
                let domains: Vec<String> =
                    to_search.iter().map(|&i| items[i].key.clone()).collect();
                let found = self.search_domains(&domains).await?;
                for i in std::mem::take(&mut to_search) {
                    match found.get(&items[i].key) {
                        Some(companies) => {
                            let chosen = oldest(companies);
                            if companies.len() > 1 {
                                let ids: Vec<&str> =
                                    companies.iter().map(|c| c.id.as_str()).collect();
                                self.summary.conflicts.push(Conflict {
                                    entity: "organization".into(),
                                    id: items[i].local_id.clone(),
                                    hubspot_id: Some(chosen.clone()),
                                    key: Some(items[i].key.clone()),
                                    local_ids: vec![items[i].local_id.clone()],
                                    hubspot_ids: ids.iter().map(|&s| s.to_owned()).collect(),
                                    message: format!(
                                        "organization {}: HubSpot has {} companies with domain {} ({}); pushed to the oldest, {}",
                                        items[i].local_id, companies.len(), items[i].key, ids.join(", "), chosen
                                    ),
                                    ..Conflict::default()
                                });
                            }
                            items[i].hubspot_id = Some(chosen);
                            to_update.push(i);
                        }
                        None => to_create.push(i),
                    }
                }
            }
            if to_update.is_empty() {
                break;
            }
            let batch = std::mem::take(&mut to_update);
            let lost = self.write_all(entity, Op::Update, &items, &batch).await?;
            // Companies deleted or merged away in HubSpot: look them up by domain again.
            for i in lost {
                items[i].hubspot_id = None;
                to_search.push(i);
            }
            if to_search.is_empty() {
                break;
            }
        }
        to_create.append(&mut to_search);
        if !to_create.is_empty() {
            self.write_all(entity, Op::Create, &items, &to_create)
                .await?;
        }
        Ok(())
    }

    /// Companies by domain (`domain IN [...]`, chunked to HubSpot's body limit).
    pub(super) async fn search_domains(
        &self,
        domains: &[String],
    ) -> Result<HashMap<String, Vec<Found>>> {
        let mut out: HashMap<String, Vec<Found>> = HashMap::new();
        let wanted: HashSet<&str> = domains.iter().map(String::as_str).collect();
        let properties = ["domain", "createdate", "name"].map(str::to_owned);
        search::any_of(
            self.client,
            ObjectType::Companies,
            "domain",
            domains,
            &properties,
            SEARCH_VALUES_CHARS,
            |page| -> Result<()> {
                for r in page {
                    let Some(domain) = r.prop("domain").and_then(crate::model::normalize_domain)
                    else {
                        continue;
                    };
                    if wanted.contains(domain.as_str()) {
                        out.entry(domain).or_default().push(Found::from(&r));
                    }
                }
                Ok(())
            },
        )
        .await?;
        Ok(out)
    }
}

/// A company found by domain.
#[derive(Debug, Clone)]
pub(super) struct Found {
    id: String,
    created: Option<String>,
}

impl From<&SimplePublicObject> for Found {
    fn from(r: &SimplePublicObject) -> Self {
        Found {
            id: r.id.clone(),
            created: r
                .prop("createdate")
                .map(str::to_owned)
                .or_else(|| r.created_at.clone()),
        }
    }
}

/// The oldest company: earliest creation time, then lowest id.
pub(super) fn oldest(found: &[Found]) -> String {
    found
        .iter()
        .min_by(|a, b| {
            let ta = a.created.as_deref().and_then(parse_time);
            let tb = b.created.as_deref().and_then(parse_time);
            let ia = a.id.parse::<u64>().unwrap_or(u64::MAX);
            let ib = b.id.parse::<u64>().unwrap_or(u64::MAX);
            match (ta, tb) {
                (Some(x), Some(y)) if x != y => x.cmp(&y),
                _ => ia.cmp(&ib),
            }
        })
        .map(|f| f.id.clone())
        .unwrap_or_default()
}

pub(super) fn parse_time(s: &str) -> Option<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_company_wins() {
        let f = |id: &str, at: Option<&str>| Found {
            id: id.into(),
            created: at.map(Into::into),
        };
        assert_eq!(
            oldest(&[
                f("30", Some("2024-01-02T00:00:00Z")),
                f("40", Some("2023-01-02T00:00:00Z"))
            ]),
            "40"
        );
        assert_eq!(oldest(&[f("30", None), f("4", None)]), "4");
    }
}

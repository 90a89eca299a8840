//! The batch writer: up to three batch calls on their way at once, each answer committed as it
//! arrives; a batch HubSpot rejects as a whole is split until the bad inputs are alone; the
//! dry run reads HubSpot's current values instead of writing.

use super::send_organizations::oldest;
use super::*;
use crate::sync::summary::Planned;

impl Pusher<'_> {
    /// Write `which` items with `op` in batches of ≤100, splitting rejected batches, committing
    /// after every call. In a dry run, read HubSpot's current values and record the plan.
    /// Returns the items whose update target no longer exists.
    pub(super) async fn write_all(
        &mut self,
        entity: Entity,
        op: Op,
        items: &[PushItem],
        which: &[usize],
    ) -> Result<Vec<usize>> {
        if which.is_empty() {
            return Ok(Vec::new());
        }
        if self.req.dry_run {
            self.plan_entries(entity, op, items, which).await?;
            return Ok(Vec::new());
        }
        let t = ObjectType::from(entity);
        let mut lost = Vec::new();
        // (item indices, attempts of an ambiguous create)
        let mut stack: Vec<(Vec<usize>, u32)> = which
            .chunks(BATCH_LIMIT)
            .rev()
            .map(|c| (c.to_vec(), 0))
            .collect();
        let client = self.client;
        let mut in_flight: Vec<InFlight<'_>> = Vec::with_capacity(IN_FLIGHT);
        loop {
            // Stopping: send nothing new; the calls on their way still commit their answers.
            while in_flight.len() < IN_FLIGHT && !crate::sync::cancel::requested() {
                let Some((idxs, attempts)) = stack.pop() else {
                    break;
                };
                let inputs: Vec<ObjectInput> = idxs.iter().map(|&i| input(op, &items[i])).collect();
                in_flight.push(Box::pin(async move {
                    let answer = objects::batch_write(client, t, op, &inputs).await;
                    Sent {
                        idxs,
                        attempts,
                        inputs,
                        answer,
                    }
                }));
            }
            if in_flight.is_empty() {
                if !stack.is_empty() {
                    return Err(crate::sync::cancel::interrupted());
                }
                break;
            }
            let Sent {
                idxs,
                attempts,
                inputs,
                answer,
            } = next_done(&mut in_flight).await;
            let answer = match answer {
                Ok(a) => a,
                Err(e) if op == Op::Create && ambiguous(&e) && attempts + 1 < CREATE_ATTEMPTS => {
                    // HubSpot may have created some: look before creating again.
                    tracing::warn!(error = %e, "batch create outcome unknown; checking HubSpot before trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let domains: Vec<String> = idxs.iter().map(|&i| items[i].key.clone()).collect();
                    let found = self.search_domains(&domains).await?;
                    let mut part = Part::default();
                    let mut again = Vec::new();
                    for &i in &idxs {
                        match found.get(&items[i].key) {
                            Some(c) => part.written.push((i, oldest(c), true)),
                            None => again.push(i),
                        }
                    }
                    self.commit(entity, items, &part)?;
                    if !again.is_empty() {
                        stack.push((again, attempts + 1));
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match answer {
                BatchWrite::Rejected(e) if idxs.len() > 1 => {
                    tracing::info!(size = idxs.len(), error = %e.message, "HubSpot rejected a batch; splitting it to find the bad inputs");
                    let (a, b) = idxs.split_at(idxs.len() / 2);
                    stack.push((b.to_vec(), attempts));
                    stack.push((a.to_vec(), attempts));
                }
                BatchWrite::Rejected(e) => {
                    let i = idxs[0];
                    let existing = existing_id(&e);
                    match (entity, existing) {
                        (Entity::Contact, Some(id)) => {
                            // The e-mail belongs to contact `id` (maybe as an additional
                            // e-mail): that is this contact.
                            self.resolve_existing(items, i, &id).await?;
                        }
                        _ => {
                            let part = Part {
                                refused: vec![(i, refusal(&e))],
                                ..Part::default()
                            };
                            self.commit(entity, items, &part)?;
                        }
                    }
                }
                BatchWrite::Done {
                    results, errors, ..
                } => {
                    let part = match_results(op, items, &idxs, &inputs, &results, &errors);
                    lost.extend(part.not_found.iter().copied());
                    self.commit(entity, items, &part)?;
                }
            }
        }
        Ok(lost)
    }

    /// A contact whose e-mail HubSpot already has on contact `id`: update that one by id.
    pub(super) async fn resolve_existing(
        &mut self,
        items: &[PushItem],
        i: usize,
        id: &str,
    ) -> Result<()> {
        let item = &items[i];
        let mut properties = item.properties.clone();
        properties.remove("email");
        let input = ObjectInput {
            id: Some(id.to_owned()),
            properties,
            ..ObjectInput::default()
        };
        let answer = objects::batch_write(
            self.client,
            ObjectType::Contacts,
            Op::Update,
            std::slice::from_ref(&input),
        )
        .await?;
        let part = match &answer {
            BatchWrite::Done { results, .. } if results.iter().any(|r| r.id == id) => Part {
                written: vec![(i, id.to_owned(), false)],
                ..Part::default()
            },
            other => Part {
                refused: vec![(
                    i,
                    Refusal {
                        message: other.error_messages().join("; "),
                    },
                )],
                ..Part::default()
            },
        };
        self.commit(Entity::Contact, items, &part)
    }

    /// Dry run: what each item would do, with HubSpot's current values when it exists.
    async fn plan_entries(
        &mut self,
        entity: Entity,
        op: Op,
        items: &[PushItem],
        which: &[usize],
    ) -> Result<()> {
        let t = ObjectType::from(entity);
        let mut current: HashMap<usize, SimplePublicObject> = HashMap::new();
        if op != Op::Create {
            let prop_names: Vec<String> = {
                let mut s: Vec<String> = which
                    .iter()
                    .flat_map(|&i| items[i].properties.keys().cloned())
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                s.push("hs_additional_emails".into());
                s.sort();
                s
            };
            for chunk in which.chunks(BATCH_LIMIT) {
                let (ids, id_property): (Vec<String>, Option<&str>) = match op {
                    Op::Upsert => (
                        chunk.iter().map(|&i| items[i].key.clone()).collect(),
                        Some("email"),
                    ),
                    _ => (
                        chunk
                            .iter()
                            .map(|&i| items[i].hubspot_id.clone().unwrap_or_default())
                            .collect(),
                        None,
                    ),
                };
                let resp =
                    objects::batch_read(self.client, t, &ids, &prop_names, id_property).await?;
                for r in resp.results {
                    let hit = chunk.iter().copied().find(|&i| match op {
                        Op::Upsert => has_email(&r, &items[i].key),
                        _ => items[i].hubspot_id.as_deref() == Some(r.id.as_str()),
                    });
                    if let Some(i) = hit {
                        current.insert(i, r);
                    }
                }
            }
        }
        for &i in which {
            let item = &items[i];
            let (action, hubspot_id, changes) = match current.get(&i) {
                Some(r) => (
                    "update",
                    Some(r.id.clone()),
                    plan::diff(
                        &if op == Op::Update {
                            item.update_properties()
                        } else {
                            item.properties.clone()
                        },
                        &r.properties,
                    ),
                ),
                None => (
                    "create",
                    None,
                    plan::diff(&item.properties, &BTreeMap::new()),
                ),
            };
            self.count(entity, &format!("to_{action}"), 1);
            self.summary.plan.push(Planned::Push {
                entity: entity.as_str().to_owned(),
                id: item.local_id.clone(),
                action,
                hubspot_id,
                changes,
                companies: item.companies.clone(),
            });
        }
        self.progress.advance(which.len() as u64);
        Ok(())
    }
}

/// A batch call and what HubSpot answered.
pub(super) struct Sent {
    idxs: Vec<usize>,
    attempts: u32,
    inputs: Vec<ObjectInput>,
    answer: Result<BatchWrite, Error>,
}

/// A batch call on its way.
pub(super) type InFlight<'c> = Pin<Box<dyn Future<Output = Sent> + Send + 'c>>;

/// The first of the calls on their way to finish, taken out of `calls` (which is not empty).
pub(super) async fn next_done(calls: &mut Vec<InFlight<'_>>) -> Sent {
    std::future::poll_fn(|cx| {
        for k in 0..calls.len() {
            if let Poll::Ready(sent) = calls[k].as_mut().poll(cx) {
                drop(calls.remove(k));
                return Poll::Ready(sent);
            }
        }
        Poll::Pending
    })
    .await
}

/// The batch input for an item.
pub(super) fn input(op: Op, item: &PushItem) -> ObjectInput {
    match op {
        Op::Create => ObjectInput {
            properties: item.properties.clone(),
            // Unique per input: HubSpot then reports failures per input (207).
            object_write_trace_id: Some(item.local_id.clone()),
            associations: Some(Vec::new()),
            ..ObjectInput::default()
        },
        Op::Update => ObjectInput {
            id: item.hubspot_id.clone(),
            properties: item.update_properties(),
            ..ObjectInput::default()
        },
        Op::Upsert => {
            let mut properties = item.properties.clone();
            // The key travels as the id; a found contact keeps its primary e-mail.
            properties.remove("email");
            ObjectInput {
                id: Some(item.key.clone()),
                id_property: Some("email".into()),
                properties,
                ..ObjectInput::default()
            }
        }
    }
}

pub(super) fn has_email(r: &SimplePublicObject, email: &str) -> bool {
    r.prop("email")
        .is_some_and(|e| e.eq_ignore_ascii_case(email))
        || r.prop("hs_additional_emails")
            .is_some_and(|all| all.split(';').any(|e| e.trim().eq_ignore_ascii_case(email)))
}

/// Which result belongs to which input, and which inputs HubSpot refused.
pub(super) fn match_results(
    op: Op,
    items: &[PushItem],
    idxs: &[usize],
    inputs: &[ObjectInput],
    results: &[SimplePublicObject],
    errors: &[crate::hubspot::models::StandardError],
) -> Part {
    let mut part = Part::default();
    let mut refused: HashSet<usize> = HashSet::new();
    for (pos, input) in inputs.iter().enumerate() {
        let hit = errors.iter().find(|e| {
            input
                .object_write_trace_id
                .as_deref()
                .is_some_and(|t| e.trace_ids().contains(&t))
                || input
                    .id
                    .as_deref()
                    .is_some_and(|id| e.ids().iter().any(|x| x.eq_ignore_ascii_case(id)))
        });
        if let Some(e) = hit {
            refused.insert(pos);
            if op == Op::Update && e.category.as_deref() == Some("OBJECT_NOT_FOUND") {
                part.not_found.push(idxs[pos]);
            } else {
                part.refused.push((
                    idxs[pos],
                    Refusal {
                        message: e.message.clone(),
                    },
                ));
            }
        }
    }
    let mut used = vec![false; results.len()];
    let mut unmatched = Vec::new();
    for (pos, &i) in idxs.iter().enumerate() {
        if refused.contains(&pos) {
            continue;
        }
        let item = &items[i];
        let found = results.iter().enumerate().position(|(k, r)| {
            !used[k]
                && match op {
                    Op::Update => item.hubspot_id.as_deref() == Some(r.id.as_str()),
                    Op::Upsert => has_email(r, &item.key),
                    Op::Create => r
                        .prop("domain")
                        .and_then(crate::model::normalize_domain)
                        .is_some_and(|d| d == item.key),
                }
        });
        match found {
            Some(k) => {
                used[k] = true;
                let created = match op {
                    Op::Create => true,
                    Op::Update => false,
                    Op::Upsert => results[k].new.unwrap_or(false),
                };
                part.written.push((i, results[k].id.clone(), created));
            }
            None => unmatched.push(i),
        }
    }
    // Results HubSpot returned in a shape we could not match: pair them in order.
    let mut rest = results
        .iter()
        .enumerate()
        .filter(|(k, _)| !used[*k])
        .map(|(_, r)| r);
    for i in unmatched {
        match rest.next() {
            Some(r) => part
                .written
                .push((i, r.id.clone(), op == Op::Create || r.new == Some(true))),
            None => part.refused.push((
                i,
                Refusal {
                    message: "HubSpot did not return this record in its answer; it is sent again by the next run".into(),
                },
            )),
        }
    }
    part
}

pub(super) fn refusal(e: &ApiError) -> Refusal {
    let detail: Vec<&str> = e
        .errors
        .iter()
        .map(|d| d.message.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    let message = if detail.is_empty() || e.message.contains(detail[0]) {
        e.message.clone()
    } else {
        format!("{} ({})", e.message, detail.join("; "))
    };
    Refusal { message }
}

/// `Contact already exists. Existing ID: 123` → `123`.
pub(super) fn existing_id(e: &ApiError) -> Option<String> {
    if e.status != 409 {
        return None;
    }
    let at = e.message.find("Existing ID:")?;
    let digits: String = e.message[at + "Existing ID:".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// An error after which HubSpot may or may not have done the write.
pub(super) fn ambiguous(e: &Error) -> bool {
    match e {
        Error::Api(a) => a.status >= 500,
        Error::TryLater(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_existing_contact_id_is_read_from_a_409() {
        let e = |status: u16, message: &str| ApiError {
            status,
            message: message.into(),
            ..ApiError::default()
        };
        assert_eq!(
            existing_id(&e(409, "Contact already exists. Existing ID: 37765128953")),
            Some("37765128953".into())
        );
        assert_eq!(existing_id(&e(409, "Duplicate email in batch input")), None);
        assert_eq!(existing_id(&e(400, "Existing ID: 5")), None);
    }
}

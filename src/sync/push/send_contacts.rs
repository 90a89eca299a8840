//! Contacts: updates of linked ones, then upserts by e-mail, and the association queue (a
//! contact's companies, written once the contact is, resumable from a checkpoint).

use super::*;

impl Pusher<'_> {
    pub(super) async fn contacts(&mut self, total: u64) -> Result<()> {
        let mut pending: Vec<(String, String, Vec<String>)> = if self.req.dry_run {
            Vec::new()
        } else {
            links::pending_associations(self.conn)?
        };
        if total == 0 && pending.is_empty() {
            return Ok(());
        }
        let companies = company_ids(self.conn)?;
        self.progress.start("contacts", total);
        // Associations a previous run wrote the contacts for but not the associations.
        self.flush_associations(&mut pending, 1).await?;
        let mut after = 0;
        while let Some(page) = self.next_page(Entity::Contact, &mut after)? {
            self.contact_page(&companies, &page, &mut pending).await?;
        }
        self.flush_associations(&mut pending, 1).await?;
        self.progress.finish();
        Ok(())
    }

    /// Plan and send one page of contacts: updates of linked ones, then upserts by e-mail.
    pub(super) async fn contact_page(
        &mut self,
        companies: &HashMap<String, String>,
        ids: &[String],
        pending: &mut Vec<(String, String, Vec<String>)>,
    ) -> Result<()> {
        let entity = Entity::Contact;
        let records: Vec<crate::model::Contact> = crate::store::rows::some(self.conn, ids)?;
        let emails: Vec<String> = records
            .iter()
            .filter_map(|c| c.primary_email().map(crate::model::normalize_email))
            .collect();
        let mut seen = selection::keys_seen(self.conn, entity, emails.iter().map(String::as_str))?;
        let ops = self.plan_page(entity, ids, |page| {
            plan::plan_contacts(&mut seen, &records, page, companies)
        })?;
        selection::remember_keys(self.conn, entity, &seen)?;
        drop(records);
        let settled = ops.iter().filter(|o| !matches!(o, PushOp::Send(_))).count();
        self.progress.advance(settled as u64);
        let items = self.settle_plan(entity, ops)?;
        let linked: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_some())
            .collect();
        let mut unlinked: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].hubspot_id.is_none())
            .collect();
        if self.req.dry_run {
            self.write_all(entity, Op::Update, &items, &linked).await?;
            self.write_all(entity, Op::Upsert, &items, &unlinked)
                .await?;
            return Ok(());
        }
        let lost = self.write_all(entity, Op::Update, &items, &linked).await?;
        unlinked.extend(lost);
        self.queue_associations(&items, &linked, pending);
        self.flush_associations(pending, ASSOCIATION_BATCH).await?;
        self.write_all(entity, Op::Upsert, &items, &unlinked)
            .await?;
        self.queue_associations(&items, &unlinked, pending);
        self.written.clear();
        self.flush_associations(pending, ASSOCIATION_BATCH).await?;
        Ok(())
    }

    /// Queue the associations of the contacts of `chunk` that were written in this run.
    pub(super) fn queue_associations(
        &mut self,
        items: &[PushItem],
        chunk: &[usize],
        pending: &mut Vec<(String, String, Vec<String>)>,
    ) {
        let queued: HashSet<String> = pending.iter().map(|p| p.0.clone()).collect();
        for &i in chunk {
            let item = &items[i];
            if item.companies.is_empty() || queued.contains(&item.local_id) {
                continue;
            }
            if let Some(h) = self.written.remove(&item.local_id) {
                pending.push((item.local_id.clone(), h, item.companies.clone()));
            }
        }
    }

    /// Send queued associations once at least `min_pairs` are waiting.
    pub(super) async fn flush_associations(
        &mut self,
        pending: &mut Vec<(String, String, Vec<String>)>,
        min_pairs: usize,
    ) -> Result<()> {
        let pairs: usize = pending.iter().map(|p| p.2.len()).sum();
        if pairs == 0 || pairs < min_pairs {
            return Ok(());
        }
        // Fill calls with up to ASSOCIATION_BATCH pairs, whole contacts per call.
        let mut start = 0;
        while start < pending.len() {
            let mut end = start;
            let mut n = 0;
            while end < pending.len() && (n == 0 || n + pending[end].2.len() <= ASSOCIATION_BATCH) {
                n += pending[end].2.len();
                end += 1;
            }
            let group = &pending[start..end];
            let inputs: Vec<AssociationInput> = group
                .iter()
                .flat_map(|(_, contact, companies)| {
                    companies
                        .iter()
                        .map(move |c| AssociationInput::new(contact, c))
                })
                .collect();
            let answer = associations::associate_default(
                self.client,
                ObjectType::Contacts,
                ObjectType::Companies,
                &inputs,
            )
            .await;
            let mut failed: HashMap<String, String> = HashMap::new();
            match answer {
                Ok(resp) => {
                    for e in &resp.errors {
                        for id in e.ids() {
                            failed.insert(id.to_owned(), e.message.clone());
                        }
                        if e.ids().is_empty() {
                            tracing::warn!(error = %e.message, "HubSpot refused some associations");
                        }
                    }
                }
                Err(Error::Api(e)) if (400..500).contains(&e.status) => {
                    for (_, contact, _) in group {
                        failed.insert(contact.clone(), e.message.clone());
                    }
                }
                Err(e) => return Err(e.into()),
            }
            let tx = self.conn.unchecked_transaction()?;
            let mut done = 0u64;
            for (local, contact, companies) in group {
                let problem = failed
                    .get(contact)
                    .or_else(|| companies.iter().find_map(|c| failed.get(c)));
                if let Some(message) = problem {
                    let message = format!("associating to its companies failed: {message}");
                    links::forget_hash(&tx, Entity::Contact, local)?;
                    base::forget(&tx, Entity::Contact, local, base::COMPANIES)?;
                    runs::record_failure(
                        &tx,
                        Entity::Contact,
                        local,
                        OPERATION,
                        &message,
                        self.run_id,
                    )?;
                    self.failing.insert(record_key(Entity::Contact, local));
                    self.summary.fail("contact", local, message);
                    self.count(Entity::Contact, "failed", 1);
                } else {
                    done += companies.len() as u64;
                }
                links::clear_pending_associations(&tx, local)?;
            }
            tx.commit()?;
            self.summary.add("associations", done);
            start = end;
        }
        pending.clear();
        Ok(())
    }
}

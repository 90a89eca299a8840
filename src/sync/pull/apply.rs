//! Applying: the staged plan written locally with history and bases, then the `newest`
//! conflicts decided with HubSpot's timestamps.

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context as _, Result};
use serde_json::json;

use super::local::Local;
use super::plan::{self, ClaimOn, Claimed};
use super::read::page_index;
use super::stage::Cursor;
use super::{Pass, APPLY_BATCH, STAGE_PAGE};
use crate::hubspot::objects;
use crate::model::Entity;
use crate::store::base::{self};
use crate::store::rows::RecordWriter as _;
use crate::store::{history, links};
use crate::sync::summary::{Conflict, Planned, Summary};
use crate::sync::three_way::{self, Side};

/// Plan the staged records page by page and, unless dry-running, apply the plan with history.
/// Claims (step 1) are staged too; they are then resolved local record by local record, and
/// the winners applied `APPLY_BATCH` at a time, each batch in one transaction that plans the
/// record again as stored at that moment. The watermark moves after the last batch.
pub(super) fn apply<L: Local>(p: &Pass<'_>, summary: &mut Summary) -> Result<Vec<Deferred>> {
    let Pass {
        store,
        stage,
        entity,
        opts,
        ..
    } = *p;
    let mut deferred = Vec::new();
    // 1. Claims, in read order: records to apply first, then the context.
    let mut seq = 0u64;
    for apply in [true, false] {
        let mut cursor = Cursor::default();
        loop {
            let records = stage.page(apply, &mut cursor, STAGE_PAGE)?;
            if records.is_empty() {
                break;
            }
            let index = page_index::<L>(store, entity, &records)?;
            let mut claims = Vec::new();
            for r in &records {
                seq += 1;
                match plan::claim(entity, r, &index) {
                    Claimed::Local { local_id, via, key } => claims.push((
                        local_id,
                        seq,
                        ClaimOn {
                            hubspot_id: r.id.clone(),
                            via,
                            key,
                            apply,
                        },
                    )),
                    Claimed::Conflict(c) if apply => {
                        summary.add("conflicts", 1);
                        summary.conflicts.push(c.into());
                    }
                    Claimed::Unmatched if apply => summary.add("unmatched", 1),
                    Claimed::Conflict(_) | Claimed::Unmatched => {}
                }
            }
            stage.claim(&claims)?;
        }
    }

    // 2. Resolve by local record, and apply the winners.
    let mut after = String::new();
    loop {
        crate::sync::cancel::check()?;
        let locals = stage.claimed_locals(&after, APPLY_BATCH)?;
        let Some(last) = locals.last() else {
            break;
        };
        after.clone_from(last);
        let mut winners: Vec<(String, String, plan::Via)> = Vec::new();
        for local_id in locals {
            let claims = stage.claims_on(&local_id)?;
            let linked = links::get(store.conn(), entity, &local_id)?.and_then(|l| l.hubspot_id);
            let (winner, conflicts) = plan::resolve(entity, &local_id, &claims, linked.as_deref());
            for c in &conflicts {
                summary.add("conflicts", 1);
                summary.conflicts.push(c.clone().into());
            }
            if let Some(w) = winner {
                winners.push((local_id.clone(), w.hubspot_id.clone(), w.via));
            }
        }
        let tx = store.conn().unchecked_transaction()?;
        {
            let mut writer = L::writer(&tx)?;
            for (local_id, hubspot_id, via) in winners {
                let target = Target {
                    local_id,
                    hubspot_id,
                    via,
                };
                if let Some(d) = apply_one::<L>(p, &tx, &mut writer, summary, &target, None)? {
                    deferred.push(d);
                }
            }
        }
        if opts.dry_run {
            // A dry run writes nothing.
            tx.rollback()?;
        } else {
            tx.commit()
                .with_context(|| format!("cannot save pulled {} in the store", entity.section()))?;
        }
    }
    Ok(deferred)
}

/// A HubSpot record won by a local record.
#[derive(Debug, Clone)]
pub(super) struct Target {
    local_id: String,
    hubspot_id: String,
    via: plan::Via,
}

/// A record with `newest` conflicts, waiting for HubSpot's property timestamps.
pub(super) struct Deferred {
    target: Target,
    properties: Vec<String>,
}

/// Plan one matched record against the record as stored now (inside the transaction) and its
/// base, and apply it: local changes with history, the new base, the link. A record with
/// `newest` conflicts and no `times` yet is left alone and returned.
pub(super) fn apply_one<L: Local>(
    p: &Pass<'_>,
    tx: &rusqlite::Connection,
    writer: &mut L::Writer<'_>,
    summary: &mut Summary,
    t: &Target,
    times: Option<&HashMap<String, bool>>,
) -> Result<Option<Deferred>> {
    let Pass {
        echo,
        stage,
        entity,
        fields,
        opts,
        ..
    } = *p;
    let run_id = summary.run_id;
    // One history entry for a field of this record.
    type V = serde_json::Value;
    let log = |field: &str, old: Option<&V>, new: Option<&V>, conflict: Option<&V>| {
        history::record(
            tx,
            run_id,
            entity,
            &t.local_id,
            Some(&t.hubspot_id),
            field,
            old,
            new,
            conflict,
        )
    };
    let Some(hs) = stage.get(&t.hubspot_id)? else {
        return Ok(None);
    };
    let Some(current) = writer.get(&t.local_id)? else {
        return Ok(None);
    };
    let mut agreed = base::get(tx, entity, &t.local_id)?;
    if agreed.is_empty() {
        if let Some(derived) = echo.legacy_base(tx, entity, &t.hubspot_id, &current)? {
            base::replace(tx, entity, &t.local_id, &derived)?;
            agreed = derived;
        }
    }
    if t.via == plan::Via::Merge {
        // The base moves to the merge survivor for the fields this pull reconciles (HubSpot's
        // value there is compared with it); what the survivor holds in the push-only
        // properties is not known, so push sends them again.
        let pulled: BTreeSet<&str> = fields.iter().map(|f| f.property.as_str()).collect();
        let before = agreed.len();
        agreed.retain(|p, _| pulled.contains(p.as_str()));
        if agreed.len() != before {
            base::replace(tx, entity, &t.local_id, &agreed)?;
        }
    }
    let newer = |p: &str| times.map(|t| t.get(p).copied().unwrap_or(false));
    let plan = plan::field_changes(fields, &hs, &current, &agreed, &newer);
    if times.is_none() && !plan.needs_times.is_empty() {
        return Ok(Some(Deferred {
            target: t.clone(),
            properties: plan.needs_times,
        }));
    }
    summary.add("matched", 1);
    for p in &plan.problems {
        summary.skip(entity.as_str(), &t.local_id, format!("field {p}"));
    }
    for c in &plan.conflicts {
        summary.add("conflicts", 1);
        summary.conflicts.push(conflict_json(entity, t, c));
    }
    if plan.changes.is_empty() {
        summary.add("unchanged", 1);
    } else if opts.dry_run {
        summary.add("changed", 1);
        summary.plan.push(Planned::Pull {
            action: "update local",
            entity: entity.as_str().to_owned(),
            id: t.local_id.clone(),
            hubspot_id: t.hubspot_id.clone(),
            matched_by: t.via,
            changes: plan.changes,
        });
    } else {
        writer.put(&plan.updated, &current)?;
        for c in &plan.changes {
            let conflict = c.conflict.as_ref().map(conflict_detail);
            log(&c.field, c.old.as_ref(), Some(&c.new), conflict.as_ref())?;
        }
        summary.add("changed", 1);
        summary.add("fields_changed", plan.changes.len() as u64);
    }
    if !opts.dry_run {
        // Conflicts that kept the local value changed nothing locally; logged all the same.
        for c in plan.conflicts.iter().filter(|c| c.kept == Side::Local) {
            let value = current.get(&c.field);
            log(
                &c.field,
                value.as_ref(),
                value.as_ref(),
                Some(&conflict_detail(c)),
            )?;
        }
        // The base is in hand: write it whole when something changed (no second read).
        let mut moved = false;
        for (property, value) in plan.agreed {
            if agreed.get(&property) != Some(&value) {
                agreed.insert(property, value);
                moved = true;
            }
        }
        if moved {
            base::replace(tx, entity, &t.local_id, &agreed)?;
        }
        links::record_pull(tx, entity, &t.local_id, &t.hubspot_id)?;
    }
    Ok(None)
}

/// A field conflict as the history keeps it.
pub(super) fn conflict_detail(c: &plan::FieldConflict) -> serde_json::Value {
    json!({"local": c.local, "hubspot": c.hubspot, "base": c.base, "kept": c.kept})
}

/// A field conflict as a run reports it (SPEC §7 `conflicts`).
pub(super) fn conflict_json(entity: Entity, t: &Target, c: &plan::FieldConflict) -> Conflict {
    let show = |v: Option<&str>| v.map_or_else(|| "(empty)".to_owned(), |v| format!("{v:?}"));
    Conflict {
        entity: entity.as_str().to_owned(),
        id: t.local_id.clone(),
        hubspot_id: Some(t.hubspot_id.clone()),
        field: Some(c.field.clone()),
        local: c.local.clone(),
        hubspot: Some(c.hubspot.clone()),
        base: c.base.clone(),
        kept: Some(c.kept),
        message: format!(
            "{} {} field {}: edited on both sides (here {}, in HubSpot {}, last agreed {}); kept the {} value",
            entity.as_str(),
            t.local_id,
            c.field,
            show(c.local.as_deref()),
            show(Some(&c.hubspot)),
            show(c.base.as_deref()),
            match c.kept {
                Side::Hubspot => "HubSpot",
                Side::Local => "local",
            }
        ),
        ..Conflict::default()
    }
}

/// Decide the `newest` conflicts: read HubSpot's property timestamps for those records only
/// (`propertiesWithHistory`, 50 records per call), compare them with the local records' last
/// edit, and apply them in one more transaction.
pub(super) async fn apply_deferred<L: Local>(
    p: &Pass<'_>,
    summary: &mut Summary,
    deferred: Vec<Deferred>,
) -> Result<()> {
    if deferred.is_empty() {
        return Ok(());
    }
    let Pass {
        store,
        client,
        entity,
        opts,
        ..
    } = *p;
    let object = crate::hubspot::ObjectType::from(entity);
    let mut times: HashMap<String, HashMap<String, bool>> = HashMap::new();
    for chunk in deferred.chunks(objects::HISTORY_BATCH_LIMIT) {
        let ids: Vec<String> = chunk.iter().map(|d| d.target.hubspot_id.clone()).collect();
        let mut props: Vec<String> = chunk.iter().flat_map(|d| d.properties.clone()).collect();
        props.sort();
        props.dedup();
        let resp = objects::batch_read_with_history(client, object, &ids, &props, &props, None)
            .await
            .with_context(|| format!("cannot read the history of HubSpot {object}"))?;
        for d in chunk {
            let local_ms = base::local_edit_ms(store.conn(), entity, &d.target.local_id)?;
            let record = resp.results.iter().find(|r| r.id == d.target.hubspot_id);
            let per: HashMap<String, bool> = d
                .properties
                .iter()
                .map(|p| {
                    let hubspot_ms = record.and_then(|r| r.property_changed_ms(p));
                    (p.clone(), three_way::local_is_newer(local_ms, hubspot_ms))
                })
                .collect();
            times.insert(d.target.hubspot_id.clone(), per);
        }
    }
    let tx = store.conn().unchecked_transaction()?;
    {
        let mut writer = L::writer(&tx)?;
        for d in &deferred {
            let empty = HashMap::new();
            let t = times.get(&d.target.hubspot_id).unwrap_or(&empty);
            apply_one::<L>(p, &tx, &mut writer, summary, &d.target, Some(t))?;
        }
    }
    if opts.dry_run {
        tx.rollback()?;
    } else {
        tx.commit()
            .with_context(|| format!("cannot save pulled {} in the store", entity.section()))?;
    }
    Ok(())
}

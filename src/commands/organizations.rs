//! `hubsync organizations list|show ID`.

use anyhow::Result;
use serde_json::Value;

use super::contacts::{
    describe_record, link_cells, print_json, print_lines, print_table, with_hubspot,
};
use super::Context;
use crate::cli::RecordsCommand;
use crate::store::{organizations, Entity, Store};

pub fn run(ctx: &Context, cmd: &RecordsCommand) -> Result<()> {
    let store = Store::open(&ctx.paths.db)?;
    let links = store.links(Entity::Organization)?;
    match cmd {
        RecordsCommand::List => {
            let orgs = store.organizations()?;
            if ctx.json() {
                let all: Vec<Value> = orgs
                    .iter()
                    .map(|o| with_hubspot(o, links.get(&o.id)))
                    .collect::<Result<_>>()?;
                return print_json(&Value::Array(all));
            }
            if orgs.is_empty() {
                return print_lines(&[
                    "no organizations in the store; add them with `hubsync import organizations FILE`"
                        .into(),
                ]);
            }
            let members = organizations::member_counts(store.conn())?;
            let rows = orgs.iter().map(|o| {
                let [hubspot_id, marked, pushed] = link_cells(links.get(&o.id));
                vec![
                    o.id.clone(),
                    o.name.clone().unwrap_or_default(),
                    o.domain().unwrap_or_default(),
                    members.get(&o.id).copied().unwrap_or(0).to_string(),
                    hubspot_id,
                    marked,
                    pushed,
                ]
            });
            print_table(
                &[
                    "ID",
                    "NAME",
                    "DOMAIN",
                    "CONTACTS",
                    "HUBSPOT ID",
                    "MARKED",
                    "LAST PUSHED",
                ],
                rows,
            )
        }
        RecordsCommand::Show { id } => {
            let Some(org) = store.organization(id)? else {
                anyhow::bail!(
                    "no organization with id {id}; `hubsync organizations list` shows the ids"
                );
            };
            let record = with_hubspot(&org, links.get(id))?;
            if ctx.json() {
                print_json(&record)
            } else {
                print_lines(&describe_record(&record))
            }
        }
    }
}

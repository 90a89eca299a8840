//! `hubsync organizations list|show ID`.

use anyhow::Result;

use super::contacts::{
    link_cells, print_json_array, print_lines, print_record, print_table, with_hubspot,
};
use super::Context;
use crate::cli::RecordsCommand;
use crate::store::{organizations, Entity, Store};

const HEADER: [&str; 7] = [
    "ID",
    "NAME",
    "DOMAIN",
    "CONTACTS",
    "HUBSPOT ID",
    "MARKED",
    "LAST PUSHED",
];

pub fn run(ctx: &Context, cmd: &RecordsCommand) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let links = store.links(Entity::Organization)?;
    match cmd {
        RecordsCommand::List if ctx.json() => print_json_array(|emit| {
            organizations::each(store.conn(), |o| emit(with_hubspot(&o, links.get(&o.id))?))
        }),
        RecordsCommand::List => {
            let members = organizations::member_counts(store.conn())?;
            let mut rows = Vec::new();
            organizations::each(store.conn(), |o| {
                let [hubspot_id, marked, pushed] = link_cells(links.get(&o.id));
                let domain = o.domain().unwrap_or_default();
                let count = members.get(&o.id).copied().unwrap_or(0).to_string();
                rows.push([
                    o.id,
                    o.name.unwrap_or_default(),
                    domain,
                    count,
                    hubspot_id,
                    marked,
                    pushed,
                ]);
                Ok(())
            })?;
            if rows.is_empty() {
                return print_lines(&[
                    "no organizations in the store; add them with `hubsync import organizations FILE`",
                ]);
            }
            print_table(&HEADER, &rows)
        }
        RecordsCommand::Show { id } => {
            let Some(org) = store.organization(id)? else {
                anyhow::bail!(
                    "no organization with id {id}; `hubsync organizations list` shows the ids"
                );
            };
            print_record(ctx, &with_hubspot(&org, links.get(id))?)
        }
    }
}

//! `hubsync automate add|list|show|remove|pause|resume|run`.

use anyhow::{bail, Result};

use super::{block_on, Context};
use crate::cli::{AutomateAddArgs, AutomateCommand, MatchMode};
use crate::mapping::{Entity, Mapping};
use crate::store::automations::{self, Automation, NewAutomation};
use crate::store::Store;
use crate::sync::automations as engine;
use crate::sync::lock::RunLock;

pub fn run(ctx: &Context, cmd: &AutomateCommand) -> Result<()> {
    match cmd {
        AutomateCommand::Add(args) => add(ctx, args),
        AutomateCommand::List => list(ctx),
        AutomateCommand::Show { name } => show(ctx, name),
        AutomateCommand::Remove { name } => {
            let store = Store::open(&ctx.paths.db)?;
            if !automations::remove(store.conn(), name)? {
                bail!(unknown(name));
            }
            if ctx.json() {
                return super::print_json(
                    &serde_json::json!({"automation": name, "status": "removed"}),
                );
            }
            outln!(
                "removed automation `{name}`; records it pushed stay in HubSpot and in the list"
            );
            Ok(())
        }
        AutomateCommand::Pause { name } => set_paused(ctx, name, true),
        AutomateCommand::Resume { name } => set_paused(ctx, name, false),
        AutomateCommand::Run { name, dry_run } => run_automations(ctx, name.as_deref(), *dry_run),
    }
}

fn unknown(name: &str) -> String {
    format!("no automation named `{name}`; `hubsync automate list` shows them")
}

fn set_paused(ctx: &Context, name: &str, paused: bool) -> Result<()> {
    let store = Store::open(&ctx.paths.db)?;
    if !automations::set_paused(store.conn(), name, paused)? {
        bail!(unknown(name));
    }
    if ctx.json() {
        let status = if paused { "paused" } else { "active" };
        return super::print_json(&serde_json::json!({"automation": name, "status": status}));
    }
    outln!(
        "automation `{name}` {}",
        if paused { "paused" } else { "resumed" }
    );
    Ok(())
}

fn add(ctx: &Context, args: &AutomateAddArgs) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let entity = Entity::from(args.entity);
    if args.name.trim().is_empty() {
        bail!("the automation needs a name");
    }
    if args.sync_contacts && entity == Entity::Contact {
        bail!("--sync-contacts is for organization automations: contacts go to the list already");
    }
    if !mapping.section(entity == Entity::Contact).enabled {
        bail!(
            "{} are not enabled in the mapping file {}; set `{}.enabled: true`",
            entity.section(),
            ctx.paths.mappings.display(),
            entity.section()
        );
    }
    // Refuse bad filters before anything else: nothing is stored.
    let parsed = engine::filters(&mapping, entity, &args.filters)?;
    let needs_list = entity == Entity::Contact || args.sync_contacts;
    if needs_list && args.list.is_none() {
        bail!("--list is required: the HubSpot static contact list that matching contacts are added to");
    }
    if !needs_list && args.list.is_some() {
        bail!("--list takes contacts: add --sync-contacts to push the organizations' contacts into it");
    }
    let mut store = Store::open(&ctx.paths.db)?;
    engine::check_attribute_names(&store, &mapping, entity, &parsed)?;
    if automations::get(store.conn(), &args.name)?.is_some() {
        bail!(
            "an automation named `{}` exists; pick another name or `hubsync automate remove {}`",
            args.name,
            args.name
        );
    }
    let list = match &args.list {
        Some(spec) => Some(block_on(async {
            let client = ctx.client(mapping.file.api_version).await?;
            engine::resolve_list(&client, spec).await
        })?),
        None => None,
    };
    let new = NewAutomation {
        name: &args.name,
        entity,
        match_all: args.match_mode == MatchMode::All,
        filters: &args.filters,
        list_id: list.as_ref().map_or("", |l| l.list_id.as_str()),
        list_name: list.as_ref().map_or("", |l| l.name.as_str()),
        sync_contacts: args.sync_contacts,
    };
    if args.dry_run {
        let tx = store.conn_mut().transaction()?;
        automations::insert(&tx, &new)?;
        let a = automations::get(&tx, &args.name)?
            .ok_or_else(|| anyhow::anyhow!("automation vanished"))?;
        drop(tx); // rolled back: a dry run creates nothing
        return run_and_report(ctx, &store, &mapping, &[a], true);
    }
    automations::insert(store.conn(), &new)?;
    if !ctx.json() {
        outln!(
            "created automation `{}`{}",
            args.name,
            list.as_ref().map_or_else(String::new, |l| format!(
                " → list `{}` ({})",
                l.name, l.list_id
            ))
        );
    }
    let a = automations::get(store.conn(), &args.name)?
        .ok_or_else(|| anyhow::anyhow!("automation vanished"))?;
    if args.no_run {
        // Under --json the new automation, as `automate show` prints it.
        return if ctx.json() {
            super::print_json(&a)
        } else {
            Ok(())
        };
    }
    let _lock = RunLock::acquire(ctx.paths.data_dir(), "automate")?;
    run_and_report(ctx, &store, &mapping, &[a], false)
}

fn run_automations(ctx: &Context, name: Option<&str>, dry_run: bool) -> Result<()> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let chosen: Vec<Automation> = match name {
        Some(n) => {
            vec![automations::get(store.conn(), n)?.ok_or_else(|| anyhow::anyhow!(unknown(n)))?]
        }
        None => automations::all(store.conn())?
            .into_iter()
            .filter(|a| !a.paused)
            .collect(),
    };
    let _lock = if dry_run {
        None
    } else {
        Some(RunLock::acquire(ctx.paths.data_dir(), "automate")?)
    };
    run_and_report(ctx, &store, &mapping, &chosen, dry_run)
}

fn list(ctx: &Context) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let all = automations::all(store.conn())?;
    if ctx.json() {
        super::print_json(&all)?;
        return Ok(());
    }
    if all.is_empty() {
        outln!("no automations; `hubsync automate add` creates one");
        return Ok(());
    }
    let rows: Vec<[String; 6]> = all.iter().map(row).collect();
    out!(
        "{}",
        crate::output::table::render(
            &["NAME", "ENTITY", "FILTERS", "LIST", "STATE", "LAST RUN"],
            &rows
        )
    );
    Ok(())
}

fn row(a: &Automation) -> [String; 6] {
    [
        a.name.clone(),
        format!("{}s", a.entity),
        format!("{} of: {}", a.match_mode, a.filters.join(" | ")),
        if a.list_id.is_empty() {
            "-".into()
        } else {
            format!("{} ({})", a.list_name, a.list_id)
        },
        if a.paused {
            "paused".into()
        } else {
            "active".into()
        },
        a.last_run_at.clone().unwrap_or_else(|| "never".into()),
    ]
}

fn show(ctx: &Context, name: &str) -> Result<()> {
    let store = Store::open_existing(&ctx.paths.db)?;
    let a = automations::get(store.conn(), name)?.ok_or_else(|| anyhow::anyhow!(unknown(name)))?;
    if ctx.json() {
        super::print_json(&a)?;
        return Ok(());
    }
    outln!("name:          {}", a.name);
    outln!("entity:        {}s", a.entity);
    outln!("match:         {}", a.match_mode);
    for f in &a.filters {
        outln!("filter:        {f}");
    }
    if !a.list_id.is_empty() {
        outln!("list:          {} ({})", a.list_name, a.list_id);
    }
    if a.sync_contacts {
        outln!("sync contacts: yes");
    }
    outln!(
        "state:         {}",
        if a.paused { "paused" } else { "active" }
    );
    outln!("created:       {}", a.created_at);
    outln!(
        "last run:      {}",
        a.last_run_at.as_deref().unwrap_or("never")
    );
    Ok(())
}

/// Run automations (`automate add`, `automate run`) as one run and print the summary.
fn run_and_report(
    ctx: &Context,
    store: &Store,
    mapping: &Mapping,
    chosen: &[Automation],
    dry_run: bool,
) -> Result<()> {
    let props = crate::sync::properties::cached(store)?;
    let mut summary = crate::sync::run::start(store.conn(), "automate", None, dry_run)?;
    let bars = super::Bars::for_terminal(ctx);
    let progress = &bars;
    let result = block_on(async {
        let client = ctx.client(mapping.file.api_version).await?;
        let cx = engine::Engine {
            client: &client,
            store,
            mapping,
            props: &props,
            progress,
            pushed: false,
        };
        engine::run_all(&cx, chosen, dry_run, &mut summary).await
    });
    crate::sync::run::finish(store.conn(), &mut summary, &result)?;
    result?;
    super::print_summary(summary, ctx.json(), "automate run")
}

//! `hubsync map show|check`.

use anyhow::Result;

use super::{block_on, Context};
use crate::cli::MapCommand;
use crate::error::Exit;
use crate::hubspot::paths::ObjectType;
use crate::hubspot::properties as hs_properties;
use crate::mapping::check::{self, Properties, Severity};
use crate::mapping::ApiVersion;
use crate::mapping::Mapping;
use crate::store::{properties, Store};

pub fn run(ctx: &Context, cmd: &MapCommand) -> Result<()> {
    match cmd {
        MapCommand::Init { force } => init(ctx, *force),
        MapCommand::Show => show(ctx),
        MapCommand::Check => check_cmd(ctx),
        MapCommand::Refresh => refresh(ctx),
        MapCommand::Scaffold { fields } => scaffold(ctx, fields),
        MapCommand::Edit { fields } => edit(ctx, fields),
    }
}

/// `map init`: write the documented example mapping to the mapping path; an existing file is
/// kept unless `force`.
fn init(ctx: &Context, force: bool) -> Result<()> {
    let path = &ctx.paths.mappings;
    if path.exists() && !force {
        return Err(Exit::Failed(format!(
            "{} exists and was left alone; `hubsync map init --force` replaces it with the example",
            path.display()
        ))
        .into());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Exit::Failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    std::fs::write(path, crate::mapping::file::EXAMPLE)
        .map_err(|e| Exit::Failed(format!("cannot write {}: {e}", path.display())))?;
    if ctx.json() {
        super::print_json(&serde_json::json!({"written": path.display().to_string()}))?;
    } else {
        outln!(
            "wrote the documented example mapping to {}; edit it, then `hubsync map refresh` checks it against HubSpot",
            path.display()
        );
    }
    Ok(())
}

fn load(ctx: &Context) -> Result<(Mapping, Properties)> {
    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props = crate::sync::properties::cached(&store)?;
    Ok((mapping, props))
}

fn show(ctx: &Context) -> Result<()> {
    let (mapping, props) = load(ctx)?;
    let rows = check::table(&mapping, &props);
    if ctx.json() {
        super::print_json(&rows)?;
        return Ok(());
    }
    let header = [
        "ENTITY",
        "LOCAL FIELD",
        "TYPE",
        "DIR",
        "HUBSPOT PROPERTY",
        "HUBSPOT TYPE",
        "PULL",
        "STATUS",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.entity.to_owned(),
                r.field.clone(),
                r.ty.clone(),
                r.direction.to_owned(),
                r.property.clone().unwrap_or_else(|| "-".into()),
                r.property_type.clone().unwrap_or_else(|| "-".into()),
                r.pull.unwrap_or("-").to_owned(),
                r.status.as_str().to_owned(),
            ]
        })
        .collect();
    out!("{}", crate::output::table::render(&header, &cells));
    let problems = check::check(&mapping, &props);
    for p in problems.iter().filter(|p| p.severity == Severity::Warning) {
        errln!("{p}");
    }
    outln!("→ = read-only locally: pushed to HubSpot, never pulled.");
    Ok(())
}

/// `map edit`: one question per local field, answered on stdin.
fn edit(ctx: &Context, fields: &[String]) -> Result<()> {
    use std::io::{BufRead as _, Write as _};

    use crate::mapping::catalogue::{self, Entity};
    use crate::mapping::{compat, edit};

    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props = crate::sync::properties::cached(&store)?;
    drop(store);
    if props.contacts.is_empty() && props.companies.is_empty() {
        return Err(Exit::Failed(
            "no HubSpot properties are cached; run `hubsync map refresh` first".into(),
        )
        .into());
    }
    let mut todo = Vec::new();
    for entity in [Entity::Contact, Entity::Organization] {
        let section = mapping.section(entity == Entity::Contact);
        for f in catalogue::fields(entity, section) {
            let qualified = format!("{}.{}", entity.section(), f.path);
            let wanted = if fields.is_empty() {
                section.enabled
            } else {
                fields.iter().any(|w| *w == f.path || *w == qualified)
            };
            if wanted {
                todo.push((entity, f));
            }
        }
    }
    if todo.is_empty() {
        anyhow::bail!("no such local field; `hubsync map show` lists them");
    }
    let mut text = mapping.source.clone();
    let stdin = std::io::stdin();
    let mut input = stdin.lock().lines();
    let mut out = std::io::stdout();
    let mut changed = 0usize;
    'fields: for (entity, field) in todo {
        let current = Mapping::parse(&text, "mapping")?;
        let section = current.section(entity == Entity::Contact);
        let now = section
            .fields
            .iter()
            .find(|(k, _)| *k == field.path)
            .map(|(_, s)| s.property().to_owned());
        let taken: Vec<&str> = section
            .fields
            .iter()
            .filter(|(k, _)| *k != field.path)
            .map(|(_, s)| s.property())
            .collect();
        let mut candidates: Vec<_> = props
            .of(entity)
            .values()
            .filter(|p| compat::compatible(field.ty, p) && !p.read_only())
            .filter(|p| !entity.identity_properties().contains(&p.name.as_str()))
            .filter(|p| !taken.contains(&p.name.as_str()))
            .collect();
        candidates.sort_by(|a, b| (a.hubspot_defined, &a.name).cmp(&(b.hubspot_defined, &b.name)));
        writeln!(
            out,
            "\n{}.{} ({} {}), now: {}",
            entity.section(),
            field.path,
            field.ty,
            field.direction.arrow(),
            now.as_deref().unwrap_or("not mapped")
        )?;
        if candidates.is_empty() {
            writeln!(
                out,
                "  no compatible HubSpot property (`hubsync map scaffold {}` creates one)",
                field.path
            )?;
            continue;
        }
        for (i, p) in candidates.iter().enumerate() {
            writeln!(
                out,
                "  {:>3}) {}  {} ({}/{}){}",
                i + 1,
                p.name,
                p.label,
                p.type_,
                p.field_type,
                if p.hubspot_defined {
                    ", HubSpot-defined"
                } else {
                    ""
                }
            )?;
        }
        loop {
            write!(
                out,
                "choice [Enter keeps, a number picks, - unmaps, q saves and stops]: "
            )?;
            out.flush()?;
            let Some(line) = input.next().transpose()? else {
                writeln!(out)?;
                break 'fields;
            };
            let answer = line.trim();
            if answer.is_empty() {
                break;
            }
            if answer == "q" {
                break 'fields;
            }
            if answer == "-" {
                if now.is_some() {
                    text = edit::set_property(&text, entity, &field.path, None);
                    changed += 1;
                }
                break;
            }
            match answer
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| candidates.get(i))
            {
                Some(p) => {
                    if now.as_deref() != Some(p.name.as_str()) {
                        text = edit::set_property(&text, entity, &field.path, Some(&p.name));
                        changed += 1;
                    }
                    break;
                }
                None => writeln!(out, "  `{answer}` is not one of the choices")?,
            }
        }
    }
    if changed == 0 {
        outln!("no changes");
        return Ok(());
    }
    // Never write a file that would not load.
    Mapping::parse(&text, &ctx.paths.mappings.display().to_string())?;
    write_mapping(&ctx.paths.mappings, &text)?;
    outln!(
        "{changed} change{} written to {}",
        if changed == 1 { "" } else { "s" },
        ctx.paths.mappings.display()
    );
    check_cmd(ctx)
}

/// Create custom properties for unmapped fields, map them, then refresh and check.
fn scaffold(ctx: &Context, fields: &[String]) -> Result<()> {
    use crate::hubspot::models::{PropertyCreate, PropertyGroup, PropertyOption};
    use crate::mapping::catalogue::Entity;
    use crate::mapping::scaffold;

    let mapping = Mapping::load(&ctx.paths.mappings)?;
    let store = Store::open(&ctx.paths.db)?;
    let props = crate::sync::properties::cached(&store)?;
    if props.contacts.is_empty() && props.companies.is_empty() {
        return Err(Exit::Failed(
            "no HubSpot properties are cached; run `hubsync map refresh` first so existing properties are reused".into(),
        )
        .into());
    }
    drop(store);
    let planned = scaffold::plan(&mapping, &props, fields)?;
    if planned.is_empty() {
        outln!("every field of the enabled entities is mapped; nothing to scaffold");
        return Ok(());
    }
    let object = ObjectType::from;
    let created = block_on(async {
        let client = ctx.client(mapping.file.api_version).await?;
        let mut created = 0usize;
        for entity in [Entity::Contact, Entity::Organization] {
            let todo: Vec<_> = planned.iter().filter(|p| p.entity == entity && !p.exists).collect();
            if todo.is_empty() {
                continue;
            }
            let group = PropertyGroup {
                name: scaffold::GROUP.into(),
                label: "Community (hubsync)".into(),
                display_order: None,
            };
            hs_properties::create_group(&client, object(entity), &group).await?;
            for p in todo {
                let options = if p.kind == "bool" {
                    [("Yes", "true"), ("No", "false")]
                        .iter()
                        .enumerate()
                        .map(|(i, (label, value))| PropertyOption {
                            label: (*label).into(),
                            value: (*value).into(),
                            description: None,
                            display_order: Some(i64::try_from(i).unwrap_or(0)),
                            hidden: false,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let create = PropertyCreate {
                    name: p.property.clone(),
                    label: p.label.clone(),
                    kind: p.kind.into(),
                    field_type: p.field_type.into(),
                    group_name: scaffold::GROUP.into(),
                    description: Some(format!("The community's `{}`, kept in step by hubsync.", p.field)),
                    options,
                };
                match hs_properties::create(&client, object(entity), &create).await {
                    Ok(_) => created += 1,
                    // Made by an earlier, interrupted scaffold: reuse it.
                    Err(crate::hubspot::Error::Api(e)) if e.status == 409 => {}
                    Err(e) => return Err(e.into()),
                }
                if !ctx.json() {
                    outln!("created {} property `{}` for `{}`", entity.hubspot_object(), p.property, p.field);
                }
            }
        }
        Ok(created)
    })
    .map_err(|e| {
        if crate::error::exit_code(&e) == 4 {
            e.context(
                "`map scaffold` creates properties, which needs the scopes crm.schemas.contacts.write and crm.schemas.companies.write: run `hubsync connect --with-scaffold` (or grant them to your private app)",
            )
        } else {
            e
        }
    })?;
    let text = scaffold::add_mappings(&mapping.source, &planned);
    write_mapping(&ctx.paths.mappings, &text)?;
    if !ctx.json() {
        outln!(
            "created {created} properties and mapped {} fields in {}",
            planned.len(),
            ctx.paths.mappings.display()
        );
    }
    refresh(ctx)
}

/// The "Update attributes" step: reload HubSpot's properties, then check the mapping.
fn refresh(ctx: &Context) -> Result<()> {
    let version = Mapping::load_optional(&ctx.paths.mappings)?
        .map_or_else(ApiVersion::default, |m| m.file.api_version);
    let (contacts, companies) = block_on(async {
        let client = ctx.client(version).await?;
        let contacts = hs_properties::list(&client, ObjectType::Contacts).await?;
        let companies = hs_properties::list(&client, ObjectType::Companies).await?;
        Ok((contacts, companies))
    })?;
    let mut store = Store::open(&ctx.paths.db)?;
    let to_json = |props: &[crate::hubspot::models::Property]| -> Result<Vec<serde_json::Value>> {
        props
            .iter()
            .filter(|p| !p.archived)
            .map(|p| Ok(serde_json::to_value(p)?))
            .collect()
    };
    let n_contacts = properties::replace(store.conn_mut(), "contacts", &to_json(&contacts)?)?;
    let n_companies = properties::replace(store.conn_mut(), "companies", &to_json(&companies)?)?;
    if !ctx.json() {
        outln!("fetched {n_contacts} contact and {n_companies} company properties from HubSpot");
    }
    if ctx.paths.mappings.exists() {
        check_cmd(ctx)
    } else {
        if !ctx.json() {
            outln!(
                "no mapping file at {}; `hubsync map init` writes the documented example there",
                ctx.paths.mappings.display()
            );
        }
        Ok(())
    }
}

fn check_cmd(ctx: &Context) -> Result<()> {
    let (mapping, props) = load(ctx)?;
    let problems = check::check(&mapping, &props);
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if ctx.json() {
        super::print_json(&serde_json::json!({
            "valid": errors == 0,
            "problems": problems,
        }))?;
    } else {
        for p in &problems {
            outln!("{}: {p}", ctx.paths.mappings.display());
        }
        if errors == 0 {
            outln!("{}: mapping ok", ctx.paths.mappings.display());
        }
    }
    if errors > 0 {
        return Err(Exit::Failed(format!(
            "the mapping file has {errors} problem{}; fix {} and run `hubsync map check` again",
            if errors == 1 { "" } else { "s" },
            if errors == 1 { "it" } else { "them" }
        ))
        .into());
    }
    Ok(())
}

/// Replace the mapping file atomically (a reader never sees half a file).
fn write_mapping(path: &std::path::Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

//! `hubsync doctor`: check the installation and say what to fix. Checks the token (one cheap
//! request), the granted scopes, the mapping file against HubSpot's live properties (the cache is
//! left alone), each automation's list, the store's integrity and the run lock.

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use super::{block_on, Context};
use crate::error::{exit_code, Exit};
use crate::hubspot::auth::{self, connection_status, ConnectionStatus};
use crate::hubspot::models::Property;
use crate::hubspot::paths::ObjectType;
use crate::hubspot::properties as hs_properties;
use crate::mapping::check::{self, Properties, Severity};
use crate::mapping::property::CachedProperty;
use crate::mapping::{ApiVersion, Mapping};
use crate::store::automations::{self, Automation};
use crate::store::Store;
use crate::sync::automations::resolve_list;
use crate::sync::lock::RunLock;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Problem,
    /// Not checked because an earlier check failed (e.g. no token, so no live properties).
    Skipped,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    name: String,
    status: Outcome,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
    /// A problem with the connection (exit 4 when it is the only kind).
    #[serde(skip)]
    auth: bool,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status: Outcome::Ok,
            detail: detail.into(),
            problems: Vec::new(),
            fix: None,
            auth: false,
        }
    }

    fn problem(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status: Outcome::Problem,
            detail: detail.into(),
            problems: Vec::new(),
            fix: Some(fix.into()),
            auth: false,
        }
    }

    fn skipped(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check {
            name: name.into(),
            status: Outcome::Skipped,
            detail: detail.into(),
            problems: Vec::new(),
            fix: None,
            auth: false,
        }
    }

    fn auth(mut self) -> Self {
        self.auth = true;
        self
    }
}

#[derive(Debug, Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

pub fn run(ctx: &Context) -> Result<()> {
    // Read the token store before the async runtime starts (the keyring may be asked).
    let connection = connection_status(ctx.token_store(), &ctx.paths);
    let mapping = load_mapping(ctx);
    let store = Store::open(&ctx.paths.db);

    let mut checks = Vec::new();
    let store_check = match &store {
        Ok(s) => integrity(s),
        Err(e) => Check::problem(
            "store",
            format!("cannot open {}: {e:#}", ctx.paths.db.display()),
            "check the path (HUBSYNC_DB or --db) and its permissions; if the file is damaged, restore it from a backup",
        ),
    };
    let automations = match &store {
        Ok(s) => automations::all(s.conn()).map_err(|e| format!("{e:#}")),
        Err(_) => Err("the store could not be opened".to_owned()),
    };

    checks.extend(remote_checks(ctx, &connection, &mapping, &automations));
    checks.push(store_check);
    checks.push(lock(ctx));
    if let Ok(s) = &store {
        if let Some(c) = stale_runs(ctx, s) {
            checks.push(c);
        }
    }

    let report = Report {
        ok: checks.iter().all(|c| c.status != Outcome::Problem),
        checks,
    };
    if ctx.json() {
        super::print_json(&report)?;
    } else {
        out!("{}", render(&report));
    }
    let problems: Vec<&Check> = report
        .checks
        .iter()
        .filter(|c| c.status == Outcome::Problem)
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    let names = problems
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let msg = format!(
        "{} check{} need{} fixing ({names}); each is listed above with its fix",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        if problems.len() == 1 { "s" } else { "" },
    );
    if problems.iter().any(|c| c.auth) {
        Err(Exit::Auth(msg).into())
    } else {
        Err(Exit::Failed(msg).into())
    }
}

/// The mapping file, `None` when there is none, or why it can't be read.
fn load_mapping(ctx: &Context) -> Result<Option<Mapping>, String> {
    Mapping::load_optional(&ctx.paths.mappings).map_err(|e| format!("{e:#}"))
}

/// The checks that ask HubSpot: token, scopes, mapping, automation lists.
fn remote_checks(
    ctx: &Context,
    connection: &ConnectionStatus,
    mapping: &Result<Option<Mapping>, String>,
    automations: &Result<Vec<Automation>, String>,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let version = match mapping {
        Ok(Some(m)) => m.file.api_version,
        _ => ApiVersion::default(),
    };
    if !connection.connected {
        let why = connection
            .problem
            .clone()
            .unwrap_or_else(|| "not connected to HubSpot".to_owned());
        checks.push(
            Check::problem(
                "token",
                why,
                "run `hubsync connect` (or set HUBSPOT_ACCESS_TOKEN)",
            )
            .auth(),
        );
        checks.push(Check::skipped("scopes", "not connected"));
        checks.push(mapping_without_hubspot(ctx, mapping));
        checks.push(Check::skipped("automations", "not connected"));
        return checks;
    }

    let outcome = block_on(async {
        let client = ctx.client(version).await?;
        let token = auth::verify_static(&client)
            .await
            .map_err(anyhow::Error::from);
        if let Err(e) = token {
            return Ok(Remote::TokenFailed(e));
        }
        let props = async {
            let contacts = hs_properties::list(&client, ObjectType::Contacts).await?;
            let companies = hs_properties::list(&client, ObjectType::Companies).await?;
            anyhow::Ok((contacts, companies))
        }
        .await;
        let mut lists = Vec::new();
        if let Ok(all) = automations {
            for a in all {
                let r = resolve_list(&client, &a.list_id).await;
                lists.push((a.clone(), r));
            }
        }
        Ok(Remote::Checked { props, lists })
    });

    let (props, lists) = match outcome {
        Err(e) | Ok(Remote::TokenFailed(e)) => {
            let auth = exit_code(&e) == 4;
            let fix = if auth {
                "run `hubsync connect` again (or set a valid HUBSPOT_ACCESS_TOKEN)"
            } else {
                "check the network and https://status.hubspot.com, then run `hubsync doctor` again"
            };
            let mut c = Check::problem("token", format!("{e:#}"), fix);
            if auth {
                c = c.auth();
            }
            checks.push(c);
            checks.push(Check::skipped("scopes", "the token was not accepted"));
            checks.push(mapping_without_hubspot(ctx, mapping));
            checks.push(Check::skipped("automations", "the token was not accepted"));
            return checks;
        }
        Ok(Remote::Checked { props, lists }) => (props, lists),
    };

    let who = connection.portal_id.map_or_else(
        || "a private-app token".to_owned(),
        |p| format!("portal {p}"),
    );
    checks.push(Check::ok(
        "token",
        format!(
            "HubSpot accepted the token ({who}, token store: {})",
            connection.token_store
        ),
    ));
    checks.push(scopes(connection));
    checks.push(mapping_check(ctx, mapping, props));
    checks.extend(automation_checks(automations, lists));
    checks
}

enum Remote {
    TokenFailed(anyhow::Error),
    Checked {
        props: Result<(Vec<Property>, Vec<Property>)>,
        lists: Vec<(Automation, Result<crate::hubspot::models::List>)>,
    },
}

fn scopes(c: &ConnectionStatus) -> Check {
    if c.token_store == "env" {
        return Check::ok(
            "scopes",
            "HUBSPOT_ACCESS_TOKEN is a private-app token: a missing scope shows when a command needs it",
        );
    }
    if c.missing_scopes.is_empty() {
        return Check::ok("scopes", "every scope hubsync needs is granted");
    }
    Check::problem(
        "scopes",
        format!("HubSpot did not grant {}", c.missing_scopes.join(", ")),
        "add the scopes to the HubSpot app and run `hubsync connect` again",
    )
    .auth()
}

fn mapping_without_hubspot(ctx: &Context, mapping: &Result<Option<Mapping>, String>) -> Check {
    match mapping {
        Ok(Some(_)) => Check::skipped(
            "mapping",
            "not checked against HubSpot's properties without a working connection",
        ),
        _ => mapping_file_problem(ctx, mapping)
            .unwrap_or_else(|| Check::skipped("mapping", "not checked")),
    }
}

/// The mapping problem that needs no HubSpot: no file, or a file that can't be read.
fn mapping_file_problem(ctx: &Context, mapping: &Result<Option<Mapping>, String>) -> Option<Check> {
    let path = ctx.paths.mappings.display();
    match mapping {
        Ok(Some(_)) => None,
        Ok(None) => Some(Check::problem(
            "mapping",
            format!("no mapping file at {path}"),
            "`hubsync map init` writes the documented example there (or set HUBSYNC_MAPPINGS); edit it",
        )),
        Err(e) => Some(Check::problem(
            "mapping",
            e.clone(),
            format!("fix {path} and run `hubsync doctor` again"),
        )),
    }
}

fn mapping_check(
    ctx: &Context,
    mapping: &Result<Option<Mapping>, String>,
    props: Result<(Vec<Property>, Vec<Property>)>,
) -> Check {
    if let Some(c) = mapping_file_problem(ctx, mapping) {
        return c;
    }
    let Ok(Some(mapping)) = mapping else {
        return Check::skipped("mapping", "not checked");
    };
    let live = props.and_then(|(contacts, companies)| {
        Ok(Properties::new(cached(&contacts)?, cached(&companies)?))
    });
    let live = match live {
        Ok(l) => l,
        Err(e) => {
            return Check::problem(
                "mapping",
                format!("cannot read HubSpot's properties: {e:#}"),
                "run `hubsync doctor` again; if it persists, check the connection's scopes",
            )
        }
    };
    let problems: Vec<String> = check::check(mapping, &live)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    let path = ctx.paths.mappings.display();
    if problems.is_empty() {
        return Check::ok(
            "mapping",
            format!("{path} matches HubSpot's current properties"),
        );
    }
    let mut c = Check::problem(
        "mapping",
        format!(
            "{path} has {} problem{} against HubSpot's current properties",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ),
        "edit the mapping file (or create the property in HubSpot), then run `hubsync map refresh`",
    );
    c.problems = problems;
    c
}

/// HubSpot's properties as the mapping check reads them (archived ones left out, as the cache).
fn cached(props: &[Property]) -> Result<Vec<CachedProperty>> {
    props
        .iter()
        .filter(|p| !p.archived)
        .map(|p| Ok(serde_json::from_value(serde_json::to_value(p)?)?))
        .collect()
}

fn automation_checks(
    automations: &Result<Vec<Automation>, String>,
    lists: Vec<(Automation, Result<crate::hubspot::models::List>)>,
) -> Vec<Check> {
    match automations {
        Err(e) => return vec![Check::skipped("automations", format!("not read: {e}"))],
        Ok(all) if all.is_empty() => return vec![Check::ok("automations", "none defined")],
        Ok(_) => {}
    }
    lists
        .into_iter()
        .map(|(a, r)| {
            let name = format!("automation {}", a.name);
            let shown = if a.list_name.is_empty() {
                a.list_id.clone()
            } else {
                format!("{} ({})", a.list_name, a.list_id)
            };
            match r {
                Ok(l) => Check::ok(name, format!("list {} ({}) is a static contact list", l.name, l.list_id)),
                Err(e) if exit_code(&e) == 4 => Check::problem(
                    name,
                    format!("list {shown} could not be checked: {e:#}"),
                    "run `hubsync connect` again",
                )
                .auth(),
                Err(e) => Check::problem(
                    name,
                    format!("list {shown}: {e:#}"),
                    format!(
                        "point the automation at a static contact list: `hubsync automate remove {0}`, then `hubsync automate add {0} ... --list <static list>`",
                        a.name
                    ),
                ),
            }
        })
        .collect()
}

fn integrity(store: &Store) -> Check {
    match store.integrity_problems() {
        Ok(r) if r.is_empty() => Check::ok("store", "integrity check passed".to_owned()),
        Ok(r) => {
            let mut c = Check::problem(
                "store",
                "the store is damaged",
                "restore the store file from a backup; or move it away, run `hubsync import` again and `hubsync pull` to re-link records",
            );
            c.problems = r;
            c
        }
        Err(e) => Check::problem(
            "store",
            format!("cannot check the store: {e}"),
            "restore the store file from a backup",
        ),
    }
}

/// Runs marked running while no process holds the lock: their process ended without closing
/// them (killed, or the machine stopped).
fn stale_runs(ctx: &Context, store: &Store) -> Option<Check> {
    if RunLock::is_held(ctx.paths.data_dir()) {
        return None;
    }
    let stale: Vec<String> = crate::store::runs::recent(store.conn(), 50)
        .ok()?
        .into_iter()
        .filter(|r| r.status == "running")
        .map(|r| format!("#{} ({})", r.id, r.kind))
        .collect();
    if stale.is_empty() {
        return None;
    }
    Some(Check::problem(
        "runs",
        format!(
            "run {} is marked running but no hubsync process is running it: it was killed or the machine stopped",
            stale.join(", ")
        ),
        "run the same command (or `hubsync sync`) again: it finishes the work and closes the old run; nothing is sent twice",
    ))
}

/// A run holding the lock longer than this is probably stuck (cron runs every few hours).
const STUCK_AFTER_HOURS: i64 = 6;

fn lock(ctx: &Context) -> Check {
    match RunLock::acquire(ctx.paths.data_dir(), "doctor") {
        Ok(held) => {
            drop(held);
            Check::ok("lock", "free")
        }
        Err(e) if exit_code(&e) == 75 => {
            let holder = RunLock::holder(ctx.paths.data_dir());
            let held_for = holder
                .as_ref()
                .and_then(|h| h.since)
                .map(|t| chrono::Utc::now().signed_duration_since(t));
            let holder = holder.map_or_else(String::new, |h| h.who);
            match held_for {
                Some(d) if d.num_hours() < STUCK_AFTER_HOURS => Check::ok(
                    "lock",
                    format!(
                        "held by a run in progress ({}, for {} min); other runs wait for it",
                        holder.trim(),
                        d.num_minutes().max(0)
                    ),
                ),
                Some(d) => Check::problem(
                    "lock",
                    format!(
                        "held for {} hours by {}: that run looks stuck",
                        d.num_hours(),
                        holder.trim()
                    ),
                    "check that process; if it is stuck, stop it (a stopped run releases the lock, and the next run resumes)",
                ),
                // No start time: a run writing or clearing its details right now.
                None => Check::ok(
                    "lock",
                    "held by a run that is starting or finishing; other runs wait for it",
                ),
            }
        }
        Err(e) => Check::problem(
            "lock",
            format!("{e:#}"),
            format!("make {} writable", ctx.paths.data_dir().display()),
        ),
    }
}

fn render(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.checks {
        use crate::output::{paint, BAD, DIM, GOOD};
        let tag = match c.status {
            Outcome::Ok => paint(GOOD, "ok     "),
            Outcome::Problem => paint(BAD, "PROBLEM"),
            Outcome::Skipped => paint(DIM, "skipped"),
        };
        let _ = writeln!(out, "{tag}  {}: {}", c.name, c.detail);
        for p in &c.problems {
            let _ = writeln!(out, "           {p}");
        }
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "         fix: {fix}");
        }
    }
    if r.ok {
        let _ = writeln!(out, "everything looks fine");
    }
    out
}

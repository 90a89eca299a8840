//! Scenario `import`: N generated contacts (members of M organizations, imported first and not
//! timed) in one NDJSON file, then one `hubsync import contacts`; every contact must be in the
//! store afterwards. No HubSpot request is made.

use anyhow::{Context as _, Result};

use super::push::{contact, measure, org, write_ndjson};
use super::{Args, Bench, Report};
use hubsync::store::Store;

pub fn run(bench: &Bench, args: &Args) -> Result<Report> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("mappings.example.yaml"), bench.mappings())?;
    let dir = bench.dir.path();
    let orgs_file = dir.join("orgs.ndjson");
    let contacts_file = dir.join("contacts.ndjson");
    write_ndjson(&orgs_file, (0..args.orgs).map(org))?;
    write_ndjson(
        &contacts_file,
        (0..args.contacts).map(|i| contact(i, args.orgs)),
    )?;
    bench.run_ok(&[
        "import",
        "organizations",
        orgs_file.to_str().context("path")?,
    ])?;
    let file = contacts_file.to_str().context("path")?;
    let mut report = measure(bench, args, &["import", "contacts", file, "--json"])?;
    let store = Store::open_existing(&bench.db())?;
    let held: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))?;
    report.lost = args
        .contacts
        .saturating_sub(usize::try_from(held).unwrap_or(0));
    report
        .notes
        .push("import makes no HubSpot request; wall and CPU are the whole import".into());
    Ok(report)
}

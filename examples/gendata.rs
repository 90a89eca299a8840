//! Generate contacts and organizations to import: a large deterministic data set for measuring
//! `hubsync import`, or (with `--sample`) the small realistic community in `examples/data/`.
//!
//! ```text
//! cargo run --release --example gendata -- --contacts 200000 --orgs 2000 --out /tmp/data
//! cargo run --example gendata -- --sample --out examples/data
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Parser;
use serde_json::{json, Map, Value};

/// Generate import files for hubsync.
#[derive(Debug, Parser)]
struct Args {
    /// Number of contacts
    #[arg(long, default_value_t = 1000)]
    contacts: usize,
    /// Number of organizations
    #[arg(long, default_value_t = 50)]
    orgs: usize,
    /// Output directory (created if missing)
    #[arg(long)]
    out: PathBuf,
    /// Contacts file format: json (array), ndjson or csv
    #[arg(long, default_value = "ndjson")]
    format: String,
    /// Random seed (the same seed gives the same files)
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Write the realistic sample community (contacts.json, organizations.json, and small
    /// contacts.csv / contacts.ndjson subsets) instead
    #[arg(long)]
    sample: bool,
}

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n as u64)).unwrap_or(0)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Guido",
    "Radia",
    "Tim",
    "Hedy",
    "Alan",
    "Katherine",
    "Bjarne",
    "Anita",
    "Yukihiro",
    "Sophie",
    "Rasmus",
    "Joan",
    "Zoë",
    "José",
    "Chloé",
    "Søren",
    "Ngozi",
    "Priya",
    "Mateus",
    "Aiko",
    "Oluwaseun",
    "Ingrid",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "van Rossum",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Turing",
    "Johnson",
    "Stroustrup",
    "Borg",
    "Matsumoto",
    "Wilson",
    "Lerdorf",
    "Clarke",
    "Ångström",
    "Núñez",
    "Dubois",
    "Kierkegaard",
    "Okonjo",
    "Raman",
    "Silva",
    "Tanaka",
    "Adeyemi",
    "Larsen",
];
const CJK: &[&str] = &["李雷", "韩梅梅", "王芳", "张伟", "佐藤 花子", "김민준"];
const TITLES: &[&str] = &[
    "Software Engineer",
    "Developer Advocate",
    "CTO",
    "Staff Engineer",
    "Engineering Manager",
    "Data Scientist",
    "Founder",
    "Product Manager",
    "SRE",
    "Student",
];
const SENIORITY: &[&str] = &["Junior", "Mid", "Senior", "Lead", "Executive"];
const LOCATIONS: &[&str] = &[
    "Berlin, Germany",
    "Lagos, Nigeria",
    "São Paulo, Brazil",
    "Bengaluru, India",
    "Tokyo, Japan",
    "Toronto, Canada",
    "Austin, USA",
    "Paris, France",
    "Stockholm, Sweden",
    "Shanghai, China",
];
const TAGS: &[&str] = &[
    "champion",
    "contributor",
    "maintainer",
    "speaker",
    "newcomer",
    "sponsor",
    "mentor",
    "hacktoberfest",
];
const MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "proton.me",
    "outlook.com",
    "fastmail.com",
    "yahoo.co.jp",
];
const INDUSTRIES: &[&str] = &[
    "COMPUTER_SOFTWARE",
    "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "FINANCIAL_SERVICES",
    "EDUCATION_MANAGEMENT",
    "INTERNET",
];
const SIZES: &[&str] = &[
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
];

/// Hand-picked organizations for the sample: (name, website), with the awkward cases users have.
const SAMPLE_ORGS: &[(&str, Option<&str>)] = &[
    ("Acme Labs", Some("https://www.acmelabs.io")),
    ("ACME labs", Some("http://acmelabs.io/about")),
    ("Globex", Some("globex.com")),
    ("Initech", Some("https://initech.com/en/")),
    ("Umbrella Open Source", Some("https://WWW.Umbrella-OSS.org")),
    ("Hooli", Some("https://hooli.xyz")),
    ("Pied Piper", Some("piedpiper.com/")),
    (
        "Stark Industries",
        Some("https://www.starkindustries.com:443/"),
    ),
    ("Wayne Enterprises", Some("https://wayne.enterprises")),
    ("Tyrell Corporation", None),
    ("Soylent", Some("soylent.example")),
    (
        "Cyberdyne Systems",
        Some("https://cyberdyne.io/careers?ref=gitmesh"),
    ),
    ("Nakatomi Trading", Some("www.nakatomi.jp")),
    ("Oscorp", None),
    ("Massive Dynamic", Some("https://blog.massivedynamic.com")),
    ("Vandelay Industries", Some("http://vandelay.com")),
    ("Wonka Industries", Some("https://wonka.com")),
    ("Gringotts", Some("https://gringotts.bank")),
    ("Monsters, Inc.", Some("https://monstersinc.com")),
    ("Dunder Mifflin", Some("dundermifflin.com")),
    ("Aperture Science", Some("https://aperturescience.com")),
    ("Black Mesa", Some("https://www.blackmesa.org/")),
    ("Weyland-Yutani", Some("https://weyland-yutani.co")),
    ("Ñandú Software", Some("https://nandu.com.ar")),
    ("Zürich Data AG", Some("https://zuerich-data.ch")),
    ("北京开源科技", Some("https://kaiyuan.cn")),
    ("Tokyo OSS 株式会社", Some("https://tokyo-oss.jp")),
    ("Lagos Devs", Some("https://lagosdevs.ng")),
    (
        "  Open   Collective Friends ",
        Some("https://ocfriends.org"),
    ),
    ("Bluth Company", None),
    ("Prestige Worldwide", Some("https://prestige-worldwide.biz")),
    ("Sterling Cooper", Some("https://sterlingcooper.com")),
    ("Los Pollos Hermanos", Some("https://lospolloshermanos.com")),
    ("Krusty Krab", Some("krustykrab.sea")),
    ("Hogwarts School", Some("https://www.hogwarts.edu")),
    ("hooli", Some("https://hooli.xyz/careers")),
];

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    if args.sample {
        sample(&args.out)
    } else {
        bulk(&args)
    }
}

fn organization(rng: &mut Rng, i: usize, name: &str, website: Option<&str>) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(format!("org-{i:05}")));
    o.insert("name".into(), json!(name));
    if let Some(w) = website {
        o.insert("website".into(), json!(w));
    }
    if rng.chance(80) {
        o.insert(
            "description".into(),
            json!(format!("{} builds open-source tools.", name.trim())),
        );
    }
    o.insert("industry".into(), json!(rng.pick(INDUSTRIES)));
    o.insert("size".into(), json!(rng.pick(SIZES)));
    o.insert("location".into(), json!(rng.pick(LOCATIONS)));
    if rng.chance(70) {
        o.insert("employees".into(), json!(5 + rng.below(5000)));
    }
    if rng.chance(60) {
        o.insert("founded".into(), json!(1970 + rng.below(55)));
    }
    let slug: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    if !slug.is_empty() && rng.chance(70) {
        o.insert("github".into(), json!(slug));
    }
    o.insert("memberCount".into(), json!(rng.below(400)));
    o.insert("activityCount".into(), json!(rng.below(20000)));
    o.insert("joinedAt".into(), json!(datetime(rng, 2019, 2023)));
    o.insert("lastActive".into(), json!(datetime(rng, 2024, 2025)));
    o.insert(
        "tags".into(),
        json!([rng.pick(&["partner", "sponsor", "prospect", "customer"])]),
    );
    if rng.chance(30) {
        o.insert("emails".into(), json!([format!("hello@{slug}.com")]));
    }
    Value::Object(o)
}

fn datetime(rng: &mut Rng, from: usize, to: usize) -> String {
    let year = from + rng.below(to - from + 1);
    let offset = rng.pick(&["Z", "+02:00", "-05:00", "+09:00"]);
    format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}{offset}",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

fn contact(rng: &mut Rng, i: usize, org_ids: &[String]) -> Value {
    let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
    let name = if rng.chance(4) {
        rng.pick(CJK).to_owned()
    } else {
        format!("{first} {last}")
    };
    let handle: String = format!("{first}{last}{i}")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let mut c = Map::new();
    c.insert("id".into(), json!(format!("c-{i:06}")));
    let emails: Vec<String> = match rng.below(10) {
        0 => Vec::new(),
        1 => vec![format!(
            "{}@{}",
            handle.to_uppercase(),
            rng.pick(MAIL_DOMAINS)
        )],
        2 | 3 => vec![
            format!("{handle}@{}", rng.pick(MAIL_DOMAINS)),
            format!("{handle}@work.example"),
        ],
        4 => vec![
            format!("{handle}@{}", rng.pick(MAIL_DOMAINS)),
            format!("{handle}+oss@{}", rng.pick(MAIL_DOMAINS)),
            format!("{}.{handle}@university.edu", first.to_lowercase()),
        ],
        _ => vec![format!("{handle}@{}", rng.pick(MAIL_DOMAINS))],
    };
    if !emails.is_empty() || rng.chance(50) {
        c.insert("emails".into(), json!(emails));
    }
    c.insert("displayName".into(), json!(name));
    let mut ids = Map::new();
    ids.insert("github".into(), json!(handle));
    for (platform, p) in [("twitter", 40), ("linkedin", 35), ("discord", 25)] {
        if rng.chance(p) {
            ids.insert(platform.into(), json!(format!("{handle}_{platform}")));
        }
    }
    c.insert("identities".into(), Value::Object(ids));
    let mut attrs = Map::new();
    if rng.chance(80) {
        attrs.insert("jobTitle".into(), json!(rng.pick(TITLES)));
    }
    if rng.chance(30) {
        attrs.insert(
            "bio".into(),
            json!(format!(
                "{} who likes {}.",
                rng.pick(TITLES),
                rng.pick(TAGS)
            )),
        );
    }
    if rng.chance(70) {
        attrs.insert("location".into(), json!(rng.pick(LOCATIONS)));
    }
    if rng.chance(20) {
        attrs.insert("url".into(), json!(format!("https://{handle}.dev")));
    }
    if rng.chance(75) {
        attrs.insert("seniorityLevel".into(), json!(rng.pick(SENIORITY)));
    }
    if rng.chance(60) {
        attrs.insert("isHiring".into(), json!(rng.chance(25)));
    }
    c.insert("attributes".into(), Value::Object(attrs));
    if !org_ids.is_empty() && rng.chance(70) {
        let mut orgs = vec![org_ids[rng.below(org_ids.len())].clone()];
        if rng.chance(10) {
            let other = org_ids[rng.below(org_ids.len())].clone();
            if other != orgs[0] {
                orgs.push(other);
            }
        }
        c.insert("organizations".into(), json!(orgs));
    }
    c.insert("score".into(), json!(rng.below(11)));
    c.insert("reach".into(), json!(rng.below(50_000)));
    c.insert("activityCount".into(), json!(rng.below(2_000)));
    c.insert("activeDaysCount".into(), json!(rng.below(365)));
    if rng.chance(60) {
        c.insert(
            "averageSentiment".into(),
            json!(f64::from(u32::try_from(rng.below(100)).unwrap_or(0)) / 100.0),
        );
    }
    c.insert(
        "numberOfOpenSourceContributions".into(),
        json!(rng.below(500)),
    );
    c.insert("joinedAt".into(), json!(datetime(rng, 2018, 2024)));
    c.insert("lastActive".into(), json!(datetime(rng, 2024, 2025)));
    c.insert("createdAt".into(), json!(datetime(rng, 2018, 2024)));
    let tags: Vec<&str> = (0..rng.below(4)).map(|_| rng.pick(TAGS)).collect();
    let mut tags_unique: Vec<&str> = Vec::new();
    for t in tags {
        if !tags_unique.contains(&t) {
            tags_unique.push(t);
        }
    }
    c.insert("tags".into(), json!(tags_unique));
    Value::Object(c)
}

fn writer(dir: &Path, name: &str) -> Result<BufWriter<File>> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::with_capacity(1 << 20, file))
}

/// A JSON array, one element per line (diff-friendly and still small).
fn write_array(dir: &Path, name: &str, items: impl Iterator<Item = Value>) -> Result<()> {
    let mut w = writer(dir, name)?;
    w.write_all(b"[\n")?;
    for (i, item) in items.enumerate() {
        if i > 0 {
            w.write_all(b",\n")?;
        }
        w.write_all(b"  ")?;
        serde_json::to_writer(&mut w, &item)?;
    }
    w.write_all(b"\n]\n")?;
    w.flush()?;
    Ok(())
}

fn write_ndjson(dir: &Path, name: &str, items: impl Iterator<Item = Value>) -> Result<()> {
    let mut w = writer(dir, name)?;
    for item in items {
        serde_json::to_writer(&mut w, &item)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "emails",
    "displayName",
    "identities.github",
    "identities.twitter",
    "attributes.jobTitle",
    "attributes.seniorityLevel",
    "attributes.isHiring",
    "organizations",
    "score",
    "joinedAt",
    "tags",
];

fn write_csv(dir: &Path, name: &str, items: impl Iterator<Item = Value>) -> Result<()> {
    let mut w = csv::Writer::from_writer(writer(dir, name)?);
    w.write_record(CSV_COLUMNS)?;
    for item in items {
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|col| {
                let v = col
                    .split('.')
                    .try_fold(&item, |v, k| v.get(k))
                    .unwrap_or(&Value::Null);
                match v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(";"),
                    v => v.to_string(),
                }
            })
            .collect();
        w.write_record(&row)?;
    }
    w.flush()?;
    Ok(())
}

fn bulk(args: &Args) -> Result<()> {
    let mut rng = Rng(args.seed);
    let orgs: Vec<Value> = (0..args.orgs)
        .map(|i| {
            let name = format!(
                "{} {}",
                rng.pick(LAST),
                rng.pick(&["Labs", "Inc", "GmbH", "Systems", "Cloud"])
            );
            let site = format!("https://www.org{i}.example");
            organization(&mut rng, i, &name, Some(&site))
        })
        .collect();
    let org_ids: Vec<String> = orgs
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    write_array(&args.out, "organizations.json", orgs.into_iter())?;
    let contacts = (0..args.contacts).map(|i| contact(&mut rng, i, &org_ids));
    match args.format.as_str() {
        "json" => write_array(&args.out, "contacts.json", contacts)?,
        "ndjson" => write_ndjson(&args.out, "contacts.ndjson", contacts)?,
        "csv" => write_csv(&args.out, "contacts.csv", contacts)?,
        other => anyhow::bail!("unknown format {other}; use json, ndjson or csv"),
    }
    println!(
        "wrote {} organizations and {} contacts ({}) to {}",
        args.orgs,
        args.contacts,
        args.format,
        args.out.display()
    );
    Ok(())
}

fn sample(out: &Path) -> Result<()> {
    let mut rng = Rng(2024);
    let orgs: Vec<Value> = SAMPLE_ORGS
        .iter()
        .enumerate()
        .map(|(i, (name, site))| organization(&mut rng, i + 1, name, *site))
        .collect();
    let org_ids: Vec<String> = orgs
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    let mut contacts: Vec<Value> = (1..=300).map(|i| contact(&mut rng, i, &org_ids)).collect();
    // A few people everyone recognises in the docs.
    let named = [
        (0, "Zoë Ångström", "zoe@angstrom.se", "zoeangstrom"),
        (1, "李雷", "LiLei@Example.CN", "lilei"),
        (2, "José Núñez", "jose.nunez@example.mx", "josenunez"),
    ];
    for (i, name, email, github) in named {
        contacts[i]["displayName"] = json!(name);
        contacts[i]["emails"] = json!([email]);
        contacts[i]["identities"]["github"] = json!(github);
    }
    write_array(out, "organizations.json", orgs.into_iter())?;
    write_array(out, "contacts.json", contacts.iter().cloned())?;
    write_ndjson(out, "contacts.ndjson", contacts.iter().take(20).cloned())?;
    write_csv(out, "contacts.csv", contacts.iter().take(20).cloned())?;
    println!(
        "wrote {} organizations and {} contacts to {}",
        SAMPLE_ORGS.len(),
        contacts.len(),
        out.display()
    );
    Ok(())
}

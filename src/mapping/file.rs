//! The mapping file (SPEC §5): the YAML model, loading, and line lookup for error messages.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::types::ValueType;

/// API version used in HubSpot paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ApiVersion {
    /// Date-versioned paths, e.g. `/crm/objects/2026-03/contacts`.
    #[default]
    #[serde(rename = "2026-03")]
    V2026_03,
    /// Legacy paths, e.g. `/crm/v3/objects/contacts`.
    #[serde(rename = "v3")]
    V3,
}

impl ApiVersion {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2026_03 => "2026-03",
            ApiVersion::V3 => "v3",
        }
    }
}

/// How data-in treats a mapped field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullPolicy {
    /// A non-empty HubSpot value replaces the local value.
    #[default]
    Overwrite,
    /// A non-empty HubSpot value is written only when the local value is empty.
    FillEmpty,
    /// Never pulled.
    Never,
}

impl PullPolicy {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Overwrite => "overwrite",
            PullPolicy::FillEmpty => "fill-empty",
            PullPolicy::Never => "never",
        }
    }
}

/// Whether push sends a mapped field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushPolicy {
    /// Sent when the local value moved (the default).
    #[default]
    Always,
    /// Never sent: the field is pull-only, HubSpot owns it.
    Never,
}

/// Which value wins when a field was edited on both sides since they last agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// HubSpot's value (the default).
    #[default]
    Hubspot,
    /// The local value, which is then pushed.
    Local,
    /// The later edit: the local record's last change against HubSpot's timestamp for the
    /// property.
    Newest,
}

impl ConflictPolicy {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::Hubspot => "hubspot",
            ConflictPolicy::Local => "local",
            ConflictPolicy::Newest => "newest",
        }
    }
}

/// One mapped field: short form `field: property` or long form with `property:`, `pull:`,
/// `push:` and `conflict:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSpec {
    Short(String),
    Long {
        property: String,
        pull: Option<PullPolicy>,
        push: Option<PushPolicy>,
        conflict: Option<ConflictPolicy>,
    },
}

/// The long form, read with the parser's own errors (an unknown key or a bad policy value is
/// named with its line and the allowed values).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LongSpec {
    property: String,
    #[serde(default)]
    pull: Option<PullPolicy>,
    #[serde(default)]
    push: Option<PushPolicy>,
    #[serde(default)]
    conflict: Option<ConflictPolicy>,
}

impl<'de> Deserialize<'de> for FieldSpec {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = FieldSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a HubSpot property name, or a map with `property:` and optionally `pull:`, `push:`, `conflict:`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<FieldSpec, E> {
                Ok(FieldSpec::Short(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<FieldSpec, A::Error> {
                let l = LongSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(FieldSpec::Long {
                    property: l.property,
                    pull: l.pull,
                    push: l.push,
                    conflict: l.conflict,
                })
            }
        }
        de.deserialize_any(V)
    }
}

impl FieldSpec {
    #[must_use]
    pub fn property(&self) -> &str {
        match self {
            FieldSpec::Short(p) | FieldSpec::Long { property: p, .. } => p,
        }
    }

    #[must_use]
    pub fn pull(&self) -> PullPolicy {
        match self {
            FieldSpec::Short(_) => PullPolicy::Overwrite,
            FieldSpec::Long { pull, .. } => pull.unwrap_or_default(),
        }
    }

    #[must_use]
    pub fn push(&self) -> PushPolicy {
        match self {
            FieldSpec::Short(_) => PushPolicy::Always,
            FieldSpec::Long { push, .. } => push.unwrap_or_default(),
        }
    }

    #[must_use]
    pub fn conflict(&self) -> ConflictPolicy {
        match self {
            FieldSpec::Short(_) => ConflictPolicy::Hubspot,
            FieldSpec::Long { conflict, .. } => conflict.unwrap_or_default(),
        }
    }
}

/// The `contacts:` or `organizations:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitySection {
    #[serde(default)]
    pub enabled: bool,
    /// Declared custom attributes and their types (`attributes.<name>`).
    #[serde(default)]
    pub attributes: BTreeMap<String, ValueType>,
    /// Local field → HubSpot property, in file order.
    #[serde(default, deserialize_with = "ordered_fields")]
    pub fields: Vec<(String, FieldSpec)>,
}

fn ordered_fields<'de, D>(de: D) -> std::result::Result<Vec<(String, FieldSpec)>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    // A map that keeps file order and lets duplicates through, so `check` can report them.
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<(String, FieldSpec)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of local field to HubSpot property")
        }
        fn visit_unit<E>(self) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, FieldSpec>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    de.deserialize_any(V)
}

fn default_version() -> u32 {
    1
}

fn default_refresh() -> String {
    "8h".to_owned()
}

/// The whole mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    #[serde(default = "default_version")]
    pub version: u32,
    #[serde(default)]
    pub api_version: ApiVersion,
    #[serde(default = "default_refresh")]
    pub refresh_period: String,
    #[serde(default)]
    pub contacts: EntitySection,
    #[serde(default)]
    pub organizations: EntitySection,
}

impl Default for MappingFile {
    fn default() -> Self {
        Self {
            version: 1,
            api_version: ApiVersion::default(),
            refresh_period: default_refresh(),
            contacts: EntitySection::default(),
            organizations: EntitySection::default(),
        }
    }
}

/// Parse a period like `8h`, `30m`, `1d`, `90s`.
/// The longest refresh period accepted (a year): date arithmetic with it can't overflow.
const MAX_PERIOD_SECS: u64 = 365 * 86_400;

pub fn parse_period(text: &str) -> Result<std::time::Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().map_err(|_| {
        anyhow::anyhow!("`{text}` is not a period: use a number with s, m, h or d, like 8h")
    })?;
    let per = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => anyhow::bail!("`{text}` is not a period: use a number with s, m, h or d, like 8h"),
    };
    let secs = n
        .checked_mul(per)
        .ok_or_else(|| anyhow::anyhow!("`{text}` is too long a period; use at most a few days"))?;
    if secs == 0 {
        anyhow::bail!("the refresh period must be longer than zero");
    }
    if secs > MAX_PERIOD_SECS {
        anyhow::bail!("`{text}` is too long a period; use at most 365d");
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// The documented example mapping (`mappings.example.yaml`), carried by the binary so
/// `hubsync map init` can write it for users who installed with `cargo install`.
pub const EXAMPLE: &str = include_str!("../../mappings.example.yaml");

/// A parsed mapping file together with its text (for line numbers in messages).
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    pub file: MappingFile,
    pub source: String,
}

impl Mapping {
    /// Parse YAML text; a malformed file is reported with its line and column.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        // A byte order mark, as some editors write, is not part of the YAML.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let file: MappingFile = if text.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#')
        }) {
            anyhow::bail!(
                "{origin}: the mapping file is empty; start from the documented example (mappings.example.yaml in the hubsync repository)"
            );
        } else {
            serde_yaml::from_str(text).map_err(|e| match e.location() {
                Some(l) => {
                    let tab = text
                        .lines()
                        .nth(l.line().saturating_sub(1))
                        .is_some_and(|t| t.contains('\t'));
                    let hint = if tab {
                        "; YAML is indented with spaces, not tabs"
                    } else {
                        ""
                    };
                    anyhow::anyhow!("{origin}:{}:{}: {e}{hint}", l.line(), l.column())
                }
                None => match second_document(text) {
                    Some(line) => anyhow::anyhow!(
                        "{origin}:{line}: a second YAML document starts here (a `---`, `...` or `%` line, or a byte order mark); a mapping file is one document, so remove this line or what follows it"
                    ),
                    None => anyhow::anyhow!("{origin}: {e}"),
                },
            })?
        };
        // `:N` of a top-level key's line, when it can be found.
        let line_of = |key: &str| {
            text.lines()
                .position(|l| !l.starts_with(char::is_whitespace) && yaml_key(l) == Some(key))
                .map_or_else(String::new, |i| format!(":{}", i + 1))
        };
        if let Err(e) = parse_period(&file.refresh_period) {
            anyhow::bail!("{origin}{}: refresh_period: {e}", line_of("refresh_period"));
        }
        if file.version != 1 {
            anyhow::bail!(
                "{origin}{}: mapping file version {} is not supported by this hubsync (expected `version: 1`)",
                line_of("version"),
                file.version
            );
        }
        Ok(Self {
            file,
            source: text.to_owned(),
        })
    }

    /// How often `sync --if-due` runs (validated when the file is parsed).
    #[must_use]
    pub fn refresh_period(&self) -> std::time::Duration {
        parse_period(&self.file.refresh_period).unwrap_or(std::time::Duration::from_secs(8 * 3600))
    }

    /// Load a mapping file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the mapping file {}; `hubsync map init` writes the documented example there (or pass --mappings PATH)",
                path.display()
            )
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Load a mapping file when it exists; `None` when it does not (import works without one).
    pub fn load_optional(path: &Path) -> Result<Option<Self>> {
        if path.exists() {
            Self::load(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Declared custom attributes of contacts or organizations.
    #[must_use]
    pub fn section(&self, contacts: bool) -> &EntitySection {
        if contacts {
            &self.file.contacts
        } else {
            &self.file.organizations
        }
    }

    /// The 1-based line of `key:` inside `section:` → `sub:` (e.g. `contacts`, `fields`), if found.
    #[must_use]
    pub fn line_of(&self, section: &str, sub: &str, key: &str) -> Option<usize> {
        let mut in_section = false;
        let mut in_sub = false;
        let mut sub_indent = 0;
        for (i, line) in self.source.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let k = yaml_key(trimmed);
            if indent == 0 {
                in_section = k == Some(section);
                in_sub = false;
                continue;
            }
            if !in_section {
                continue;
            }
            if in_sub && indent <= sub_indent {
                in_sub = false;
            }
            if !in_sub {
                if k == Some(sub) {
                    in_sub = true;
                    sub_indent = indent;
                }
                continue;
            }
            if k == Some(key) {
                return Some(i + 1);
            }
        }
        None
    }
}

/// The 1-based line where a second YAML document begins (`---`, `...`, a `%` directive or a byte
/// order mark after content), if there is one.
fn second_document(text: &str) -> Option<usize> {
    let mut content = false;
    for (i, line) in text.lines().enumerate() {
        let marker = line.starts_with("---")
            || line.starts_with("...")
            || line.starts_with('%')
            || line.starts_with('\u{feff}');
        // The leading byte order mark is gone already: another one always starts a document.
        if marker && (content || line.starts_with('\u{feff}')) {
            return Some(i + 1);
        }
        let t = line.trim();
        if !marker && !t.is_empty() && !t.starts_with('#') {
            content = true;
        }
    }
    None
}

/// The key of a `key: value` YAML line, unquoted.
fn yaml_key(line: &str) -> Option<&str> {
    let idx = line.find(':')?;
    let k = line[..idx].trim();
    Some(k.trim_matches(|c| c == '"' || c == '\''))
}

#[cfg(test)]
#[path = "file_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        assert_eq!(parse_period("8h").unwrap().as_secs(), 8 * 3600);
        assert_eq!(parse_period("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_period("2d").unwrap().as_secs(), 2 * 86_400);
        assert!(parse_period("8 hours").is_err());
        assert!(parse_period("0h").is_err());
        let e = Mapping::parse("version: 1\nrefresh_period: soon\n", "m.yaml").unwrap_err();
        assert!(e.to_string().starts_with("m.yaml:2: refresh_period"), "{e}");
    }
}

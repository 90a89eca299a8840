//! Text edits of the mapping file that keep its order and comments: set, replace or remove the
//! HubSpot property of one local field.

use super::catalogue::Entity;
use super::file::Mapping;
use super::scaffold::{add_mappings, Planned};

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Split `value   # comment` into the value and the trailing comment (with its spacing).
fn split_comment(rest: &str) -> (&str, &str) {
    match rest.find(" #") {
        Some(i) => {
            let start = rest[..i].trim_end().len();
            (&rest[..start], &rest[start..])
        }
        None => (rest, ""),
    }
}

/// `source` with `field` of `entity` mapped to `property` (`None` removes the mapping).
#[must_use]
pub fn set_property(source: &str, entity: Entity, field: &str, property: Option<&str>) -> String {
    let parsed = Mapping {
        file: Default::default(),
        source: source.to_owned(),
    };
    let Some(line_no) = parsed.line_of(entity.section(), "fields", field) else {
        return match property {
            None => source.to_owned(),
            Some(p) => add_mappings(
                source,
                &[Planned {
                    entity,
                    field: field.to_owned(),
                    property: p.to_owned(),
                    label: String::new(),
                    kind: "",
                    field_type: "",
                    exists: true,
                }],
            ),
        };
    };
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    let idx = line_no - 1;
    let base = indent_of(&lines[idx]);
    // Child lines of a long-form entry.
    let mut end = idx + 1;
    while end < lines.len() {
        let l = &lines[end];
        if l.trim().is_empty() || indent_of(l) > base {
            end += 1;
        } else {
            break;
        }
    }
    while end > idx + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    match property {
        None => {
            lines.drain(idx..end);
        }
        Some(p) => {
            let child = (idx + 1..end).find(|&i| lines[i].trim_start().starts_with("property:"));
            let target = child.unwrap_or(idx);
            let line = lines[target].clone();
            let colon = line.find(':').unwrap_or(line.len());
            let (value, comment) = split_comment(&line[colon + 1..]);
            if child.is_none() && value.trim().is_empty() {
                // A long form without a `property:` line: rewrite it in short form.
                lines.drain(idx + 1..end);
            }
            lines[target] = format!("{}: {p}{comment}", &line[..colon]);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "version: 1\ncontacts:\n  enabled: true\n  fields:\n    displayName: a   # shown\n    attributes.jobTitle:\n      property: jobtitle\n      pull: fill-empty\n    score: s\norganizations:\n  enabled: true\n";

    #[test]
    fn replacing_keeps_comments_and_long_forms() {
        let out = set_property(SRC, Entity::Contact, "displayName", Some("b"));
        assert!(out.contains("    displayName: b   # shown\n"), "{out}");
        let out = set_property(SRC, Entity::Contact, "attributes.jobTitle", Some("title2"));
        assert!(
            out.contains("      property: title2\n      pull: fill-empty\n"),
            "{out}"
        );
        let m = Mapping::parse(&out, "t").unwrap();
        assert_eq!(m.file.contacts.fields[1].1.property(), "title2");
    }

    #[test]
    fn removing_and_adding() {
        let out = set_property(SRC, Entity::Contact, "attributes.jobTitle", None);
        assert!(
            !out.contains("jobtitle") && !out.contains("fill-empty"),
            "{out}"
        );
        assert!(out.contains("    score: s\n"));
        let out = set_property(
            &out,
            Entity::Organization,
            "employees",
            Some("numberofemployees"),
        );
        let m = Mapping::parse(&out, "t").unwrap();
        assert_eq!(m.file.organizations.fields[0].0, "employees");
        assert_eq!(m.file.contacts.fields.len(), 2);
    }
}

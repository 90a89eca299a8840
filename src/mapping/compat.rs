//! Which HubSpot property types a local type may map to (SPEC §4).

use super::property::CachedProperty;
use super::types::ValueType;

/// Whether a local value of type `local` may be written to `prop`.
#[must_use]
pub fn compatible(local: ValueType, prop: &CachedProperty) -> bool {
    let field = prop.field_type.as_str();
    match (local, prop.type_.as_str()) {
        (ValueType::String, "string" | "enumeration")
        | (ValueType::Number, "number")
        | (ValueType::Bool, "bool")
        | (ValueType::Date, "date")
        | (ValueType::Datetime, "datetime" | "date")
        | (ValueType::List, "string") => true,
        (ValueType::Bool, "enumeration") => field == "booleancheckbox",
        (ValueType::List, "enumeration") => field == "checkbox",
        _ => false,
    }
}

/// The HubSpot property types a local type may map to, for messages.
#[must_use]
pub fn accepted(local: ValueType) -> &'static str {
    match local {
        ValueType::String => "string, or enumeration (values must be options)",
        ValueType::Number => "number",
        ValueType::Bool => "bool, or enumeration with fieldType booleancheckbox",
        ValueType::Date => "date",
        ValueType::Datetime => "datetime, or date (sent as the UTC day)",
        ValueType::List => "string (joined \", \"), or enumeration with fieldType checkbox",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(type_: &str, field_type: &str) -> CachedProperty {
        serde_json::from_value(serde_json::json!({
            "name": "p", "type": type_, "fieldType": field_type
        }))
        .unwrap()
    }

    #[test]
    fn the_compatibility_table_of_the_spec() {
        use ValueType::*;
        let cases = [
            (String, "string", "text", true),
            (String, "enumeration", "select", true),
            (String, "number", "number", false),
            (Number, "number", "number", true),
            (Number, "string", "text", false),
            (Bool, "bool", "booleancheckbox", true),
            (Bool, "enumeration", "booleancheckbox", true),
            (Bool, "enumeration", "select", false),
            (Date, "date", "date", true),
            (Date, "datetime", "date", false),
            (Datetime, "datetime", "date", true),
            (Datetime, "date", "date", true),
            (Datetime, "string", "text", false),
            (List, "string", "textarea", true),
            (List, "enumeration", "checkbox", true),
            (List, "enumeration", "select", false),
            (List, "number", "number", false),
        ];
        for (local, t, ft, want) in cases {
            assert_eq!(compatible(local, &prop(t, ft)), want, "{local} → {t}/{ft}");
        }
    }
}

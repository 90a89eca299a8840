use super::*;
use serde_json::json;

#[test]
fn domains_are_normalised() {
    let cases = [
        ("https://www.Example.com/about", Some("example.com")),
        ("http://example.com:8080", Some("example.com")),
        ("www.example.org", Some("example.org")),
        ("blog.example.org/path?q=1", Some("blog.example.org")),
        ("HTTPS://WWW.ACME.IO", Some("acme.io")),
        ("  ", None),
        ("https://", None),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_domain(input).as_deref(), want, "{input}");
    }
}

#[test]
fn names_and_emails_are_normalised() {
    assert_eq!(normalize_name("  Acme   Corp\t Inc "), "acme corp inc");
    assert_eq!(normalize_email(" Ada@Example.COM "), "ada@example.com");
}

#[test]
fn datetimes_become_utc() {
    assert_eq!(
        normalize_datetime("2024-05-01T14:00:00+02:00").as_deref(),
        Ok("2024-05-01T12:00:00Z")
    );
    assert!(normalize_datetime("yesterday").is_err());
    let late = normalize_datetime("9999-12-31T23:00:00-02:00").unwrap_err();
    assert!(late.contains("outside the years 0000 to 9999"), "{late}");
    assert_eq!(
        normalize_datetime("9999-12-31T23:00:00+02:00").as_deref(),
        Ok("9999-12-31T21:00:00Z")
    );
}

#[test]
fn contact_fields_round_trip() {
    let mut c = Contact::new("c1");
    c.set_field(
        "emails",
        json!([" Ada@Example.com", "ada@example.com", "a@b.c"]),
    )
    .unwrap();
    c.set_field("identities.github", json!("ada")).unwrap();
    c.set_field("attributes.isHiring", json!(true)).unwrap();
    c.set_field("score", json!(4.5)).unwrap();
    c.set_field("joinedAt", json!("2024-01-01T01:00:00+01:00"))
        .unwrap();
    assert_eq!(c.emails, ["Ada@Example.com", "a@b.c"]);
    assert_eq!(c.field("identities.github"), Some(json!("ada")));
    assert_eq!(c.field("attributes.isHiring"), Some(json!(true)));
    assert_eq!(c.field("score"), Some(json!(4.5)));
    assert_eq!(c.field("joinedAt"), Some(json!("2024-01-01T00:00:00Z")));
    assert_eq!(c.field("tags"), None);
    c.set_field("identities.github", Value::Null).unwrap();
    assert_eq!(c.field("identities.github"), None);
    let e = c.set_field("attributes.jobTitle", json!(3)).unwrap_err();
    assert_eq!(e.field, "attributes.jobTitle");
    assert!(c.set_field("emails", json!(["not-an-email"])).is_err());
    assert!(c.set_field("nickname", json!("x")).is_err());
}

#[test]
fn organization_fields_round_trip() {
    let mut o = Organization::new("o1");
    o.set_field("type", json!("Partner")).unwrap();
    o.set_field("employees", json!(12)).unwrap();
    o.set_field("website", json!("https://www.acme.io/en"))
        .unwrap();
    assert_eq!(o.field("type"), Some(json!("Partner")));
    assert_eq!(o.field("employees"), Some(json!(12)));
    o.set_field("revenueRangeMin", json!(1.5)).unwrap();
    assert_eq!(o.field("revenueRangeMin"), Some(json!(1.5)));
    assert_eq!(o.domain().as_deref(), Some("acme.io"));
    assert!(o.set_field("employees", json!("many")).is_err());
    let v = serde_json::to_value(&o).unwrap();
    assert_eq!(v["type"], json!("Partner"));
    assert_eq!(v["employees"], json!(12));
}

#[test]
fn csv_cells_parse_per_type() {
    assert_eq!(
        parse_text(Some(ValueType::List), "a; b;;c").unwrap(),
        Some(json!(["a", "b", "c"]))
    );
    assert_eq!(
        parse_text(Some(ValueType::Bool), "TRUE").unwrap(),
        Some(json!(true))
    );
    assert_eq!(parse_text(Some(ValueType::Number), "").unwrap(), None);
    assert!(parse_text(Some(ValueType::Number), "12x").is_err());
}

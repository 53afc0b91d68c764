use super::super::rules::tests::{error, parse};
use super::*;
use crate::rules::fields::FieldAction;
use serde_json::json;

const RENAME: &str = r#"
[[rules.fields]]
name = "owner-rename"
routes = ["POST /v1/bdbs", "PUT /v1/bdbs/{uid:int}"]
pointers = ["/owner"]
action = "rename"
to = "/team/owner"
values = { ops = "platform" }
from = "8.2.0"
docs_url = "https://wiki.example.com/owner"
"#;

#[test]
fn an_operator_rename_is_built_with_its_sites_gate_and_value_map() {
    let r = parse(RENAME).expect("valid");
    let f = r.table.fields().rules().last().expect("a field rule");
    assert_eq!((f.id.as_str(), f.name.as_str()), ("custom", "owner-rename"));
    assert_eq!(f.sites.len(), 2);
    assert_eq!(f.gate.map(|v| v.to_string()), Some("8.2.0".into()));
    assert_eq!(
        f.action,
        FieldAction::Rename {
            to: vec!["team".into(), "owner".into()],
            values: Some(vec![(json!("ops"), Some(json!("platform")))]),
        }
    );
    let rule = r.table.get("owner-rename").expect("in the rule table");
    assert!(matches!(rule.id, crate::rules::RuleId::Field(_)));
    // Never classified as a route: a field rule's route is not a deprecated route.
    assert!(r.table.classify(&http::Method::POST, "/v1/bdbs").is_none());
    assert!(r
        .table
        .inspects_fields(&http::Method::POST, "/v1/bdbs?dry_run=1"));
}

#[test]
fn errors_name_the_key_of_the_entry() {
    let base = "[[rules.fields]]\nname = \"x\"\nroutes = [\"PUT /v1/cluster\"]\npointers = [\"/a\"]\naction = \"observe\"\ndocs_url = \"https://e.com/d\"\n";
    assert!(parse(base).is_ok());
    for (change, key) in [
        (base.replace("name = \"x\"\n", ""), "rules.fields[0].name"),
        (
            base.replace("name = \"x\"", "name = \"Has Space\""),
            "rules.fields[0].name",
        ),
        (
            base.replace("[\"/a\"]", "[\"a\"]"),
            "rules.fields[0].pointers",
        ),
        (
            base.replace("[\"/a\"]", "[\"/list/*\"]"),
            "rules.fields[0].pointers",
        ),
        (base.replace("[\"/a\"]", "[]"), "rules.fields[0].pointers"),
        (
            base.replace("PUT /v1/cluster", "GET /v1/cluster"),
            "rules.fields[0].routes",
        ),
        (
            base.replace("PUT /v1/cluster", "PUT v1/cluster"),
            "rules.fields[0].routes",
        ),
        (
            base.replace("\"observe\"", "\"delete\""),
            "rules.fields[0].action",
        ),
        (
            base.replace("\"observe\"", "\"rename\""),
            "rules.fields[0].to",
        ),
        (format!("{base}to = \"/b\"\n"), "rules.fields[0].to"),
        (format!("{base}from = \"eight\"\n"), "rules.fields[0].from"),
        (
            format!("{base}headers = true\n"),
            "rules.fields[0].deprecation_date",
        ),
        (format!("{base}mode = \"loud\"\n"), "rules.fields[0].mode"),
        (
            base.replace("\"x\"", "\"authorize\""),
            "rules.fields[0].name",
        ),
        (
            base.replace("\"x\"", "\"field_use_ipv6\""),
            "rules.fields[0].name",
        ),
    ] {
        let e = error(&change);
        assert_eq!(e.key, key, "{change}\n→ {e}");
    }
    let e = error("[rules.field_use_ipv6]\nmode = \"sometimes\"\n");
    assert_eq!(e.key, "rules.field_use_ipv6.mode");
    let e = error("[rules.field_use_ipv6]\nloud = true\n");
    assert!(e.problem.contains("loud"), "{e}");
}

#[test]
fn builtin_sections_set_mode_and_headers() {
    let r = parse("[rules.field_module_id]\nmode = \"translate\"\nheaders = true\n").unwrap();
    let f = r
        .table
        .fields()
        .rules()
        .iter()
        .find(|f| f.name == "field_module_id")
        .unwrap();
    assert_eq!((f.mode, f.headers), (Mode::Translate, true));
    assert_eq!(
        r.table.get("field_module_id").map(|r| r.mode),
        Some(Mode::Translate)
    );
}

#[test]
fn reply_aliases_are_off_by_default_and_validated_naming_the_key() {
    use crate::rules::fields::aliases::Alias;
    let r = parse("").unwrap();
    assert_eq!(r.reply_aliases.mode, Mode::Auto);
    assert_eq!(r.reply_aliases.reads(&http::Method::GET, "/v1/bdbs"), None);
    let r = parse(
        "[rules.field_reply_aliases]\nmode = \"translate\"\naliases = [\"ssl\", \"endpoint_ip\", \"ssl\"]\n",
    )
    .unwrap();
    assert_eq!(r.reply_aliases.mode, Mode::Translate);
    assert_eq!(r.reply_aliases.aliases, vec![Alias::Ssl, Alias::EndpointIp]);
    let e = error("[rules.field_reply_aliases]\nmode = \"translate\"\naliases = [\"ssl\", \"smtp_password\"]\n");
    assert_eq!(e.key, "rules.field_reply_aliases.aliases[1]");
    assert!(e.problem.contains("never synthesized"), "{e}");
    let e = error("[rules.field_reply_aliases]\nmode = \"loud\"\n");
    assert_eq!(e.key, "rules.field_reply_aliases.mode");
    let e = error("[rules.field_reply_aliases]\nalias = []\n");
    assert!(e.problem.contains("alias"), "{e}");
}

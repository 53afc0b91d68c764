use super::*;
use serde_json::json;

const V8_2: Option<Version> = Some(Version::new(8, 2, 0));
const V8_0: Option<Version> = Some(Version::new(8, 0, 0));

fn run(mut reply: Value, object: Object, version: Option<Version>) -> (Value, Vec<Alias>) {
    let added = add(&mut reply, object, &Alias::ALL, version);
    (reply, added.into_iter().map(|a| a.alias).collect())
}

fn endpoint(addr_type: &str, dns: &str, port: u64, addr: &str) -> Value {
    json!({"addr_type": addr_type, "dns_name": dns, "port": port, "addr": [addr]})
}

#[test]
fn use_ipv6_is_added_from_use_external_ipv6_only_on_a_known_8_2() {
    let cluster = json!({"use_external_ipv6": false});
    let (out, added) = run(cluster.clone(), Object::Cluster, V8_2);
    assert_eq!(out["use_ipv6"], json!(false));
    assert_eq!(added, vec![Alias::UseIpv6]);
    assert_eq!(run(cluster.clone(), Object::Cluster, V8_0).1, vec![]);
    assert_eq!(run(cluster, Object::Cluster, None).1, vec![]);
    // Never overwritten.
    let (out, added) = run(
        json!({"use_external_ipv6": false, "use_ipv6": true}),
        Object::Cluster,
        V8_2,
    );
    assert_eq!(out["use_ipv6"], json!(true));
    assert!(added.is_empty());
}

#[test]
fn sentinel_ssl_policy_copies_a_known_sentinel_tls_mode_when_missing() {
    let (out, added) = run(
        json!({"sentinel_tls_mode": "required"}),
        Object::Cluster,
        None,
    );
    assert_eq!(out["sentinel_ssl_policy"], "required");
    assert_eq!(added, vec![Alias::SentinelSslPolicy]);
    let both = json!({"sentinel_tls_mode": "required", "sentinel_ssl_policy": "allowed"});
    assert_eq!(run(both.clone(), Object::Cluster, V8_2).0, both);
    assert!(
        run(json!({"sentinel_tls_mode": "odd"}), Object::Cluster, V8_2)
            .1
            .is_empty()
    );
}

#[test]
fn ssl_is_true_only_for_tls_mode_enabled() {
    for (mode, ssl) in [
        ("enabled", true),
        ("disabled", false),
        ("replica_ssl", false),
    ] {
        let (out, added) = run(json!({"uid": 1, "tls_mode": mode}), Object::Bdb, None);
        assert_eq!(out["ssl"], json!(ssl), "{mode}");
        assert_eq!(added, vec![Alias::Ssl]);
    }
    let (out, _) = run(
        json!({"tls_mode": "enabled", "ssl": false}),
        Object::Bdb,
        V8_2,
    );
    assert_eq!(out["ssl"], json!(false), "never overwritten");
}

#[test]
fn db_conns_auditing_follows_audit_mode_only_when_the_bdb_has_audit_settings() {
    for (mode, on) in [
        ("disabled", false),
        ("connection", true),
        ("connection_and_crud", true),
    ] {
        let bdb = json!({"uid": 2, "audit_settings": {"audit_mode": mode}});
        let (out, added) = run(bdb, Object::Bdb, V8_2);
        assert_eq!(out["db_conns_auditing"], json!(on), "{mode}");
        assert_eq!(added, vec![Alias::DbConnsAuditing]);
    }
    assert!(run(json!({"uid": 2}), Object::Bdb, V8_2).1.is_empty());
    let kept = json!({"audit_settings": {"audit_mode": "connection"}, "db_conns_auditing": false});
    assert_eq!(run(kept.clone(), Object::Bdb, V8_2).0, kept);
}

#[test]
fn dns_address_master_needs_exactly_one_internal_endpoint() {
    let one = json!({"endpoints": [
        endpoint("internal", "redis-12001.internal.sim", 12001, "10.0.0.1"),
        endpoint("external", "redis-12001.sim", 12001, "192.0.2.1"),
    ]});
    let (out, added) = run(one, Object::Bdb, None);
    assert_eq!(out["dns_address_master"], "redis-12001.internal.sim:12001");
    assert_eq!(added, vec![Alias::DnsAddressMaster]);
    let two = json!({"endpoints": [
        endpoint("internal", "a.sim", 1, "10.0.0.1"),
        endpoint("internal", "b.sim", 2, "10.0.0.2"),
    ]});
    assert!(run(two, Object::Bdb, None)
        .0
        .get("dns_address_master")
        .is_none());
    let none = json!({"endpoints": [endpoint("external", "a.sim", 1, "192.0.2.1")]});
    assert!(run(none, Object::Bdb, None)
        .0
        .get("dns_address_master")
        .is_none());
    // "" counts as missing; any other value is kept.
    let empty = json!({"dns_address_master": "", "endpoints": [endpoint("internal", "a.sim", 7, "10.0.0.1")]});
    assert_eq!(
        run(empty, Object::Bdb, None).0["dns_address_master"],
        "a.sim:7"
    );
    let set = json!({"dns_address_master": "x:1", "endpoints": [endpoint("internal", "a.sim", 7, "10.0.0.1")]});
    assert_eq!(run(set, Object::Bdb, None).0["dns_address_master"], "x:1");
}

#[test]
fn endpoint_ip_needs_exactly_one_endpoint() {
    let one = json!({"endpoints": [endpoint("external", "a.sim", 1, "192.0.2.1")]});
    let (out, added) = run(one, Object::Bdb, None);
    assert_eq!(out["endpoint_ip"], json!(["192.0.2.1"]));
    assert_eq!(added, vec![Alias::EndpointIp]);
    let two = json!({"endpoints": [
        endpoint("internal", "a.sim", 1, "10.0.0.1"),
        endpoint("external", "a.sim", 1, "192.0.2.1"),
    ]});
    assert!(run(two, Object::Bdb, None).0.get("endpoint_ip").is_none());
    assert!(run(json!({"endpoints": []}), Object::Bdb, None)
        .0
        .get("endpoint_ip")
        .is_none());
}

#[test]
fn a_bdb_list_gets_aliases_per_database_and_only_the_enabled_ones() {
    let mut list = json!([
        {"uid": 1, "tls_mode": "enabled"},
        {"uid": 2, "tls_mode": "disabled", "ssl": false},
        "not an object",
    ]);
    let added = add(&mut list, Object::Bdb, &[Alias::Ssl], V8_2);
    assert_eq!(
        added,
        vec![Added {
            alias: Alias::Ssl,
            bdb_uid: Some(1)
        }]
    );
    assert_eq!(list[0]["ssl"], json!(true));
    let mut cluster = json!({"use_external_ipv6": true});
    assert!(add(&mut cluster, Object::Cluster, &[Alias::Ssl], V8_2).is_empty());
    // A cluster reply that is an array is not an object of F14's.
    let mut odd = json!([{"use_external_ipv6": true}]);
    assert!(add(&mut odd, Object::Cluster, &Alias::ALL, V8_2).is_empty());
}

#[test]
fn only_the_three_gets_are_read_and_only_when_on() {
    let on = ReplyAliases {
        mode: Mode::Translate,
        aliases: Alias::ALL.to_vec(),
    };
    assert_eq!(on.reads(&Method::GET, "/v1/cluster"), Some(Object::Cluster));
    assert_eq!(on.reads(&Method::GET, "/v1/bdbs"), Some(Object::Bdb));
    assert_eq!(on.reads(&Method::GET, "/v1/bdbs/12"), Some(Object::Bdb));
    assert_eq!(on.reads(&Method::GET, "/v1/bdbs/12/stats"), None);
    assert_eq!(on.reads(&Method::GET, "/v1/bdbs/x"), None);
    assert_eq!(on.reads(&Method::PUT, "/v1/cluster"), None);
    assert_eq!(
        ReplyAliases::default().reads(&Method::GET, "/v1/bdbs"),
        None
    );
    let cluster_only = ReplyAliases {
        mode: Mode::Translate,
        aliases: vec![Alias::UseIpv6],
    };
    assert_eq!(cluster_only.reads(&Method::GET, "/v1/bdbs"), None);
}

#[test]
fn names_parse_and_the_never_rows_are_refused_with_the_reason() {
    for a in Alias::ALL {
        assert_eq!(Alias::parse(a.key()), Ok(a));
    }
    assert!(Alias::parse("smtp_password")
        .unwrap_err()
        .contains("never synthesized"));
    assert!(Alias::parse("endpoint_node")
        .unwrap_err()
        .contains("never synthesized"));
    assert!(Alias::parse("sll").unwrap_err().contains("is not one of"));
}

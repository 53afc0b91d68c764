//! F14, reply aliases (API-CATALOGUE §9 row F14, §9.6): in a JSON reply to `GET /v1/bdbs`,
//! `GET /v1/bdbs/{uid}` or `GET /v1/cluster`, the old key a legacy caller still reads is added
//! **only when missing**, synthesized from its successor. Pure: which aliases a parsed reply
//! gets, given the configuration and the cluster's version; reading and rewriting the reply is
//! `proxy/deprecated/reply_aliases.rs`.
//!
//! Decisions:
//! - Only the six aliases §9.6 marks safe exist here ([`Alias`]); the ones marked "never"
//!   (`endpoint_node`, `sync`, user `role`, `smtp_password`, …) are refused by the
//!   configuration with the reason, so no list can name a secret or a lossy key.
//! - A key already present is never touched, whatever its value; `dns_address_master` is
//!   also filled when it is present as `""` (§9.6).
//! - `use_ipv6` is added only on a **known** version ≥ 8.2.0 (F5: below it the server still
//!   returns its own); the other aliases need no version (their source key exists only where
//!   the old one may be missing).
//! - Off by default (`auto` means off for F14, §9): only `translate` adds keys; `observe`
//!   reports what would be added and leaves the reply as it came.

use super::super::version::V8_2_0;
use super::super::{Mode, Version};
use http::Method;
use serde_json::{Map, Value};

/// The rule name of F14's audit records (`[rules.<name>]`).
pub const RULE: &str = "field_reply_aliases";

/// Largest reply read for aliases (§9.6).
pub const MAX_REPLY: usize = 4 * 1024 * 1024;

/// One safe alias of §9.6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Alias {
    UseIpv6,
    SentinelSslPolicy,
    Ssl,
    DbConnsAuditing,
    DnsAddressMaster,
    EndpointIp,
}

/// Which object an alias belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Cluster,
    Bdb,
}

impl Alias {
    pub const ALL: [Alias; 6] = [
        Alias::UseIpv6,
        Alias::SentinelSslPolicy,
        Alias::Ssl,
        Alias::DbConnsAuditing,
        Alias::DnsAddressMaster,
        Alias::EndpointIp,
    ];

    /// The old key (also its name in the configuration).
    pub fn key(self) -> &'static str {
        match self {
            Alias::UseIpv6 => "use_ipv6",
            Alias::SentinelSslPolicy => "sentinel_ssl_policy",
            Alias::Ssl => "ssl",
            Alias::DbConnsAuditing => "db_conns_auditing",
            Alias::DnsAddressMaster => "dns_address_master",
            Alias::EndpointIp => "endpoint_ip",
        }
    }

    /// The key it is synthesized from, as the audit names it.
    pub fn source(self) -> &'static str {
        match self {
            Alias::UseIpv6 => "use_external_ipv6",
            Alias::SentinelSslPolicy => "sentinel_tls_mode",
            Alias::Ssl => "tls_mode",
            Alias::DbConnsAuditing => "audit_settings.audit_mode",
            Alias::DnsAddressMaster | Alias::EndpointIp => "endpoints",
        }
    }

    pub fn object(self) -> Object {
        match self {
            Alias::UseIpv6 | Alias::SentinelSslPolicy => Object::Cluster,
            _ => Object::Bdb,
        }
    }

    /// A configured name: the alias, or why it is not one.
    pub fn parse(name: &str) -> Result<Alias, String> {
        if let Some(a) = Alias::ALL.iter().find(|a| a.key() == name) {
            return Ok(*a);
        }
        const NEVER: [&str; 8] = [
            "endpoint_node",
            "sync",
            "sync_sources",
            "authorized_names",
            "role",
            "smtp_password",
            "authentication_redis_pass",
            "background_op",
        ];
        let known = Alias::ALL.map(Alias::key).join("\", \"");
        if NEVER.contains(&name) {
            return Err(format!(
                "\"{name}\" is never synthesized (a secret, write-only, lossy or needing a \
                 look-up, API-CATALOGUE §9.6); the aliases are \"{known}\""
            ));
        }
        Err(format!("\"{name}\" is not one of \"{known}\""))
    }

    /// The old key's value synthesized from `obj`, when it can be (see §9.6's table).
    fn synthesize(self, obj: &Map<String, Value>) -> Option<Value> {
        match self {
            Alias::UseIpv6 => obj
                .get("use_external_ipv6")
                .filter(|v| v.is_boolean())
                .cloned(),
            Alias::SentinelSslPolicy => obj
                .get("sentinel_tls_mode")
                .and_then(Value::as_str)
                .filter(|m| matches!(*m, "allowed" | "required" | "disabled"))
                .map(Value::from),
            Alias::Ssl => obj
                .get("tls_mode")
                .and_then(Value::as_str)
                .map(|m| Value::Bool(m == "enabled")),
            Alias::DbConnsAuditing => obj
                .get("audit_settings")?
                .get("audit_mode")
                .and_then(Value::as_str)
                .map(|m| Value::Bool(m != "disabled")),
            Alias::DnsAddressMaster => {
                let mut internal = endpoints(obj)?
                    .iter()
                    .filter(|e| e.get("addr_type").and_then(Value::as_str) == Some("internal"));
                let only = internal.next()?;
                if internal.next().is_some() {
                    return None;
                }
                let name = only.get("dns_name").and_then(Value::as_str)?;
                let port = only.get("port").and_then(Value::as_u64)?;
                (!name.is_empty()).then(|| Value::from(format!("{name}:{port}")))
            }
            Alias::EndpointIp => match endpoints(obj)?.as_slice() {
                [only] => only.get("addr").filter(|a| !a.is_null()).cloned(),
                _ => None,
            },
        }
    }

    /// Whether the old key counts as missing.
    fn missing(self, obj: &Map<String, Value>) -> bool {
        match obj.get(self.key()) {
            None => true,
            Some(Value::String(s)) => self == Alias::DnsAddressMaster && s.is_empty(),
            Some(_) => false,
        }
    }
}

fn endpoints(obj: &Map<String, Value>) -> Option<&Vec<Value>> {
    obj.get("endpoints").and_then(Value::as_array)
}

/// The routes F14 reads: `GET /v1/cluster`, `GET /v1/bdbs`, `GET /v1/bdbs/{uid}` (a
/// normalised path, query removed).
pub fn object_of(method: &Method, path: &str) -> Option<Object> {
    if method != Method::GET {
        return None;
    }
    match path {
        "/v1/cluster" => Some(Object::Cluster),
        "/v1/bdbs" => Some(Object::Bdb),
        _ => path
            .strip_prefix("/v1/bdbs/")
            .filter(|uid| !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_digit()))
            .map(|_| Object::Bdb),
    }
}

/// `[rules.field_reply_aliases]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyAliases {
    /// `off` and `auto` (default): nothing is read; `observe`: reported only; `translate`:
    /// added.
    pub mode: Mode,
    /// The aliases enabled (all six when the section names none).
    pub aliases: Vec<Alias>,
}

impl Default for ReplyAliases {
    fn default() -> ReplyAliases {
        ReplyAliases {
            mode: Mode::Auto,
            aliases: Alias::ALL.to_vec(),
        }
    }
}

impl ReplyAliases {
    /// Whether a reply to this call is read at all (off: never, and no alias for its object).
    pub fn reads(&self, method: &Method, path: &str) -> Option<Object> {
        if !matches!(self.mode, Mode::Observe | Mode::Translate) {
            return None;
        }
        let object = object_of(method, path)?;
        self.aliases
            .iter()
            .any(|a| a.object() == object)
            .then_some(object)
    }

    /// Whether the keys are added (else only reported).
    pub fn adds(&self) -> bool {
        self.mode == Mode::Translate
    }
}

/// One alias added (or, observing, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub alias: Alias,
    /// The database's `uid`, for a bdb.
    pub bdb_uid: Option<u64>,
}

/// Adds the enabled aliases missing from a parsed reply (an object, or for `GET /v1/bdbs` an
/// array of objects) and says which; `version`: the cluster's, when known.
pub fn add(
    reply: &mut Value,
    object: Object,
    enabled: &[Alias],
    version: Option<Version>,
) -> Vec<Added> {
    let mut added = Vec::new();
    let objects: Vec<&mut Map<String, Value>> = match reply {
        Value::Object(m) => vec![m],
        Value::Array(items) if object == Object::Bdb => {
            items.iter_mut().filter_map(Value::as_object_mut).collect()
        }
        _ => return added,
    };
    let recent = version.is_some_and(|v| v.at_least(V8_2_0));
    for obj in objects {
        let bdb_uid = (object == Object::Bdb)
            .then(|| obj.get("uid").and_then(Value::as_u64))
            .flatten();
        for &alias in enabled.iter().filter(|a| a.object() == object) {
            if (alias == Alias::UseIpv6 && !recent) || !alias.missing(obj) {
                continue;
            }
            if let Some(value) = alias.synthesize(obj) {
                obj.insert(alias.key().to_owned(), value);
                added.push(Added { alias, bdb_uid });
            }
        }
    }
    added
}

#[cfg(test)]
#[path = "aliases_tests.rs"]
mod tests;

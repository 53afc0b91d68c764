//! The built-in rules (API.md for R0, API-RULES §8 for R1–R10) and the table that classifies a
//! request against them and the operator's rules.

use super::debuginfo::{NodeBdbDebuginfo, NodeDebuginfo};
use super::matcher::{split_query, Outcome};
use super::modules::ModulesOn8x;
use super::target;
use super::version::{V7_22_2, V7_2_0, V7_2_4, V7_4_2, V7_8_2, V8_0_0};
use super::*;
use std::time::{Duration, UNIX_EPOCH};

const DOCS: &str = "https://redis.io/docs/latest/operate/rs/references/rest-api/requests/";

/// The switches that shape the built-in rules (`[rules]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub modules_on_8x: ModulesOn8x,
    pub node_debuginfo: NodeDebuginfo,
    pub node_bdb_debuginfo: NodeBdbDebuginfo,
}

/// A request that matched a rule whose mode is not `off`.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    /// The rule's position in its [`RuleTable`] (for [`RuleTable::match_rule`]).
    pub index: usize,
    pub rule: &'a Rule,
    /// The template's parameters (empty when `bad_param` is set).
    pub params: Params<'a>,
    /// A typed parameter with the wrong value, for a rule whose [`OnBadParam`] is `NotFound`.
    pub bad_param: Option<&'a str>,
    /// The query string, kept aside for the rewritten path.
    pub query: Option<&'a str>,
}

impl Matched<'_> {
    /// The rule's successor for this call, for the `Link` header.
    pub fn successor_path(&self) -> Option<String> {
        self.rule.successor_path(&self.params)
    }
}

/// Every rule, built-in first, then the operator's in configuration order.
#[derive(Debug, Clone)]
pub struct RuleTable {
    rules: Vec<Rule>,
}

impl RuleTable {
    pub fn new(rules: Vec<Rule>) -> RuleTable {
        RuleTable { rules }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Rule> {
        self.rules.iter_mut().find(|r| r.name == name)
    }

    /// The first rule (not `off`) whose method and template match `path_and_query`. Allocates
    /// nothing; a request matching no rule costs a method compare and a prefix compare per rule.
    pub fn classify<'a>(&'a self, method: &Method, path_and_query: &'a str) -> Option<Matched<'a>> {
        let (path, query) = split_query(path_and_query);
        (0..self.rules.len()).find_map(|index| self.match_at(index, method, path, query))
    }

    /// The match of rule `index` alone (`None` when it does not match or is `off`): the
    /// executor's detached task matches again the one rule [`classify`](Self::classify) found,
    /// on the request it owns, rather than carrying borrowed parameters across a spawn.
    pub fn match_rule<'a>(
        &'a self,
        index: usize,
        method: &Method,
        path_and_query: &'a str,
    ) -> Option<Matched<'a>> {
        let (path, query) = split_query(path_and_query);
        self.match_at(index, method, path, query)
    }

    /// The rule a target that [`classify`](Self::classify) matched to none would still spell in
    /// a lenient reading ([`target::lenient`]: `;` parameters dropped, encoded slashes read as
    /// `/`, letters of either case, the method upper-cased), to be refused rather than passed
    /// through. Runs only on a [`target::suspicious`] target, so an ordinary request pays one
    /// scan of its path and allocates nothing.
    pub fn misspelled(&self, method: &Method, path_and_query: &str) -> Option<&Rule> {
        let (path, _) = split_query(path_and_query);
        if !target::suspicious(method.as_str(), path) {
            return None;
        }
        let method = Method::from_bytes(method.as_str().to_ascii_uppercase().as_bytes()).ok()?;
        let readings: Vec<String> = target::lenient(path).collect();
        self.rules.iter().find(|rule| {
            rule.mode != Mode::Off
                && rule.matcher.method == method
                && readings
                    .iter()
                    .any(|path| match rule.matcher.path.matches_ignoring_case(path) {
                        Outcome::NoMatch => false,
                        Outcome::Match(_) => true,
                        Outcome::BadParam(_) => rule.matcher.on_bad_param == OnBadParam::NotFound,
                    })
        })
    }

    fn match_at<'a>(
        &'a self,
        index: usize,
        method: &Method,
        path: &'a str,
        query: Option<&'a str>,
    ) -> Option<Matched<'a>> {
        let rule = self.rules.get(index)?;
        if rule.mode == Mode::Off || rule.matcher.method != *method {
            return None;
        }
        let (params, bad_param) = match rule.matcher.path.matches(path) {
            Outcome::NoMatch => return None,
            Outcome::Match(params) => (params, None),
            Outcome::BadParam(name) => match rule.matcher.on_bad_param {
                OnBadParam::PassThrough => return None,
                OnBadParam::NotFound => (Params::default(), Some(name)),
            },
        };
        Some(Matched {
            index,
            rule,
            params,
            bad_param,
            query,
        })
    }
}

struct Spec {
    id: RuleId,
    name: &'static str,
    method: Method,
    path: &'static str,
    on_bad_param: OnBadParam,
    deprecated_in: Option<Version>,
    removed_in: Option<Version>,
    successor: Option<&'static str>,
    docs: String,
    deprecation_epoch: u64,
    kind: Kind,
    gate: Gate,
    gone_band: Option<(&'static str, String)>,
    mode: Mode,
}

/// 2024-11-01, RS 7.8.2-34 (§1.5; API.md §5.9).
const EPOCH_7_8_2: u64 = 1_730_419_200;
/// 2025-09-01, RS 7.22.2-14.
const EPOCH_7_22_2: u64 = 1_756_684_800;
/// 2023-08-01, RS 7.2.4-52.
const EPOCH_7_2_4: u64 = 1_690_848_000;
/// 2024-02-01, RS 7.4.2-54.
const EPOCH_7_4_2: u64 = 1_706_745_600;

const ALWAYS: Gate = Gate {
    from: None,
    apply_when_unknown: true,
    look_up: false,
    builds: &[],
};

fn gated(from: Version) -> Gate {
    Gate {
        from: Some(from),
        apply_when_unknown: false,
        look_up: true,
        builds: &[],
    }
}

/// The built-in rules, in classification order, with default modes and dates.
pub fn builtin(options: &Options) -> Result<Vec<Rule>, String> {
    let upgrade_docs = format!("{DOCS}bdbs/upgrade/");
    let debug_docs = format!("{DOCS}debuginfo/");
    let module_docs = format!("{DOCS}modules/");
    let user_defined = format!("{DOCS}modules/user-defined/");
    let gone_8x = |successor| match options.modules_on_8x {
        ModulesOn8x::Gone => Some((successor, user_defined.clone())),
        ModulesOn8x::ForwardV2 => None,
    };
    let debug = |id, name, path, successor, kind| Spec {
        id,
        name,
        method: Method::GET,
        path,
        on_bad_param: OnBadParam::PassThrough,
        deprecated_in: Some(V7_4_2),
        removed_in: None,
        successor,
        docs: debug_docs.clone(),
        deprecation_epoch: EPOCH_7_4_2,
        kind,
        gate: gated(V7_4_2),
        gone_band: None,
        mode: Mode::Auto,
    };
    let upgrade = |id, name, path, mode, deprecated_in| Spec {
        id,
        name,
        method: Method::POST,
        path,
        on_bad_param: OnBadParam::NotFound,
        deprecated_in,
        removed_in: deprecated_in.map(|_| V8_0_0),
        successor: Some("/v1/bdbs/{uid:int}/upgrade"),
        docs: upgrade_docs.clone(),
        deprecation_epoch: EPOCH_7_8_2,
        kind: Kind::Translate,
        gate: ALWAYS,
        gone_band: None,
        mode,
    };
    let specs = [
        upgrade(
            RuleId::ModuleUpgrade,
            "module_upgrade",
            "/v1/modules/upgrade/bdb/{uid:int}",
            Mode::Auto,
            Some(V7_8_2),
        ),
        upgrade(
            RuleId::ModuleUpgradeSibling,
            "module_upgrade_sibling",
            "/v1/bdbs/{uid:int}/modules/upgrade",
            Mode::Off,
            None,
        ),
        Spec {
            id: RuleId::Authorize,
            name: "authorize",
            method: Method::POST,
            path: "/v1/users/authorize",
            on_bad_param: OnBadParam::PassThrough,
            deprecated_in: Some(V7_8_2),
            removed_in: None,
            successor: None,
            docs: format!("{DOCS}users/authorize/"),
            deprecation_epoch: EPOCH_7_8_2,
            kind: Kind::Rewrite,
            gate: Gate {
                from: Some(V7_8_2),
                apply_when_unknown: true,
                look_up: false,
                builds: &[],
            },
            gone_band: None,
            mode: Mode::Auto,
        },
        Spec {
            id: RuleId::UpdateCert,
            name: "update_cert",
            method: Method::PUT,
            path: "/v1/cluster/update_cert",
            on_bad_param: OnBadParam::PassThrough,
            deprecated_in: Some(V7_22_2),
            removed_in: None,
            successor: Some("/v1/cluster/certificates"),
            docs: format!("{DOCS}cluster/certificates/"),
            deprecation_epoch: EPOCH_7_22_2,
            kind: Kind::Rewrite,
            gate: gated(V7_22_2),
            gone_band: None,
            mode: Mode::Auto,
        },
        Spec {
            id: RuleId::ModuleUpload,
            name: "module_upload",
            method: Method::POST,
            path: "/v1/modules",
            on_bad_param: OnBadParam::PassThrough,
            deprecated_in: Some(V7_2_4),
            removed_in: Some(V8_0_0),
            successor: Some("/v2/modules"),
            docs: module_docs.clone(),
            deprecation_epoch: EPOCH_7_2_4,
            kind: Kind::Translate,
            gate: gated(V7_2_0),
            gone_band: gone_8x("/v2/modules/user-defined"),
            mode: Mode::Auto,
        },
        Spec {
            id: RuleId::ModuleDelete,
            name: "module_delete",
            method: Method::DELETE,
            path: "/v1/modules/{uid}",
            on_bad_param: OnBadParam::PassThrough,
            deprecated_in: Some(V7_2_4),
            removed_in: Some(V8_0_0),
            successor: Some("/v2/modules/{uid}"),
            docs: module_docs.clone(),
            deprecation_epoch: EPOCH_7_2_4,
            kind: Kind::Translate,
            gate: gated(V7_2_0),
            gone_band: gone_8x("/v2/modules/user-defined/{uid}"),
            mode: Mode::Auto,
        },
        debug(
            RuleId::DebuginfoAll,
            "debuginfo_all",
            "/v1/debuginfo/all",
            Some("/v1/cluster/debuginfo"),
            Kind::Rewrite,
        ),
        debug(
            RuleId::DebuginfoAllBdb,
            "debuginfo_all_bdb",
            "/v1/debuginfo/all/bdb/{bdb_uid:int}",
            Some("/v1/bdbs/{bdb_uid:int}/debuginfo"),
            Kind::Rewrite,
        ),
        debug(
            RuleId::DebuginfoNode,
            "debuginfo_node",
            "/v1/debuginfo/node",
            Some("/v1/nodes/{node_uid:int}/debuginfo"),
            match options.node_debuginfo {
                NodeDebuginfo::Resolve => Kind::Rewrite,
                NodeDebuginfo::Passthrough => Kind::Observe,
            },
        ),
        debug(
            RuleId::DebuginfoNodeBdb,
            "debuginfo_node_bdb",
            "/v1/debuginfo/node/bdb/{bdb_uid:int}",
            Some("/v1/bdbs/{bdb_uid:int}/debuginfo"),
            match options.node_bdb_debuginfo {
                NodeBdbDebuginfo::Superset => Kind::Rewrite,
                NodeBdbDebuginfo::Passthrough => Kind::Observe,
                NodeBdbDebuginfo::Gone => Kind::Gone,
            },
        ),
    ];
    specs.into_iter().map(build).collect()
}

fn build(s: Spec) -> Result<Rule, String> {
    let name = s.name;
    let template = |t: &str| Template::parse(t).map_err(|e| format!("built-in rule {name}: {e}"));
    let deprecation = UNIX_EPOCH + Duration::from_secs(s.deprecation_epoch);
    let gone_band = match s.gone_band {
        Some((successor, docs_url)) => Some(GoneBand {
            from: V8_0_0,
            successor: template(successor)?,
            marks: Marks::new(deprecation, None, &docs_url)?,
            docs_url,
        }),
        None => None,
    };
    Ok(Rule {
        id: s.id,
        name: name.to_owned(),
        matcher: Matcher {
            method: s.method,
            path: template(s.path)?,
            on_bad_param: s.on_bad_param,
        },
        marks: Marks::new(deprecation, None, &s.docs)?,
        meta: Meta {
            deprecated_in: s.deprecated_in,
            removed_in: s.removed_in,
            successor: s.successor.map(template).transpose()?,
            docs_url: s.docs,
            deprecation,
            sunset: None,
        },
        kind: s.kind,
        gate: s.gate,
        gone_band,
        mode: s.mode,
    })
}

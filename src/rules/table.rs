//! The built-in rules (API.md for R0, API-RULES §8 for R1–R10), built from the catalogue
//! ([`super::catalogue`]), and the table that classifies a request against them and the
//! operator's rules.

use super::catalogue::{self, Entry};
use super::debuginfo::{NodeBdbDebuginfo, NodeDebuginfo};
use super::matcher::{split_query, Outcome};
use super::modules::ModulesOn8x;
use super::target;
use super::*;
use std::time::{Duration, UNIX_EPOCH};

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
    /// The route of the rule that matched (its first, or one of `also`): the audit's `route`.
    pub template: &'a Template,
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
    /// The route rules come first: `rules[..routes]`; the field rules follow.
    routes: usize,
    fields: super::fields::FieldTable,
}

impl RuleTable {
    pub fn new(rules: Vec<Rule>) -> RuleTable {
        RuleTable {
            routes: rules.len(),
            rules,
            fields: super::fields::FieldTable::default(),
        }
    }

    /// The route rules, then one rule per field rule (`RuleId::Field`), for the envelope.
    pub fn with_fields(
        mut rules: Vec<Rule>,
        fields: super::fields::FieldTable,
    ) -> Result<RuleTable, String> {
        let routes = rules.len();
        for (i, f) in fields.rules().iter().enumerate() {
            rules.push(f.to_rule(i)?);
        }
        Ok(RuleTable {
            rules,
            routes,
            fields,
        })
    }

    /// The field rules ([`super::fields`]).
    pub fn fields(&self) -> &super::fields::FieldTable {
        &self.fields
    }

    /// Whether some field rule reads the body of this call ([`super::fields::FieldTable::inspects`]).
    pub fn inspects_fields(&self, method: &Method, path_and_query: &str) -> bool {
        let (path, _) = split_query(path_and_query);
        self.fields.inspects(method, path)
    }

    /// The table index of field rule `i`.
    pub fn field_index(&self, i: usize) -> Option<usize> {
        let index = self.routes.checked_add(i)?;
        (index < self.rules.len()).then_some(index)
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
        (0..self.routes).find_map(|index| self.match_at(index, method, path, query))
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
        self.rules[..self.routes].iter().find(|rule| {
            rule.mode != Mode::Off
                && rule.matcher.routes().any(|(m, template)| {
                    *m == method
                        && readings
                            .iter()
                            .any(|path| match template.matches_ignoring_case(path) {
                                Outcome::NoMatch => false,
                                Outcome::Match(_) => true,
                                Outcome::BadParam(_) => {
                                    rule.matcher.on_bad_param == OnBadParam::NotFound
                                }
                            })
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
        if rule.mode == Mode::Off {
            return None;
        }
        let (template, params, bad_param) = rule.matcher.routes().find_map(|(m, template)| {
            if m != method {
                return None;
            }
            match template.matches(path) {
                Outcome::NoMatch => None,
                Outcome::Match(params) => Some((template, params, None)),
                Outcome::BadParam(name) => match rule.matcher.on_bad_param {
                    OnBadParam::PassThrough => None,
                    OnBadParam::NotFound => Some((template, Params::default(), Some(name))),
                },
            }
        })?;
        Some(Matched {
            index,
            rule,
            template,
            params,
            bad_param,
            query,
        })
    }
}

/// The built-in rules, in classification order, with default modes and dates: the catalogue's
/// entries ([`super::catalogue::ENTRIES`]) shaped by the `[rules]` switches.
pub fn builtin(options: &Options) -> Result<Vec<Rule>, String> {
    catalogue::ENTRIES
        .iter()
        .map(|e| build(e, options))
        .collect()
}

fn build(e: &Entry, options: &Options) -> Result<Rule, String> {
    let name = e.name;
    let template = |t: &str| Template::parse(t).map_err(|e| format!("built-in rule {name}: {e}"));
    let kind = match e.rule {
        RuleId::DebuginfoNode => match options.node_debuginfo {
            NodeDebuginfo::Resolve => e.kind,
            NodeDebuginfo::Passthrough => Kind::Observe,
        },
        RuleId::DebuginfoNodeBdb => match options.node_bdb_debuginfo {
            NodeBdbDebuginfo::Superset => e.kind,
            NodeBdbDebuginfo::Passthrough => Kind::Observe,
            NodeBdbDebuginfo::Gone => Kind::Gone,
        },
        _ => e.kind,
    };
    let deprecation = UNIX_EPOCH + Duration::from_secs(e.deprecation);
    let sunset = e.sunset.map(|s| UNIX_EPOCH + Duration::from_secs(s));
    let gone_band = match (e.gone, options.modules_on_8x) {
        (Some(g), ModulesOn8x::Gone) => Some(GoneBand {
            from: g.from,
            successor: template(g.successor)?,
            marks: Marks::new(deprecation, sunset, g.docs)?,
            docs_url: g.docs.to_owned(),
        }),
        (Some(_), ModulesOn8x::ForwardV2) | (None, _) => None,
    };
    Ok(Rule {
        id: e.rule,
        name: name.to_owned(),
        matcher: Matcher {
            method: e.method.clone(),
            path: template(e.path)?,
            on_bad_param: e.on_bad_param,
            also: e
                .also
                .iter()
                .map(|(m, p)| {
                    let method = Method::from_bytes(m.as_bytes())
                        .map_err(|e| format!("built-in rule {name}: {e}"))?;
                    Ok((method, template(p)?))
                })
                .collect::<Result<_, String>>()?,
        },
        marks: Marks::new(deprecation, sunset, e.docs)?,
        meta: Meta {
            deprecated_in: e.deprecated_in,
            removed_in: e.removed_in,
            successor: e.successor.map(template).transpose()?,
            docs_url: e.docs.to_owned(),
            deprecation,
            sunset,
        },
        kind,
        gate: e.gate,
        gone_band,
        mode: e.mode,
        auto_observes: e.auto_observes,
    })
}

//! Path templates (`/v1/modules/{uid}`, `/v1/debuginfo/all/bdb/{bdb_uid:int}`): parsed once from
//! the built-in table or the configuration, matched against every request's path.
//!
//! Decisions:
//! - The match is literal and case-sensitive on the path in its normal form: dot segments,
//!   runs of `/` and encoded unreserved characters are resolved before, once, by
//!   [`super::target`] (issue 20 item 8), and the matcher decodes nothing. A `%`, `;`, `.` or
//!   `..` in a parameter segment, an empty segment (`//`) before the end, or extra segments mean
//!   no match; the spellings among them that a lenient server could still read as a rule's
//!   path are refused by the caller ([`matches_ignoring_case`](Template::matches_ignoring_case)
//!   finds them).
//! - One trailing slash is allowed after a non-empty last segment (`/v1/debuginfo/all/`).
//! - `{name}` takes any single non-empty segment (module uids are 32 hex characters, §4.4);
//!   `{name:int}` takes ASCII digits fitting a `u64`. A matched shape whose parameter has the
//!   wrong type (`/v1/modules/upgrade/bdb/abc`, or an empty last segment) is
//!   [`Outcome::BadParam`]: the rule says whether that is a 404 (the module-upgrade route,
//!   API.md §5.1) or a pass-through (debuginfo, §5.2).
//! - Matching allocates nothing. It runs on every request, so a template first compares its
//!   literal prefix (everything before the first parameter, at least `/v1/`), which settles
//!   almost every unrelated path in a few byte comparisons; the unit tests pin that the common
//!   no-match cases stop there. No timing test (house rule).

use std::fmt;

/// Parameters per template; more are refused when the template is parsed.
pub const MAX_PARAMS: usize = 4;

/// How a parameter segment is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Any non-empty segment without `%`, `;`, `.`/`..`.
    Segment,
    /// ASCII digits that fit a `u64` (leading zeros allowed, no sign).
    Int,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Param { name: String, kind: ParamKind },
}

/// A parsed path template.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    /// The literal text before the first parameter (the whole path when there is none).
    prefix_len: usize,
    parts: Vec<Part>,
}

/// One matched parameter value, borrowed from the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Segment(&'a str),
    Int(u64),
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Segment(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
        }
    }
}

/// The parameters of a match, in template order, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Params<'a> {
    items: [Option<(&'a str, Value<'a>)>; MAX_PARAMS],
}

impl<'a> Params<'a> {
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The value of an `{name:int}` parameter.
    pub fn int(&self, name: &str) -> Option<u64> {
        match self.get(name)? {
            Value::Int(n) => Some(n),
            Value::Segment(_) => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'a str, Value<'a>)> + '_ {
        self.items.iter().flatten().copied()
    }

    fn push(&mut self, name: &'a str, value: Value<'a>) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some((name, value));
        }
    }
}

/// The result of matching one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    NoMatch,
    Match(Params<'a>),
    /// The path has the template's shape but this parameter's value has the wrong type.
    BadParam(&'a str),
}

impl Template {
    /// Parses `/literal/{name}/{other:int}`. Errors say what is wrong, for the config key.
    pub fn parse(source: &str) -> Result<Template, String> {
        let Some(rest) = source.strip_prefix('/') else {
            return Err(format!("\"{source}\" must start with '/'"));
        };
        if source.contains(['?', '#', '%', ';']) || source.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(format!(
                "\"{source}\" must be a plain path: visible ASCII, no '?', '#', '%', ';' or spaces"
            ));
        }
        let mut parts = Vec::new();
        for segment in rest.split('/') {
            parts.push(part(source, segment)?);
        }
        let names: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                Part::Param { name, .. } => Some(name.as_str()),
                Part::Literal(_) => None,
            })
            .collect();
        if names.len() > MAX_PARAMS {
            return Err(format!(
                "\"{source}\" has {} parameters; at most {MAX_PARAMS} are supported",
                names.len()
            ));
        }
        if let Some(dup) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            return Err(format!("\"{source}\" names parameter {{{}}} twice", dup.1));
        }
        let prefix_len = source.find('{').unwrap_or(source.len());
        Ok(Template {
            source: source.to_owned(),
            prefix_len,
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literal text before the first parameter: a path that does not start with it is
    /// refused by one `starts_with`, before any segment is looked at.
    pub fn literal_prefix(&self) -> &str {
        &self.source[..self.prefix_len]
    }

    /// Parameter names, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Param { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Matches a path (without its query).
    pub fn matches<'a>(&'a self, path: &'a str) -> Outcome<'a> {
        self.matches_as(path, false)
    }

    /// Matches a path with the template's literal segments compared ASCII case-insensitively:
    /// only to find a spelling of a rule's path that must be refused
    /// ([`RuleTable::misspelled`](super::RuleTable::misspelled)), never to apply a rule.
    pub fn matches_ignoring_case<'a>(&'a self, path: &'a str) -> Outcome<'a> {
        self.matches_as(path, true)
    }

    fn matches_as<'a>(&'a self, path: &'a str, ignore_case: bool) -> Outcome<'a> {
        let prefix = self.literal_prefix().as_bytes();
        // The cheap test first: most requests differ within the literal prefix.
        let same_prefix = match path.as_bytes().get(..prefix.len()) {
            Some(head) if ignore_case => head.eq_ignore_ascii_case(prefix),
            Some(head) => head == prefix,
            None => false,
        };
        if !same_prefix {
            return Outcome::NoMatch;
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Outcome::NoMatch;
        };
        // One trailing slash after a non-empty last segment; `//` at the end is not stripped.
        let count = rest.bytes().filter(|&b| b == b'/').count() + 1;
        let rest = if count == self.parts.len() {
            rest
        } else {
            match rest.strip_suffix('/') {
                Some(inner)
                    if count == self.parts.len() + 1
                        && !inner.is_empty()
                        && !inner.ends_with('/') =>
                {
                    inner
                }
                _ => return Outcome::NoMatch,
            }
        };
        let mut segments = rest.split('/');
        let mut params = Params::default();
        let mut bad: Option<&'a str> = None;
        let last = self.parts.len().saturating_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            let Some(segment) = segments.next() else {
                return Outcome::NoMatch;
            };
            match part {
                Part::Literal(lit) => {
                    let same = match ignore_case {
                        true => segment.eq_ignore_ascii_case(lit),
                        false => segment == lit,
                    };
                    if !same {
                        return Outcome::NoMatch;
                    }
                }
                Part::Param { name, kind } => {
                    if segment.is_empty() {
                        // `//` inside the path is the cluster's to judge; an empty last segment
                        // (`/v1/modules/upgrade/bdb/`) is the route with a missing uid.
                        if i != last {
                            return Outcome::NoMatch;
                        }
                        bad = bad.or(Some(name));
                        continue;
                    }
                    if segment.contains(['%', ';']) || segment == "." || segment == ".." {
                        return Outcome::NoMatch;
                    }
                    match (kind, int(segment)) {
                        (ParamKind::Segment, _) => params.push(name, Value::Segment(segment)),
                        (ParamKind::Int, Some(n)) => params.push(name, Value::Int(n)),
                        (ParamKind::Int, None) => bad = bad.or(Some(name)),
                    }
                }
            }
        }
        if segments.next().is_some() {
            return Outcome::NoMatch;
        }
        match bad {
            Some(name) => Outcome::BadParam(name),
            None => Outcome::Match(params),
        }
    }

    /// Fills the template from `params` (by name); `None` when one is missing.
    pub fn render(&self, params: &Params<'_>) -> Option<String> {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in &self.parts {
            out.push('/');
            match part {
                Part::Literal(lit) => out.push_str(lit),
                Part::Param { name, .. } => out.push_str(&params.get(name)?.to_string()),
            }
        }
        Some(out)
    }
}

fn part(source: &str, segment: &str) -> Result<Part, String> {
    let Some(inner) = segment.strip_prefix('{') else {
        if segment.contains(['{', '}']) {
            return Err(format!(
                "\"{source}\": a parameter must be a whole segment, like /{{uid}}/"
            ));
        }
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!(
                "\"{source}\" has an empty, '.' or '..' segment; write the path as the cluster serves it"
            ));
        }
        return Ok(Part::Literal(segment.to_owned()));
    };
    let Some(inner) = inner.strip_suffix('}') else {
        return Err(format!("\"{source}\": unclosed '{{' in \"{segment}\""));
    };
    let (name, kind) = match inner.split_once(':') {
        None => (inner, ParamKind::Segment),
        Some((name, "int")) => (name, ParamKind::Int),
        Some((_, other)) => {
            return Err(format!(
                "\"{source}\": parameter type \"{other}\" is not \"int\" (write {{name}} for any segment)"
            ))
        }
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return Err(format!(
            "\"{source}\": parameter name \"{name}\" must be lower-case letters, digits or '_'"
        ));
    }
    Ok(Part::Param {
        name: name.to_owned(),
        kind,
    })
}

fn int(segment: &str) -> Option<u64> {
    if !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Splits `path?query` at the first `?`.
pub fn split_query(path_and_query: &str) -> (&str, Option<&str>) {
    match path_and_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_and_query, None),
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;

//! R14 on Redis ≥ 8: the fixed table from the old `NAME VALUE` arguments to the keys of the RS
//! `search` / `timeseries` / `probabilistic` objects ([`TABLE`], with [`Mapping`] and
//! [`ValueType`]), and [`plan_redis8`], which builds the `PUT /v1/bdbs/{uid}` body through it.
//! The table's sources and the rules it follows are the parent module's decisions; the parent
//! re-exports everything public here, so `crate::rules::module_config::X` paths are unchanged.

use super::{
    arg_names, args_unmapped, module_not_exist, names_module, pairs, shown, uid_text, ModuleArgs,
    Target, Unmapped,
};
use crate::error::ApiError;
use serde_json::{Map, Number, Value};

/// A value type on the RS object page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueType {
    /// An integer in `[min, max]`.
    Int { min: i64, max: i64 },
    /// A number strictly between 0 and 1.
    Fraction,
}

/// One row of the fixed table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    pub target: Target,
    /// The Redis < 8 name, as the old route took it.
    pub old: &'static str,
    /// The key of the RS object.
    pub new: &'static str,
    pub value: ValueType,
}

const fn row(target: Target, old: &'static str, new: &'static str, value: ValueType) -> Mapping {
    Mapping {
        target,
        old,
        new,
        value,
    }
}

const fn int(min: i64, max: i64) -> ValueType {
    ValueType::Int { min, max }
}

const MAX: i64 = i64::MAX;

/// The fixed Redis 8 table (see the module's decisions for its sources). One row a line, so it
/// reads as the table it is.
#[rustfmt::skip]
pub const TABLE: [Mapping; 7] = [
    row(Target::Search, "MINPREFIX", "search-min-prefix", int(1, MAX)),
    row(Target::Search, "MAXPREFIXEXPANSIONS", "search-max-prefix-expansions", int(1, MAX)),
    // Milliseconds; RS's range starts at 1, so the old `TIMEOUT 0` ("none") is not mapped.
    row(Target::Search, "TIMEOUT", "search-timeout", int(1, MAX)),
    row(Target::Timeseries, "RETENTION_POLICY", "ts-retention-policy", int(0, MAX)),
    row(Target::Probabilistic, "ERROR_RATE", "bf-error-rate", ValueType::Fraction),
    row(Target::Probabilistic, "INITIAL_SIZE", "bf-initial-size", int(1, 1_048_576)),
    row(Target::Probabilistic, "CF_MAX_EXPANSIONS", "cf-max-expansions", int(1, 65_535)),
];

/// Redis ≥ 8: the `PUT /v1/bdbs/{uid}` body with each touched object whole (§4.4 steps 3, 5).
pub fn plan_redis8(bdb: &Value, modules: &[ModuleArgs]) -> Result<Value, ApiError> {
    let mut objects = Map::new();
    for module in modules {
        let listed = match bdb.get("module_list") {
            Some(Value::Array(list)) => list.iter().any(|e| names_module(e, &module.module_name)),
            _ => false,
        };
        let Some(target) = Target::of_module(&module.module_name) else {
            if !listed {
                return Err(module_not_exist(bdb, &module.module_name));
            }
            let unmapped = Unmapped {
                tokens: arg_names(&module.args),
                reason: format!(
                    "{} has no configuration object on Redis 8 databases",
                    module.module_name
                ),
            };
            return Err(args_unmapped(bdb, module, &unmapped, None));
        };
        let key = target.as_str();
        let read = bdb.get(key).and_then(Value::as_object);
        if !listed && read.is_none() {
            return Err(module_not_exist(bdb, &module.module_name));
        }
        let settings = map_pairs(target, &module.args)
            .map_err(|u| args_unmapped(bdb, module, &u, Some(target)))?;
        if !objects.contains_key(key) {
            let Some(read) = read else {
                return Err(ApiError::upstream_invalid_reply(format!(
                    "GET /v1/bdbs/{}?extended=true answered without a {key} object to merge into",
                    uid_text(bdb)
                )));
            };
            objects.insert(key.to_owned(), Value::Object(read.clone()));
        }
        if let Some(Value::Object(object)) = objects.get_mut(key) {
            for (new, value) in settings {
                object.insert(new.to_owned(), value);
            }
        }
    }
    Ok(Value::Object(objects))
}

/// Each pair through [`TABLE`]; every unmapped name is reported at once.
fn map_pairs(target: Target, args: &str) -> Result<Vec<(&'static str, Value)>, Unmapped> {
    let pairs = pairs(args, "module_args")?;
    let tokens: Vec<&str> = args.split_ascii_whitespace().collect();
    let visible = shown(&tokens);
    let mut mapped = Vec::with_capacity(pairs.len());
    let mut unknown = Vec::new();
    let mut invalid = Vec::new();
    for (i, (name, value)) in pairs.into_iter().enumerate() {
        let Some(row) = TABLE.iter().find(|m| m.target == target && m.old == name) else {
            // A name after a password name may be the password, shifted by a flag.
            unknown.push(visible.get(2 * i).cloned().unwrap_or_default());
            continue;
        };
        match parse_value(row.value, value) {
            Some(v) => mapped.push((row.new, v)),
            None => invalid.push(row),
        }
    }
    if unknown.is_empty() && invalid.is_empty() {
        return Ok(mapped);
    }
    let mut reasons = Vec::new();
    if !unknown.is_empty() {
        reasons.push(format!(
            "no {} setting on the RS object page for {}",
            target.as_str(),
            unknown.join(", ")
        ));
    }
    if !invalid.is_empty() {
        let expected: Vec<String> = invalid
            .iter()
            .map(|row| format!("{} (expects {})", row.old, describe(row.value)))
            .collect();
        reasons.push(format!("out-of-type value for {}", expected.join(", ")));
    }
    let mut tokens = unknown;
    tokens.extend(invalid.iter().map(|row| row.old.to_owned()));
    Err(Unmapped {
        tokens,
        reason: reasons.join("; "),
    })
}

fn parse_value(kind: ValueType, text: &str) -> Option<Value> {
    match kind {
        ValueType::Int { min, max } => {
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: i64 = text.parse().ok()?;
            (min..=max).contains(&n).then(|| Value::from(n))
        }
        ValueType::Fraction => {
            let plain = text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-');
            if !plain || !text.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
                return None;
            }
            let x: f64 = text.parse().ok()?;
            (x > 0.0 && x < 1.0)
                .then(|| Number::from_f64(x))
                .flatten()
                .map(Value::Number)
        }
    }
}

fn describe(kind: ValueType) -> String {
    match kind {
        ValueType::Int { min, max } => format!("an integer in {min}..={max}"),
        ValueType::Fraction => "a number strictly between 0 and 1".to_owned(),
    }
}

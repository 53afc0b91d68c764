//! JSON pointers for field rules (RFC 6901), with one extension: a `*` token matches every
//! element of an array (`/module_list/*/module_id`, API-CATALOGUE §9's `module_list[].`).
//!
//! Decisions:
//! - A field pointer ends with an object key: the rule acts on that key in its parent object
//!   (rename, strip), so `/a/*` or the root `""` are refused when the rule is built.
//! - A token of digits addresses an array element too (RFC 6901 §4); `~0`/`~1` are unescaped.
//! - At most [`MAX_TOKENS`] tokens, and [`MAX_MATCHES`] concrete places per pointer per body:
//!   a body with a million array entries costs a bounded walk, not a bounded-by-the-body one.

use serde_json::Value;

/// Longest pointer, in tokens.
pub const MAX_TOKENS: usize = 16;
/// Most places one pointer is found at in one body (the rest are not inspected).
pub const MAX_MATCHES: usize = 256;

/// One token of a pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Key(String),
    /// `*`: every element of an array.
    Each,
}

/// A parsed field pointer: the tokens down to the parent object, then the field's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    source: String,
    parent: Vec<Token>,
    key: String,
}

/// One place a pointer was found: the parent object's concrete pointer (RFC 6901, no `*`), and
/// the key in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub parent: String,
    pub key: String,
}

impl Place {
    /// The field's own concrete pointer, for the audit record.
    pub fn pointer(&self) -> String {
        format!("{}/{}", self.parent, escape(&self.key))
    }
}

impl Pointer {
    /// Parses `/a/b`, `/list/*/c`. Errors say what is wrong, for the config key.
    pub fn parse(source: &str) -> Result<Pointer, String> {
        let Some(rest) = source.strip_prefix('/') else {
            return Err(format!(
                "\"{source}\" is not a JSON pointer: it must start with '/' (RFC 6901)"
            ));
        };
        let mut tokens: Vec<Token> = rest
            .split('/')
            .map(|t| match t {
                "*" => Token::Each,
                t => Token::Key(t.replace("~1", "/").replace("~0", "~")),
            })
            .collect();
        if tokens.len() > MAX_TOKENS {
            return Err(format!(
                "\"{source}\" has {} tokens; at most {MAX_TOKENS} are supported",
                tokens.len()
            ));
        }
        match tokens.pop() {
            Some(Token::Key(key)) if !key.is_empty() => Ok(Pointer {
                source: source.to_owned(),
                parent: tokens,
                key,
            }),
            _ => Err(format!(
                "\"{source}\" must end with a field name (not '*' or an empty token)"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The field's key (its last token).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Every place in `root` where the field is present, in document order, at most
    /// [`MAX_MATCHES`].
    pub fn find(&self, root: &Value) -> Vec<Place> {
        let mut out = Vec::new();
        walk(root, &self.parent, String::new(), &self.key, &mut out);
        out
    }
}

fn walk(value: &Value, tokens: &[Token], at: String, key: &str, out: &mut Vec<Place>) {
    if out.len() >= MAX_MATCHES {
        return;
    }
    let Some((first, rest)) = tokens.split_first() else {
        if value.as_object().is_some_and(|o| o.contains_key(key)) {
            out.push(Place {
                parent: at,
                key: key.to_owned(),
            });
        }
        return;
    };
    match (first, value) {
        (Token::Each, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, rest, format!("{at}/{i}"), key, out);
            }
        }
        (Token::Key(k), Value::Object(map)) => {
            if let Some(v) = map.get(k) {
                walk(v, rest, format!("{at}/{}", escape(k)), key, out);
            }
        }
        (Token::Key(k), Value::Array(items)) => {
            if let Some(v) = k.parse::<usize>().ok().and_then(|i| items.get(i)) {
                walk(v, rest, format!("{at}/{k}"), key, out);
            }
        }
        _ => {}
    }
}

/// RFC 6901 §3: `~` → `~0`, `/` → `~1`.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_star_walks_every_array_element_and_places_are_concrete() {
        let p = Pointer::parse("/instances/*/db_config/authentication_redis_pass").unwrap();
        let body = json!({"instances": [
            {"db_config": {"authentication_redis_pass": "x"}},
            {"db_config": {}},
            {"db_config": {"authentication_redis_pass": "y"}}
        ]});
        let found: Vec<String> = p.find(&body).iter().map(Place::pointer).collect();
        assert_eq!(
            found,
            [
                "/instances/0/db_config/authentication_redis_pass",
                "/instances/2/db_config/authentication_redis_pass"
            ]
        );
    }

    #[test]
    fn escapes_round_trip_and_bad_pointers_are_refused_with_the_reason() {
        let p = Pointer::parse("/a~1b/c~0d").unwrap();
        let body = json!({"a/b": {"c~d": 1}});
        assert_eq!(p.find(&body)[0].pointer(), "/a~1b/c~0d");
        assert!(Pointer::parse("role")
            .unwrap_err()
            .contains("start with '/'"));
        assert!(Pointer::parse("/list/*")
            .unwrap_err()
            .contains("field name"));
        assert!(Pointer::parse("").is_err());
        let deep = "/a".repeat(MAX_TOKENS + 1);
        assert!(Pointer::parse(&deep).unwrap_err().contains("at most"));
    }

    #[test]
    fn a_huge_array_is_walked_only_up_to_the_bound() {
        let p = Pointer::parse("/l/*/k").unwrap();
        let items: Vec<Value> = (0..1000).map(|_| json!({"k": 1})).collect();
        assert_eq!(p.find(&json!({ "l": items })).len(), MAX_MATCHES);
    }

    #[test]
    fn a_field_of_another_type_is_not_found() {
        let p = Pointer::parse("/bdb/role").unwrap();
        assert!(p.find(&json!({"bdb": [1, 2]})).is_empty());
        assert!(p.find(&json!("text")).is_empty());
        assert_eq!(p.find(&json!({"bdb": {"role": null}})).len(), 1);
    }
}

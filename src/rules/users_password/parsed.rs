//! The body as R13 reads it: a JSON object and the keys it names more than once, which
//! `serde_json` would keep the last of silently (a twice-named `username` or `old_password` is
//! not the legacy form, and a twice-named `username` trips the guard: the parent's decisions).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// The body as this rule reads it: a JSON object and the keys it names more than once.
pub(super) struct Parsed {
    pub(super) object: Option<Map<String, Value>>,
    duplicated: Vec<String>,
}

impl Parsed {
    pub(super) fn read(body: &[u8]) -> Parsed {
        match serde_json::from_slice::<Strict>(body) {
            Ok(Strict { object, duplicated }) => Parsed {
                object: Some(object),
                duplicated,
            },
            Err(_) => Parsed {
                object: None,
                duplicated: Vec::new(),
            },
        }
    }

    pub(super) fn duplicated(&self, key: &str) -> bool {
        self.duplicated.iter().any(|k| k == key)
    }

    /// A non-null `username` (null defaults to the authenticated user).
    pub(super) fn username(&self) -> Option<&Value> {
        self.object
            .as_ref()?
            .get("username")
            .filter(|v| !v.is_null())
    }

    pub(super) fn target(&self) -> Option<String> {
        Some(match self.username()? {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// The legacy form (step 2): string `username` and `old_password`, each named once.
    pub(super) fn legacy(&self) -> Option<(&str, &str, &Map<String, Value>)> {
        let object = self.object.as_ref()?;
        if self.duplicated("username") || self.duplicated("old_password") {
            return None;
        }
        match (object.get("username"), object.get("old_password")) {
            (Some(Value::String(user)), Some(Value::String(password))) => {
                Some((user, password, object))
            }
            _ => None,
        }
    }
}

/// A JSON object that remembers which keys it saw twice (`serde_json` keeps the last silently).
struct Strict {
    object: Map<String, Value>,
    duplicated: Vec<String>,
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Strict, A::Error> {
        let mut object = Map::new();
        let mut duplicated = Vec::new();
        while let Some((key, value)) = access.next_entry::<String, Value>()? {
            if object.contains_key(&key) && !duplicated.contains(&key) {
                duplicated.push(key.clone());
            }
            object.insert(key, value);
        }
        Ok(Strict { object, duplicated })
    }
}

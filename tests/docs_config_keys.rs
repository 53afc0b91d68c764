//! Every key of `config/example.toml` is documented in README.md or in a file under `docs/`.
//!
//! Why: the README is a newcomer's page and the details live in `docs/`; a key added to the
//! configuration without a word of prose would go unnoticed. `example.toml` lists every key (set
//! to its default, or commented out), so it is the list to check the docs against.
//!
//! Keys commented out in the example (`# tls_cert = "..."`, the whole `[lifecycle.<rule>]` and
//! `[[rules.custom]]` examples) count too: a comment line is a key, or a table header, when its
//! text after the `#` parses as TOML on its own. Prose never does; the example's notes of the
//! flag that sets a key (`# [--audit-log]`) would, and are skipped.
//!
//! A key is checked by its name, the last part of its path: tables keyed by a rule name
//! (`[rules.authorize]`, `[lifecycle.module_upgrade]`) and arrays of tables (`[[rules.custom]]`)
//! are documented once, by the names of the keys inside them. A name is documented when the docs
//! show it in backticks (`` `drain_delay` ``), as the end of a dotted path in backticks
//! (`` `listen.drain_delay` ``), or as a TOML line setting it (`sunset_date = "2027-06-30"`).

use std::collections::BTreeSet;
use std::path::Path;

/// Where a missing key is to be documented.
const CONFIG_DOC: &str = "docs/CONFIGURATION.md";

#[test]
fn every_key_in_the_example_config_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example_path = root.join("config/example.toml");
    let example = std::fs::read_to_string(&example_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", example_path.display()));
    let docs = docs_text(root);
    let missing = undocumented(&example, &docs).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        missing.is_empty(),
        "{} key(s) of config/example.toml are not documented in README.md or docs/:\n{}",
        missing.len(),
        missing
            .iter()
            .map(|path| format!("  {path}: add `{}` to {CONFIG_DOC}", key_name(path)))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_key_missing_from_the_docs_is_reported() {
    let example = "[upstream]\nurl = \"https://c:9443\"\nbogus_key = 1\n\
                   # [--upstream]\n# bogus_commented = \"2s\"\n# [[rules.custom]]\n# bogus_inner = \"x\"\n";
    let docs = "Set `upstream.url`.";
    assert_eq!(
        undocumented(example, docs).unwrap(),
        [
            "rules.custom.bogus_inner",
            "upstream.bogus_commented",
            "upstream.bogus_key"
        ]
    );
}

#[test]
fn backticks_a_dotted_path_or_a_toml_line_document_a_key() {
    let example = "[a]\nplain = 1\ndotted = 2\n[a.b]\nline = 3\n";
    let docs = "`plain`, the `a.dotted` key.\n```toml\n  line = 3\n```\nplainly, dotted, line";
    assert_eq!(undocumented(example, docs).unwrap(), Vec::<String>::new());
    assert_eq!(
        undocumented(example, "plain a.dotted line").unwrap(),
        ["a.b.line", "a.dotted", "a.plain"]
    );
}

#[test]
fn an_example_that_is_not_toml_is_an_error() {
    assert!(undocumented("[upstream\nurl = 1", "").is_err());
}

/// README.md and every `.md` file under `docs/`, one after the other.
fn docs_text(root: &Path) -> String {
    let mut files = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The key paths of `example` whose names `docs` does not mention, sorted.
fn undocumented(example: &str, docs: &str) -> Result<Vec<String>, String> {
    Ok(key_paths(example)?
        .into_iter()
        .filter(|path| !documents(docs, key_name(path)))
        .collect())
}

/// Every key path of the example, set or commented out; tables themselves are not keys.
fn key_paths(example: &str) -> Result<BTreeSet<String>, String> {
    let table: toml::Table = example
        .parse()
        .map_err(|e| format!("config/example.toml is not valid TOML: {e}"))?;
    let mut paths = BTreeSet::new();
    leaves(&table, "", &mut paths);
    // Commented-out keys: the table they belong to is the last header above them, set or not.
    let mut section = String::new();
    for line in example.lines() {
        let line = line.trim();
        let (commented, text) = match line.strip_prefix('#') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        let Ok(parsed) = text.parse::<toml::Table>() else {
            continue;
        };
        if text.starts_with("[-") {
            // `# [--audit-log]`: the example's note of the flag that sets a key, not a table.
            continue;
        } else if text.starts_with('[') {
            section = text.trim_matches(|c| c == '[' || c == ']').to_string();
        } else if commented {
            leaves(&parsed, &section, &mut paths);
        }
    }
    Ok(paths)
}

/// Collects `prefix.key` for every non-table value under `table`, descending into tables and
/// arrays of tables.
fn leaves(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => leaves(inner, &path, out),
            toml::Value::Array(items)
                if !items.is_empty() && items.iter().all(toml::Value::is_table) =>
            {
                for item in items {
                    leaves(item.as_table().expect("checked"), &path, out);
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

fn key_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Whether `docs` shows `name` as `` `name` ``, as `` `some.path.name` `` or as `name = ...`.
fn documents(docs: &str, name: &str) -> bool {
    let closing = format!("{name}`");
    let in_backticks = docs.match_indices(&closing).any(|(at, _)| {
        let before = &docs[..at];
        match before.chars().next_back() {
            Some('`') => true,
            Some('.') => {
                before
                    .chars()
                    .rev()
                    .find(|c| !(c.is_ascii_alphanumeric() || "._-<>[]".contains(*c)))
                    == Some('`')
            }
            _ => false,
        }
    });
    in_backticks
        || docs.lines().any(|line| {
            let line = line.trim_start().trim_start_matches('#').trim_start();
            line.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
}

//! R14's `NAME VALUE` argument strings: pairing them ([`pairs`], the contract's rule), merging
//! them on Redis < 8 ([`merge_args`]), and what of them may be shown ([`shown`], [`arg_names`]:
//! names only, never values). The rules are the parent module's decisions; the parent
//! re-exports everything public here, so `crate::rules::module_config::X` paths are unchanged.

use super::Unmapped;

/// Redis < 8 (§4.4 step 4): `new`'s pairs merged into `current`'s.
pub fn merge_args(current: &str, new: &str) -> Result<String, Unmapped> {
    let mut merged: Vec<(&str, &str)> = pairs(current, "the database's module_args")?;
    for (name, value) in pairs(new, "module_args")? {
        let mut found = false;
        for slot in merged.iter_mut().filter(|(n, _)| *n == name) {
            slot.1 = value;
            found = true;
        }
        if !found {
            merged.push((name, value));
        }
    }
    let mut out = String::new();
    for (name, value) in merged {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(name);
        out.push(' ');
        out.push_str(value);
    }
    Ok(out)
}

/// `NAME VALUE` pairs, or why not (`whose` names the string in the reason).
pub(super) fn pairs<'a>(args: &'a str, whose: &str) -> Result<Vec<(&'a str, &'a str)>, Unmapped> {
    let tokens: Vec<&str> = args.split_ascii_whitespace().collect();
    if !tokens.len().is_multiple_of(2) {
        return Err(Unmapped {
            tokens: shown(&tokens),
            reason: format!(
                "{whose} has an odd number of tokens ({}): a flag, or a value with spaces, \
                 cannot be paired without guessing",
                tokens.len()
            ),
        });
    }
    let bad: Vec<String> = tokens
        .iter()
        .step_by(2)
        .enumerate()
        .filter(|(_, t)| !is_name(t))
        .map(|(i, _)| (2 * i + 1).to_string())
        .collect();
    if !bad.is_empty() {
        return Err(Unmapped {
            tokens: shown(&tokens),
            reason: match bad.as_slice() {
                [one] => format!(
                    "{whose} is not a list of NAME VALUE pairs: token {one} is not an upper-case name"
                ),
                many => format!(
                    "{whose} is not a list of NAME VALUE pairs: tokens {} are not upper-case names",
                    many.join(", ")
                ),
            },
        });
    }
    Ok(tokens
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [name, value] => Some((*name, *value)),
            _ => None,
        })
        .collect())
}

/// `^[A-Z_]+$`.
fn is_name(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
}

/// The tokens as they may be shown: names, and `…` for anything that may be a value.
pub(super) fn shown(tokens: &[&str]) -> Vec<String> {
    let mut after_password = false;
    tokens
        .iter()
        .map(|t| {
            let show = is_name(t) && !after_password;
            after_password = t.to_ascii_uppercase().contains("PASSWORD");
            if show {
                (*t).to_owned()
            } else {
                "…".to_owned()
            }
        })
        .collect()
}

/// The argument names of `args` for the audit: the pair names when it pairs, else every token
/// shown as a name (names and values cannot be told apart then).
pub fn arg_names(args: &str) -> Vec<String> {
    let tokens: Vec<&str> = args.split_ascii_whitespace().collect();
    let paired = pairs(args, "").is_ok();
    shown(&tokens)
        .into_iter()
        .enumerate()
        .filter(|(i, t)| (!paired || i.is_multiple_of(2)) && t != "…")
        .map(|(_, t)| t)
        .collect()
}

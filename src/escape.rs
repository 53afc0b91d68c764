//! Text from callers and from the cluster made safe for one log line, an audit field or a
//! terminal: the one escaping helper every log line and the report table use.
//!
//! Decisions:
//! - Escaped (not dropped), so an operator still sees that something odd was sent: `\n`, `\r`,
//!   `\t`, `\\`, everything else as `\u{…}`. The backslash is escaped too, so a caller cannot
//!   type a literal `\n` that reads like an escaped newline of ours.
//! - Unsafe are every control character (C0 with ESC, DEL, C1 with the 8-bit CSI), the line and
//!   paragraph separators (U+2028/2029), and the Unicode format characters that reorder or hide
//!   text: bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069), marks (U+061C,
//!   U+200E/200F), zero-width characters (U+200B–200D, U+2060–2064, U+FEFF), the deprecated
//!   format controls (U+206A–206F), interlinear annotations (U+FFF9–FFFB), the soft hyphen,
//!   U+180E and the tag block (U+E0000–E007F) — the Cf category as far as it can mislead a reader.
//! - Text that needs nothing is not copied ([`escape`] borrows, [`Escaped`] writes it through),
//!   so a clean access-log path costs one scan.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` must not reach a log line or a terminal as is (see the module docs).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `s` with every unsafe character escaped; borrowed when nothing needed escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    if s.chars().any(|c| c == '\\' || is_unsafe(c)) {
        Cow::Owned(Escaped(s).to_string())
    } else {
        Cow::Borrowed(s)
    }
}

/// Displays the wrapped text escaped, without allocating: for `tracing` fields (`%Escaped(x)`).
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(i) = rest.find(|c: char| c == '\\' || is_unsafe(c)) {
            f.write_str(&rest[..i])?;
            let c = rest[i..].chars().next().unwrap_or('\\');
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[i + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// `s` escaped and cut to at most `max` characters of output, ending in `…` when cut; for
/// table cells and length-capped fields. The cut never splits an escape sequence.
pub fn escape_capped(s: &str, max: usize) -> String {
    let escaped = escape(s);
    if escaped.chars().count() <= max {
        return escaped.into_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let mut piece = String::new();
        let _ = write!(piece, "{}", Escaped(c.encode_utf8(&mut [0; 4])));
        let n = piece.chars().count();
        if used + n + 1 > max {
            break;
        }
        out.push_str(&piece);
        used += n;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed_unchanged() {
        assert!(matches!(
            escape("ReJSON 2.6.17 curl/8.1 é ünïcode 漢字"),
            Cow::Borrowed(_)
        ));
        assert_eq!(Escaped("/v1/bdbs/1").to_string(), "/v1/bdbs/1");
    }

    #[test]
    fn a_forged_newline_and_an_esc_sequence_become_visible_text() {
        let forged = "x\n2026-01-01T00:00:00Z  INFO fake: ok\u{1b}[2J\u{1b}]0;pwn\u{7}";
        let out = escape(forged);
        assert_eq!(
            out,
            "x\\n2026-01-01T00:00:00Z  INFO fake: ok\\u{1b}[2J\\u{1b}]0;pwn\\u{7}"
        );
        assert!(!out.chars().any(is_unsafe));
    }

    #[test]
    fn backslashes_c1_and_bidi_controls_are_escaped() {
        assert_eq!(escape("a\\nb"), "a\\\\nb");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("\r\t\u{7f}"), "\\r\\t\\u{7f}");
        for c in [
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{200F}',
            '\u{FEFF}',
            '\u{2028}',
            '\u{E0041}',
            '\u{061C}',
        ] {
            let s = format!("admin{c}gpj.exe");
            let out = escape(&s);
            assert!(!out.contains(c), "{c:?}");
            assert!(out.contains(&format!("\\u{{{:x}}}", c as u32)), "{out}");
        }
    }

    #[test]
    fn capped_escape_never_splits_a_sequence() {
        assert_eq!(escape_capped("abcdef", 6), "abcdef");
        assert_eq!(escape_capped("abcdefg", 6), "abcde…");
        let cut = escape_capped("ab\u{1b}cdef", 6);
        assert_eq!(cut, "ab…");
        assert!(cut.chars().count() <= 6);
        assert_eq!(escape_capped("\n\n\n\n", 5), "\\n\\n…");
    }
}

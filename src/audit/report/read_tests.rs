//! Tests of the streaming reader: which lines count as calls and which are skipped (corrupt,
//! an unknown phase, longer than `MAX_LINE_BYTES`).

use super::*;

const GOOD: &str = r#"{"ts":"2025-01-02T03:04:05.678Z","client":"10.0.0.1","user":"ops","user_agent":"t\/1","bdb_uid":3,"outcome":"ok","status":200}"#;

fn summarise(text: &[u8]) -> Summary {
    let mut s = Summary::new();
    aggregate_reader(&mut s, text, None).unwrap();
    s
}

#[test]
fn corrupt_lines_are_skipped_and_counted() {
    let text = format!(
        "{GOOD}\nnot json\n{{\"ts\":\"yesterday\",\"client\":\"x\",\"outcome\":\"ok\"}}\n\n{{\"client\":\"x\"}}\n{}\n\u{0}\u{0}\n{GOOD}",
        &GOOD[..40]
    );
    let s = summarise(text.as_bytes());
    assert_eq!(s.calls(), 2);
    assert_eq!(s.skipped(), 5);
    assert_eq!(s.report().callers[0].user_agent.as_deref(), Some("t/1"));
}

#[test]
fn a_record_with_an_unknown_phase_is_skipped_not_counted_as_served() {
    let bogus = GOOD.replace("\"outcome\"", "\"phase\":\"bogus\",\"outcome\"");
    let refused = GOOD.replace("\"outcome\"", "\"phase\":\"refused\",\"outcome\"");
    let s = summarise(format!("{bogus}\n{refused}\n").as_bytes());
    assert_eq!((s.calls(), s.skipped()), (1, 1));
    assert_eq!(s.report().callers[0].phases.refused, 1);
}

#[test]
fn overlong_line_is_skipped_without_losing_the_next() {
    let mut text = vec![b'x'; MAX_LINE_BYTES * 2 + 7];
    text.push(b'\n');
    text.extend_from_slice(GOOD.as_bytes());
    text.extend_from_slice(b"\n");
    let s = summarise(&text);
    assert_eq!((s.calls(), s.skipped()), (1, 1));
}

#[test]
fn line_of_exactly_the_limit_is_read() {
    let pad = MAX_LINE_BYTES - GOOD.len();
    let mut text = GOOD.as_bytes().to_vec();
    text.resize(text.len() + pad, b' ');
    text.push(b'\n');
    let s = summarise(&text);
    assert_eq!((s.calls(), s.skipped()), (1, 0));
}

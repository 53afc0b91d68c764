//! Streaming audit files into a [`Summary`]: one reused line buffer, only the fields the report
//! needs deserialised (borrowed where the JSON has no escapes), gzip recognised by its magic
//! bytes so rotated files are read whatever their name. A line that is not a record is counted
//! and skipped; a line longer than [`MAX_LINE_BYTES`] is skipped without being buffered.
//! The lines go to a [`Sink`]: the report's [`Summary`], or readiness's tally
//! ([`crate::readiness`]), so both read the same records the same way.

use super::{Call, CallPhase, Summary};
use crate::audit::record::Outcome;
use flate2::bufread::MultiGzDecoder;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Longest line taken as a record; records are well under 4 KiB.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

const READ_BUFFER: usize = 256 * 1024;

/// The fields of an audit line the readers use; everything else is ignored unparsed.
#[derive(Deserialize)]
pub struct Line<'a> {
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow, default)]
    pub request_id: Cow<'a, str>,
    /// `intent` (issue 20): not a call yet; its outcome record follows.
    #[serde(borrow, default)]
    pub record: Option<Cow<'a, str>>,
    /// Absent in records written before the rule table: the module-upgrade rule.
    #[serde(borrow, default)]
    pub rule: Option<Cow<'a, str>>,
    /// Absent: no lifecycle decision (served). An unknown value makes the line a skipped one.
    #[serde(default)]
    pub phase: Option<CallPhase>,
    #[serde(borrow)]
    pub client: Cow<'a, str>,
    #[serde(borrow, default)]
    pub forwarded_client: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user: Option<Cow<'a, str>>,
    /// Absent in records written before verification existed: unverified.
    #[serde(default)]
    pub verified: bool,
    #[serde(borrow, default)]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(default)]
    pub bdb_uid: Option<u64>,
    pub outcome: Outcome,
    #[serde(borrow, default)]
    pub instance: Option<Cow<'a, str>>,
    /// A coalesced record's calls (absent: one) and its last call (issue 20).
    #[serde(default)]
    count: Option<u64>,
    #[serde(borrow, default)]
    last_seen: Option<Cow<'a, str>>,
    /// The route template and method (readiness's evidence).
    #[serde(borrow, default)]
    pub route: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    /// Only `detail.fields` (the field rules' hits) and the reply-side keys are read.
    #[serde(default)]
    pub detail: Option<Detail<'a>>,
}

/// The part of a record's `detail` readers use: the field rules' hits, and what a reply-side
/// rule saw (F14's `aliases[].field`, F2's `predefined_absent`).
#[derive(Deserialize)]
pub struct Detail<'a> {
    #[serde(borrow, default)]
    fields: Option<Hits<'a>>,
    #[serde(borrow, default)]
    aliases: Option<Hits<'a>>,
    #[serde(borrow, default)]
    predefined_absent: Option<Names<'a>>,
}

/// `detail.predefined_absent`: names, or (another rule's detail) anything, ignored.
#[derive(Deserialize)]
#[serde(untagged)]
enum Names<'a> {
    #[serde(borrow)]
    List(Vec<Cow<'a, str>>),
    Other(serde::de::IgnoredAny),
}

/// `detail.fields`: a list of hits, or (another rule's detail) anything, ignored.
#[derive(Deserialize)]
#[serde(untagged)]
enum Hits<'a> {
    #[serde(borrow)]
    List(Vec<FieldHit<'a>>),
    Other(serde::de::IgnoredAny),
}

/// One field rule's hit as the record lists it: the rule's name and the concrete pointer.
#[derive(Deserialize)]
pub struct FieldHit<'a> {
    #[serde(borrow, default)]
    pub rule: Cow<'a, str>,
    #[serde(borrow, default)]
    pub field: Cow<'a, str>,
}

impl Line<'_> {
    /// The field rules' hits of the record (empty for a route rule's record).
    pub fn field_hits(&self) -> &[FieldHit<'_>] {
        match self.detail.as_ref().and_then(|d| d.fields.as_ref()) {
            Some(Hits::List(hits)) => hits,
            _ => &[],
        }
    }

    /// What a reply-side rule saw in the reply (F14: the old keys added; F2: the predefined
    /// names absent, possibly none); `None` for a record of a call's request.
    pub fn reply_keys(&self) -> Option<Vec<&str>> {
        let d = self.detail.as_ref()?;
        match (&d.aliases, &d.predefined_absent) {
            (Some(Hits::List(hits)), _) => Some(hits.iter().map(|h| h.field.as_ref()).collect()),
            (_, Some(Names::List(names))) => Some(names.iter().map(AsRef::as_ref).collect()),
            _ => None,
        }
    }
}

/// Where records go once read: one call per record (`many` for a coalesced one, the last call
/// at `many.last`), and one `skip` per line that was not a record.
pub trait Sink {
    fn call(&mut self, line: &Line<'_>, ts: SystemTime, many: &super::Many);
    fn skip(&mut self);
}

impl Sink for Summary {
    fn call(&mut self, line: &Line<'_>, ts: SystemTime, many: &super::Many) {
        self.add_many(
            Call {
                rule: line.rule.as_deref(),
                phase: line.phase,
                user: line.user.as_deref(),
                client: &line.client,
                forwarded_client: line.forwarded_client.as_deref(),
                verified: line.verified,
                user_agent: line.user_agent.as_deref(),
                ts,
                bdb_uid: line.bdb_uid,
                outcome: line.outcome,
                instance: line.instance.as_deref(),
            },
            many,
        );
    }

    fn skip(&mut self) {
        Summary::skip(self);
    }
}

/// Reads every file into one summary, keeping calls at or after `since`.
pub fn aggregate(files: &[PathBuf], since: Option<SystemTime>) -> Result<Summary, String> {
    aggregate_filtered(files, since, None)
}

/// [`aggregate`], keeping only the calls of `rule` when given (`report --rule`).
pub fn aggregate_filtered(
    files: &[PathBuf],
    since: Option<SystemTime>,
    rule: Option<String>,
) -> Result<Summary, String> {
    let mut summary = Summary::new().only_rule(rule);
    visit(files, since, &mut summary)?;
    Ok(summary)
}

/// Reads every file into `sink`, keeping calls at or after `since`.
pub fn visit(
    files: &[PathBuf],
    since: Option<SystemTime>,
    sink: &mut impl Sink,
) -> Result<(), String> {
    let mut intents = Intents::default();
    for path in files {
        let reader = open(path)?;
        read_lines(sink, &mut intents, reader, since)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    }
    intents.settle(sink, since);
    Ok(())
}

/// The intent records (issue 20) whose outcome has not been read yet, by request id: the line
/// itself. An outcome removes its intent; what is left once every file is read is a call whose
/// end nobody recorded, counted `interrupted` (the intent line says so). Holds one line per
/// call in flight when the files were cut, plus the intents of calls that never ended.
#[derive(Default)]
struct Intents(HashMap<String, Vec<u8>>);

impl Intents {
    fn settle(self, summary: &mut impl Sink, since: Option<SystemTime>) {
        for text in self.0.values() {
            match parse(text) {
                Some((line, ts)) => add_call(summary, &line, ts, since),
                None => summary.skip(),
            }
        }
    }
}

/// Opens a file for reading, decompressing when it starts with the gzip magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let head = reader
        .fill_buf()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        // Multi-member: `cat a.gz b.gz` and some rotators produce several gzip members.
        let gz = MultiGzDecoder::new(reader);
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, gz)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Adds every record of `reader` to `summary` (an intent without its outcome in `reader`
/// counts as `interrupted`).
pub fn aggregate_reader(
    summary: &mut impl Sink,
    reader: impl BufRead,
    since: Option<SystemTime>,
) -> io::Result<()> {
    let mut intents = Intents::default();
    read_lines(summary, &mut intents, reader, since)?;
    intents.settle(summary, since);
    Ok(())
}

fn read_lines(
    summary: &mut impl Sink,
    intents: &mut Intents,
    mut reader: impl BufRead,
    since: Option<SystemTime>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    while let Some(complete) = next_line(&mut reader, &mut buf)? {
        if !complete {
            summary.skip();
            continue;
        }
        let text = trim_ascii(&buf);
        if text.is_empty() {
            continue;
        }
        match parse(text) {
            Some((line, _)) if line.record.as_deref() == Some("intent") => {
                intents
                    .0
                    .insert(line.request_id.into_owned(), text.to_vec());
            }
            Some((line, ts)) => {
                intents.0.remove(line.request_id.as_ref());
                add_call(summary, &line, ts, since);
            }
            None => summary.skip(),
        }
    }
    Ok(())
}

/// Counts one record (kept at or after `since`).
fn add_call(sink: &mut impl Sink, line: &Line<'_>, ts: SystemTime, since: Option<SystemTime>) {
    if since.is_some_and(|s| ts < s) {
        return;
    }
    let many = super::Many {
        count: line.count.unwrap_or(1),
        last: line
            .last_seen
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339(t).ok())
            .map_or(ts, |last| last.max(ts)),
    };
    sink.call(line, ts, &many);
}

fn parse(text: &[u8]) -> Option<(Line<'_>, SystemTime)> {
    let line: Line<'_> = serde_json::from_slice(text).ok()?;
    let ts = humantime::parse_rfc3339(&line.ts).ok()?;
    Some((line, ts))
}

/// Reads the next line (without its '\n') into `buf`. `Some(false)`: the line was longer than
/// [`MAX_LINE_BYTES`] and was skipped to its end; `None`: end of input.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<bool>> {
    buf.clear();
    let limit = MAX_LINE_BYTES as u64 + 1;
    let n = reader.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(true));
    }
    if buf.len() < limit as usize {
        // The last line of a file without a final newline.
        return Ok(Some(true));
    }
    buf.clear();
    skip_to_newline(reader)?;
    Ok(Some(false))
}

fn skip_to_newline(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let (found, used) = {
            let chunk = match reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(());
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, chunk.len()),
            }
        };
        reader.consume(used);
        if found {
            return Ok(());
        }
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;

//! A small pure `multipart/form-data` reader (RFC 7578) for the simulator's module uploads:
//! the boundary from `Content-Type`, then each part's `name`, `filename` and bytes. The whole
//! body is already in memory (bounded by the service), so a slice-based reader is enough.
//! At most [`MAX_PARTS`] parts and 8 KiB of headers per part; anything malformed is an error
//! string, never a panic.

/// Parts read before giving up: a module upload has one.
pub const MAX_PARTS: usize = 16;
const MAX_PART_HEAD: usize = 8 << 10;

/// One form field.
#[derive(Debug, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let mime = params.next()?.trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// Splits a body into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, String> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut pos = find(body, delim, 0).ok_or("no opening boundary")? + delim.len();
    let mut parts = Vec::new();
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if parts.len() == MAX_PARTS {
            return Err(format!("more than {MAX_PARTS} parts"));
        }
        let start = pos + skip_line_end(rest).ok_or("boundary not followed by CRLF")?;
        let head_end = find(body, b"\r\n\r\n", start).ok_or("part headers never end")?;
        if head_end - start > MAX_PART_HEAD {
            return Err("part headers too large".into());
        }
        let head =
            std::str::from_utf8(&body[start..head_end]).map_err(|_| "part headers not UTF-8")?;
        let data_start = head_end + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delim);
        let data_end = find(body, &closing, data_start).ok_or("part never closed")?;
        let (name, filename) = disposition(head).ok_or("part without a form-data name")?;
        parts.push(Part {
            name,
            filename,
            data: &body[data_start..data_end],
        });
        pos = data_end + closing.len();
    }
}

fn skip_line_end(rest: &[u8]) -> Option<usize> {
    rest.starts_with(b"\r\n").then_some(2)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `name` and `filename` of a `Content-Disposition: form-data; ...` header.
fn disposition(head: &str) -> Option<(String, Option<String>)> {
    let line = head.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then_some(v)
    })?;
    let mut params = line.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("form-data") {
        return None;
    }
    let (mut name, mut filename) = (None, None);
    for p in params {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim() {
            "name" => name = Some(v),
            "filename" => filename = Some(v),
            _ => {}
        }
    }
    Some((name?, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"module\"; filename=\"rejson.Linux-x86_64.2.6.17.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04\r\n--not-the-end\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ--\r\n";

    #[test]
    fn parts_keep_their_names_files_and_bytes() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"XyZ\""),
            Some("XyZ".into())
        );
        assert_eq!(boundary("application/json; boundary=XyZ"), None);
        let parts = parse(BODY, "XyZ").expect("parse");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "module");
        assert_eq!(
            parts[0].filename.as_deref(),
            Some("rejson.Linux-x86_64.2.6.17.zip")
        );
        assert_eq!(parts[0].data, b"PK\x03\x04\r\n--not-the-end");
        assert_eq!(
            (parts[1].name.as_str(), parts[1].data),
            ("note", &b"hi"[..])
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"--XyZ",
            b"--XyZ\r\n",
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nno close",
            b"--XyZxx",
        ] {
            assert!(
                parse(bad, "XyZ").is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let many =
            "--B\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n".repeat(20) + "--B--";
        assert!(parse(many.as_bytes(), "B").is_err());
    }
}

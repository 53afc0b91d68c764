//! `upstream.pin_sha256`: the SHA-256 of a certificate's DER, written in hex (colons allowed,
//! as `openssl x509 -noout -fingerprint -sha256` prints it) or in base64 (as `openssl dgst
//! -sha256 -binary | base64` prints it).

use base64::Engine;
use std::fmt::Write;

/// SHA-256 of a certificate's DER, and the same in lower-case hex (what messages show).
pub fn fingerprint(cert: &[u8]) -> ([u8; 32], String) {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert);
    let mut sha = [0u8; 32];
    sha.copy_from_slice(digest.as_ref());
    let mut hex = String::with_capacity(64);
    for b in sha {
        let _ = write!(hex, "{b:02x}");
    }
    (sha, hex)
}

/// One pin: 64 hex digits (`:` separators and case ignored, an `sha256:` prefix allowed) or
/// the base64 of the 32 bytes.
pub fn parse_pin(text: &str) -> Result<[u8; 32], String> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed);
    let hex: String = body.chars().filter(|c| *c != ':').collect();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut pin = [0u8; 32];
        for (i, byte) in pin.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|e| format!("\"{text}\": {e}"))?;
        }
        return Ok(pin);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(body));
    match decoded {
        Ok(bytes) if bytes.len() == 32 => {
            let mut pin = [0u8; 32];
            pin.copy_from_slice(&bytes);
            Ok(pin)
        }
        _ => Err(format!(
            "\"{text}\" is not a SHA-256: give 64 hex digits (openssl x509 -noout -fingerprint \
             -sha256 -in cluster.pem) or 44 base64 characters"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_or_without_colons_and_base64_give_the_same_pin() {
        let (sha, hex) = fingerprint(b"certificate bytes");
        let colons = sha
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        for text in [hex.clone(), colons, format!("sha256:{hex}"), b64] {
            assert_eq!(parse_pin(&text), Ok(sha), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_how_to_make_one() {
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), "AAAA"] {
            let e = parse_pin(bad).unwrap_err();
            assert!(e.contains("fingerprint -sha256"), "{bad}: {e}");
        }
    }
}

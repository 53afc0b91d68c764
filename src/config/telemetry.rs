//! `[telemetry]`: OpenTelemetry export of the deprecated calls' traces (issue 24). Raw keys and
//! their validation; the exporter itself is [`crate::telemetry`].
//!
//! Decisions:
//! - Off by default; a configuration without `[telemetry]` builds nothing and the request path
//!   pays one branch.
//! - Only `protocol = "http/protobuf"` is implemented; any other value is refused by name
//!   rather than silently exported some other way.
//! - `logs = true` exports the audit records as OTLP log records too, to the endpoint's
//!   `/v1/logs` (OTLP/HTTP's per-signal path). An endpoint whose path is neither empty nor
//!   `…/v1/traces` names the traces URL only, so `logs` is then refused rather than guessed.
//! - `headers_file` holds `Name: value` lines (tokens): read once at start-up, kept as
//!   [`Secret`]s whose `Debug` hides the value, never logged.

use super::ConfigError;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The one protocol implemented.
pub const HTTP_PROTOBUF: &str = "http/protobuf";
/// `telemetry.queue_size` when unset: spans (and, in a queue of their own, log records) waiting
/// for export; past it they are dropped.
pub const DEFAULT_QUEUE_SIZE: usize = 2048;
/// `telemetry.service_name` when unset.
pub const DEFAULT_SERVICE_NAME: &str = "deprecation-shim";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetry {
    pub enabled: Option<bool>,
    pub endpoint: Option<String>,
    pub protocol: Option<String>,
    pub headers_file: Option<PathBuf>,
    pub service_name: Option<String>,
    pub resource_attributes: Option<std::collections::BTreeMap<String, String>>,
    pub sampling: Option<f64>,
    pub queue_size: Option<usize>,
    pub export_timeout: Option<String>,
    pub logs: Option<bool>,
}

/// A header value that is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{} bytes>", self.0.len())
    }
}

/// `[telemetry]`, validated. `None` in [`super::Config::telemetry`] when off.
#[derive(Debug, Clone)]
pub struct Telemetry {
    /// The OTLP/HTTP traces URL (`…/v1/traces`); an endpoint given without a path gets it.
    pub endpoint: http::Uri,
    pub headers: Vec<(String, Secret)>,
    pub service_name: String,
    /// Extra resource attributes; `service.instance.id` is always the `instance` key.
    pub resource_attributes: Vec<(String, String)>,
    /// Ratio of new traces sampled (a caller's `traceparent` decides for its own).
    pub sampling: f64,
    pub queue_size: usize,
    pub export_timeout: Duration,
    /// The OTLP/HTTP logs URL (`…/v1/logs`) when `logs = true`: the audit records go there too.
    pub logs_endpoint: Option<http::Uri>,
}

/// `[telemetry]` → [`Telemetry`], or `None` when `enabled` is not `true`.
pub fn validate(raw: RawTelemetry) -> Result<Option<Telemetry>, ConfigError> {
    if raw.enabled != Some(true) {
        return Ok(None);
    }
    let protocol = raw.protocol.as_deref().unwrap_or(HTTP_PROTOBUF);
    if protocol != HTTP_PROTOBUF {
        return Err(ConfigError::new(
            "telemetry.protocol",
            format!("\"{protocol}\" is not supported; use \"{HTTP_PROTOBUF}\""),
        ));
    }
    let endpoint = raw.endpoint.ok_or_else(|| {
        ConfigError::new(
            "telemetry.endpoint",
            "required when telemetry.enabled = true (e.g. \"http://127.0.0.1:4318\")",
        )
    })?;
    let sampling = raw.sampling.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&sampling) {
        return Err(ConfigError::new(
            "telemetry.sampling",
            format!("{sampling} is not a ratio between 0 and 1"),
        ));
    }
    let queue_size = raw.queue_size.unwrap_or(DEFAULT_QUEUE_SIZE);
    if queue_size == 0 {
        return Err(ConfigError::new(
            "telemetry.queue_size",
            "must be at least 1",
        ));
    }
    let export_timeout = match raw.export_timeout.as_deref() {
        Some(s) => super::parse_duration("telemetry.export_timeout", s)?,
        None => Duration::from_secs(10),
    };
    let headers = match &raw.headers_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    "telemetry.headers_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            parse_headers(&text).map_err(|p| ConfigError::new("telemetry.headers_file", p))?
        }
        None => Vec::new(),
    };
    let logs_endpoint = match raw.logs {
        Some(true) => Some(logs_url(&endpoint).map_err(|p| ConfigError::new("telemetry.logs", p))?),
        _ => None,
    };
    Ok(Some(Telemetry {
        endpoint: traces_url(&endpoint).map_err(|p| ConfigError::new("telemetry.endpoint", p))?,
        logs_endpoint,
        headers,
        service_name: raw
            .service_name
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned()),
        resource_attributes: raw
            .resource_attributes
            .unwrap_or_default()
            .into_iter()
            .collect(),
        sampling,
        queue_size,
        export_timeout,
    }))
}

/// The traces URL of an endpoint: `http(s)://host:port` gets `/v1/traces` (the OTLP/HTTP
/// default path); one with a path is used as given.
pub fn traces_url(endpoint: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e| format!("\"{endpoint}\" is not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => {}
        _ => return Err(format!("\"{endpoint}\" is not an http(s)://host:port URL")),
    }
    let bare = matches!(uri.path(), "" | "/");
    if !bare {
        return Ok(uri);
    }
    let joined = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    joined.parse().map_err(|e| format!("\"{joined}\": {e}"))
}

/// The logs URL of an endpoint: `http(s)://host:port` gets `/v1/logs`; `…/v1/traces` becomes
/// `…/v1/logs` (the same collector's other signal). Any other path is a URL for traces only.
pub fn logs_url(endpoint: &str) -> Result<http::Uri, String> {
    let traces = traces_url(endpoint)?;
    let Some(prefix) = traces.path().strip_suffix("/v1/traces") else {
        return Err(format!(
            "cannot derive the logs URL from the endpoint path \"{}\": give the collector's base URL (http(s)://host:port) or one ending in /v1/traces",
            traces.path()
        ));
    };
    let path = format!("{prefix}/v1/logs");
    let mut parts = traces.into_parts();
    parts.path_and_query = Some(path.parse().map_err(|e| format!("\"{path}\": {e}"))?);
    http::Uri::from_parts(parts).map_err(|e| format!("\"{endpoint}\": {e}"))
}

/// `Name: value` lines; blank lines and `#` comments skipped. A malformed line is named by
/// its number only: its text may hold the token.
pub fn parse_headers(text: &str) -> Result<Vec<(String, Secret)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("line {} is not `Name: value`", i + 1));
        };
        let (name, value) = (name.trim(), value.trim());
        let valid = http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && http::HeaderValue::from_str(value).is_ok();
        if !valid {
            return Err(format!("line {} is not a valid header", i + 1));
        }
        out.push((name.to_owned(), Secret(value.to_owned())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_enabled() {
        assert!(validate(RawTelemetry::default()).unwrap().is_none());
    }

    #[test]
    fn an_endpoint_without_a_path_gets_v1_traces() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").unwrap().to_string(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://c/otlp/v1/traces").unwrap().path(),
            "/otlp/v1/traces"
        );
        assert!(traces_url("127.0.0.1:4318").is_err());
    }

    #[test]
    fn the_logs_url_is_the_endpoints_v1_logs() {
        assert_eq!(
            logs_url("http://127.0.0.1:4318/").unwrap().to_string(),
            "http://127.0.0.1:4318/v1/logs"
        );
        assert_eq!(
            logs_url("https://c/otlp/v1/traces").unwrap().to_string(),
            "https://c/otlp/v1/logs"
        );
        assert!(logs_url("https://c/otlp").is_err());
        let raw = RawTelemetry {
            enabled: Some(true),
            endpoint: Some("http://c:4318/custom".into()),
            logs: Some(true),
            ..RawTelemetry::default()
        };
        assert_eq!(validate(raw.clone()).unwrap_err().key, "telemetry.logs");
        let off = validate(RawTelemetry {
            logs: None,
            ..raw.clone()
        });
        assert_eq!(off.unwrap().unwrap().logs_endpoint, None);
        let on = validate(RawTelemetry {
            endpoint: Some("http://c:4318".into()),
            ..raw
        });
        assert_eq!(
            on.unwrap().unwrap().logs_endpoint.unwrap().path(),
            "/v1/logs"
        );
    }

    #[test]
    fn a_bad_header_line_is_named_by_number_not_by_its_text() {
        let ok = parse_headers("# token\nAuthorization: Bearer s3cret\n\nX-Org: a").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(format!("{:?}", ok[0].1), "<13 bytes>");
        let err = parse_headers("Authorization Bearer s3cret").unwrap_err();
        assert_eq!(err, "line 1 is not `Name: value`");
    }

    #[test]
    fn other_protocols_and_ratios_are_refused_by_key() {
        let raw = RawTelemetry {
            enabled: Some(true),
            endpoint: Some("http://c:4318".into()),
            protocol: Some("grpc".into()),
            ..RawTelemetry::default()
        };
        assert_eq!(validate(raw.clone()).unwrap_err().key, "telemetry.protocol");
        let raw = RawTelemetry {
            protocol: None,
            sampling: Some(1.5),
            ..raw
        };
        assert_eq!(validate(raw).unwrap_err().key, "telemetry.sampling");
    }
}

//! The OTLP/HTTP (protobuf) trace exporter, its resource and sampler, and the tracer the
//! `tracing` layer feeds; with `telemetry.logs`, the log exporter and the logger the audit
//! writer feeds ([`super::logs`]). Built once at start-up from `[telemetry]`.
//!
//! Decisions:
//! - The exporter's HTTP client is hyper with rustls (the system store, or Mozilla's roots),
//!   so no second HTTP or TLS stack is linked; `headers_file`'s headers go on every export.
//! - Export runs on a thread of its own per signal ([`super::queue`]): a slow collector never
//!   takes a request worker's time.
//! - Both signals share the endpoint's host, the headers, the client and the resource; only
//!   the path differs (`/v1/traces`, `/v1/logs`: `crate::config::telemetry`).

use super::queue::{Logs, Queue, Spans};
use crate::config::telemetry::Telemetry;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::logs::{LogExporter as _, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter as _, Tracer};
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// Flushes what is queued (bounded by [`FLUSH_WAIT`]) and stops the export when dropped.
#[derive(Debug)]
pub struct Guard {
    provider: SdkTracerProvider,
    logs: Option<SdkLoggerProvider>,
}

/// Longest a stop waits for the last spans to leave.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

impl Guard {
    /// Sends what is queued now and waits for it (tests; the stop path).
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
        if let Some(logs) = &self.logs {
            let _ = logs.force_flush();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Logs first: the last audit records were written after the spans of their calls ended.
        if let Some(logs) = &self.logs {
            let _ = logs.shutdown_with_timeout(FLUSH_WAIT);
        }
        let _ = self.provider.shutdown_with_timeout(FLUSH_WAIT);
    }
}

/// The providers (in their guard), the tracer for the `tracing` layer, and the logger of the
/// audit records when `telemetry.logs` is on.
pub(super) fn start(
    cfg: &Telemetry,
    instance: &str,
) -> Result<(Guard, Tracer, Option<SdkLogger>), String> {
    let resource = resource(cfg, instance);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client(cfg.export_timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(cfg.endpoint.to_string())
        .with_timeout(cfg.export_timeout)
        .with_headers(headers(cfg))
        .build()
        .map_err(|e| format!("telemetry: cannot build the OTLP exporter: {e}"))?;
    exporter.set_resource(&resource);
    let logs = match &cfg.logs_endpoint {
        Some(url) => Some(logger_provider(cfg, url, &resource)?),
        None => None,
    };
    let logger = logs.as_ref().map(|p| p.logger("deprecation-shim"));
    let queue = Queue::start(Spans(exporter), cfg.queue_size, cfg.export_timeout)?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(queue)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sampling,
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("deprecation-shim");
    Ok((Guard { provider, logs }, tracer, logger))
}

/// The logs' provider: the OTLP log exporter behind a [`Queue`] of its own.
fn logger_provider(
    cfg: &Telemetry,
    url: &http::Uri,
    resource: &Resource,
) -> Result<SdkLoggerProvider, String> {
    let mut exporter = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_http_client(http_client(cfg.export_timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.to_string())
        .with_timeout(cfg.export_timeout)
        .with_headers(headers(cfg))
        .build()
        .map_err(|e| format!("telemetry: cannot build the OTLP log exporter: {e}"))?;
    exporter.set_resource(resource);
    let queue = Queue::start(Logs(exporter), cfg.queue_size, cfg.export_timeout)?;
    Ok(SdkLoggerProvider::builder()
        .with_log_processor(queue)
        .with_resource(resource.clone())
        .build())
}

fn headers(cfg: &Telemetry) -> std::collections::HashMap<String, String> {
    cfg.headers
        .iter()
        .map(|(name, value)| (name.clone(), value.0.clone()))
        .collect()
}

/// `service.name`, `service.instance.id` (the `instance` key, always), `service.version`, and
/// `telemetry.resource_attributes`.
fn resource(cfg: &Telemetry, instance: &str) -> Resource {
    let extra = cfg
        .resource_attributes
        .iter()
        .filter(|(k, _)| k != "service.instance.id" && k != "service.name")
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
    Resource::builder_empty()
        .with_service_name(cfg.service_name.clone())
        .with_attribute(KeyValue::new("service.instance.id", instance.to_owned()))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_attributes(extra)
        .build()
}

fn http_client(
    timeout: Duration,
) -> Result<
    opentelemetry_http::hyper::HyperClient<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    >,
    String,
> {
    let tls = crate::tls::client_config(
        crate::tls::Trust::Verified {
            ca_file: None,
            pins: &[],
        },
        None,
    )
    .map_err(|e| format!("telemetry: {e}"))?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(opentelemetry_http::hyper::HyperClient::new(
        connector, timeout, None,
    ))
}

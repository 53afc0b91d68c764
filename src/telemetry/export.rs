//! The OTLP/HTTP (protobuf) trace exporter, its resource and sampler, and the tracer the
//! `tracing` layer feeds. Built once at start-up from `[telemetry]`.
//!
//! Decisions:
//! - The exporter's HTTP client is hyper with rustls (the system store, or Mozilla's roots),
//!   so no second HTTP or TLS stack is linked; `headers_file`'s headers go on every export.
//! - Export runs on a thread of its own ([`super::queue`]): a slow collector never takes a
//!   request worker's time.

use super::queue::Queue;
use crate::config::telemetry::Telemetry;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanExporter as _, Tracer};
use opentelemetry_sdk::Resource;
use std::time::Duration;

/// Flushes what is queued (bounded by [`FLUSH_WAIT`]) and stops the export when dropped.
#[derive(Debug)]
pub struct Guard {
    provider: SdkTracerProvider,
}

/// Longest a stop waits for the last spans to leave.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

impl Guard {
    /// Sends what is queued now and waits for it (tests; the stop path).
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown_with_timeout(FLUSH_WAIT);
    }
}

/// The provider (in its guard) and the tracer for the `tracing` layer.
pub(super) fn start(cfg: &Telemetry, instance: &str) -> Result<(Guard, Tracer), String> {
    let resource = resource(cfg, instance);
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client(cfg.export_timeout)?)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(cfg.endpoint.to_string())
        .with_timeout(cfg.export_timeout)
        .with_headers(
            cfg.headers
                .iter()
                .map(|(name, value)| (name.clone(), value.0.clone()))
                .collect(),
        )
        .build()
        .map_err(|e| format!("telemetry: cannot build the OTLP exporter: {e}"))?;
    exporter.set_resource(&resource);
    let queue = Queue::start(exporter, cfg.queue_size, cfg.export_timeout)?;
    let provider = SdkTracerProvider::builder()
        .with_span_processor(queue)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            cfg.sampling,
        ))))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("deprecation-shim");
    Ok((Guard { provider }, tracer))
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

//! An OTLP/HTTP receiver built from the official protobuf definitions (`opentelemetry-proto`):
//! `POST /v1/traces` with an `ExportTraceServiceRequest` body and `POST /v1/logs` with an
//! `ExportLogsServiceRequest` body, every span and log record kept with its resource's
//! attributes (and the logs' raw bodies, to search them for secrets). What a collector would
//! get, without one.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// One received span and its resource's attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub span: Span,
    pub resource: Vec<KeyValue>,
}

/// One received log record and its resource's attributes.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub record: LogRecord,
    pub resource: Vec<KeyValue>,
}

#[derive(Default)]
struct Kept {
    spans: Vec<Received>,
    logs: Vec<ReceivedLog>,
    /// The body of every `/v1/logs` request, as it arrived.
    log_bodies: Vec<Bytes>,
}

/// A receiver on `127.0.0.1:0`; stops accepting when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    kept: Arc<Mutex<Kept>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver addr");
        let kept = Arc::new(Mutex::new(Kept::default()));
        let shared = kept.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let kept = kept.clone();
                        async move { Ok::<_, hyper::Error>(receive(req, &kept).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, kept, task }
    }

    /// The `[telemetry] endpoint` of this receiver.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.kept.lock().expect("kept").spans.clone()
    }

    /// Every log record received so far.
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.kept.lock().expect("kept").logs.clone()
    }

    /// The bodies of the `/v1/logs` requests received so far.
    pub fn log_bodies(&self) -> Vec<Bytes> {
        self.kept.lock().expect("kept").log_bodies.clone()
    }

    /// The log records once `n` of them arrived (fails after `limit`).
    pub async fn logs_at_least(&self, n: usize, limit: Duration) -> Vec<ReceivedLog> {
        let until = Instant::now() + limit;
        loop {
            let got = self.logs();
            if got.len() >= n || Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The spans of trace `trace_id` once `n` of them arrived (fails after `limit`).
    pub async fn trace(&self, trace_id: &[u8], n: usize, limit: Duration) -> Vec<Received> {
        let until = Instant::now() + limit;
        loop {
            let got: Vec<Received> = self
                .spans()
                .into_iter()
                .filter(|r| r.span.trace_id == trace_id)
                .collect();
            if got.len() >= n || Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(req: Request<Incoming>, kept: &Mutex<Kept>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let (status, reply) = match (path.as_str(), body) {
        ("/v1/traces", Ok(body)) => (
            keep_spans(&body, kept),
            ExportTraceServiceResponse::default().encode_to_vec(),
        ),
        ("/v1/logs", Ok(body)) => (
            keep_logs(body, kept),
            ExportLogsServiceResponse::default().encode_to_vec(),
        ),
        ("/v1/traces" | "/v1/logs", Err(_)) => (StatusCode::BAD_REQUEST, Vec::new()),
        _ => (StatusCode::NOT_FOUND, Vec::new()),
    };
    let mut resp = Response::new(Full::new(Bytes::from(reply)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-protobuf"),
    );
    resp
}

fn keep_spans(body: &Bytes, kept: &Mutex<Kept>) -> StatusCode {
    let Ok(export) = ExportTraceServiceRequest::decode(body.clone()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut kept = kept.lock().expect("kept");
    for rs in export.resource_spans {
        let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
        for span in rs.scope_spans.into_iter().flat_map(|s| s.spans) {
            kept.spans.push(Received {
                span,
                resource: resource.clone(),
            });
        }
    }
    StatusCode::OK
}

fn keep_logs(body: Bytes, kept: &Mutex<Kept>) -> StatusCode {
    let Ok(export) = ExportLogsServiceRequest::decode(body.clone()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut kept = kept.lock().expect("kept");
    kept.log_bodies.push(body);
    for rl in export.resource_logs {
        let resource = rl.resource.map(|r| r.attributes).unwrap_or_default();
        for record in rl.scope_logs.into_iter().flat_map(|s| s.log_records) {
            kept.logs.push(ReceivedLog {
                record,
                resource: resource.clone(),
            });
        }
    }
    StatusCode::OK
}

/// An attribute's value as text (strings as they are, numbers and booleans printed).
pub fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    Some(match v {
        any_value::Value::StringValue(s) => s.clone(),
        any_value::Value::IntValue(i) => i.to_string(),
        any_value::Value::BoolValue(b) => b.to_string(),
        any_value::Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

/// Lowercase hex of an id.
pub fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

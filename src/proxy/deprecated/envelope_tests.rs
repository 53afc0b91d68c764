//! The envelope's promise that holds whatever a step does: a panicking step is still answered
//! (`500 internal_error` in the RS shape, with the request id) and audited exactly once.

use super::*;
use crate::config::Config;
use crate::listener::Slot;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn app(audit: &std::path::Path) -> Arc<App> {
    let toml = format!(
        "[upstream]\nurl = \"http://127.0.0.1:9\"\n[audit]\npath = \"{}\"\n",
        audit.display()
    );
    let raw = crate::config::parse_raw(&toml).expect("toml");
    Arc::new(App::new(Config::from_raw(raw).expect("valid")).expect("app"))
}

/// Serves one connection whose every request runs through the envelope as `step`.
async fn serve_one(app: Arc<App>, step: Step) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (stream, peer) = listener.accept().await.expect("accept");
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            let conn = ConnInfo {
                peer,
                tls: false,
                slot: Slot::unbounded(),
            };
            async move {
                let rule = app
                    .config
                    .rules
                    .table
                    .classify(req.method(), req.uri().path())
                    .map(|m| m.index)
                    .expect("a deprecated route");
                let work = app.work.clone();
                let entered = Entered {
                    refused: None,
                    fingerprint: None,
                    admission: budget::Admission::new(&work),
                    intended: false,
                    quiet: None,
                    fields: None,
                };
                let resp = super::super::start(work, conn, (None, None), move |conn| {
                    let seen = crate::rules::version::Seen::NotNeeded;
                    let (parts, body) = req.into_parts();
                    run(
                        app,
                        conn,
                        (parts, CallBody::Stream(body)),
                        rule,
                        super::super::Decided { step, seen },
                        entered,
                    )
                })
                .await;
                Ok::<_, std::convert::Infallible>(resp)
            }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, service)
            .await;
    });
    addr
}

#[tokio::test]
async fn a_step_that_panics_is_answered_500_internal_error_and_audited_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    let addr = serve_one(app(&audit), Step::Panic).await;
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        b"POST /v1/modules/upgrade/bdb/1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: boom-1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await
    .expect("send");
    let mut reply = String::new();
    s.read_to_string(&mut reply).await.expect("read");
    assert!(reply.starts_with("HTTP/1.1 500"), "{reply}");
    assert!(
        reply.contains("\"error_code\":\"internal_error\""),
        "{reply}"
    );
    assert!(
        reply.to_ascii_lowercase().contains("x-request-id: boom-1"),
        "{reply}"
    );
    let text = std::fs::read_to_string(&audit).expect("audit file");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(records[0]["request_id"], "boom-1");
    assert_eq!(records[0]["status"], 500);
    assert_eq!(records[0]["error_code"], "internal_error");
    assert_eq!(records[0]["rule"], "module_upgrade");
}

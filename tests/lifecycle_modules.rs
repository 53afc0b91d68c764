//! The lifecycle on R4/R5 (issue 13 on the module upload and delete rules): a brownout refuses
//! `POST /v1/modules` before anything is sent, the package read and dropped, the refusal
//! audited and answered in the RS shape with the rule's marks; outside the window the upload
//! goes through `/v2/modules` as before. In-process, with a clock the test sets: nothing sleeps.

mod support;

use deprecation_shim::sim::SimVersion;
use http::Method;
use std::net::SocketAddr;
use support::audit_file::at;
use support::harness::Sim;
use support::legacy::{admin, assert_rs_error};
use support::lifecycle::{assert_brownout_410, assert_refused_record, ClockedShim};
use support::{send, Reply};

const BOUNDARY: &str = "lifecycle-boundary";

/// `module_upload`'s Sunset (its marks and its lifecycle's) and a brownout on 2027-03-02 14:00 UTC for 15 minutes, answered `answer`.
fn upload_brownout(answer: u16) -> String {
    format!(
        "[rules]\nrs_version = \"7.22.0\"\n[rules.module_upload]\nsunset_date = \"2027-06-30\"\n\
         [lifecycle.module_upload]\nenforce = true\nanswer = {answer}\n\
         [[lifecycle.module_upload.brownouts]]\nstart = \"2027-03-02T14:00:00Z\"\nduration = \"15m\"\n"
    )
}

/// An rmadm-like upload of a package the simulator recognises by its file name.
async fn upload(shim: SocketAddr) -> Reply {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"module\"; \
         filename=\"rejson.Linux-ubuntu18.04-x86_64.2.9.9.zip\"\r\n\
         Content-Type: application/zip\r\n\r\nPK"
    )
    .into_bytes();
    body.resize(body.len() + 4096, b'z');
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let auth = admin();
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let h = [
        ("authorization", auth.as_str()),
        ("content-type", ct.as_str()),
    ];
    send(shim, Method::POST, "/v1/modules", &h, body).await
}

#[tokio::test]
async fn a_brownout_refuses_a_module_upload_on_7_22_before_anything_reaches_the_cluster() {
    let sim = Sim::start(SimVersion::V7_22).await;
    let shim = ClockedShim::start(sim.addr, &upload_brownout(410), at(2027, 3, 2, 14, 5));
    sim.sim.clear_requests();

    let refused = upload(shim.addr).await;
    assert_brownout_410(
        &refused,
        "2027-03-02T14:15:00Z",
        "Wed, 30 Jun 2027 00:00:00 GMT",
    );
    let link = refused.header("link").unwrap_or_default();
    assert!(
        link.starts_with("</v2/modules>; rel=\"successor-version\""),
        "{link}"
    );
    assert!(sim.sim.requests().is_empty(), "{:?}", sim.sim.requests());
    assert_refused_record(&shim.last_record(), "module_upload", 410);
}

#[tokio::test]
async fn a_503_upload_brownout_answers_retry_after_and_outside_the_window_the_upload_goes_through_v2(
) {
    let sim = Sim::start(SimVersion::V7_22).await;
    let during = ClockedShim::start(sim.addr, &upload_brownout(503), at(2027, 3, 2, 14, 5));
    sim.sim.clear_requests();
    let refused = upload(during.addr).await;
    assert_rs_error(&refused, 503, "route_brownout");
    assert_eq!(refused.header("retry-after"), Some("600"));
    assert!(sim.sim.requests().is_empty(), "{:?}", sim.sim.requests());

    let after = ClockedShim::start(sim.addr, &upload_brownout(503), at(2027, 3, 2, 14, 15));
    let served = upload(after.addr).await;
    assert_eq!(served.status, 200, "{:?}", served.body);
    assert_eq!(served.json()["semantic_version"], "2.9.9");
    assert!(
        sim.sim.requests().iter().any(|r| r.path == "/v2/modules"),
        "{:?}",
        sim.sim.requests()
    );
}

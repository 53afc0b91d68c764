//! The HTML usage report in a real headless browser (issue 13): Debian's `chromium` renders a
//! sample page to a screenshot and dumps its DOM; the test checks the screenshot is a real
//! 1200×1600 picture, the page's text, and that the chart has one bar per day with calls.
//!
//! Without `chromium` on the PATH this test FAILS, naming the package, unless
//! `DEPRECATION_SHIM_SKIP_BROWSER=1` is set (README, "Two commands").
//!
//! A second test renders `report --format html --target 8.2.0-25` from real audit records,
//! written by the shim's audit writer, and checks the page chromium builds from them, its
//! "Readiness for 8.2.0-25" section included (issue 23).

#[path = "support/audit_file.rs"]
mod audit_file;

use deprecation_shim::lifecycle::html::{render, CallerRow, DailyCalls, Report, RuleView};
use deprecation_shim::lifecycle::{AfterSunset, Answer, Brownout, Day, Lifecycle, Plan, Weekday};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SKIP_VAR: &str = "DEPRECATION_SHIM_SKIP_BROWSER";
const DEADLINE: Duration = Duration::from_secs(90);

fn at(y: i64, m: u32, d: u32, h: u64, min: u64) -> std::time::SystemTime {
    Day::from_ymd(y, m, d).start() + Duration::from_secs(h * 3600 + min * 60)
}

/// Two rules, 9 days with calls for one and 3 for the other, three callers, one hostile.
fn sample() -> (Report, usize) {
    let today = at(2027, 3, 2, 14, 5);
    let module_upgrade = Lifecycle::new(Plan {
        deprecation: at(2024, 11, 1, 0, 0),
        sunset: Some(at(2027, 6, 30, 0, 0)),
        brownouts: vec![
            Brownout::Once {
                start: at(2027, 3, 2, 14, 0),
                duration: Duration::from_secs(900),
            },
            Brownout::Weekly {
                weekday: Weekday::Tuesday,
                time_of_day: Duration::from_secs(14 * 3600),
                duration: Duration::from_secs(900),
                from: at(2027, 4, 1, 0, 0),
                until: at(2027, 6, 30, 0, 0),
            },
        ],
        after_sunset: AfterSunset::Gone,
        answer: Answer::Gone,
        enforce: true,
        warn_before_sunset: Duration::from_secs(30 * 86_400),
        exemptions: vec![],
    })
    .expect("sample lifecycle");
    let mut upload_plan = module_upgrade.plan().clone();
    upload_plan.brownouts.clear();
    upload_plan.sunset = None;
    let upload = Lifecycle::new(upload_plan).expect("sample lifecycle");
    let mut daily = Vec::new();
    for (i, calls) in [3u64, 7, 0, 12, 5, 9, 0, 2, 14, 6, 1]
        .into_iter()
        .enumerate()
    {
        daily.push(DailyCalls {
            rule: "module_upgrade".into(),
            day: Day(Day::from_ymd(2027, 2, 20).0 + i as i64),
            calls,
        });
    }
    for day in [21, 24, 27] {
        daily.push(DailyCalls {
            rule: "modules_upload".into(),
            day: Day::from_ymd(2027, 2, day),
            calls: 4,
        });
    }
    let bars = daily.iter().filter(|d| d.calls > 0).count();
    let row = |user: Option<&str>, verified, client: &str, ua: &str, counts: [u64; 4]| CallerRow {
        rule: "module_upgrade".into(),
        user: user.map(str::to_owned),
        verified,
        client: client.into(),
        user_agent: Some(ua.into()),
        served: counts[0],
        exempt: counts[1],
        would_refuse: counts[2],
        refused: counts[3],
        last_seen: today,
    };
    let report = Report {
        title: "Legacy callers of the Redis Software REST API".into(),
        today,
        rules: vec![
            RuleView::from_lifecycle("module_upgrade", &module_upgrade, today),
            RuleView::from_lifecycle("modules_upload", &upload, today),
        ],
        daily,
        callers: vec![
            row(
                Some("ops@example.com"),
                true,
                "10.20.3.4",
                "rmadm/1.4.2",
                [41, 0, 0, 1],
            ),
            row(
                Some("ci-bot"),
                false,
                "10.20.9.9",
                "python-requests/2.31",
                [12, 3, 2, 0],
            ),
            row(
                None,
                false,
                "192.0.2.7",
                "<script>alert(1)</script>\u{202E}exe.gpj",
                [5, 0, 0, 2],
            ),
        ],
    };
    (report, bars)
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// Runs chromium headless with a fresh profile; returns its stdout. Killed after [`DEADLINE`].
fn run_chromium(bin: &Path, profile: &Path, extra: &[String], page: &str) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(page)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("stdout reader")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The browser, or `None` when the test is to be skipped (and says so).
fn chromium_or_skip() -> Option<PathBuf> {
    if let Some(bin) = chromium() {
        return Some(bin);
    }
    if std::env::var(SKIP_VAR).is_ok_and(|v| v == "1") {
        eprintln!("skipped: chromium not installed and {SKIP_VAR}=1");
        return None;
    }
    panic!(
        "chromium is not on the PATH: install the Debian package `chromium` \
         (apt-get install -y chromium), or set {SKIP_VAR}=1 to skip this test"
    );
}

/// Renders `page_path` to a 1200×1600 screenshot and checks it is not blank. With
/// `DEPRECATION_SHIM_KEEP_REPORT=FILE.png` set, the page and its screenshot are kept as
/// `FILE{suffix}.html` and `FILE{suffix}.png` (the closing notes' screenshots).
fn screenshot(bin: &Path, dir: &Path, page_path: &Path, suffix: &str) {
    let png = dir.join(format!("report{suffix}.png"));
    run_chromium(
        bin,
        &dir.join(format!("profile-shot{suffix}")),
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,1600".into(),
        ],
        &format!("file://{}", page_path.display()),
    );
    let bytes = std::fs::read(&png).expect("chromium wrote no screenshot");
    assert_eq!(png_size(&bytes), (1200, 1600));
    // A blank 1200×1600 page compresses to a few KiB; text, bars and tables do not.
    assert!(
        bytes.len() > 40_000,
        "screenshot suspiciously small: {} bytes",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("DEPRECATION_SHIM_KEEP_REPORT") {
        let keep = Path::new(&keep);
        let stem = keep.with_extension("");
        let base = format!("{}{suffix}", stem.display());
        let _ = std::fs::copy(page_path, format!("{base}.html"));
        let _ = std::fs::copy(&png, format!("{base}.png"));
    }
}

#[test]
fn the_html_report_renders_in_headless_chromium_with_one_bar_per_day_with_calls() {
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let (report, bars) = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let page_path = dir.path().join("report.html");
    std::fs::write(&page_path, render(&report)).expect("write page");
    let page = format!("file://{}", page_path.display());
    screenshot(&bin, dir.path(), &page_path, "");

    let dom = run_chromium(
        &bin,
        &dir.path().join("profile-dom"),
        &["--dump-dom".into()],
        &page,
    );
    assert_eq!(
        dom.matches("class=\"bar\"").count(),
        bars,
        "bars in the rendered DOM"
    );
    assert_eq!(bars, 12, "9 + 3 days with calls in the sample");
    assert_eq!(
        dom.matches("class=\"bar\" data-rule=\"module_upgrade\"")
            .count(),
        9
    );
    for text in [
        "Legacy callers of the Redis Software REST API",
        "brownout until 2027-03-02T14:15:00Z",
        "Deprecation 2024-11-01",
        "Sunset 2027-06-30",
        "today 2027-03-02",
        "ops@example.com",
        "rmadm/1.4.2",
        "&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]exe.gpj",
    ] {
        assert!(dom.contains(text), "rendered page lacks {text:?}");
    }
    assert!(!dom.contains("<script"), "a script element reached the DOM");
    assert_eq!(dom.matches("<tr class=\"caller\">").count(), 3);
}

#[test]
fn report_format_html_from_audited_calls_shows_each_rules_days_phases_and_schedule() {
    use deprecation_shim::audit::report::{OutputFormat, ReportArgs};
    let Some(bin) = chromium_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let audit = dir.path().join("audit.jsonl");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(audit_file::write_through_the_writer(
            &audit,
            &audit_file::lifecycle_sample(),
        ));
    let cfg = dir.path().join("shim.toml");
    std::fs::write(&cfg, audit_file::LIFECYCLE_TOML).expect("write config");
    let page_path = dir.path().join("report.html");
    let args = ReportArgs {
        files: vec![audit],
        since: None,
        format: OutputFormat::Html,
        rule: None,
        config: Some(cfg),
        now: Some(at(2027, 3, 2, 14, 10)),
        target: deprecation_shim::rules::Version::parse("8.2.0-25"),
        output: Some(page_path.clone()),
    };
    deprecation_shim::audit::report::report_main(args).expect("report --format html");
    let dom = run_chromium(
        &bin,
        &dir.path().join("profile-dom"),
        &["--dump-dom".into()],
        &format!("file://{}", page_path.display()),
    );
    // module_upgrade: 2027-02-27, 02-28 and 03-02; module_upload: 03-01.
    assert_eq!(dom.matches("class=\"bar\"").count(), 4, "bars in the DOM");
    assert_eq!(
        dom.matches("class=\"bar\" data-rule=\"module_upgrade\"")
            .count(),
        3
    );
    assert!(
        dom.contains("data-day=\"2027-02-27\" data-calls=\"2\""),
        "{dom}"
    );
    for text in [
        "Legacy callers of the Redis Software REST API",
        "brownout until 2027-03-02T14:15:00Z",
        "Sunset 2027-06-30",
        "module_upload",
        "python-requests/2.31",
    ] {
        assert!(dom.contains(text), "rendered page lacks {text:?}");
    }
    assert_eq!(dom.matches("<tr class=\"caller\">").count(), 3);
    // Readiness: at 14:10 the enforced brownout refuses both callers of module_upgrade, and
    // module_upload answers 410 from 8.0.0; the same rows as `readiness` prints.
    assert!(dom.contains("<h2>Readiness for 8.2.0-25</h2>"), "{dom}");
    assert!(
        dom.contains("NO-GO for 8.2.0-25: 2 callers break ("),
        "{dom}"
    );
    assert_eq!(
        dom.matches("<tr class=\"readiness\" data-verdict=\"breaks\">")
            .count(),
        3
    );
    assert!(
        dom.contains("refused by [lifecycle.module_upgrade]"),
        "{dom}"
    );
    assert!(dom.contains("answered 410 by the shim there"), "{dom}");
    screenshot(&bin, dir.path(), &page_path, "-readiness");
}

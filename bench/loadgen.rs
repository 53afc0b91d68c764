//! A dependency-free HTTP/1.1 load tool for bench/run.sh, for the phases wrk cannot do:
//!
//! - `openloop ADDR PATH RATE SECS CONNS`: fixed-rate (open-loop) load, like wrk2. Request `k` is
//!   due at `k / RATE` seconds and goes out on connection `k % CONNS`; its latency is measured
//!   from when it was *due*, not when it was sent, so a stalled server is charged for the
//!   requests it delayed (no coordinated omission).
//! - `count ADDR PATH N CONNS`: closed-loop, exactly N requests (for callgrind's request counts).
//! - `idle ADDR PATH N SECS`: opens N keep-alive connections one after another, completes one
//!   request on each, prints `ready`, and holds them all idle for SECS seconds.
//! - `post ADDR PATH N AUTH BODY`: N sequential POSTs of BODY with `Authorization: AUTH`,
//!   total latency percentiles (the translated route).
//!
//! Output is one line of `key=value` pairs. Built by run.sh with plain `rustc -O`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: &str) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, s.try_clone()?),
            writer: s,
        })
    }

    /// Sends one request and reads the whole reply; returns the status.
    fn exchange(&mut self, req: &[u8]) -> std::io::Result<u16> {
        self.writer.write_all(req)?;
        let mut line = String::new();
        let mut status = 0u16;
        let mut length: Option<usize> = None;
        let mut first = true;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            let l = line.trim_end();
            if first {
                status = l.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                first = false;
            } else if l.is_empty() {
                break;
            } else if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let mut left = length.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "reply without Content-Length")
        })?;
        while left > 0 {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let n = buf.len().min(left);
            self.reader.consume(n);
            left -= n;
        }
        Ok(status)
    }
}

fn get_request(addr: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: loadgen\r\n\r\n").into_bytes()
}

fn percentiles(mut us: Vec<u64>) -> String {
    if us.is_empty() {
        return "p50_ms=nan p90_ms=nan p99_ms=nan p999_ms=nan max_ms=nan".into();
    }
    us.sort_unstable();
    let at = |q: f64| us[((us.len() as f64 * q) as usize).min(us.len() - 1)] as f64 / 1000.0;
    format!(
        "p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3}",
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        *us.last().unwrap_or(&0) as f64 / 1000.0
    )
}

fn openloop(addr: &str, path: &str, rate: f64, secs: f64, conns: usize) {
    let total = (rate * secs) as u64;
    let req = Arc::new(get_request(addr, path));
    let errors = Arc::new(AtomicU64::new(0));
    // Every connection is open before the clock starts, so set-up is not charged as latency.
    let ready = Arc::new(Barrier::new(conns + 1));
    let start_at = Arc::new(OnceLock::<Instant>::new());
    let go = Arc::new(Barrier::new(conns + 1));
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let (addr, req, errors) = (addr.to_owned(), req.clone(), errors.clone());
            let (ready, start_at, go) = (ready.clone(), start_at.clone(), go.clone());
            thread::spawn(move || {
                let mut lat = Vec::with_capacity((total as usize / conns) + 1);
                let mut conn = Conn::open(&addr).ok();
                ready.wait();
                go.wait();
                let start = *start_at.get().expect("start time set before go");
                let mut k = c as u64;
                while k < total {
                    let due = start + Duration::from_secs_f64(k as f64 / rate);
                    let now = Instant::now();
                    if due > now {
                        thread::sleep(due - now);
                    }
                    let ok = match conn.as_mut() {
                        Some(cn) => matches!(cn.exchange(&req), Ok(s) if s < 500),
                        None => false,
                    };
                    if ok {
                        lat.push(due.elapsed().as_micros() as u64);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        conn = Conn::open(&addr).ok();
                    }
                    k += conns as u64;
                }
                lat
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now() + Duration::from_millis(20);
    let _ = start_at.set(start);
    go.wait();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "mode=openloop rate={rate} done={} errors={} achieved_rps={:.0} {}",
        all.len(),
        errors.load(Ordering::Relaxed),
        all.len() as f64 / elapsed,
        percentiles(all)
    );
}

fn count(addr: &str, path: &str, n: u64, conns: usize) {
    let req = Arc::new(get_request(addr, path));
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, req, next, errors) =
                (addr.to_owned(), req.clone(), next.clone(), errors.clone());
            thread::spawn(move || {
                let mut conn = Conn::open(&addr).ok();
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let ok = match conn.as_mut() {
                        Some(cn) => matches!(cn.exchange(&req), Ok(s) if s < 500),
                        None => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                        conn = Conn::open(&addr).ok();
                    }
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
    println!(
        "mode=count n={n} errors={} secs={:.2}",
        errors.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

fn idle(addr: &str, path: &str, n: usize, secs: u64) {
    let req = get_request(addr, path);
    let mut held = Vec::with_capacity(n);
    let mut errors = 0;
    for _ in 0..n {
        match Conn::open(addr).and_then(|mut c| c.exchange(&req).map(|_| c)) {
            Ok(c) => held.push(c),
            Err(_) => errors += 1,
        }
    }
    println!("ready open={} errors={errors}", held.len());
    let _ = std::io::stdout().flush();
    thread::sleep(Duration::from_secs(secs));
    drop(held);
}

fn post(addr: &str, path: &str, n: usize, auth: &str, body: &str) {
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes();
    let mut conn = Conn::open(addr).expect("connect");
    let mut lat = Vec::with_capacity(n);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..n {
        let t = Instant::now();
        let status = match conn.exchange(&req) {
            Ok(s) => s,
            Err(_) => {
                conn = Conn::open(addr).expect("reconnect");
                0
            }
        };
        lat.push(t.elapsed().as_micros() as u64);
        *statuses.entry(status).or_insert(0u32) += 1;
    }
    let statuses: Vec<String> = statuses.iter().map(|(s, c)| format!("{s}:{c}")).collect();
    println!(
        "mode=post n={n} statuses={} {}",
        statuses.join(","),
        percentiles(lat)
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).map(String::as_str).unwrap_or("");
    let num = |i: usize| arg(i).parse::<f64>().unwrap_or(0.0);
    match arg(1) {
        "openloop" => openloop(arg(2), arg(3), num(4), num(5), num(6) as usize),
        "count" => count(arg(2), arg(3), num(4) as u64, num(5) as usize),
        "idle" => idle(arg(2), arg(3), num(4) as usize, num(5) as u64),
        "post" => post(arg(2), arg(3), num(4) as usize, arg(5), arg(6)),
        _ => {
            eprintln!("usage: loadgen openloop|count|idle|post ... (see the source)");
            std::process::exit(2);
        }
    }
}

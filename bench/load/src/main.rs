//! `loadgen`: replays one pre-signed HTTP request (method, URL, headers and body in a
//! JSON file, as `bench/load/run.py` writes it) over N keep-alive connections for a
//! fixed time, closed-loop, or at a fixed total rate with `--rate`, and prints one line:
//! `requests=<n> errors=<n> requests_per_s=<x> p50_us=<x> p99_us=<x>`.
//!
//! The request is serialized once and its bytes are written as they are; responses are
//! parsed with `httparse` and read to the end of their body (Content-Length). A load
//! generator that shares the machine with the server it measures should take as little
//! of it as it can: this one runs on one thread, and with `--idle-priority` (for
//! closed-loop runs) at Linux's `SCHED_IDLE` policy, so that it only gets CPU time the
//! server leaves idle. At the normal policy its wake-ups preempt the server's threads
//! (about one every two calls against a KMS phase on two vCPUs, each a context switch
//! between two processes): the server then pays for sharing its machine with its own
//! client, which a server with clients elsewhere does not. Not for `--rate`: there the
//! load generator's timing is what is measured, and it must run when a send is due.
//!
//! At a rate, a pacer thread hands out send times evenly spaced (to within a fifth of a
//! millisecond) round-robin over the connections, and a call's latency counts from its
//! send time, not from when its connection was free to send it: a slow answer also
//! delays the calls queued behind it, as it would for real clients.
//!
//! A response whose status is not 200 counts as an error, so a benchmark cannot pass on
//! fast failures.
//!
//! `--slow-log FILE` writes down the calls slower than [`SLOW`], to see whether a tail
//! is a few stalls that hold up every connection at once or slowness spread thin: a
//! first line `start <Unix time>`, then one line per call, `<µs after the start it was
//! due> <latency µs>`, in the order they were due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
struct Args {
    /// JSON file with {"method", "url", "headers": [[name, value], ..], "body"}.
    request: std::path::PathBuf,
    /// Keep-alive connections, each sending one request at a time.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// How long to send for.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Total requests per second to aim at (spread over the connections); closed-loop
    /// as fast as possible when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Where to write the calls slower than 2 ms (see the module documentation).
    #[arg(long)]
    slow_log: Option<std::path::PathBuf>,
    /// Run at the `SCHED_IDLE` policy (see the module documentation); closed loop only.
    #[arg(long, conflicts_with = "rate")]
    idle_priority: bool,
}

#[derive(serde::Deserialize)]
struct RecordedRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// One connection's calls: (when each was due, in µs after the start; its latency in µs).
struct Sample {
    calls: Vec<(u32, u32)>,
    errors: u64,
}

/// The latency from which `--slow-log` writes a call down.
const SLOW: Duration = Duration::from_millis(2);

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.idle_priority {
        run_at_idle_priority().context("setting the SCHED_IDLE policy")?;
    }
    let recorded: RecordedRequest = serde_json::from_slice(
        &std::fs::read(&args.request)
            .with_context(|| format!("reading {}", args.request.display()))?,
    )?;
    let (authority, request) = serialize(&recorded)?;
    let (authority, request): (Arc<str>, Arc<[u8]>) = (authority.into(), request.into());
    let mut connections = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        connections.push(Connection::open(&authority).await?);
    }
    let start = Instant::now();
    let unix_start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut schedules = Vec::with_capacity(args.connections);
    let mut tasks = Vec::new();
    for mut connection in connections {
        let (authority, request) = (authority.clone(), request.clone());
        let mut schedule = match args.rate {
            Some(_) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                schedules.push(tx);
                Some(rx)
            }
            None => None,
        };
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample {
                calls: Vec::new(),
                errors: 0,
            };
            loop {
                // Closed loop: now. At a rate: when the pacer says, and the latency counts
                // from then, so time spent waiting for this connection is not hidden.
                let started = match &mut schedule {
                    None if Instant::now() < deadline => Instant::now(),
                    Some(rx) => match rx.recv().await {
                        Some(at) => at,
                        None => break,
                    },
                    None => break,
                };
                match connection.call(&authority, &request).await {
                    Ok(200) => sample
                        .calls
                        .push((micros(started - start), micros(started.elapsed()))),
                    Ok(_) | Err(_) => sample.errors += 1,
                }
            }
            sample
        }));
    }
    if let Some(rate) = args.rate {
        std::thread::spawn(move || pace(rate, start, deadline, schedules));
    }
    let mut calls = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let sample = task.await?;
        calls.extend(sample.calls);
        errors += sample.errors;
    }
    let elapsed = start.elapsed().as_secs_f64().max(args.seconds);
    if let Some(path) = &args.slow_log {
        write_slow_log(path, unix_start, &mut calls)?;
    }
    let mut latencies: Vec<u32> = calls.iter().map(|&(_, latency)| latency).collect();
    latencies.sort_unstable();
    let percentile = |p: f64| -> u32 {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "requests={} errors={} requests_per_s={:.0} p50_us={} p99_us={}",
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.99)
    );
    Ok(())
}

/// Moves the calling thread (the only one: the runtime is current-thread) to `SCHED_IDLE`.
fn run_at_idle_priority() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a system call on the calling thread (pid 0) with a valid parameter.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// Writes the calls slower than [`SLOW`] to `path`, in the order they were due.
fn write_slow_log(
    path: &std::path::Path,
    unix_start: Duration,
    calls: &mut [(u32, u32)],
) -> anyhow::Result<()> {
    use std::fmt::Write;
    calls.sort_unstable();
    let mut text = format!("start {:.6}\n", unix_start.as_secs_f64());
    for (due, latency) in calls.iter().filter(|&&(_, l)| l >= micros(SLOW)) {
        writeln!(text, "{due} {latency}")?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The request's authority (host:port) and its bytes on the wire, with a Content-Length.
fn serialize(recorded: &RecordedRequest) -> anyhow::Result<(String, Vec<u8>)> {
    let rest = recorded
        .url
        .strip_prefix("http://")
        .context("only http:// URLs")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut out = format!("{} {path} HTTP/1.1\r\n", recorded.method);
    for (name, value) in &recorded.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            out += &format!("{name}: {value}\r\n");
        }
    }
    out += &format!(
        "Content-Length: {}\r\n\r\n{}",
        recorded.body.len(),
        recorded.body
    );
    Ok((authority.to_owned(), out.into_bytes()))
}

/// One keep-alive connection; reopened when the server closes it (moto's server answers
/// `Connection: close`), the reconnect inside the measured latency, as for any client.
struct Connection {
    stream: Option<TcpStream>,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(authority: &str) -> anyhow::Result<Connection> {
        Ok(Connection {
            stream: Some(connect(authority).await?),
            buffer: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `request` and reads the whole response; its status.
    async fn call(&mut self, authority: &str, request: &[u8]) -> anyhow::Result<u16> {
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => connect(authority).await?,
        };
        stream.write_all(request).await?;
        self.buffer.clear();
        let (status, header_len, body_len, keep_alive) = loop {
            if stream.read_buf(&mut self.buffer).await? == 0 {
                bail!("connection closed before the response");
            }
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(header_len) = response.parse(&self.buffer)? {
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned())
                };
                let body_len: usize = header("content-length")
                    .context("response without Content-Length")?
                    .trim()
                    .parse()?;
                let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                break (response.code.unwrap_or(0), header_len, body_len, !close);
            }
        };
        while self.buffer.len() < header_len + body_len {
            if stream.read_buf(&mut self.buffer).await? == 0 {
                bail!("connection closed inside the body");
            }
        }
        if keep_alive {
            self.stream = Some(stream);
        }
        Ok(status)
    }
}

async fn connect(authority: &str) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Hands out send times `1 / rate` apart, round-robin over the connections, until the
/// deadline, then closes the schedules. A thread of its own that wakes every
/// [`PACER_NAP`] and hands out the times that have come (the runtime's timers tick by
/// the millisecond, which would send in bursts of a millisecond's worth of requests).
fn pace(
    rate: f64,
    start: Instant,
    deadline: Instant,
    schedules: Vec<tokio::sync::mpsc::UnboundedSender<Instant>>,
) {
    let gap = Duration::from_secs_f64(1.0 / rate);
    let mut next = start;
    let mut sent = 0usize;
    while next < deadline {
        let now = Instant::now();
        while next <= now && next < deadline {
            let _ = schedules[sent % schedules.len()].send(next);
            sent += 1;
            next += gap;
        }
        std::thread::sleep(next.saturating_duration_since(now).max(PACER_NAP));
    }
}

/// The pacer's shortest sleep: a fifth of a millisecond, a few requests at half peak.
const PACER_NAP: Duration = Duration::from_micros(200);

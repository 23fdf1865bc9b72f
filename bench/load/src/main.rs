//! `loadgen`: replays one pre-signed HTTP request (method, URL, headers and body in a
//! JSON file, as `bench/load/run.py` writes it) over N keep-alive connections for a
//! fixed time, closed-loop, or at a fixed total rate with `--rate`, and prints one line:
//! `requests=<n> errors=<n> requests_per_s=<x> p50_us=<x> p99_us=<x>`.
//!
//! At a rate, a pacer thread hands out send times evenly spaced (to within a fifth of a
//! millisecond) round-robin over the connections, and a call's latency counts from its
//! send time, not from when its connection was free to send it: a slow answer also
//! delays the calls queued behind it, as it would for real clients.
//!
//! A response whose status is not 200 counts as an error, so a benchmark cannot pass on
//! fast failures.

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Parser)]
struct Args {
    /// JSON file with {"method", "url", "headers": {..}, "body"}.
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
}

#[derive(serde::Deserialize)]
struct RecordedRequest {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: String,
}

struct Sample {
    latencies_us: Vec<u32>,
    errors: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let recorded: RecordedRequest = serde_json::from_slice(
        &std::fs::read(&args.request)
            .with_context(|| format!("reading {}", args.request.display()))?,
    )?;
    let uri: hyper::Uri = recorded.url.parse()?;
    let authority = uri.authority().context("URL without host")?.to_string();
    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        senders.push(connect(&authority).await?);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut schedules = Vec::with_capacity(args.connections);
    let mut tasks = Vec::new();
    for mut sender in senders {
        let request = build(&recorded, &uri)?;
        let authority = authority.clone();
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
                latencies_us: Vec::new(),
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
                // A server that closes connections (moto's answers `Connection: close`)
                // costs a reconnect, inside the measured latency, as it costs any client.
                if sender.ready().await.is_err() {
                    match connect(&authority).await {
                        Ok(fresh) => sender = fresh,
                        Err(_) => {
                            sample.errors += 1;
                            continue;
                        }
                    }
                }
                let ok = match sender.send_request(request.clone()).await {
                    Ok(response) => {
                        let status = response.status();
                        response.into_body().collect().await.is_ok() && status == 200
                    }
                    Err(_) => false,
                };
                if ok {
                    sample
                        .latencies_us
                        .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                } else {
                    sample.errors += 1;
                }
            }
            sample
        }));
    }
    if let Some(rate) = args.rate {
        std::thread::spawn(move || pace(rate, start, deadline, schedules));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let sample = task.await?;
        latencies.extend(sample.latencies_us);
        errors += sample.errors;
    }
    let elapsed = start.elapsed().as_secs_f64().max(args.seconds);
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

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// A new keep-alive HTTP/1.1 connection.
async fn connect(authority: &str) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(authority).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

fn build(recorded: &RecordedRequest, uri: &hyper::Uri) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder()
        .method(recorded.method.as_str())
        .uri(uri.path_and_query().map_or("/", |p| p.as_str()));
    for (name, value) in &recorded.headers {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Full::new(Bytes::from(recorded.body.clone())))?)
}

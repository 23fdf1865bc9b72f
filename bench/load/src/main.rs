//! `loadgen`: replays one pre-signed HTTP request (method, URL, headers and body in a
//! JSON file, as `bench/load/run.py` writes it) over N keep-alive connections for a
//! fixed time, closed-loop, or at a fixed total rate with `--rate`, and prints one line:
//! `requests=<n> errors=<n> requests_per_s=<x> p50_us=<x> p99_us=<x>`.
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let recorded: RecordedRequest = serde_json::from_slice(
        &std::fs::read(&args.request)
            .with_context(|| format!("reading {}", args.request.display()))?,
    )?;
    let uri: hyper::Uri = recorded.url.parse()?;
    let authority = uri.authority().context("URL without host")?.to_string();
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.connections as f64 / rate));

    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        senders.push(connect(&authority).await?);
    }
    // With `--rate`, connection `i` starts `i / connections` of an interval late, so
    // requests arrive evenly spread instead of in bursts of `connections` at once.
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for (i, mut sender) in senders.into_iter().enumerate() {
        let request = build(&recorded, &uri)?;
        let authority = authority.clone();
        let offset = interval.map_or(Duration::ZERO, |iv| {
            iv.mul_f64(i as f64 / args.connections as f64)
        });
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample {
                latencies_us: Vec::new(),
                errors: 0,
            };
            let mut next = start + offset;
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += interval;
                }
                let started = Instant::now();
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

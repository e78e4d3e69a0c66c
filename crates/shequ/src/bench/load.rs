//! A small HTTP/1.1 load generator: N keep-alive connections over loopback, each
//! sending one request at a time for a fixed duration, recording every latency.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl LoadResult {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of latency in milliseconds (0.5 → p50).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * q) as usize).min(n - 1);
        self.latencies_us
            .get(i)
            .map_or(0.0, |v| f64::from(*v) / 1000.0)
    }

    pub fn line(&self, label: &str) -> String {
        format!(
            "{label:<40} {:>10.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} ok, {} failed)",
            self.rps(),
            self.quantile_ms(0.5),
            self.quantile_ms(0.99),
            self.ok,
            self.failed
        )
    }
}

/// Drive `paths` (round-robin, offset per connection) against `addr`.
pub async fn drive(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult> {
    drive_with_header(addr, paths, "", connections, duration).await
}

/// Like [`drive`], with one extra request header line (e.g. `Authorization: Bearer …`).
pub async fn drive_with_header(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    header: &str,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult> {
    if paths.is_empty() {
        bail!("no paths to request");
    }
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let paths = Arc::clone(&paths);
        let extra = if header.is_empty() {
            String::new()
        } else {
            format!("{header}\r\n")
        };
        tasks.push(tokio::spawn(async move {
            one_connection(addr, &paths, &extra, c, deadline).await
        }));
    }
    let mut total = LoadResult::default();
    for t in tasks {
        let r = t.await.context("load task failed")??;
        total.ok += r.ok;
        total.failed += r.failed;
        total.latencies_us.extend(r.latencies_us);
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    Ok(total)
}

async fn one_connection(
    addr: SocketAddr,
    paths: &[String],
    extra: &str,
    offset: usize,
    deadline: Instant,
) -> Result<LoadResult> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut r = LoadResult::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut i = offset.wrapping_mul(7919);
    while Instant::now() < deadline {
        let path = paths.get(i % paths.len()).map_or("/", String::as_str);
        i = i.wrapping_add(1);
        let t0 = Instant::now();
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: shequ-bench\r\n{extra}\r\n");
        stream.write_all(req.as_bytes()).await?;
        let status = read_response(&mut stream, &mut buf).await?;
        let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        if status == 200 {
            r.ok += 1;
            r.latencies_us.push(us);
        } else {
            r.failed += 1;
        }
    }
    Ok(r)
}

/// Read one response (Content-Length or chunked body); returns the status code.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16> {
    buf.clear();
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        fill(stream, buf).await?;
    };
    let head = std::str::from_utf8(buf.get(..head_end).unwrap_or(&[]))
        .context("bad head")?
        .to_ascii_lowercase();
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(n) => {
            while buf.len() < head_end + n {
                fill(stream, buf).await?;
            }
        }
        None if head.contains("transfer-encoding: chunked") => loop {
            if find(buf.get(head_end..).unwrap_or(&[]), b"0\r\n\r\n").is_some() {
                break;
            }
            fill(stream, buf).await?;
        },
        None => {}
    }
    Ok(status)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        bail!("connection closed");
    }
    buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh connection; returns the status and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status: u16 = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("bad status line")?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

//! A plain HTTP/1.1 GET over a loopback socket, for the few JSON reads the load test makes
//! of the server (cache statistics): the xtask keeps its dependencies few.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::server::ADMIN_TOKEN;

/// `GET base + path` as JSON; `base` is `http://127.0.0.1:PORT`.
pub(crate) fn get_json(base: &str, path: &str) -> Result<serde_json::Value> {
    request_json("GET", base, path, None)
}

/// `GET base + path` as text (the Prometheus exposition).
pub(crate) fn get_text(base: &str, path: &str) -> Result<String> {
    request_text("GET", base, path, None)
}

/// `method base + path` with the admin token and an optional JSON body; the answer as JSON.
pub(crate) fn request_json(
    method: &str,
    base: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value> {
    let text = request_text(method, base, path, body)?;
    serde_json::from_str(&text).context("JSON body").with_context(|| format!("{method} {path}"))
}

/// `method base + path` with the admin token and an optional JSON body; the body of its 200.
pub(crate) fn request_text(
    method: &str,
    base: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<String> {
    let address = base.strip_prefix("http://").context("base is http://host:port")?;
    let mut stream = TcpStream::connect(address).with_context(|| format!("connect {address}"))?;
    // A delete of a million keys takes a while.
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).with_context(|| format!("{method} {path}"))?;
    body_of(&String::from_utf8_lossy(&response))
        .map(str::to_owned)
        .with_context(|| format!("{method} {path}"))
}

/// `GET base + path`, whatever it answers: the status code and the body (for the chaos probe,
/// which expects a 503). Waits at most `timeout` for the answer.
pub(crate) fn get_any(base: &str, path: &str, timeout: Duration) -> Result<(u16, String)> {
    let address = base.strip_prefix("http://").context("base is http://host:port")?;
    let mut stream = TcpStream::connect(address).with_context(|| format!("connect {address}"))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).with_context(|| format!("GET {path}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("GET {path}: no status in {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// A WebSocket client of `/api/performance/stream`, upgraded (the answer's head read up to
/// its blank line); the reader holds whatever of the first frames came with it.
pub(crate) fn open_stream(base: &str) -> Result<(TcpStream, BufReader<TcpStream>)> {
    let address = base.strip_prefix("http://").context("base is http://host:port")?;
    let mut stream = TcpStream::connect(address).context("connect for the stream")?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /api/performance/stream HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    )?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line).context("the upgrade's answer")?;
    if !line.starts_with("HTTP/1.1 101") {
        bail!("the stream refused the upgrade: {line:?}");
    }
    while line != "\r\n" {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            bail!("the stream closed during the upgrade");
        }
    }
    Ok((stream, reader))
}

/// The body of a complete, non-chunked 200 answer.
fn body_of(response: &str) -> Result<&str> {
    let (head, body) = response.split_once("\r\n\r\n").context("no end of headers")?;
    let status = head.lines().next().unwrap_or_default();
    if !status.starts_with("HTTP/1.1 200") {
        bail!("answered {status:?}");
    }
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        bail!("a chunked answer, which this client does not read");
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_of_a_200_is_read_and_other_answers_are_refused() {
        let ok = "HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"hits\":1}";
        assert_eq!(body_of(ok).unwrap(), "{\"hits\":1}");
        assert!(body_of("HTTP/1.1 401 Unauthorized\r\n\r\n{}").is_err());
        assert!(body_of("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n").is_err());
        assert!(body_of("HTTP/1.1 200 OK").is_err());
    }
}

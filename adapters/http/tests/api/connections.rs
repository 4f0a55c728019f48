//! The network boundary: sockets that send nothing, stop after the HTTP/2 preface, or idle after
//! a request are closed by the server, and one client address cannot hold every connection, so
//! health checks and other clients are still served.
//!
//! Every client of a test runs on this machine: the attacker connects from `127.0.0.2` (Linux
//! routes all of 127.0.0.0/8 to loopback) and the health check from `127.0.0.1`, two addresses
//! as the server sees them.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::*;

/// How long a test waits for something that must happen (an answer, a close) before it
/// declares a hang. The configured timeouts are far below it.
const DEADLINE: Duration = Duration::from_secs(15);

/// The client connection preface of HTTP/2 and an empty SETTINGS frame.
const H2_PREFACE_AND_SETTINGS: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

fn addr_of(h: &Harness) -> SocketAddr {
    h.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to `server` from the local address `from` (e.g. `127.0.0.2`).
async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads until the server closes the connection (end of stream or reset); the bytes read, or
/// `None` if it is still open after [`DEADLINE`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(DEADLINE, read).await.ok()?;
    Some(all)
}

/// `GET /healthz` on a fresh connection from `127.0.0.1`: the status line, or a panic when
/// nothing is answered within [`DEADLINE`].
async fn health_check(server: SocketAddr) -> String {
    let ask = async {
        let mut stream = TcpStream::connect(server).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer)
            .lines()
            .next()
            .unwrap_or("")
            .to_owned()
    };
    let answered = tokio::time::timeout(DEADLINE, ask).await;
    assert!(
        answered.is_ok(),
        "GET /healthz got no answer while idle sockets were open"
    );
    answered.unwrap()
}

#[tokio::test]
async fn silent_and_preface_only_sockets_are_closed_and_health_checks_are_served() {
    // The configuration: eight connections, one second to send a request head.
    let h = Harness::with_config(
        "[limits]\nmax_connections = 8\nmax_connections_per_client = 8\nheader_read_timeout_ms = 1000\n",
    )
    .await;
    let server = addr_of(&h);
    let mut attackers = Vec::new();
    for i in 0..8 {
        let mut stream = connect_from([127, 0, 0, 2], server).await;
        if i % 2 == 1 {
            // HTTP/2 with prior knowledge: the preface and one SETTINGS frame, then nothing.
            stream.write_all(H2_PREFACE_AND_SETTINGS).await.unwrap();
        }
        attackers.push(stream);
    }
    assert_eq!(health_check(server).await, "HTTP/1.1 200 OK");
    for (i, stream) in attackers.iter_mut().enumerate() {
        assert!(
            read_until_closed(stream).await.is_some(),
            "attacker socket {i} is still open"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn one_client_address_cannot_hold_every_connection() {
    // Long timeouts: only the per-client cap can keep the health check from waiting.
    let h = Harness::with_config(
        "[limits]\nmax_connections = 8\nmax_connections_per_client = 2\nheader_read_timeout_ms = 60000\nidle_timeout_ms = 60000\n",
    )
    .await;
    let server = addr_of(&h);
    let mut attackers = Vec::new();
    for _ in 0..8 {
        attackers.push(connect_from([127, 0, 0, 2], server).await);
    }
    assert_eq!(health_check(server).await, "HTTP/1.1 200 OK");
    // The connections beyond the attacker's two are closed at once, not left waiting.
    let mut closed = 0;
    for stream in attackers.iter_mut().skip(2) {
        if read_until_closed(stream).await.is_some() {
            closed += 1;
        }
    }
    assert_eq!(closed, 6);
    h.stop().await;
}

/// The HEADERS frame of `GET /healthz` on stream 1 (HPACK: indexed `:method GET` and
/// `:scheme http`, literal `:path` and `:authority`), ending the stream.
fn h2_get_healthz() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x01, 1, b'x']);
    let mut frame = vec![0, 0, block.len() as u8, 0x01, 0x05, 0, 0, 0, 1];
    frame.extend_from_slice(&block);
    frame
}

/// The (type, flags, stream, payload) of each whole frame in what an HTTP/2 server sent.
fn h2_frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let len =
            (usize::from(bytes[0]) << 16) | (usize::from(bytes[1]) << 8) | usize::from(bytes[2]);
        if bytes.len() < 9 + len {
            break;
        }
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        frames.push((bytes[3], bytes[4], stream, bytes[9..9 + len].to_vec()));
        bytes = &bytes[9 + len..];
    }
    frames
}

#[tokio::test]
async fn keep_alive_connections_left_idle_are_closed() {
    // A long header timeout, so only the idle timeout can close them.
    let h =
        Harness::with_config("[limits]\nheader_read_timeout_ms = 60000\nidle_timeout_ms = 500\n")
            .await;
    let server = addr_of(&h);

    // HTTP/1.1: one request on a keep-alive connection, then nothing.
    let mut h1 = connect_from([127, 0, 0, 2], server).await;
    h1.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut h1)
        .await
        .expect("an idle HTTP/1.1 keep-alive connection is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");

    // HTTP/2 with prior knowledge: one request, then nothing.
    let mut h2 = connect_from([127, 0, 0, 2], server).await;
    h2.write_all(H2_PREFACE_AND_SETTINGS).await.unwrap();
    h2.write_all(&h2_get_healthz()).await.unwrap();
    let answer = read_until_closed(&mut h2)
        .await
        .expect("an idle HTTP/2 connection is still open");
    let frames = h2_frames(&answer);
    // A response HEADERS frame with `:status 200` (HPACK static index 8), the body, and a
    // GOAWAY before the close.
    assert!(
        frames.iter().any(|(kind, _, stream, payload)| *kind == 0x01
            && *stream == 1
            && payload.first() == Some(&0x88)),
        "{frames:?}"
    );
    assert!(
        frames.iter().any(|(kind, _, stream, payload)| *kind == 0x00
            && *stream == 1
            && String::from_utf8_lossy(payload).contains("\"status\":\"ok\"")),
        "{frames:?}"
    );
    assert!(frames.iter().any(|(kind, ..)| *kind == 0x07), "{frames:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_request_head_beyond_the_connection_buffer_is_answered_431() {
    let h = Harness::start().await;
    let server = addr_of(&h);
    let mut stream = connect_from([127, 0, 0, 2], server).await;
    // 100 KB of headers: hyper's default buffer (about 400 KiB) would take them.
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    // The server may answer and close before it has read everything: ignore a write error.
    let _ = stream.write_all(head.as_bytes()).await;
    let answer = read_until_closed(&mut stream)
        .await
        .expect("an oversized request head got neither an answer nor a close");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert!(health_check(server).await.ends_with("200 OK"));
    h.stop().await;
}

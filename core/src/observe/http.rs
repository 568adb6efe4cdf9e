//! The HTTP endpoints every adapter serves, answered by the core: `GET /metrics` (Prometheus
//! text) on `metricsProvider.httpPort` and `GET /commands/<name>` (AdminServer JSON) on
//! `admin.serverPort`. One request per connection, no bodies, no keep-alive: the adapter only
//! accepts the socket and moves bytes.
//!
//! Requests are parsed with `httparse` (no_std, no allocation, fuzzed upstream); this module
//! only decides what a parsed request gets.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Which listener accepted an HTTP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpEndpoint {
    /// `metricsProvider.httpPort`: `GET /metrics`.
    Metrics,
    /// `admin.serverPort`: `GET /commands/<name>`.
    Admin,
}

/// The largest request head accepted; beyond it the answer is 431 and the connection closes.
pub(crate) const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// Headers parsed at most (more answer 431).
const MAX_HEADERS: usize = 32;

/// What the node must render for a complete request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HttpRoute {
    /// `/metrics` in Prometheus text format.
    Metrics,
    /// `/commands` (empty name: the list) or `/commands/<name>`.
    Admin(String),
    /// A complete answer that needs no server state (errors).
    Fixed(Answer),
}

/// A status, a content type and a body: what goes back, framed by [`Answer::encode`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Status line after `HTTP/1.1 `, e.g. `200 OK`.
    pub status: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
    /// `HEAD`: send the headers only.
    pub head_only: bool,
}

impl Answer {
    fn error(status: &'static str, body: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: String::from(body),
            head_only: false,
        }
    }

    /// The response bytes: status line, headers (`Connection: close`), body.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// Prometheus' text exposition format.
pub(crate) const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a connection's bytes so far amount to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The request head is not complete yet: wait for more bytes.
    Partial,
    /// A complete request (or a malformed one, answered with an error), and whether it was
    /// `HEAD`.
    Done(HttpRoute, bool),
}

/// Parses the bytes received on `endpoint` so far.
pub(crate) fn parse(endpoint: HttpEndpoint, buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let fixed = |a: Answer| Parsed::Done(HttpRoute::Fixed(a), false);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() >= MAX_REQUEST_BYTES => fixed(Answer::error(
            "431 Request Header Fields Too Large",
            "request head too large\n",
        )),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => fixed(Answer::error(
            "431 Request Header Fields Too Large",
            "too many headers\n",
        )),
        Err(_) => fixed(Answer::error("400 Bad Request", "malformed request\n")),
        Ok(httparse::Status::Complete(_)) => {
            let head = req.method == Some("HEAD");
            if !head && req.method != Some("GET") {
                return fixed(Answer::error("405 Method Not Allowed", "GET only\n"));
            }
            let target = req.path.unwrap_or("");
            let path = target.split('?').next().unwrap_or("");
            Parsed::Done(route(endpoint, path), head)
        }
    }
}

fn route(endpoint: HttpEndpoint, path: &str) -> HttpRoute {
    match endpoint {
        HttpEndpoint::Metrics if path == "/metrics" => HttpRoute::Metrics,
        HttpEndpoint::Metrics => HttpRoute::Fixed(Answer::error("404 Not Found", "try /metrics\n")),
        HttpEndpoint::Admin => match path
            .strip_prefix("/commands")
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        {
            Some(rest) => HttpRoute::Admin(String::from(rest.trim_matches('/'))),
            None => HttpRoute::Fixed(Answer::error("404 Not Found", "try /commands\n")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(endpoint: HttpEndpoint, req: &str) -> (HttpRoute, bool) {
        match parse(endpoint, req.as_bytes()) {
            Parsed::Done(r, head) => (r, head),
            Parsed::Partial => panic!("partial: {req:?}"),
        }
    }

    #[test]
    fn routes_metrics_and_commands() {
        let get = |e, p: &str| done(e, &format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n")).0;
        assert_eq!(get(HttpEndpoint::Metrics, "/metrics"), HttpRoute::Metrics);
        assert_eq!(
            get(HttpEndpoint::Metrics, "/metrics?x=1"),
            HttpRoute::Metrics
        );
        assert_eq!(
            get(HttpEndpoint::Admin, "/commands/mntr"),
            HttpRoute::Admin("mntr".into())
        );
        assert_eq!(
            get(HttpEndpoint::Admin, "/commands"),
            HttpRoute::Admin("".into())
        );
        assert_eq!(
            get(HttpEndpoint::Admin, "/commands/"),
            HttpRoute::Admin("".into())
        );
        assert!(
            matches!(get(HttpEndpoint::Admin, "/commandsx"), HttpRoute::Fixed(a) if a.status.starts_with("404"))
        );
        assert!(
            matches!(get(HttpEndpoint::Admin, "/metrics"), HttpRoute::Fixed(a) if a.status.starts_with("404"))
        );
        assert!(
            matches!(get(HttpEndpoint::Metrics, "/commands/mntr"), HttpRoute::Fixed(a) if a.status.starts_with("404"))
        );
    }

    #[test]
    fn partial_heads_wait_and_bad_ones_are_answered() {
        assert_eq!(
            parse(HttpEndpoint::Metrics, b"GET /metrics HTTP/1.1\r\n"),
            Parsed::Partial
        );
        let (r, _) = done(HttpEndpoint::Metrics, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(matches!(r, HttpRoute::Fixed(a) if a.status.starts_with("405")));
        let (r, _) = done(HttpEndpoint::Metrics, "\x01\x02 nonsense\r\n\r\n");
        assert!(matches!(r, HttpRoute::Fixed(a) if a.status.starts_with("400")));
        let big = format!(
            "GET /metrics HTTP/1.1\r\nX: {}",
            "a".repeat(MAX_REQUEST_BYTES)
        );
        let (r, _) = done(HttpEndpoint::Metrics, &big);
        assert!(matches!(r, HttpRoute::Fixed(a) if a.status.starts_with("431")));
        let (r, head) = done(HttpEndpoint::Metrics, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert_eq!((r, head), (HttpRoute::Metrics, true));
    }

    #[test]
    fn answers_are_framed_with_a_length_and_close() {
        let a = Answer::error("404 Not Found", "nope\n");
        assert_eq!(
            a.encode(),
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Length: 5\r\nConnection: close\r\n\r\nnope\n"
                .to_vec()
        );
        let h = Answer {
            head_only: true,
            ..a
        };
        assert!(h.encode().ends_with(b"\r\n\r\n"));
    }
}

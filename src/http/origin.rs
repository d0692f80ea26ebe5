//! Which web pages may reach the gateway through a browser, by their
//! `Origin`. Credentials are explicit headers (never cookies), so a page
//! elsewhere can only act with a credential it already holds, with one
//! exception: `--dev`, where a request without a credential is the demo
//! ADMIN. There any page the developer opens could drive the gateway, so a
//! `--dev` gateway answers only requests from no page or a loopback page.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The origins settings, parsed once at start.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// Allowed by CORS (`*` for any).
    pub cors: Vec<String>,
    /// Allowed to open a WebSocket (`*` for any).
    pub websocket: Vec<String>,
    /// `--dev`: loopback pages only, for every request.
    pub dev: bool,
}

/// The origins a setting named `name` lists (comma-separated): `*` for
/// any, or each `http(s)://host[:port]`; anything else is a one-line error
/// at start.
pub fn parse(name: &str, setting: &str) -> anyhow::Result<Vec<String>> {
    let origins: Vec<String> = setting.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect();
    for o in &origins {
        let shaped = o == "*" || ((o.starts_with("http://") || o.starts_with("https://")) && !o.ends_with('/'));
        if !shaped || HeaderValue::from_str(o).is_err() {
            anyhow::bail!("{name}: {o:?} is not an origin: write `*` or scheme://host[:port], comma-separated");
        }
    }
    Ok(origins)
}

/// True when `origin` is a page served from this machine.
fn is_loopback(origin: &str) -> bool {
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) else {
        return false;
    };
    let host = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => rest.split(':').next().unwrap_or(""),
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("\u{0}"))
}

impl Origins {
    /// Whether a WebSocket upgrade with these headers may proceed.
    pub fn allows_websocket(&self, headers: &HeaderMap) -> bool {
        match origin(headers) {
            None => true,
            Some(o) => self.websocket.iter().any(|allowed| allowed == "*" || allowed == o),
        }
    }

    /// Whether a request with these headers may reach a `--dev` gateway.
    fn allows_dev(&self, headers: &HeaderMap) -> bool {
        !self.dev || origin(headers).is_none_or(is_loopback)
    }
}

/// Refuses, in `--dev`, every request sent by a page that is not on this
/// machine (403), before anything else looks at it.
pub async fn dev_guard(State(origins): State<Origins>, req: Request, next: Next) -> Response {
    if origins.allows_dev(req.headers()) {
        return next.run(req).await;
    }
    (StatusCode::FORBIDDEN, "a --dev gateway answers pages served from this machine only").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_pages() {
        for o in ["http://localhost:5173", "http://127.0.0.1", "https://127.0.0.2:8443", "http://[::1]:3000"] {
            assert!(is_loopback(o), "{o}");
        }
        for o in ["http://evil.example", "http://localhost.evil.example", "null", "http://10.0.0.1", "file://"] {
            assert!(!is_loopback(o), "{o}");
        }
    }

    #[test]
    fn origin_settings() {
        assert_eq!(parse("X", " http://a.example , * ").ok(), Some(vec!["http://a.example".into(), "*".into()]));
        let err = parse("WS_ORIGINS", "a.example").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("WS_ORIGINS: \"a.example\" is not an origin"), "{err}");
    }
}

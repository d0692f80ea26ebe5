//! A WebSocket client for the tests (tokio-tungstenite).

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server sent next.
#[derive(Debug)]
pub enum Got {
    Json(Value),
    Closed(u16, String),
    Nothing,
}

pub struct Ws {
    pub socket: Socket,
}

impl Ws {
    /// Opens `/graphql` with `protocol`.
    pub async fn open(base: &str, protocol: &str) -> Ws {
        Ws::open_with(base, protocol, &[]).await
    }

    /// Opens `/graphql` with `protocol` and more headers on the upgrade.
    pub async fn open_with(base: &str, protocol: &str, headers: &[(&'static str, &str)]) -> Ws {
        let url = base.replacen("http://", "ws://", 1) + "/graphql";
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
        for (name, value) in headers {
            req.headers_mut().insert(*name, value.parse().unwrap());
        }
        let (socket, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
        assert_eq!(resp.headers().get("sec-websocket-protocol").unwrap(), protocol);
        Ws { socket }
    }

    /// Opens and completes `connection_init` with `key`.
    pub async fn ready(base: &str, protocol: &str, key: &str) -> Ws {
        let mut ws = Ws::open(base, protocol).await;
        ws.send(json!({"type": "connection_init", "payload": {"x-api-key": key}})).await;
        match ws.next(Duration::from_secs(5)).await {
            Got::Json(v) => assert_eq!(v["type"], "connection_ack", "{v}"),
            other => panic!("no ack: {other:?}"),
        }
        ws
    }

    pub async fn send(&mut self, v: Value) {
        self.socket.send(Message::Text(v.to_string().into())).await.unwrap();
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::Text(text.to_owned().into())).await.unwrap();
    }

    /// The next message other than keep-alives, within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Got {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.socket.next()).await {
                Err(_) => return Got::Nothing,
                Ok(None) => return Got::Closed(1006, "gone".into()),
                Ok(Some(Err(_))) => return Got::Closed(1006, "error".into()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return frame.map_or(Got::Closed(1005, String::new()), |f| {
                        Got::Closed(f.code.into(), f.reason.to_string())
                    });
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if matches!(v["type"].as_str(), Some("ka" | "ping")) {
                        continue;
                    }
                    return Got::Json(v);
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Subscribes (transport protocol) with `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"type": "subscribe", "id": id, "payload": {"query": query, "variables": variables}})).await;
    }

    /// The next `next` message's data, failing on anything else.
    pub async fn event(&mut self) -> Value {
        match self.next(Duration::from_secs(10)).await {
            Got::Json(v) if v["type"] == "next" || v["type"] == "data" => v["payload"].clone(),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// The close code the server ends with (within 5 s).
    pub async fn close_code(&mut self) -> u16 {
        self.close().await.0
    }

    /// The close code and reason the server ends with (within 5 s).
    pub async fn close(&mut self) -> (u16, String) {
        loop {
            match self.next(Duration::from_secs(5)).await {
                Got::Closed(code, reason) => return (code, reason),
                Got::Json(_) => continue,
                Got::Nothing => panic!("the server did not close"),
            }
        }
    }
}

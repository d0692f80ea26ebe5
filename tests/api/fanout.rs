//! Subscribers with one document, variables, organization and role share
//! one execution per event (`gateway_ws_shared_executions`), each answer
//! framed with the subscriber's own id; any difference in those four runs
//! apart; a replay after a cursor always runs apart; the execution ends
//! with its last subscriber.

use crate::helpers::TestApp;
use crate::subscriptions::{SET, STATUS_SUB};
use crate::ws_client::{Got, Ws};
use accounts_gateway::domain::Role;
use accounts_gateway::service::api_keys;
use serde_json::json;
use std::time::Duration;

const T: &str = "graphql-transport-ws";

async fn executions(app: &TestApp) -> u64 {
    app.metric("gateway_ws_shared_executions").await
}

async fn one_selection_is_one_execution(app: TestApp) {
    let mei = app.account_id("acc-mei-usdc").await;
    let (_, viewer) = api_keys::create(&app.db, "demo", Role::Viewer, "v").await.unwrap();
    let (_, other) = api_keys::create(&app.db, "other", Role::Admin, "o").await.unwrap();
    let mut same = Vec::new();
    for i in 0..5 {
        let mut ws = Ws::ready(&app.base, T, &app.key).await;
        ws.subscribe(&format!("s{i}"), STATUS_SUB, json!({"a": mei})).await;
        same.push(ws);
    }
    let mut apart = Vec::new();
    for (key, vars) in [(&app.key, json!({})), (&viewer, json!({"a": mei})), (&other, json!({"a": mei}))] {
        let mut ws = Ws::ready(&app.base, T, key).await;
        ws.subscribe("x", STATUS_SUB, vars).await;
        apart.push(ws);
    }
    let mut replay = Ws::ready(&app.base, T, &app.key).await;
    let events = "subscription($after: String) { accountEvents(after: $after) { kind } }";
    replay.subscribe("r", events, json!({"after": null})).await;
    app.wait_subscribers(9).await;
    assert_eq!(executions(&app).await, 4, "five alike share one; variables, role, organization each apart");

    app.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    for (i, ws) in same.iter_mut().enumerate() {
        match ws.next(Duration::from_secs(10)).await {
            Got::Json(v) => {
                assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("next"), Some(format!("s{i}").as_str())));
                assert_eq!(v["payload"]["data"]["accountStatusChanged"]["status"], "ACTIVE");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(apart[0].event().await["data"]["accountStatusChanged"]["status"], "ACTIVE");
    assert_eq!(apart[1].event().await["data"]["accountStatusChanged"]["account"]["id"], mei, "a viewer too");
    assert!(matches!(apart[2].next(Duration::from_millis(400)).await, Got::Nothing), "never another tenant");
    assert_eq!(replay.event().await["data"]["accountEvents"]["kind"], "STATUS_CHANGED");

    // A subscriber that completes leaves its execution running for the
    // others; the last one to leave ends it.
    same[0].send(json!({"type": "complete", "id": "s0"})).await;
    app.data(SET, json!({"id": mei, "s": "INACTIVE"})).await;
    assert!(matches!(same[0].next(Duration::from_millis(400)).await, Got::Nothing), "completed");
    for ws in &mut same[1..] {
        assert_eq!(ws.event().await["data"]["accountStatusChanged"]["status"], "INACTIVE");
    }
    drop(same);
    crate::services::wait_until("the shared execution ends", Duration::from_secs(10), || async {
        executions(&app).await == 3
    })
    .await;
}

crate::backend_tests!(one_selection_is_one_execution);

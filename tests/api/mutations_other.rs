//! Clients, configuration, import, audit queries, roles and events.

use crate::helpers::TestApp;
use accounts_gateway::auth::Principal;
use accounts_gateway::domain::Role;
use accounts_gateway::events::{DomainEvent, Sequenced};
use accounts_gateway::service::client_write;
use serde_json::{json, Value};
use std::time::Duration;

async fn clients_and_configuration(app: TestApp) {
    let q = "mutation($i: CreateClientInput!) { createClient(input: $i) { id name email kind externalId } }";
    let c = app
        .data(q, json!({"i": {"name": "Zoe", "email": "Zoe@Example.com", "externalId": "cli-zoe", "kind": "BUSINESS"}}))
        .await;
    assert_eq!(c["createClient"]["email"], "zoe@example.com");
    assert_eq!(c["createClient"]["kind"], "BUSINESS");
    let (code, field) = app.error(q, json!({"i": {"name": "Dup", "externalId": "cli-zoe"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("CONFLICT", "input.externalId"));
    let (code, field) = app.error(q, json!({"i": {"name": "Bad", "email": "not-an-email"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.email"));
    let u =
        "mutation($id: UUID!, $i: UpdateClientInput!) { updateClient(id: $id, input: $i) { name email externalId } }";
    let up = app.data(u, json!({"id": c["createClient"]["id"], "i": {"name": "Zoe Ltd", "email": null}})).await;
    assert_eq!(up["updateClient"], json!({"name": "Zoe Ltd", "email": null, "externalId": "cli-zoe"}));

    let t = app.data(r#"mutation { createAccountType(input: {code: "loans", name: "Loans", category: FIAT}) { code name category } }"#, json!({})).await;
    assert_eq!(t["createAccountType"], json!({"code": "LOANS", "name": "Loans", "category": "FIAT"}));
    let (code, field) =
        app.error(r#"mutation { createAccountType(input: {code: "LOANS", name: "Again"}) { code } }"#, json!({})).await;
    assert_eq!((code.as_str(), field.as_str()), ("CONFLICT", "input.code"));
    let n = app.data(r#"mutation { createNetwork(input: {code: "solana", name: "Solana", addressPattern: "^[1-9A-HJ-NP-Za-km-z]{32,44}$"}) { code addressPattern } }"#, json!({})).await;
    assert_eq!(n["createNetwork"]["code"], "solana");
    let (code, field) = app
        .error(r#"mutation { createNetwork(input: {code: "x", name: "X", addressPattern: "(["}) { code } }"#, json!({}))
        .await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.addressPattern"));
    let cur = app.data(r#"mutation { createCurrency(input: {code: "sol", name: "Solana", symbol: "SOL", type: CRYPTO, decimals: 9, networks: ["solana"]}) { code decimals networks { code } } }"#, json!({})).await;
    assert_eq!(cur["createCurrency"], json!({"code": "SOL", "decimals": 9, "networks": [{"code": "solana"}]}));
    let (code, field) = app.error(r#"mutation { createCurrency(input: {code: "ABC", name: "A", symbol: "A", type: FIAT, decimals: 19}) { code } }"#, json!({})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.decimals"));
    let (code, field) = app.error(r#"mutation { createCurrency(input: {code: "ABC", name: "A", symbol: "A", type: CRYPTO, decimals: 2, networks: ["nope"]}) { code } }"#, json!({})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.networks.0"));
    let none = app.data("{ currencies { code } }", json!({})).await;
    assert!(
        !none["currencies"].as_array().unwrap().contains(&json!({"code": "ABC"})),
        "a failed create leaves nothing"
    );
    let p = app.data(r#"mutation { createProject(name: "Payments") { name } }"#, json!({})).await;
    assert_eq!(p["createProject"]["name"], "Payments");
    let (code, _) = app.error(r#"mutation { createProject(name: "Payments") { name } }"#, json!({})).await;
    assert_eq!(code, "CONFLICT");
    let audit =
        app.data(r#"{ auditEvents(filter: {entityType: "client"}) { totalCount nodes { action } } }"#, json!({})).await;
    assert_eq!(audit["auditEvents"]["totalCount"], 2);
}

const IMPORT: &str = "mutation($rows: [CreateAccountInput!]!, $atomic: Boolean) { importAccounts(rows: $rows, atomic: $atomic) { created failed accounts { name } errors { index code field message } } }";

async fn import_rows(app: TestApp) {
    let rows = json!([
        {"name": "Imported 1", "type": "PERSONAL", "ownerExternalId": "cli-mei", "externalId": "imp-1"},
        {"name": "Imported 2", "type": "NOPE", "ownerExternalId": "cli-mei"},
        {"name": "Imported 3", "type": "PERSONAL", "ownerExternalId": "cli-mei", "externalId": "imp-1"},
        {"name": "Imported 4", "type": "PERSONAL", "ownerExternalId": "cli-mei", "assets": [{"currency": "USD", "initialBalance": "5"}]},
    ]);
    let atomic = app.data(IMPORT, json!({"rows": rows, "atomic": true})).await["importAccounts"].clone();
    assert_eq!(atomic["created"], 0);
    assert_eq!(atomic["failed"], 2);
    assert_eq!(
        atomic["errors"][0],
        json!({"index": 1, "code": "VALIDATION_FAILED", "field": "rows.1.type", "message": "no account type with this code"})
    );
    assert_eq!(atomic["errors"][1]["field"], "rows.2.externalId");
    let none = app.data(r#"{ accounts(filter: {search: "Imported"}) { totalCount } }"#, json!({})).await;
    assert_eq!(none["accounts"]["totalCount"], 0, "atomic: all or nothing");
    let partial = app.data(IMPORT, json!({"rows": rows})).await["importAccounts"].clone();
    assert_eq!(partial["created"], 2);
    assert_eq!(partial["failed"], 2);
    assert_eq!(partial["accounts"], json!([{"name": "Imported 1"}, {"name": "Imported 4"}]));
    let some = app.data(r#"{ accounts(filter: {search: "Imported"}) { totalCount } }"#, json!({})).await;
    assert_eq!(some["accounts"]["totalCount"], 2);
}

/// `n` valid rows for cli-john, each with a USD asset.
fn bulk_rows(prefix: &str, n: usize) -> Vec<Value> {
    let row = |i| {
        json!({"name": format!("{prefix} {i}"), "type": "PERSONAL", "ownerExternalId": "cli-john",
               "externalId": format!("{prefix}-{i}"), "assets": [{"currency": "USD", "initialBalance": "1.25"}]})
    };
    (0..n).map(row).collect()
}

/// An atomic import of 10,000 rows (each with an asset) is written in
/// multi-row inserts, not a savepoint per row: it finishes well within
/// the request limit on PostgreSQL.
async fn ten_thousand_row_import(app: TestApp) {
    let started = std::time::Instant::now();
    let q = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows, atomic: true) { created failed } }";
    let r = app.data(q, json!({"rows": bulk_rows("Bulk", 10_000)})).await;
    assert_eq!(r["importAccounts"], json!({"created": 10000, "failed": 0}));
    eprintln!("10,000-row atomic import: {:?}", started.elapsed());
    let total = app.data(r#"{ accounts(filter: {search: "Bulk "}) { totalCount } }"#, json!({})).await;
    assert_eq!(total["accounts"]["totalCount"], 10000);
    let journal = app.data(r#"{ accounts(first: 1, filter: {search: "Bulk 9999"}) { nodes { assets { balance { available } journal(first: 5) { nodes { cause } } } } } }"#, json!({})).await;
    let asset = &journal["accounts"]["nodes"][0]["assets"][0];
    assert_eq!(
        (asset["balance"]["available"].as_str(), asset["journal"]["nodes"][0]["cause"].as_str()),
        (Some("1.25"), Some("IMPORT")),
        "{journal}"
    );
}

/// An import costs the same statements for 10 rows as for 300: one read
/// per kind of reference, one multi-row insert per table.
async fn an_import_costs_constant_statements(app: TestApp) {
    let q = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows, atomic: true) { created } }";
    app.data("{ __typename }", json!({})).await;
    let mut counts = Vec::new();
    for (prefix, n) in [("Small", 10), ("Large", 300)] {
        let before = app.statements().await;
        let r = app.data(q, json!({"rows": bulk_rows(prefix, n)})).await;
        counts.push(app.statements().await - before);
        assert_eq!(r["importAccounts"]["created"], n);
    }
    assert_eq!(counts[0], counts[1], "10 vs 300 rows: {counts:?}");
}

/// Each row is checked against the rows before it, as if they had run one
/// after another: a second use of an alias is CONFLICT, a repeated key
/// with the same input gets the first row's account and with another
/// input is CONFLICT, and of two main accounts of one owner the later
/// keeps the flag (the earlier's loss audited).
async fn a_batch_checks_each_row_against_the_rows_before_it(app: TestApp) {
    let row = |name: &str, extra: Value| {
        let mut r = json!({"name": name, "type": "PERSONAL", "ownerExternalId": "cli-mei"});
        r.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        r
    };
    let rows = json!([
        row("Batch 0", json!({"alias": "batch-alias", "main": true})),
        row("Batch 1", json!({"alias": "batch-alias"})),
        row("Batch 2", json!({"idempotencyKey": "batch-key"})),
        row("Batch 2", json!({"idempotencyKey": "batch-key"})),
        row("Batch 4", json!({"idempotencyKey": "batch-key"})),
        row("Batch 5", json!({"main": true})),
    ]);
    let q = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows) { created accounts { id name main } errors { index field code } } }";
    let r = app.data(q, json!({"rows": rows})).await["importAccounts"].clone();
    assert_eq!(
        r["errors"],
        json!([{"index": 1, "field": "rows.1.alias", "code": "CONFLICT"}, {"index": 4, "field": "rows.4.idempotencyKey", "code": "CONFLICT"}])
    );
    let made = r["accounts"].as_array().unwrap();
    assert_eq!(made.len(), 4, "{r}");
    assert_eq!(made[1]["id"], made[2]["id"], "the repeated key answers with the first row's account");
    let mains =
        app.data(r#"{ accounts(filter: {search: "Batch "}) { totalCount nodes { name main } } }"#, json!({})).await;
    assert_eq!(mains["accounts"]["totalCount"], 3, "{mains}");
    let main: Vec<&Value> =
        mains["accounts"]["nodes"].as_array().unwrap().iter().filter(|a| a["main"] == true).collect();
    assert_eq!(main, [&json!({"name": "Batch 5", "main": true})], "{mains}");
    let id = made[0]["id"].as_str().unwrap();
    let trail = app
        .data("query($id: UUID) { auditEvents(filter: {entityId: $id}) { nodes { action } } }", json!({"id": id}))
        .await;
    let actions: Vec<&str> =
        trail["auditEvents"]["nodes"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"account.updated") && actions.contains(&"account.created"), "{trail}");
}

async fn viewers_cannot_write(app: TestApp) {
    let org = accounts_gateway::service::organizations::ensure(&app.db, "demo").await.unwrap().id;
    let viewer = Principal {
        organization_id: org,
        role: Role::Viewer,
        subject: "v".into(),
        expires_at: None,
        api_key_id: None,
        issuer: None,
    };
    let operator = Principal { role: Role::Operator, ..viewer.clone() };
    let input = accounts_gateway::domain::commands::NewClient {
        name: "V".into(),
        email: None,
        external_id: None,
        kind: accounts_gateway::domain::ClientKind::Person,
    }
    .check()
    .unwrap();
    let err = client_write::create(&app.store, &viewer, &input).await.unwrap_err();
    assert_eq!(err.code(), "FORBIDDEN");
    let err = accounts_gateway::service::catalog_write::create_project(&app.store, &operator, "P").await.unwrap_err();
    assert_eq!(err.code(), "FORBIDDEN", "configuration is ADMIN's");
    assert!(client_write::create(&app.store, &operator, &input).await.is_ok());
}

/// The next event within `wait`, if any.
async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<Sequenced>>,
    wait: Duration,
) -> Option<std::sync::Arc<Sequenced>> {
    tokio::time::timeout(wait, rx.recv()).await.ok().and_then(Result::ok)
}

async fn events_follow_commits_only(app: TestApp) {
    let mut rx = app.store.events.subscribe();
    let mei = app.account_id("acc-mei-usdc").await;
    let q = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { status } }";
    app.data(q, json!({"id": mei, "s": "ACTIVE"})).await;
    // With REDIS_URL the event travels through Redis, so allow it a moment.
    let e = next_event(&mut rx, Duration::from_secs(3)).await.expect("an event after commit");
    match &e.event {
        DomainEvent::AccountStatusChanged { account_id, previous, status, actor, .. } => {
            assert_eq!(account_id.to_string(), mei.as_str().unwrap());
            assert_eq!((previous.as_str(), status.as_str()), ("PENDING", "ACTIVE"));
            assert_eq!(actor, "key:initial-admin");
        }
        other => panic!("unexpected {other:?}"),
    }
    // A refused change and a rolled-back one publish nothing.
    app.error(q, json!({"id": mei, "s": "PENDING"})).await;
    let ana = app.account_id("acc-ana-main").await;
    app.error("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": ana})).await;
    assert!(next_event(&mut rx, Duration::from_millis(400)).await.is_none(), "no event without a commit");
    let asset = crate::mutations_assets::active_asset(&app, "acc-mei-usdc", "USD", "0").await;
    app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": {"idempotencyKey": "ev", "available": "3"}}))
        .await;
    app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": {"idempotencyKey": "ev", "available": "3"}}))
        .await;
    let mut balance_events = 0;
    while let Some(e) = next_event(&mut rx, Duration::from_millis(600)).await {
        balance_events += usize::from(matches!(e.event, DomainEvent::BalanceChanged { .. }));
    }
    assert_eq!(balance_events, 1, "a replay publishes nothing");
}

crate::backend_tests!(
    clients_and_configuration,
    import_rows,
    ten_thousand_row_import,
    an_import_costs_constant_statements,
    a_batch_checks_each_row_against_the_rows_before_it,
    viewers_cannot_write,
    events_follow_commits_only,
    a_commit_is_delivered_even_if_its_request_is_dropped
);

/// Drops the inner future after it has been polled `polls` times (as a
/// request cancelled at that point would be); `None` when it was dropped.
struct DropAfter<F: std::future::Future> {
    inner: Option<std::pin::Pin<Box<F>>>,
    polls: usize,
}

impl<F: std::future::Future> std::future::Future for DropAfter<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else { return std::task::Poll::Ready(None) };
        if this.polls == 0 {
            this.inner = None;
            return std::task::Poll::Ready(None);
        }
        this.polls -= 1;
        match inner.as_mut().poll(cx) {
            std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
            std::task::Poll::Pending if this.polls == 0 => {
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

/// Whatever point a request is dropped at, a change that committed is
/// delivered to this replica's subscribers: committed implies delivered.
async fn a_commit_is_delivered_even_if_its_request_is_dropped(app: TestApp) {
    use sea_orm::{ActiveModelTrait, EntityTrait, QuerySelect, Set};
    let mut rx = app.store.events.subscribe();
    let account = app.account_id("acc-mei-usdc").await;
    let id = uuid::Uuid::parse_str(account.as_str().unwrap()).unwrap();
    let org = accounts_gateway::service::organizations::ensure(&app.db, "demo").await.unwrap().id;
    let postgres = app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let mut committed = 0;
    for polls in 1..=40 {
        let marker = format!("drop-{polls}");
        let tx = app.store.begin().await.unwrap();
        let row = entity::account::ActiveModel { id: Set(id), name: Set(marker.clone()), ..Default::default() };
        row.update(&*tx).await.unwrap();
        let at = chrono::DateTime::from_timestamp(1_000_000 + polls as i64, 0).unwrap();
        let (balance, transfer_id, actor) = (None, None, None);
        tx.emit(DomainEvent::BalanceChanged {
            organization_id: org,
            account_id: id,
            asset_id: id,
            at,
            balance,
            transfer_id,
            actor,
        });
        DropAfter { inner: Some(Box::pin(tx.commit())), polls }.await;
        // The next writer of the row waits for that transaction to end
        // (SQLite: for the write slot; PostgreSQL: for the row).
        let after = app.store.begin().await.unwrap();
        if postgres {
            entity::account::Entity::find_by_id(id).lock_exclusive().one(&*after).await.unwrap();
        }
        after.rollback().await.unwrap();
        let name = entity::account::Entity::find_by_id(id).one(&app.db).await.unwrap().map(|a| a.name);
        if name.as_deref() != Some(marker.as_str()) {
            continue;
        }
        committed += 1;
        let delivered = loop {
            match next_event(&mut rx, Duration::from_secs(3)).await {
                Some(e) if matches!(&e.event, DomainEvent::BalanceChanged { at: seen, .. } if *seen == at) => {
                    break true
                }
                Some(_) => continue,
                None => break false,
            }
        };
        assert!(delivered, "committed after {polls} polls but never delivered");
    }
    assert!(committed > 0, "some commits completed");
}

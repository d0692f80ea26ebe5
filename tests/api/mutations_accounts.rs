//! createAccount, updateAccount, setAccountStatus, deleteAccount,
//! systemAccount: every rule and error path, read back after failures.

use crate::helpers::TestApp;
use serde_json::{json, Value};

pub const CREATE: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id uid accountNumber name status version kind alias externalId parent { id } owner { name } assets { currency { code } status balance { available total } } } }";

async fn count(app: &TestApp) -> u64 {
    let d = app
        .data("{ accounts(filter: {includeDeleted: true}) { totalCount } auditEvents { totalCount } }", json!({}))
        .await;
    d["accounts"]["totalCount"].as_u64().unwrap() * 1_000_000 + d["auditEvents"]["totalCount"].as_u64().unwrap()
}

async fn create_account_rules(app: TestApp) {
    let ana = app.client_id("cli-ana").await;
    let john = app.client_id("cli-john").await;
    let before = count(&app).await;
    let bad: Vec<(Value, &str, &str)> = vec![
        (json!({"name": "", "type": "PERSONAL", "ownerId": ana}), "VALIDATION_FAILED", "input.name"),
        (json!({"name": "x".repeat(101), "type": "PERSONAL", "ownerId": ana}), "VALIDATION_FAILED", "input.name"),
        (json!({"name": "A", "type": "NOPE", "ownerId": ana}), "VALIDATION_FAILED", "input.type"),
        (json!({"name": "A", "type": "PERSONAL"}), "VALIDATION_FAILED", "input.ownerId"),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": "0190b1c2-0000-7000-8000-000000000000"}),
            "NOT_FOUND",
            "input.ownerId",
        ),
        (json!({"name": "A", "type": "PERSONAL", "ownerExternalId": "nobody"}), "NOT_FOUND", "input.ownerExternalId"),
        (json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "alias": "ana"}), "CONFLICT", "input.alias"),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "externalId": "acc-ana-main"}),
            "CONFLICT",
            "input.externalId",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "alias": "has space"}),
            "VALIDATION_FAILED",
            "input.alias",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "metadata": {"nested": {"no": 1}}}),
            "VALIDATION_FAILED",
            "input.metadata",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": john, "parentId": app.account_id("acc-ana-main").await}),
            "VALIDATION_FAILED",
            "input.parentId",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "status": "DELETED"}),
            "VALIDATION_FAILED",
            "input.status",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "assets": [{"currency": "USD"}, {"currency": "XXX"}]}),
            "VALIDATION_FAILED",
            "input.assets.1.currency",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "assets": [{"currency": "USD", "initialBalance": "1.001"}]}),
            "VALIDATION_FAILED",
            "input.assets.0.initialBalance",
        ),
        (
            json!({"name": "A", "type": "PERSONAL", "ownerId": ana, "assets": [{"currency": "USD"}, {"currency": "usd"}]}),
            "CONFLICT",
            "input.assets.1.currency",
        ),
    ];
    for (input, code, field) in bad {
        let (c, f) = app.error(CREATE, json!({"i": input})).await;
        assert_eq!((c.as_str(), f.as_str()), (code, field), "{input}");
    }
    assert_eq!(count(&app).await, before, "failed creates change nothing, assets included");

    let ok = app
        .data(CREATE, json!({"i": {"name": "  Ana travel  ", "type": "savings", "ownerExternalId": "cli-ana", "alias": "ana-travel",
            "externalId": "acc-ana-travel", "parentId": app.account_id("acc-ana-main").await,
            "assets": [{"currency": "EUR", "initialBalance": "100.5"}, {"currency": "BTC", "initialBalance": "0.00000001"}]}}))
        .await["createAccount"]
        .clone();
    assert_eq!(ok["name"], "Ana travel");
    assert_eq!(ok["status"], "PENDING");
    assert_eq!(ok["kind"], "CLIENT");
    assert_eq!(ok["uid"], 15);
    assert_eq!(ok["version"], 1);
    assert_eq!(ok["owner"]["name"], "Ana Souza");
    assert_eq!(ok["accountNumber"].as_str().unwrap().len(), 11);
    assert_eq!(ok["assets"][0]["status"], "INACTIVE");
    assert_eq!(ok["assets"][0]["balance"]["available"], "100.50");
    assert_eq!(ok["assets"][1]["balance"]["total"], "0.00000001");
    let trail = app
        .data("query($id: UUID!) { account(id: $id) { auditTrail { totalCount nodes { action entityType actor after } } } }", json!({"id": ok["id"]}))
        .await;
    let actions: Vec<&str> = trail["account"]["auditTrail"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["asset.added", "asset.added", "account.created"]);
    assert_eq!(trail["account"]["auditTrail"]["nodes"][2]["actor"], "key:initial-admin");

    // Nesting is bounded: levels 1..5 exist, a sixth is refused.
    let mut parent = ok["id"].clone(); // level 2
    for level in 3..=5 {
        let child = app
            .data(
                CREATE,
                json!({"i": {"name": format!("level {level}"), "type": "SAVINGS", "ownerId": ana, "parentId": parent}}),
            )
            .await;
        parent = child["createAccount"]["id"].clone();
    }
    let (code, field) = app
        .error(CREATE, json!({"i": {"name": "level 6", "type": "SAVINGS", "ownerId": ana, "parentId": parent}}))
        .await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.parentId"));
}

const UPDATE: &str = "mutation($id: UUID!, $i: UpdateAccountInput!, $v: Int) { updateAccount(id: $id, input: $i, expectedVersion: $v) { name alias externalId metadata version type { code } owner { name } allowSending } }";

async fn update_account_rules(app: TestApp) {
    let id = app.account_id("acc-ana-main").await;
    let changed = app
        .data(UPDATE, json!({"id": id, "v": 1, "i": {"name": "Ana main", "alias": null, "type": "BUSINESS", "metadata": {"only": "this"}, "allowSending": false}}))
        .await["updateAccount"]
        .clone();
    assert_eq!(changed["name"], "Ana main");
    assert_eq!(changed["alias"], Value::Null, "null clears");
    assert_eq!(changed["externalId"], "acc-ana-main", "absent stays");
    assert_eq!(changed["metadata"], json!({"only": "this"}), "metadata is replaced whole");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["type"]["code"], "BUSINESS");
    assert_eq!(changed["owner"]["name"], "Ana Souza");
    let (code, field) = app.error(UPDATE, json!({"id": id, "v": 1, "i": {"name": "stale"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("CONFLICT", "expectedVersion"));
    let (code, field) = app.error(UPDATE, json!({"id": id, "i": {"externalId": "acc-john-crypto"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("CONFLICT", "input.externalId"));
    let (code, _) =
        app.error(UPDATE, json!({"id": id, "i": {"ownerId": "0190b1c2-0000-7000-8000-000000000000"}})).await;
    assert_eq!(code, "VALIDATION_FAILED", "the owner is not editable");
    let (code, field) =
        app.error(UPDATE, json!({"id": "0190b1c2-0000-7000-8000-000000000000", "i": {"name": "x"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("NOT_FOUND", "id"));
    let after = app.data("query($id: UUID!) { account(id: $id) { name version } }", json!({"id": id})).await;
    assert_eq!(after["account"], json!({"name": "Ana main", "version": 2}), "failed updates change nothing");
}

const STATUS: &str = "mutation($id: UUID!, $s: AccountStatus!, $r: StatusReasonInput) { setAccountStatus(id: $id, status: $s, reason: $r) { status version statusReason { code description changedAt } } }";

async fn status_machine(app: TestApp) {
    let mei = app.account_id("acc-mei-usdc").await; // PENDING
    let (code, _) = app.error(STATUS, json!({"id": mei, "s": "INACTIVE"})).await;
    assert_eq!(code, "NOT_ALLOWED");
    let body = app.gql(STATUS, json!({"id": mei, "s": "BLOCKED"})).await;
    let msg = body["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("PENDING") && msg.contains("BLOCKED"), "{msg}");
    let active = app.data(STATUS, json!({"id": mei, "s": "ACTIVE"})).await;
    assert_eq!(active["setAccountStatus"]["status"], "ACTIVE");
    let blocked = app
        .data(STATUS, json!({"id": mei, "s": "BLOCKED", "r": {"code": "AML", "description": "screening hit"}}))
        .await;
    assert_eq!(blocked["setAccountStatus"]["statusReason"]["code"], "AML");
    assert_eq!(blocked["setAccountStatus"]["statusReason"]["description"], "screening hit");
    assert_eq!(blocked["setAccountStatus"]["version"], 3);
    let (code, _) = app.error(STATUS, json!({"id": mei, "s": "INACTIVE"})).await;
    assert_eq!(code, "NOT_ALLOWED", "BLOCKED goes back to ACTIVE only");
    app.data(STATUS, json!({"id": mei, "s": "ACTIVE"})).await;
    app.data(STATUS, json!({"id": mei, "s": "INACTIVE"})).await;
    app.data(STATUS, json!({"id": mei, "s": "SUSPENDED"})).await;
    let events = app.data(r#"query($id: UUID) { auditEvents(filter: {entityId: $id, action: "account.status_changed"}) { totalCount nodes { before after } } }"#, json!({"id": mei})).await;
    assert_eq!(events["auditEvents"]["totalCount"], 5);
    assert_eq!(events["auditEvents"]["nodes"][0]["before"]["status"], "INACTIVE");
    assert_eq!(events["auditEvents"]["nodes"][0]["after"]["status"], "SUSPENDED");
}

const DELETE: &str = "mutation($id: UUID!) { deleteAccount(id: $id) { status deletedAt version } }";

async fn delete_rules(app: TestApp) {
    let ana = app.account_id("acc-ana-main").await;
    let (code, _) = app.error(DELETE, json!({"id": ana})).await;
    assert_eq!(code, "NOT_ALLOWED", "non-zero balance");
    // John's old savings holds a zero USD balance.
    let old = app.data(r#"{ accounts(filter: {search: "John old"}) { nodes { id } } }"#, json!({})).await["accounts"]
        ["nodes"][0]["id"]
        .clone();
    let deleted = app.data(DELETE, json!({"id": old})).await;
    assert_eq!(deleted["deleteAccount"]["status"], "DELETED");
    assert!(deleted["deleteAccount"]["deletedAt"].is_string());
    let (code, _) = app.error(DELETE, json!({"id": old})).await;
    assert_eq!(code, "NOT_ALLOWED", "DELETED is terminal");
    let (code, _) = app.error(STATUS, json!({"id": old, "s": "ACTIVE"})).await;
    assert_eq!(code, "NOT_ALLOWED");
    let list = app.data(r#"{ accounts(filter: {search: "John"}) { totalCount } all: accounts(filter: {search: "John", includeDeleted: true}) { totalCount } }"#, json!({})).await;
    assert_eq!(list["accounts"]["totalCount"], 1);
    assert_eq!(list["all"]["totalCount"], 2);
    let still = app.data("query($id: UUID!) { account(id: $id) { status } }", json!({"id": old})).await;
    assert_eq!(still["account"]["status"], "DELETED", "rows are kept");
}

#[tokio::test]
async fn deletion_forbidden_by_policy() {
    let Some(app) = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &["--forbid-account-deletion"]).await else {
        return;
    };
    let old = app.data(r#"{ accounts(filter: {search: "John old"}) { nodes { id } } }"#, json!({})).await["accounts"]
        ["nodes"][0]["id"]
        .clone();
    let (code, _) = app.error(DELETE, json!({"id": old})).await;
    assert_eq!(code, "NOT_ALLOWED");
}

async fn system_account_get_or_create(app: TestApp) {
    let q = "mutation($r: SystemRole!, $c: String) { systemAccount(role: $r, currency: $c) { id kind systemRole owner { id } assets { currency { code } status } } }";
    let existing = app.data(q, json!({"r": "OMNIBUS", "c": "USD"})).await;
    assert_eq!(existing["systemAccount"]["kind"], "SYSTEM");
    let again = app.data(q, json!({"r": "OMNIBUS", "c": "usd"})).await;
    assert_eq!(existing["systemAccount"]["id"], again["systemAccount"]["id"]);
    let created = app.data(q, json!({"r": "FEE_PAYER", "c": "USDC"})).await;
    assert_eq!(created["systemAccount"]["assets"][0]["currency"]["code"], "USDC");
    assert_eq!(created["systemAccount"]["assets"][0]["status"], "ACTIVE");
    let (code, field) = app.error(q, json!({"r": "RESERVE", "c": "XXX"})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "currency"));
}

/// Seed 004's `walletAccountId`: set on create and update, cleared with
/// null, NOT_FOUND when it names no live account of the organization
/// (another tenant's, a deleted one, none), and a refusal changes nothing.
async fn wallet_account_reference(app: TestApp) {
    let ana = app.client_id("cli-ana").await;
    let wallet = app.account_id("acc-mei-usdc").await;
    let q = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id walletAccountId } }";
    let made =
        app.data(q, json!({"i": {"name": "W", "type": "PERSONAL", "ownerId": ana, "walletAccountId": wallet}})).await;
    assert_eq!(made["createAccount"]["walletAccountId"], wallet);
    let id = made["createAccount"]["id"].clone();
    // Another tenant's account, made through the API with its own key.
    let (_, other) =
        accounts_gateway::service::api_keys::create(&app.db, "other", accounts_gateway::domain::Role::Admin, "o")
            .await
            .unwrap();
    let as_other = |query: &'static str, vars: Value| {
        let req = app.http.post(format!("{}/graphql", app.base)).header("x-api-key", &other);
        async move {
            req.json(&json!({"query": query, "variables": vars})).send().await.unwrap().json::<Value>().await.unwrap()
        }
    };
    as_other("mutation { createAccountType(input: {code: \"PERSONAL\", name: \"P\"}) { code } }", json!({})).await;
    let owner = as_other("mutation { createClient(input: {name: \"T\"}) { id } }", json!({})).await;
    let owner = owner["data"]["createClient"]["id"].clone();
    let theirs = as_other(q, json!({"i": {"name": "T", "type": "PERSONAL", "ownerId": owner}})).await;
    let theirs = theirs["data"]["createAccount"]["id"].as_str().expect("the other tenant's account").to_owned();
    let gone = app.data(q, json!({"i": {"name": "gone", "type": "PERSONAL", "ownerId": ana}})).await["createAccount"]
        ["id"]
        .clone();
    app.data("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": gone})).await;
    let before = count(&app).await;
    for bad in [json!("0190b1c2-0000-7000-8000-000000000000"), json!(theirs), gone.clone()] {
        let (code, field) =
            app.error(q, json!({"i": {"name": "W", "type": "PERSONAL", "ownerId": ana, "walletAccountId": bad}})).await;
        assert_eq!((code.as_str(), field.as_str()), ("NOT_FOUND", "input.walletAccountId"), "{bad}");
        let (code, field) = app.error(UPDATE, json!({"id": id, "i": {"walletAccountId": bad}})).await;
        assert_eq!((code.as_str(), field.as_str()), ("NOT_FOUND", "input.walletAccountId"), "{bad}");
    }
    assert_eq!(count(&app).await, before, "refusals change nothing");
    let read = "query($id: UUID!) { account(id: $id) { walletAccountId version } }";
    assert_eq!(app.data(read, json!({"id": id})).await["account"], json!({"walletAccountId": wallet, "version": 1}));
    let other = app.account_id("acc-ana-main").await;
    app.data(UPDATE, json!({"id": id, "i": {"walletAccountId": other}})).await;
    assert_eq!(app.data(read, json!({"id": id})).await["account"]["walletAccountId"], other);
    app.data(UPDATE, json!({"id": id, "i": {"name": "kept"}})).await;
    assert_eq!(app.data(read, json!({"id": id})).await["account"]["walletAccountId"], other, "absent stays");
    app.data(UPDATE, json!({"id": id, "i": {"walletAccountId": null}})).await;
    assert_eq!(app.data(read, json!({"id": id})).await["account"]["walletAccountId"], Value::Null, "null clears");
}

crate::backend_tests!(
    wallet_account_reference,
    create_account_rules,
    update_account_rules,
    status_machine,
    delete_rules,
    system_account_get_or_create
);

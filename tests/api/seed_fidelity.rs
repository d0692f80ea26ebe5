//! What the seed systems' users would miss: the custody bank account, the
//! status change time, a card's deactivation reason, one main account per
//! owner, the reserved SYSTEM type, systemAccount's role check, deletion
//! and status-transition policies, and the back office's "inactive" list.

use crate::helpers::{first_code, Backend, TestApp};
use accounts_gateway::domain::Role;
use accounts_gateway::service::api_keys;
use futures_util::future::join_all;
use serde_json::{json, Value};

const CREATE: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id main statusChangedAt createdAt custodyBankAccount { accountNumber bank currency typeAccount country } } }";
const UPDATE: &str = "mutation($id: UUID!, $i: UpdateAccountInput!) { updateAccount(id: $id, input: $i) { id main type { code } custodyBankAccount { bank currency country } } }";
const STATUS: &str = "mutation($id: UUID!, $s: AccountStatus!, $r: StatusReasonInput) { setAccountStatus(id: $id, status: $s, reason: $r) { status statusReason { code } statusChangedAt } }";
const CARD: &str = "mutation($id: UUID!, $a: Boolean!, $r: StatusReasonInput) { setSmartCardActive(id: $id, active: $a, reason: $r) { active deactivation { code description changedAt } } }";

fn ana(extra: Value) -> Value {
    let mut i = json!({"name": "Ana custody", "type": "PERSONAL", "ownerExternalId": "cli-ana"});
    if let (Some(obj), Some(more)) = (i.as_object_mut(), extra.as_object()) {
        obj.extend(more.clone());
    }
    json!({"i": i})
}

async fn audit_actions(app: &TestApp, id: &Value) -> Vec<Value> {
    let q = "query($id: UUID!) { auditEvents(filter: {entityId: $id}) { nodes { action after } } }";
    app.data(q, json!({"id": id})).await["auditEvents"]["nodes"].as_array().cloned().unwrap_or_default()
}

async fn custody_bank_account_is_settable_validated_and_audited(app: TestApp) {
    let bank = json!({"accountNumber": "DE89370400440532013000", "bank": "Commerzbank", "currency": "eur", "typeAccount": "checking", "country": "de"});
    let created = app.data(CREATE, ana(json!({"custodyBankAccount": bank}))).await["createAccount"].clone();
    assert_eq!(
        created["custodyBankAccount"],
        json!({"accountNumber": "DE89370400440532013000", "bank": "Commerzbank", "currency": "EUR", "typeAccount": "checking", "country": "DE"})
    );
    for (bad, field) in [
        (json!({"accountNumber": "1", "bank": "B", "currency": "XXX"}), "input.custodyBankAccount.currency"),
        (json!({"accountNumber": "1", "bank": " ", "currency": "EUR"}), "input.custodyBankAccount.bank"),
        (json!({"accountNumber": "", "bank": "B", "currency": "EUR"}), "input.custodyBankAccount.accountNumber"),
        (
            json!({"accountNumber": "1", "bank": "B", "currency": "EUR", "country": "Germany"}),
            "input.custodyBankAccount.country",
        ),
    ] {
        let (code, f) = app.error(CREATE, ana(json!({"custodyBankAccount": bad}))).await;
        assert_eq!((code.as_str(), f.as_str()), ("VALIDATION_FAILED", field));
    }
    let id = created["id"].clone();
    let moved = json!({"accountNumber": "0001", "bank": "Itaú", "currency": "BRL"});
    let updated =
        app.data(UPDATE, json!({"id": id, "i": {"custodyBankAccount": moved}})).await["updateAccount"].clone();
    assert_eq!(updated["custodyBankAccount"], json!({"bank": "Itaú", "currency": "BRL", "country": null}));
    let events = audit_actions(&app, &id).await;
    assert!(events
        .iter()
        .any(|e| e["action"] == "account.updated" && e["after"]["custodyBankAccount"]["bank"] == "Itaú"));
    let cleared = app.data(UPDATE, json!({"id": id, "i": {"custodyBankAccount": null}})).await;
    assert_eq!(cleared["updateAccount"]["custodyBankAccount"], Value::Null);
    let (code, f) = app
        .error(
            UPDATE,
            json!({"id": id, "i": {"custodyBankAccount": {"accountNumber": "1", "bank": "B", "currency": "NOPE"}}}),
        )
        .await;
    assert_eq!((code.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.custodyBankAccount.currency"));
}

async fn status_changed_at_is_shown_without_a_reason(app: TestApp) {
    let created = app.data(CREATE, ana(json!({}))).await["createAccount"].clone();
    assert_eq!(created["statusChangedAt"], created["createdAt"], "creation is the first change");
    let changed = app.data(STATUS, json!({"id": created["id"], "s": "ACTIVE"})).await["setAccountStatus"].clone();
    assert_eq!(changed["statusReason"], Value::Null, "no reason given");
    assert!(changed["statusChangedAt"].as_str() > created["statusChangedAt"].as_str(), "{changed}");
}

async fn a_card_keeps_why_and_when_it_was_deactivated(app: TestApp) {
    let q = r#"{ accountByExternalId(externalId: "acc-ana-main") { smartCards { id deactivation { code } } } }"#;
    let card = app.data(q, json!({})).await["accountByExternalId"]["smartCards"][0].clone();
    assert_eq!(card["deactivation"], Value::Null, "never deactivated");
    let off = app
        .data(
            CARD,
            json!({"id": card["id"], "a": false, "r": {"code": "LOST", "description": "reported lost by phone"}}),
        )
        .await["setSmartCardActive"]
        .clone();
    assert_eq!(off["active"], false);
    assert_eq!(off["deactivation"]["code"], "LOST");
    assert_eq!(off["deactivation"]["description"], "reported lost by phone");
    assert!(off["deactivation"]["changedAt"].is_string());
    let (code, field) = app.error(CARD, json!({"id": card["id"], "a": true, "r": {"code": "FOUND"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "reason"));
    let on = app.data(CARD, json!({"id": card["id"], "a": true})).await["setSmartCardActive"].clone();
    assert_eq!(on["active"], true);
    assert_eq!(on["deactivation"], off["deactivation"], "the last deactivation stays visible");
    let events = audit_actions(&app, &card["id"]).await;
    let deactivated = events.iter().find(|e| e["action"] == "smart_card.deactivated").expect("audited");
    assert_eq!(deactivated["after"]["deactivationReasonCode"], "LOST");
    let (code, field) = app.error(CARD, json!({"id": card["id"], "a": false, "r": {"code": "x".repeat(51)}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "reason.code"));
}

async fn mains_of(app: &TestApp) -> Vec<String> {
    let q = r#"{ accounts(first: 100, filter: {ownerExternalId: "cli-ana"}) { nodes { name main } } }"#;
    let nodes = app.data(q, json!({})).await["accounts"]["nodes"].as_array().cloned().unwrap_or_default();
    nodes.iter().filter(|n| n["main"] == true).map(|n| n["name"].as_str().unwrap_or("").to_owned()).collect()
}

async fn one_main_account_per_owner(app: TestApp) {
    assert_eq!(mains_of(&app).await, vec!["Ana personal"]);
    let old_main = app.account_id("acc-ana-main").await;
    let created = app.data(CREATE, ana(json!({"name": "Ana new main", "main": true}))).await["createAccount"].clone();
    assert_eq!(created["main"], true);
    assert_eq!(mains_of(&app).await, vec!["Ana new main"], "the flag moved");
    let events = audit_actions(&app, &old_main).await;
    assert!(events.iter().any(|e| e["action"] == "account.updated" && e["after"]["main"] == false), "audited");
    app.data(UPDATE, json!({"id": old_main, "i": {"main": true}})).await;
    assert_eq!(mains_of(&app).await, vec!["Ana personal"], "and back");
    // Many accounts made main at once still leave exactly one.
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(app.data(CREATE, ana(json!({"name": format!("Ana race {i}")}))).await["createAccount"]["id"].clone());
    }
    let results = join_all(ids.iter().map(|id| app.gql(UPDATE, json!({"id": id, "i": {"main": true}})))).await;
    for r in &results {
        assert!(r.get("errors").is_none() || first_code(r) == "CONFLICT", "{r}");
    }
    assert_eq!(mains_of(&app).await.len(), 1, "{:?}", mains_of(&app).await);
}

async fn the_system_type_is_reserved(app: TestApp) {
    let (code, field) = app.error(CREATE, ana(json!({"type": "SYSTEM"}))).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.type"));
    let ana_main = app.account_id("acc-ana-main").await;
    let (code, field) = app.error(UPDATE, json!({"id": ana_main, "i": {"type": "system"}})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "input.type"));
    let fee = app.data(r#"mutation { systemAccount(role: FEE_PAYER) { id } }"#, json!({})).await["systemAccount"]["id"]
        .clone();
    let body = app.gql(UPDATE, json!({"id": fee, "i": {"type": "PERSONAL"}})).await;
    assert_eq!(first_code(&body), "NOT_ALLOWED", "{body}");
}

async fn system_account_checks_the_role_first(app: TestApp) {
    app.data(r#"mutation { systemAccount(role: RESERVE, currency: "EUR") { id } }"#, json!({})).await;
    let (_, viewer) = api_keys::create(&app.db, "demo", Role::Viewer, "viewer").await.unwrap();
    let body: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("x-api-key", viewer)
        .json(&json!({"query": r#"mutation { systemAccount(role: RESERVE, currency: "EUR") { id name } }"#}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first_code(&body), "FORBIDDEN", "a viewer learns nothing through systemAccount: {body}");
    assert!(body["data"].is_null() || body["data"]["systemAccount"].is_null(), "{body}");
}

async fn the_back_office_inactive_list_includes_never_activated_accounts(app: TestApp) {
    let fresh = app.data(CREATE, ana(json!({"name": "Ana never activated"}))).await["createAccount"]["id"].clone();
    let paused =
        app.data(CREATE, ana(json!({"name": "Ana paused", "status": "ACTIVE"}))).await["createAccount"]["id"].clone();
    app.data(STATUS, json!({"id": paused, "s": "INACTIVE"})).await;
    let q = "{ accounts(first: 100, filter: {status: [INACTIVE, PENDING]}) { nodes { id status } } }";
    let nodes = app.data(q, json!({})).await["accounts"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(nodes.iter().any(|n| n["id"] == fresh && n["status"] == "PENDING"));
    assert!(nodes.iter().any(|n| n["id"] == paused && n["status"] == "INACTIVE"));
    assert!(nodes.iter().all(|n| n["status"] == "PENDING" || n["status"] == "INACTIVE"));
}

async fn deletion_is_soft_by_default(app: TestApp) {
    let id = app.data(CREATE, ana(json!({"name": "Ana to delete"}))).await["createAccount"]["id"].clone();
    app.data("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": id})).await;
    let kept = app.data("query($id: UUID!) { account(id: $id) { status deletedAt } }", json!({"id": id})).await;
    assert_eq!(kept["account"]["status"], "DELETED", "seed 001: the row is kept");
    assert!(kept["account"]["deletedAt"].is_string());
}

crate::backend_tests!(
    custody_bank_account_is_settable_validated_and_audited,
    status_changed_at_is_shown_without_a_reason,
    a_card_keeps_why_and_when_it_was_deactivated,
    one_main_account_per_owner,
    the_system_type_is_reserved,
    system_account_checks_the_role_first,
    the_back_office_inactive_list_includes_never_activated_accounts,
    deletion_is_soft_by_default
);

/// Seed 004 refuses every delete: `--forbid-account-deletion`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_can_be_forbidden() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--forbid-account-deletion"]).await.unwrap();
    let id = app.data(CREATE, ana(json!({"name": "Ana kept"}))).await["createAccount"]["id"].clone();
    let body = app.gql("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(first_code(&body), "NOT_ALLOWED", "{body}");
}

/// Seeds 003 and 004 allow any status change: `--status-transitions free`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_status_transitions_keep_deleted_terminal() {
    let strict = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let id = strict.data(CREATE, ana(json!({}))).await["createAccount"]["id"].clone();
    assert_eq!(first_code(&strict.gql(STATUS, json!({"id": id, "s": "BLOCKED"})).await), "NOT_ALLOWED");

    let free = TestApp::spawn_with(Backend::Sqlite, &["--status-transitions", "free"]).await.unwrap();
    let id = free.data(CREATE, ana(json!({}))).await["createAccount"]["id"].clone();
    for s in ["BLOCKED", "PENDING", "SUSPENDED", "INACTIVE", "DELETED"] {
        let r = free.data(STATUS, json!({"id": id, "s": s})).await;
        assert_eq!(r["setAccountStatus"]["status"], s);
    }
    assert_eq!(first_code(&free.gql(STATUS, json!({"id": id, "s": "ACTIVE"})).await), "NOT_ALLOWED");
}

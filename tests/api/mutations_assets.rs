//! addAsset, setAssetStatus, adjustBalance, addWallet, setWalletActive,
//! issueSmartCard, setSmartCardActive.

use crate::helpers::TestApp;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

const ADD: &str = "mutation($a: UUID!, $i: AddAssetInput!) { addAsset(accountId: $a, input: $i) { id status address balance { available creditLimit scale } currency { code } } }";
pub const ADJUST: &str = "mutation($a: UUID!, $i: BalanceAdjustmentInput!) { adjustBalance(assetId: $a, input: $i) { balance { available onHold future total creditLimit } } }";
const STATUS: &str = "mutation($id: UUID!, $s: AssetStatus!) { setAssetStatus(id: $id, status: $s) { status } }";

/// Adds an active asset in `currency` to the account `ext` and returns its id.
pub async fn active_asset(app: &TestApp, ext: &str, currency: &str, credit: &str) -> Value {
    let acc = app.account_id(ext).await;
    let a = app.data(ADD, json!({"a": acc, "i": {"currency": currency, "creditLimit": credit}})).await["addAsset"]
        ["id"]
        .clone();
    app.data(STATUS, json!({"id": a, "s": "ACTIVE"})).await;
    a
}

async fn add_asset_rules(app: TestApp) {
    let ana = app.account_id("acc-ana-main").await;
    for (input, code, field) in [
        (json!({"currency": "XXX"}), "VALIDATION_FAILED", "input.currency"),
        (json!({"currency": "USD"}), "CONFLICT", "input.currency"),
        (json!({"currency": "EUR", "address": "DE89370400440532013001"}), "VALIDATION_FAILED", "input.address"),
        (json!({"currency": "EUR", "initialBalance": "-1"}), "VALIDATION_FAILED", "input.initialBalance"),
        (json!({"currency": "EUR", "initialBalance": "1.005"}), "VALIDATION_FAILED", "input.initialBalance"),
    ] {
        let (c, f) = app.error(ADD, json!({"a": ana, "i": input})).await;
        assert_eq!((c.as_str(), f.as_str()), (code, field), "{input}");
    }
    let (c, f) = app.error(ADD, json!({"a": "0190b1c2-0000-7000-8000-000000000000", "i": {"currency": "EUR"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("NOT_FOUND", "accountId"));
    let ok = app.data(ADD, json!({"a": ana, "i": {"currency": "eur", "initialBalance": "10", "address": "DE89 3704 0044 0532 0130 00"}})).await;
    assert_eq!(ok["addAsset"]["status"], "INACTIVE");
    assert_eq!(ok["addAsset"]["address"], "DE89370400440532013000");
    assert_eq!(ok["addAsset"]["balance"]["available"], "10.00");
    let on = app.data(STATUS, json!({"id": ok["addAsset"]["id"], "s": "ACTIVE"})).await;
    assert_eq!(on["setAssetStatus"]["status"], "ACTIVE");
}

async fn adjust_balance_rules(app: TestApp) {
    let a = active_asset(&app, "acc-john-crypto", "USD", "50").await;
    let r = app
        .data(
            ADJUST,
            json!({"a": a, "i": {"idempotencyKey": "k1", "available": "100.10", "onHold": "5", "future": "7.5"}}),
        )
        .await;
    assert_eq!(
        r["adjustBalance"]["balance"],
        json!({"available": "100.10", "onHold": "5.00", "future": "7.50", "total": "105.10", "creditLimit": "50.00"})
    );
    // A replay returns the first result and writes nothing.
    let again = app
        .data(
            ADJUST,
            json!({"a": a, "i": {"idempotencyKey": "k1", "available": "100.10", "onHold": "5", "future": "7.5"}}),
        )
        .await;
    assert_eq!(again, r);
    let (c, f) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k1", "available": "1"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.idempotencyKey"));
    // available + creditLimit >= 0: 100.10 + 50 allows -150.10, not -150.11.
    let (c, f) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k2", "available": "-150.11"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.available"));
    let ok = app.data(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k3", "available": "-150.10"}})).await;
    assert_eq!(ok["adjustBalance"]["balance"]["available"], "-50.00");
    let (c, f) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k4", "onHold": "-5.01"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.onHold"));
    let (c, f) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k5", "available": "0.001"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.available"));
    let (c, _) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k6", "available": 1.5}})).await;
    assert_eq!(c, "VALIDATION_FAILED", "money is never a float");
    let (c, _) = app.error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k7"}})).await;
    assert_eq!(c, "VALIDATION_FAILED", "all-zero deltas");
    let (c, _) = app
        .error(ADJUST, json!({"a": a, "i": {"idempotencyKey": "k8", "available": "99999999999999999999999999999999"}}))
        .await;
    assert_eq!(c, "VALIDATION_FAILED", "too many digits");
    let inactive = app.data(ADD, json!({"a": app.account_id("acc-john-crypto").await, "i": {"currency": "EUR"}})).await
        ["addAsset"]["id"]
        .clone();
    let (c, _) = app.error(ADJUST, json!({"a": inactive, "i": {"idempotencyKey": "k9", "available": "1"}})).await;
    assert_eq!(c, "NOT_ALLOWED");
    // 18 decimals stay exact through arithmetic.
    let eth = active_asset(&app, "acc-ana-main", "ETH", "0").await;
    app.data(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e1", "available": "0.100000000000000001"}})).await;
    let r =
        app.data(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e2", "available": "0.200000000000000002"}})).await;
    assert_eq!(r["adjustBalance"]["balance"]["available"], "0.300000000000000003");
    // A result rust_decimal could keep only by dropping a digit is refused,
    // naming the field, and changes nothing.
    let big = "60000000000.000000000000000001";
    app.data(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e3", "available": big}})).await;
    let (c, f) = app.error(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e4", "available": "30000000000"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.available"));
    let (c, f) = app.error(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e5", "onHold": "30000000000"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.onHold"), "total would not fit");
    let r = app.data(ADJUST, json!({"a": eth, "i": {"idempotencyKey": "e6", "future": "1"}})).await;
    assert_eq!(r["adjustBalance"]["balance"]["available"], "60000000000.300000000000000004");
    let trail = app.data(r#"query($id: UUID) { auditEvents(filter: {entityId: $id, action: "asset.balance_adjusted"}) { totalCount nodes { after } } }"#, json!({"id": a})).await;
    assert_eq!(trail["auditEvents"]["totalCount"], 2, "one event per applied adjustment, none for replays or refusals");
    assert_eq!(trail["auditEvents"]["nodes"][0]["after"]["adjustment"]["idempotencyKey"], "k3");
}

const WALLET: &str = "mutation($a: UUID!, $i: AddWalletInput!) { addWallet(assetId: $a, input: $i) { id address active network { code } asset { currency { code } } } }";

async fn wallets(app: TestApp) {
    let usdc = active_asset(&app, "acc-acme-ops", "USDC", "0").await;
    for (input, code, field) in [
        (
            json!({"network": "bitcoin", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}),
            "VALIDATION_FAILED",
            "input.network",
        ),
        (
            json!({"network": "nope", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}),
            "VALIDATION_FAILED",
            "input.network",
        ),
        (
            json!({"network": "ethereum", "address": "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}),
            "VALIDATION_FAILED",
            "input.address",
        ),
        (json!({"network": "ethereum", "address": "0x123"}), "VALIDATION_FAILED", "input.address"),
        (
            json!({"network": "tron", "address": "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8"}),
            "VALIDATION_FAILED",
            "input.address",
        ),
    ] {
        let (c, f) = app.error(WALLET, json!({"a": usdc, "i": input})).await;
        assert_eq!((c.as_str(), f.as_str()), (code, field), "{input}");
    }
    let w = app
        .data(
            WALLET,
            json!({"a": usdc, "i": {"network": "Ethereum", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}}),
        )
        .await;
    assert_eq!(w["addWallet"]["network"]["code"], "ethereum");
    assert_eq!(w["addWallet"]["asset"]["currency"]["code"], "USDC");
    let (c, f) = app
        .error(
            WALLET,
            json!({"a": usdc, "i": {"network": "ethereum", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}}),
        )
        .await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.address"));
    let off = app
        .data(
            "mutation($id: UUID!) { setWalletActive(id: $id, active: false) { active network { code } } }",
            json!({"id": w["addWallet"]["id"]}),
        )
        .await;
    assert_eq!(off["setWalletActive"], json!({"active": false, "network": {"code": "ethereum"}}));
    let (c, _) = app
        .error(
            "mutation($id: UUID!) { setWalletActive(id: $id, active: true, network: \"tron\") { active } }",
            json!({"id": w["addWallet"]["id"]}),
        )
        .await;
    assert_eq!(c, "VALIDATION_FAILED", "the network cannot change");
}

const CARD: &str = "mutation($a: UUID!, $i: IssueSmartCardInput!) { issueSmartCard(accountId: $a, input: $i) { id name last4 maskedNumber expirationDate expirationStatus active } }";

async fn smart_cards(app: TestApp) {
    let acc = app.account_id("acc-mei-usdc").await;
    let number = "4111 1111 1111 1111";
    for (input, field) in [
        (json!({"name": "Mei", "cardNumber": "4111111111111112", "expirationDate": "12/30"}), "input.cardNumber"),
        (json!({"name": "Mei", "cardNumber": number, "expirationDate": "13/30"}), "input.expirationDate"),
        (json!({"name": "Mei", "cardNumber": number, "expirationDate": "01/20"}), "input.expirationDate"),
        (json!({"name": "", "cardNumber": number, "expirationDate": "12/30"}), "input.name"),
    ] {
        let (c, f) = app.error(CARD, json!({"a": acc, "i": input})).await;
        assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", field), "{input}");
    }
    let card = app
        .data(CARD, json!({"a": acc, "i": {"name": "Mei card", "cardNumber": number, "expirationDate": "12/30"}}))
        .await["issueSmartCard"]
        .clone();
    assert_eq!(card["last4"], "1111");
    assert_eq!(card["maskedNumber"], "**** **** **** 1111");
    assert_eq!(card["expirationStatus"], "ACTIVE");
    let (c, f) = app
        .error(
            CARD,
            json!({"a": acc, "i": {"name": "again", "cardNumber": "4111-1111-1111-1111", "expirationDate": "11/31"}}),
        )
        .await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.cardNumber"));
    let off = app
        .data(
            "mutation($id: UUID!) { setSmartCardActive(id: $id, active: false) { active } }",
            json!({"id": card["id"]}),
        )
        .await;
    assert_eq!(off["setSmartCardActive"]["active"], false);
    // The full number is nowhere in the database: not in cards, not in the audit trail.
    let backend = app.db.get_database_backend();
    let queries = match backend {
        sea_orm::DbBackend::Postgres => ["SELECT t::text FROM smart_cards t", "SELECT t::text FROM audit_events t"],
        _ => [
            "SELECT name || '|' || last4 || '|' || fingerprint || '|' || expiration_date FROM smart_cards",
            "SELECT action || '|' || COALESCE(\"before\", '') || '|' || COALESCE(\"after\", '') FROM audit_events",
        ],
    };
    let mut seen_last4 = false;
    for sql in queries {
        let rows = app.db.query_all_raw(Statement::from_string(backend, sql)).await.unwrap();
        assert!(!rows.is_empty(), "{sql} read rows");
        for row in rows {
            let text: String = row.try_get_by_index(0).unwrap();
            seen_last4 |= text.contains("1111");
            assert!(!text.contains("4111111111111111") && !text.contains("4111 1111"), "the number leaked: {text}");
        }
    }
    assert!(seen_last4, "the rows read are the card's");
}

crate::backend_tests!(
    add_asset_rules,
    adjust_balance_rules,
    wallets,
    smart_cards,
    address_families_and_one_form_per_evm_address
);

const NETWORK: &str = "mutation($i: NetworkInput!) { createNetwork(input: $i) { code addressFamily addressPattern } }";
const CHECKSUMMED: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// Networks check addresses by their family, not their code; EVM
/// addresses are one wallet whatever their case, shown checksummed, and
/// found by the `address` filter in either case.
async fn address_families_and_one_form_per_evm_address(app: TestApp) {
    let net =
        app.data(NETWORK, json!({"i": {"code": "eth-mainnet", "name": "Ethereum", "addressFamily": "EVM"}})).await;
    assert_eq!(net["createNetwork"]["addressFamily"], "EVM");
    let guessed = app.data(NETWORK, json!({"i": {"code": "solana", "name": "Solana"}})).await;
    assert_eq!(guessed["createNetwork"]["addressFamily"], "SOLANA", "a known code suggests its family");
    let pattern =
        app.data(NETWORK, json!({"i": {"code": "ledger-x", "name": "X", "addressPattern": "[a-z]{4}"}})).await;
    assert_eq!(pattern["createNetwork"]["addressFamily"], "PATTERN");
    let (c, f) = app.error(NETWORK, json!({"i": {"code": "ledger-y", "name": "Y", "addressFamily": "PATTERN"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.addressPattern"));
    let networks = r#"{ networks { code addressFamily } }"#;
    let all = app.data(networks, json!({})).await;
    let ethereum = all["networks"].as_array().unwrap().iter().find(|n| n["code"] == "ethereum").cloned();
    assert_eq!(ethereum.map(|n| n["addressFamily"].clone()), Some(json!("EVM")), "the demo networks have families");

    // USDC lives on the new networks too.
    app.data(
        "mutation { createCurrency(input: {code: \"USDX\", name: \"X dollar\", symbol: \"X\", type: CRYPTO, decimals: 6, networks: [\"eth-mainnet\", \"ledger-x\"]}) { code } }",
        json!({}),
    )
    .await;
    let usdx = active_asset(&app, "acc-acme-ops", "USDX", "0").await;
    let add = |network: &str, address: &str| json!({"a": usdx, "i": {"network": network, "address": address}});
    let (c, f) = app.error(WALLET, add("eth-mainnet", "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.address"), "EIP-55 checked by family");
    let w = app.data(WALLET, add("eth-mainnet", CHECKSUMMED)).await;
    assert_eq!(w["addWallet"]["address"], CHECKSUMMED, "shown with its checksum");
    let (c, f) = app.error(WALLET, add("eth-mainnet", &CHECKSUMMED.to_lowercase())).await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.address"), "the lower-case copy is the same wallet");
    let (c, f) = app.error(WALLET, add("ledger-x", "xxabcdxx")).await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.address"), "a pattern matches the whole address");
    app.data(WALLET, add("ledger-x", "abcd")).await;
    let find = "query($a: [String!]) { accounts(filter: {address: $a}) { nodes { externalId addresses } } }";
    for spelling in [CHECKSUMMED.to_owned(), CHECKSUMMED.to_lowercase(), CHECKSUMMED.to_uppercase().replace("0X", "0x")]
    {
        let found = app.data(find, json!({"a": [spelling]})).await;
        assert_eq!(found["accounts"]["nodes"][0]["externalId"], "acc-acme-ops", "{spelling}");
        let shown = found["accounts"]["nodes"][0]["addresses"].as_array().cloned().unwrap_or_default();
        assert!(shown.contains(&json!(CHECKSUMMED)), "{shown:?}");
    }
}

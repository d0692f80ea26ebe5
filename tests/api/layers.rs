//! The layering rules of ARCHITECTURE.md, checked on the source: services
//! know nothing of GraphQL, and the domain's commands, filters and other
//! plain types carry no GraphQL input derives (its enums and scalars may).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The files under `src/<layer>` whose text contains any of `needles`.
fn offenders(layer: &str, needles: &[&str], allowed: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer);
    let files = rust_files(&root);
    assert!(!files.is_empty(), "no sources under {}", root.display());
    files
        .into_iter()
        .filter(|p| !allowed.iter().any(|a| p.ends_with(a)))
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("a source file");
            needles.iter().any(|n| text.contains(n))
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn services_import_nothing_from_graphql() {
    let found = offenders("service", &["async_graphql", "crate::graphql", "crate::http"], &[]);
    assert!(found.is_empty(), "services must not know the GraphQL or HTTP layer: {found:?}");
}

#[test]
fn domain_types_are_plain() {
    // Enums (enums.rs) and the money scalar (money.rs) may carry GraphQL
    // derives; inputs, commands, filters and rules may not.
    let needles = ["InputObject", "MaybeUndefined", "async_graphql::Json", "crate::graphql", "crate::service"];
    let found = offenders("domain", &needles, &["enums.rs", "money.rs"]);
    assert!(found.is_empty(), "domain types must be plain: {found:?}");
    let found = offenders("domain", &["async_graphql"], &["enums.rs", "money.rs"]);
    assert!(found.is_empty(), "only the domain's enums and scalars may use async-graphql: {found:?}");
}

#[test]
fn the_checker_sees_a_violation() {
    // The rule is only worth having if it can fail: the GraphQL layer
    // itself uses async_graphql, and must be reported.
    assert!(!offenders("graphql", &["async_graphql"], &[]).is_empty());
}

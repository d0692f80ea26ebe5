//! Query limits checked while parsing, before anything touches the
//! database, for HTTP and WebSocket alike: query length, aliases and root
//! fields here; depth and complexity through async-graphql's own limits
//! (their errors get the same LIMIT_EXCEEDED code at the HTTP edge).
//!
//! Complexity is one cost model for every list: a paged list weighs its
//! page size (`first`, default 50), a chart its points (from its range and
//! interval), a list without paging the expected count below, each times
//! what is selected under it.
//!
//! Both transports parse the document themselves (to label metrics and
//! spans) and hand the parsed document to the schema, so the checks run
//! there rather than in a schema extension: any extension makes
//! async-graphql route every resolved field through the extension chain:
//! a registry lookup and a boxed future per field, 2,000 times a page.

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult};
use std::collections::HashSet;

/// What the cost model takes a list without a page size to hold: assets
/// of an account (one per currency).
pub const EXPECTED_ASSETS: usize = 5;
/// Wallets of an asset.
pub const EXPECTED_WALLETS: usize = 2;
/// Smart cards of an account.
pub const EXPECTED_CARDS: usize = 2;
/// Groups of an aggregate with `groupBy` keys.
pub const EXPECTED_GROUPS: usize = 100;

/// The weight of an aggregate's groups: one group without keys.
pub fn groups_weight(keys: Option<&[crate::domain::AccountGroupKey]>) -> usize {
    if keys.is_none_or(<[_]>::is_empty) {
        1
    } else {
        EXPECTED_GROUPS
    }
}

/// Configured limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most characters in a query document.
    pub max_query_length: usize,
    /// Most aliased fields in a document (counted through fragments).
    pub max_aliases: usize,
    /// Most fields at the root of an operation.
    pub max_root_fields: usize,
}

/// The error every limit raises.
pub fn exceeded(message: impl Into<String>) -> ServerError {
    crate::error::AppError::LimitExceeded(message.into()).to_server_error()
}

/// Aliases under `set`, following fragment spreads once each.
fn aliases(doc: &ExecutableDocument, set: &SelectionSet, seen: &mut HashSet<String>, depth: usize) -> usize {
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(f.node.alias.is_some()) + aliases(doc, &f.node.selection_set.node, seen, depth + 1)
            }
            Selection::InlineFragment(i) => aliases(doc, &i.node.selection_set.node, seen, depth + 1),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.to_string();
                match doc.fragments.get(&s.node.fragment_name.node) {
                    Some(f) if seen.insert(name) => aliases(doc, &f.node.selection_set.node, seen, depth + 1),
                    _ => 0,
                }
            }
        })
        .sum()
}

/// Fields at the root of `set` (inline fragments and spreads expanded).
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 16 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(i) => root_fields(doc, &i.node.selection_set.node, depth + 1),
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .map_or(0, |f| root_fields(doc, &f.node.selection_set.node, depth + 1)),
        })
        .sum()
}

impl Limits {
    /// Parses `query` within the limits: a document over the length limit
    /// is refused before it is parsed, one nested past the parser's limit
    /// or over the alias and root-field limits after.
    pub fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        // Characters, as the setting says (a byte count would refuse a
        // shorter text in a script of multi-byte letters); bytes bound
        // characters from above, so only a long text is counted.
        if query.len() > self.max_query_length && query.chars().count() > self.max_query_length {
            return Err(exceeded(format!("the query is longer than {} characters", self.max_query_length)));
        }
        let doc = match async_graphql::parser::parse_query(query) {
            Ok(doc) => doc,
            Err(async_graphql::parser::Error::RecursionLimitExceeded) => {
                return Err(exceeded("the document is nested deeper than the parser allows"));
            }
            Err(e) => return Err(e.into()),
        };
        self.check(&doc)?;
        Ok(doc)
    }

    /// Checks a parsed document.
    fn check(&self, doc: &ExecutableDocument) -> ServerResult<()> {
        let ops: Vec<&SelectionSet> = match &doc.operations {
            DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
            DocumentOperations::Multiple(map) => map.values().map(|op| &op.node.selection_set.node).collect(),
        };
        let mut seen = HashSet::new();
        let total: usize = ops.iter().map(|set| aliases(doc, set, &mut seen, 0)).sum();
        if total > self.max_aliases {
            return Err(exceeded(format!("the query uses {total} aliases; at most {} are allowed", self.max_aliases)));
        }
        for set in ops {
            let n = root_fields(doc, set, 0);
            if n > self.max_root_fields {
                return Err(exceeded(format!(
                    "an operation selects {n} root fields; at most {} are allowed",
                    self.max_root_fields
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Limits;

    #[test]
    fn the_length_limit_counts_characters_not_bytes() {
        let limits = Limits { max_query_length: 100, max_aliases: 10, max_root_fields: 10 };
        // 93 characters, 233 bytes: within the limit.
        let within = format!("{{ viewer {{ role }} }} #{}", "€".repeat(70));
        assert!(limits.parse(&within).is_ok(), "{} characters", within.chars().count());
        let past = format!("{{ viewer {{ role }} }} #{}", "€".repeat(80));
        assert!(limits.parse(&past).is_err(), "{} characters", past.chars().count());
    }
}

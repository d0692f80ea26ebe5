//! Parsed documents, by their text.
//!
//! Clients send the same few operations again and again, and parsing one
//! (async-graphql's pest grammar) was about a tenth of the gateway's CPU
//! for one account by id. A document that parsed and passed the
//! [`Limits`] is kept by its text and handed out as a copy (the schema
//! takes ownership of the document it runs, and rewrites it); copying is
//! far cheaper than parsing. Documents that fail to parse or break a limit
//! are not kept: they are refused the same way each time.

use crate::graphql::limits::Limits;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::ServerResult;
use moka::sync::Cache;
use std::sync::Arc;

/// What the cache may hold, weighed as [`BYTES_PER_CHAR`] per character of
/// query text.
const CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
/// A rough size of a parsed document per character of its text.
const BYTES_PER_CHAR: u64 = 8;

/// Parses documents within the limits, once per distinct text.
#[derive(Clone)]
pub struct Documents {
    limits: Limits,
    parsed: Cache<String, Arc<ExecutableDocument>>,
}

impl Documents {
    /// Documents checked against `limits`.
    pub fn new(limits: Limits) -> Self {
        let parsed = Cache::builder()
            .max_capacity(CAPACITY_BYTES)
            .weigher(|text: &String, _: &Arc<ExecutableDocument>| {
                u32::try_from(text.len() as u64 * BYTES_PER_CHAR).unwrap_or(u32::MAX)
            })
            .build();
        Documents { limits, parsed }
    }

    /// The document `query` holds, parsed within the limits (see
    /// [`Limits::parse`]), from the cache when its text was seen before.
    pub fn parse(&self, query: &str) -> ServerResult<ExecutableDocument> {
        if let Some(doc) = self.parsed.get(query) {
            return Ok(ExecutableDocument::clone(&doc));
        }
        let doc = self.limits.parse(query)?;
        self.parsed.insert(query.to_owned(), Arc::new(doc.clone()));
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documents() -> Documents {
        Documents::new(Limits { max_query_length: 200, max_aliases: 2, max_root_fields: 3 })
    }

    #[test]
    fn a_document_is_parsed_once_and_served_equal() {
        let docs = documents();
        let q = "query Q($id: UUID!) { account(id: $id) { name owner { name } } }";
        let first = docs.parse(q).map(|d| format!("{d:?}"));
        assert!(docs.parsed.contains_key(q), "kept after parsing");
        let again = docs.parse(q).map(|d| format!("{d:?}"));
        assert_eq!(first.ok(), again.ok(), "the kept copy is the parsed document");
    }

    #[test]
    fn refused_documents_are_not_kept_and_stay_refused() {
        let docs = documents();
        for q in ["{ a: viewer { role } b: viewer { role } c: viewer { role } }", "{ viewer { ", &"x".repeat(201)] {
            assert!(docs.parse(q).is_err(), "{q}");
            assert!(!docs.parsed.contains_key(q), "not kept: {q}");
            assert!(docs.parse(q).is_err(), "still refused: {q}");
        }
    }
}

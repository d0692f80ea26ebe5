//! What a document weighs (async-graphql's complexity: the cost model of
//! `graphql::limits`), known before it runs, without a schema extension on
//! the schema that runs it.
//!
//! async-graphql tells only a schema extension the complexity it computes
//! while validating, and a schema with any extension sends every list item
//! through its extension path (two type names formatted and a future boxed
//! per item): 6% more CPU for a page of 50 accounts (BENCHMARKS.md). So the
//! weight comes from a second instance of the schema, the probe, whose one
//! extension records the complexity and stops the request right after
//! validation. A weight depends only on the document, the operation and
//! the values of the variables that reach the arguments weights read
//! (`first`, `last`, `groupBy`, `interval`, `from`, `to`, and directives'
//! `if`), so it is remembered under those: a client's repeated operations
//! are weighed once, whatever else their variables say.

use super::AppSchema;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Request, ServerError, ValidationResult, Value};
use moka::sync::Cache;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The arguments the schema's complexity expressions read.
pub const WEIGHT_ARGUMENTS: &[&str] = &["first", "last", "groupBy", "interval", "from", "to"];

/// Weights remembered (each key is a document's text and a few values).
const REMEMBERED: u64 = 10_000;

/// Where the probe leaves a request's weight.
struct WeightSlot(Arc<AtomicUsize>);

/// The probe's extension: records the weight, then ends the request.
struct Probe;

impl ExtensionFactory for Probe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Probe)
    }
}

#[async_trait::async_trait]
impl Extension for Probe {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(slot) = ctx.data_opt::<WeightSlot>() {
            slot.0.store(result.complexity, Ordering::Relaxed);
        }
        Err(vec![ServerError::new("weighed", None)])
    }
}

/// The probe extension, for the schema builder.
pub fn probe() -> impl ExtensionFactory {
    Probe
}

/// Weighs documents before they run (see the module).
#[derive(Clone)]
pub struct Weights {
    probe: AppSchema,
    known: Cache<(String, Option<String>, String), usize>,
}

impl Weights {
    /// Weighs with `probe`, a schema built with [`probe`] as its extension.
    pub fn new(probe: AppSchema) -> Self {
        Weights { probe, known: Cache::new(REMEMBERED) }
    }

    /// The weight of `req` (its document already parsed within the
    /// limits); 0 for one the schema refuses, which then never runs.
    pub async fn weigh(&self, req: &mut Request) -> usize {
        let names = match req.parsed_query() {
            Ok(doc) => weight_variables(doc),
            Err(_) => return 0,
        };
        let values: Vec<String> =
            names.iter().map(|n| req.variables.get(&Name::new(n)).map(Value::to_string).unwrap_or_default()).collect();
        let key = (req.query.clone(), req.operation_name.clone(), values.join("\u{1f}"));
        if let Some(weight) = self.known.get(&key) {
            return weight;
        }
        let slot = Arc::new(AtomicUsize::new(usize::MAX));
        let mut probe = Request::new(req.query.clone()).variables(req.variables.clone());
        probe.operation_name.clone_from(&req.operation_name);
        if let Ok(doc) = req.parsed_query() {
            probe.set_parsed_query(doc.clone());
        }
        let _weighed = self.probe.execute(probe.data(WeightSlot(slot.clone()))).await;
        match slot.load(Ordering::Relaxed) {
            usize::MAX => 0,
            weight => {
                self.known.insert(key, weight);
                weight
            }
        }
    }
}

/// The variables that reach an argument a weight reads, by name, sorted.
fn weight_variables(doc: &ExecutableDocument) -> Vec<String> {
    let mut names = Vec::new();
    for (_, op) in doc.operations.iter() {
        collect(&op.node.selection_set, &mut names);
    }
    for fragment in doc.fragments.values() {
        collect(&fragment.node.selection_set, &mut names);
    }
    names.sort();
    names.dedup();
    names
}

fn collect(set: &Positioned<SelectionSet>, names: &mut Vec<String>) {
    for item in &set.node.items {
        match &item.node {
            Selection::Field(f) => {
                for (arg, value) in &f.node.arguments {
                    if WEIGHT_ARGUMENTS.contains(&arg.node.as_str()) {
                        let _ = value.node.clone().into_const_with(noting(names));
                    }
                }
                directive_variables(&f.node.directives, names);
                collect(&f.node.selection_set, names);
            }
            Selection::InlineFragment(i) => {
                directive_variables(&i.node.directives, names);
                collect(&i.node.selection_set, names);
            }
            Selection::FragmentSpread(s) => directive_variables(&s.node.directives, names),
        }
    }
}

/// `@skip(if:)` and `@include(if:)` decide what is weighed.
fn directive_variables(directives: &[Positioned<async_graphql::parser::types::Directive>], names: &mut Vec<String>) {
    for directive in directives {
        for (_, value) in &directive.node.arguments {
            let _ = value.node.clone().into_const_with(noting(names));
        }
    }
}

/// Notes each variable an argument's value names (the parser's value type
/// is not exported by name; making it constant visits its variables).
fn noting(names: &mut Vec<String>) -> impl FnMut(Name) -> Result<Value, std::convert::Infallible> + '_ {
    move |name| {
        names.push(name.to_string());
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::weight_variables;

    #[test]
    fn only_variables_that_reach_a_weight_are_part_of_the_key() -> Result<(), async_graphql::parser::Error> {
        let doc = async_graphql::parser::parse_query(
            "query($n: Int, $id: UUID, $skip: Boolean, $f: AccountFilter, $g: [AccountGroupKey!]) {
               account(id: $id) { name }
               accounts(first: $n, filter: $f) { nodes { ...F @skip(if: $skip) } }
               accountsAggregate(groupBy: $g) { count }
             }
             fragment F on Account { journal: transfers(first: $n) { totalCount } }",
        )?;
        assert_eq!(weight_variables(&doc), ["g", "n", "skip"]);
        Ok(())
    }
}

//! Objects resolved without a task per field.
//!
//! async-graphql resolves an object's selected fields as a set of futures:
//! each field is boxed (a future as large as the type's largest resolver)
//! and queued in a `FuturesUnordered` (another allocation and its atomics),
//! even when, as on a prefetched page, nearly every field is ready on its
//! first poll. [`Fast`] wraps an object type and resolves its fields with
//! one `join_all` over one allocation per object instead: the same resolvers, the
//! same errors, fields in the order the query selected them. A page of 50
//! accounts selects about 2,000 fields of such objects; BENCHMARKS.md has
//! what it saved (over three alternating rounds, 9% to 13% of a page's CPU
//! at one and eight clients).
//!
//! The schema is the wrapped type's own: `Fast<T>` takes `T`'s name and
//! registration, so nothing a client sees changes. It declines (resolving
//! as async-graphql would) when the schema has custom directives, which
//! need async-graphql's own per-field path. Fields resolved here do not
//! pass through schema extensions: the schema has none on purpose (see
//! `graphql::build`); one added later would not see these fields.

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, OutputType, Positioned, ServerError, ServerResult, Value,
};
use futures_util::FutureExt;
use std::borrow::Cow;

/// An object type resolved field by field in one allocation (see the module).
pub struct Fast<T>(pub T);

impl<T: ContainerType> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        if !ctx.schema_env.custom_directives.is_empty() {
            return resolve_container(ctx, &self.0).await;
        }
        // One box per object (not per field): an object type that nests
        // itself (an account's sub-accounts) needs a boundary somewhere.
        resolve_fields(ctx, &self.0).boxed().await
    }
}

/// Resolves the fields `ctx` selects of `root`, all at once.
async fn resolve_fields<'a, T: ContainerType>(ctx: &ContextSelectionSet<'a>, root: &'a T) -> ServerResult<Value> {
    let mut fields = Vec::new();
    collect::<T>(ctx, ctx.item, &mut fields)?;
    let resolved = futures_util::future::join_all(fields.into_iter().map(|field| async move {
        let ctx_field = ctx.with_field(field);
        let key = field.node.response_key().node.clone();
        if field.node.name.node == "__typename" {
            return Ok((key, Value::String(root.introspection_type_name().into_owned())));
        }
        root.resolve_field(&ctx_field).await.map(|value| (key, value.unwrap_or_default()))
    }))
    .await;
    let mut object = IndexMap::with_capacity(resolved.len());
    for field in resolved {
        match field {
            Ok((key, value)) => merge(&mut object, key, value),
            Err(e) => ctx.add_error(e),
        }
    }
    Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
}

/// The fields of `set` and of the fragments in it that apply to `T` (our
/// object types implement no interface, so a fragment applies when it
/// names `T` or no type). `@skip`/`@include` were applied before execution.
fn collect<'a, T: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a Positioned<SelectionSet>,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> ServerResult<()> {
    for selection in &set.node.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                fields.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(name)
                    .ok_or_else(|| ServerError::new(format!(r#"Unknown fragment "{name}"."#), Some(spread.pos)))?;
                (Some(&fragment.node.type_condition), &fragment.node.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                (fragment.node.type_condition.as_ref(), &fragment.node.selection_set)
            }
        };
        if condition.is_none_or(|c| *c.node.on.node == *T::type_name()) {
            collect::<T>(ctx, inner, fields)?;
        }
    }
    Ok(())
}

/// Adds a field's value under its response key; a key selected twice (by
/// two fragments) merges its objects, as async-graphql does. One hash per
/// field: nearly every key is new.
fn merge(target: &mut IndexMap<Name, Value>, key: Name, value: Value) {
    use async_graphql::indexmap::map::Entry;
    let into = match target.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
            return;
        }
        Entry::Occupied(slot) => slot.into_mut(),
    };
    match (into, value) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                merge(into, k, v);
            }
        }
        (Value::List(into), Value::List(from)) => {
            for (into, from) in into.iter_mut().zip(from) {
                if let (Value::Object(into), Value::Object(from)) = (into, from) {
                    for (k, v) in from {
                        merge(into, k, v);
                    }
                }
            }
        }
        _ => {}
    }
}

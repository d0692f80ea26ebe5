//! Column helpers shared by the migrations, so every table spells the
//! common columns (ids, tenant, timestamps, money) the same way.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// A UUID primary key column.
pub fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().primary_key().to_owned()
}

/// A required UUID column (foreign key or tenant).
pub fn uuid<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().to_owned()
}

/// An optional UUID column.
pub fn uuid_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).uuid().null().to_owned()
}

/// A required string column.
pub fn string<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().not_null().to_owned()
}

/// An optional string column.
pub fn string_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string().null().to_owned()
}

/// A table or column name.
pub fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// A required UTC timestamp.
pub fn ts<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}

/// An optional UTC timestamp.
pub fn ts_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}

/// A required boolean with a default.
pub fn flag<T: IntoIden>(name: T, default: bool) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().default(default).to_owned()
}

/// A JSON document column.
pub fn json<T: IntoIden>(name: T, backend: DatabaseBackend, nullable: bool) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DatabaseBackend::Postgres => col.json_binary(),
        _ => col.json(),
    };
    if nullable {
        col.null();
    } else {
        col.not_null();
    }
    col
}

/// An exact money column: NUMERIC on PostgreSQL, TEXT on SQLite (where a
/// NUMERIC column would coerce values to 8-byte floats).
pub fn money<T: IntoIden>(name: T, backend: DatabaseBackend) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DatabaseBackend::Postgres => col.decimal(),
        _ => col.text(),
    };
    col.not_null().to_owned()
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(table: &str, column: &str, target: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(Alias::new(table), Alias::new(column))
        .to(Alias::new(target), Alias::new("id"))
        .to_owned()
}

/// A (possibly unique) index on `table(columns...)`.
pub fn index(table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("{}_{}_{}", if unique { "ux" } else { "ix" }, table, columns.join("_")))
        .table(Alias::new(table))
        .if_not_exists();
    for c in columns {
        idx.col(Alias::new(*c));
    }
    if unique {
        idx.unique();
    }
    idx.to_owned()
}

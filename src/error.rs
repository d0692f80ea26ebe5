//! The one error type of the gateway and its public codes.
//!
//! Variants say what the client sees. Internal failures are logged where
//! they are converted and reach the client only as `INTERNAL` with a fixed
//! message: no SQL, no driver text. Conversion to a GraphQL error happens
//! once, in [`AppError::to_graphql`].

use sea_orm::DbErr;

/// One input field that failed validation, as reported in `details`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldIssue {
    /// The input field's name as the client spelled it (`first`, `input.alias`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every failure a request can meet.
#[derive(Clone, Debug, thiserror::Error)]
pub enum AppError {
    /// Input that breaks a rule; `details` names the fields.
    #[error("{message}")]
    Validation { message: String, details: Vec<FieldIssue> },
    /// No such object in the caller's organization.
    #[error("{message}")]
    NotFound { message: String, details: Vec<FieldIssue> },
    /// A uniqueness or version conflict.
    #[error("{message}")]
    Conflict { message: String, details: Vec<FieldIssue> },
    /// The caller's role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// No valid credential.
    #[error("{0}")]
    Unauthenticated(String),
    /// A state change the rules do not allow.
    #[error("{0}")]
    NotAllowed(String),
    /// A request over a configured limit.
    #[error("{0}")]
    LimitExceeded(String),
    /// A dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// An automatic persisted query's hash this server does not know; the
    /// message is the one Apollo's clients look for.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// An `accountEvents` cursor older than the retained history.
    #[error("{0}")]
    EventsExpired(String),
    /// Anything else; the text is for logs only.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A validation error on one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Validation { details: vec![FieldIssue { field: field.into(), message: message.clone() }], message }
    }

    /// A conflict on one field (a duplicate value).
    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        AppError::Conflict { details: vec![FieldIssue { field: field.into(), message: message.clone() }], message }
    }

    /// Nothing named by input `field` exists in the caller's organization.
    pub fn missing(field: impl Into<String>, what: &str) -> Self {
        let message = format!("{what} not found");
        AppError::NotFound { details: vec![FieldIssue { field: field.into(), message: message.clone() }], message }
    }

    /// A state change the rules refuse.
    pub fn not_allowed(message: impl Into<String>) -> Self {
        AppError::NotAllowed(message.into())
    }

    /// Maps a unique-constraint violation to a CONFLICT on the input field
    /// whose column the constraint names; other errors convert as usual.
    /// `columns` pairs a column name with the input field it comes from.
    pub fn from_unique(err: DbErr, columns: &[(&str, &str)]) -> Self {
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(msg)) = err.sql_err() {
            // PostgreSQL names the violated index in the error itself
            // (ux_accounts_organization_id_alias); SQLite names only the
            // columns, in its message (accounts.organization_id, accounts.alias).
            let name = constraint(&err).unwrap_or(msg);
            for (column, field) in columns {
                if name.ends_with(&format!("_{column}")) || name.ends_with(&format!(".{column}")) {
                    return AppError::conflict(*field, format!("`{field}` is already in use"));
                }
            }
            return AppError::Conflict { message: "the change conflicts with an existing row".into(), details: vec![] };
        }
        err.into()
    }

    /// Places the fields of an error found in a nested value (a command,
    /// a list item) under `prefix`: `alias` becomes `input.alias`, and an
    /// error on the value itself (an empty field) becomes `prefix`. Fields
    /// in `own` are the caller's own arguments and keep their names.
    pub fn within(self, prefix: &str, own: &[&str]) -> Self {
        let place = |field: String| match field.as_str() {
            "" => prefix.to_owned(),
            f if own.contains(&f) => field,
            f => format!("{prefix}.{f}"),
        };
        let moved = |message: String, details: Vec<FieldIssue>| {
            let mut message = message;
            let details = details
                .into_iter()
                .map(|d| {
                    let field = place(d.field.clone());
                    // A message that quotes its field quotes the new name.
                    message = message.replace(&format!("`{}`", d.field), &format!("`{field}`"));
                    let text = d.message.replace(&format!("`{}`", d.field), &format!("`{field}`"));
                    FieldIssue { field, message: text }
                })
                .collect();
            (message, details)
        };
        match self {
            AppError::Validation { message, details } => {
                let (message, details) = moved(message, details);
                AppError::Validation { message, details }
            }
            AppError::NotFound { message, details } => {
                let (message, details) = moved(message, details);
                AppError::NotFound { message, details }
            }
            AppError::Conflict { message, details } => {
                let (message, details) = moved(message, details);
                AppError::Conflict { message, details }
            }
            other => other,
        }
    }

    /// An internal error; logged here, hidden from the client.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        tracing::error!(error = %context, "internal error");
        AppError::Internal(context.to_string())
    }

    /// The stable public code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "VALIDATION_FAILED",
            AppError::NotFound { .. } => "NOT_FOUND",
            AppError::Conflict { .. } => "CONFLICT",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::NotAllowed(_) => "NOT_ALLOWED",
            AppError::LimitExceeded(_) => "LIMIT_EXCEEDED",
            AppError::Unavailable(_) => "UNAVAILABLE",
            AppError::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            AppError::EventsExpired(_) => "EVENTS_EXPIRED",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    fn details(&self) -> &[FieldIssue] {
        match self {
            AppError::Validation { details, .. }
            | AppError::Conflict { details, .. }
            | AppError::NotFound { details, .. } => details,
            _ => &[],
        }
    }

    /// `extensions { code, details }`: the one place the contract's error
    /// shape is built; every other form below derives from it.
    fn extensions(&self) -> async_graphql::ErrorExtensionValues {
        let details: Vec<async_graphql::Value> = self
            .details()
            .iter()
            .map(|d| {
                let mut m = async_graphql::indexmap::IndexMap::new();
                m.insert(async_graphql::Name::new("field"), async_graphql::Value::from(d.field.clone()));
                m.insert(async_graphql::Name::new("message"), async_graphql::Value::from(d.message.clone()));
                async_graphql::Value::Object(m)
            })
            .collect();
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code());
        ext.set("details", async_graphql::Value::List(details));
        ext
    }

    /// The GraphQL error a resolver returns.
    pub fn to_graphql(&self) -> async_graphql::Error {
        async_graphql::Error { message: self.to_string(), source: None, extensions: Some(self.extensions()) }
    }

    /// The error as the engine reports it (no position, no path): for
    /// refusals before execution.
    pub fn to_server_error(&self) -> async_graphql::ServerError {
        let mut e = async_graphql::ServerError::new(self.to_string(), None);
        e.extensions = Some(self.extensions());
        e
    }

    /// The error as a JSON entry of a response's `errors`.
    pub fn to_graphql_json(&self) -> serde_json::Value {
        serde_json::to_value(self.to_server_error())
            .unwrap_or_else(|_| serde_json::json!({"message": self.to_string()}))
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match classify(&err) {
            DbFault::NotFound(what) => AppError::NotFound { message: format!("{what} not found"), details: vec![] },
            DbFault::Unavailable => {
                tracing::warn!(error = %err, "database unavailable");
                AppError::Unavailable("the database is unavailable, try again".into())
            }
            DbFault::Contended => {
                tracing::info!(error = %err, "write lost a race with another transaction");
                AppError::Conflict {
                    message: "a concurrent change got there first; retry (with the same idempotency key)".into(),
                    details: vec![],
                }
            }
            DbFault::TimedOut => {
                tracing::warn!(error = %err, "statement past its time limit");
                AppError::LimitExceeded(
                    "the database statement ran past its time limit (or waited too long for a lock); retry, writes with their idempotency key".into(),
                )
            }
            DbFault::Other => AppError::internal(err),
        }
    }
}

/// The name of the constraint a database error reports, where the driver
/// gives one (PostgreSQL does; SQLite does not).
fn constraint(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))) = err else {
        return None;
    };
    e.as_database_error()?.constraint().map(str::to_owned)
}

/// What a database error means for the client.
enum DbFault<'a> {
    NotFound(&'a str),
    /// The database cannot be reached or is shutting down: retry later.
    Unavailable,
    /// A serialization failure or deadlock: retry now.
    Contended,
    /// Past `statement_timeout` or `lock_timeout`.
    TimedOut,
    Other,
}

/// Classifies by the driver's typed error and SQLSTATE, never by message.
fn classify(err: &DbErr) -> DbFault<'_> {
    use sea_orm::sqlx::Error as Sqlx;
    let runtime = match err {
        DbErr::RecordNotFound(what) => return DbFault::NotFound(what),
        DbErr::ConnectionAcquire(_) => return DbFault::Unavailable,
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return DbFault::Other,
    };
    let sea_orm::RuntimeErr::SqlxError(sqlx) = runtime else { return DbFault::Other };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => {
            DbFault::Unavailable
        }
        Sqlx::Database(db) => match db.code().as_deref() {
            // serialization_failure, deadlock_detected
            Some("40001" | "40P01") => DbFault::Contended,
            // query_canceled (statement_timeout), lock_not_available (lock_timeout)
            Some("57014" | "55P03") => DbFault::TimedOut,
            // connection exceptions, admin/crash shutdown, cannot connect now;
            // insufficient resources (too many connections, out of memory,
            // disk full): the server is there but cannot serve, retry later
            Some(c) if c.starts_with("08") || c.starts_with("57P") || c.starts_with("53") => DbFault::Unavailable,
            // SQLite: SQLITE_BUSY / SQLITE_LOCKED after the busy timeout
            Some("5" | "6" | "517" | "262") => DbFault::Contended,
            _ => DbFault::Other,
        },
        _ => DbFault::Other,
    }
}

/// Turns a service result into a resolver result, with the public code.
pub trait ToGql<T> {
    /// Map the error once, at the GraphQL boundary.
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ToGql<T> for Result<T, AppError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.to_graphql())
    }
}

/// The result type of the service layer.
pub type AppResult<T> = Result<T, AppError>;

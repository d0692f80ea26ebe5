//! Reads an import file into accounts of the export's JSON shape, one at
//! a time, with the line each starts on: JSON Lines as they are; CSV rows
//! (one per asset, as `export` writes them) gathered per account.

use crate::error::AppError;
use crate::service::export::Format;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One account read from the file: its first line, and its JSON or why it
/// could not be read.
pub type Row = (u64, Result<Value, AppError>);

/// Counts the bytes read through it, for a progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The accounts of a file, in file order.
pub struct Rows {
    source: Source,
    read: Arc<AtomicU64>,
}

enum Source {
    Jsonl {
        lines: std::io::Lines<BufReader<Counting<Box<dyn Read + Send>>>>,
        line: u64,
    },
    Csv {
        reader: csv::Reader<Counting<Box<dyn Read + Send>>>,
        headers: csv::StringRecord,
        pending: Option<(u64, csv::StringRecord)>,
    },
}

impl Rows {
    /// Reads `input` as `format`.
    pub fn new(input: Box<dyn Read + Send>, format: Format) -> std::io::Result<Rows> {
        let read = Arc::new(AtomicU64::new(0));
        let counting = Counting { inner: input, read: read.clone() };
        let source = match format {
            Format::Jsonl => Source::Jsonl { lines: BufReader::new(counting).lines(), line: 0 },
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(counting);
                let headers = reader.headers().map_err(std::io::Error::other)?.clone();
                Source::Csv { reader, headers, pending: None }
            }
        };
        Ok(Rows { source, read })
    }

    /// Bytes of the file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }
}

impl Iterator for Rows {
    type Item = std::io::Result<Row>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Jsonl { lines, line } => loop {
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err(e)),
                };
                *line += 1;
                if text.trim().is_empty() {
                    continue;
                }
                let value = serde_json::from_str::<Value>(&text)
                    .map_err(|e| AppError::invalid("line", format!("is not JSON: {e}")));
                return Some(Ok((*line, value)));
            },
            Source::Csv { reader, headers, pending } => {
                let mut rows = Vec::new();
                if let Some(first) = pending.take() {
                    rows.push(first);
                }
                loop {
                    let mut record = csv::StringRecord::new();
                    match reader.read_record(&mut record) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => return Some(Err(std::io::Error::other(e))),
                    }
                    let line = record.position().map_or(0, |p| p.line());
                    let same =
                        rows.first().is_some_and(|(_, f)| account_key(headers, f) == account_key(headers, &record));
                    if rows.is_empty() || same {
                        rows.push((line, record));
                    } else {
                        *pending = Some((line, record));
                        break;
                    }
                }
                let line = rows.first()?.0;
                Some(Ok((line, Ok(csv_account(headers, &rows)))))
            }
        }
    }
}

/// The cell under `column`, empty when the row has no such column; a
/// formula the export neutralized is read back as written.
fn cell<'r>(headers: &csv::StringRecord, row: &'r csv::StringRecord, column: &str) -> &'r str {
    let raw = headers.iter().position(|h| h == column).and_then(|i| row.get(i)).unwrap_or("");
    crate::domain::spreadsheet::restore(raw.trim())
}

/// What ties an account's rows together: its uid, else its number.
fn account_key<'r>(headers: &csv::StringRecord, row: &'r csv::StringRecord) -> Option<&'r str> {
    [cell(headers, row, "account_uid"), cell(headers, row, "account_number")].into_iter().find(|k| !k.is_empty())
}

/// An object of the non-empty cells under `columns`, named by `keys`.
fn object(headers: &csv::StringRecord, row: &csv::StringRecord, pairs: &[(&str, &str)]) -> Value {
    let map: Map<String, Value> = (pairs.iter())
        .filter_map(|(key, column)| {
            let text = cell(headers, row, column);
            (!text.is_empty()).then(|| ((*key).to_owned(), Value::String(text.to_owned())))
        })
        .collect();
    Value::Object(map)
}

/// One account of CSV rows in the JSON shape of `export`.
fn csv_account(headers: &csv::StringRecord, rows: &[(u64, csv::StringRecord)]) -> Value {
    let Some((_, first)) = rows.first() else { return Value::Null };
    let mut account = object(
        headers,
        first,
        &[
            ("uid", "account_uid"),
            ("accountNumber", "account_number"),
            ("externalId", "account_external_id"),
            ("name", "name"),
            ("alias", "alias"),
            ("type", "type"),
            ("kind", "kind"),
            ("status", "status"),
            ("systemRole", "system_role"),
            ("systemCurrency", "system_currency"),
            ("metadata", "metadata"),
            ("createdAt", "created_at"),
        ],
    );
    let owner = object(
        headers,
        first,
        &[
            ("externalId", "owner_external_id"),
            ("name", "owner_name"),
            ("email", "owner_email"),
            ("kind", "owner_kind"),
        ],
    );
    let parent =
        object(headers, first, &[("externalId", "parent_external_id"), ("accountNumber", "parent_account_number")]);
    let reason = object(headers, first, &[("code", "status_reason_code")]);
    let assets: Vec<Value> = (rows.iter())
        .filter(|(_, row)| !cell(headers, row, "currency").is_empty())
        .map(|(_, row)| {
            let mut asset = object(
                headers,
                row,
                &[
                    ("currency", "currency"),
                    ("status", "asset_status"),
                    ("available", "available"),
                    ("onHold", "on_hold"),
                    ("future", "future"),
                    ("creditLimit", "credit_limit"),
                    ("address", "asset_address"),
                    ("externalId", "asset_external_id"),
                    ("currencyType", "currency_type"),
                    ("decimals", "decimals"),
                ],
            );
            let wallets: Vec<Value> = (cell(headers, row, "wallets").split(';'))
                .filter_map(|w| w.split_once(':'))
                .map(|(network, address)| json!({"network": network, "address": address}))
                .collect();
            asset["wallets"] = Value::Array(wallets);
            asset
        })
        .collect();
    for (key, value) in [("owner", owner), ("parent", parent), ("statusReason", reason)] {
        if value.as_object().is_some_and(|m| !m.is_empty()) {
            account[key] = value;
        }
    }
    account["assets"] = Value::Array(assets);
    account
}

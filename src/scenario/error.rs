//! Scenario errors that point at the exact place in the file.

use std::path::PathBuf;

/// Why a scenario could not be used. `Invalid` always carries file, line, column and field.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{}: cannot read scenario: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {}{message}", field_part(field))]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
}

impl ScenarioError {
    /// From a toml/serde error: its span gives line and column; the field is the key on that
    /// line inside the nearest `[table]` (or the unknown field the message names).
    pub(super) fn from_toml(text: &str, file: &str, e: &toml::de::Error) -> ScenarioError {
        let offset = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
        let (line, column) = line_col(text, offset);
        let message = e.message().trim().to_string();
        let table = table_at(text, offset);
        let key = unknown_field(&message).or_else(|| key_on_line(text, line));
        let field = match (table, key) {
            (Some(t), Some(k)) if !k.starts_with(&format!("{t}.")) && k != t => format!("{t}.{k}"),
            (_, Some(k)) => k,
            (Some(t), None) => t,
            // No key to blame: the text is not TOML at all (e.g. a line without `=`).
            (None, None) => String::new(),
        };
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            column,
            field,
            message,
        }
    }

    /// For a validation failure of a dotted `field`: finds where it is written (or, for a
    /// defaulted field, its table header) to report line and column.
    pub(super) fn at_field(text: &str, file: &str, field: &str, message: String) -> ScenarioError {
        let (line, column) = locate(text, field).unwrap_or((1, 1));
        ScenarioError::Invalid {
            file: file.to_string(),
            line,
            column,
            field: field.to_string(),
            message,
        }
    }

    /// The dotted field the error is about, if any (none for a TOML syntax error).
    pub fn field(&self) -> Option<&str> {
        match self {
            ScenarioError::Invalid { field, .. } if !field.is_empty() => Some(field),
            _ => None,
        }
    }

    /// 1-based line and column, if the error points into the text.
    pub fn position(&self) -> Option<(usize, usize)> {
        match self {
            ScenarioError::Invalid { line, column, .. } => Some((*line, *column)),
            ScenarioError::Read { .. } => None,
        }
    }
}

/// "field `x`: " when the error is about a field; a syntax error names none.
fn field_part(field: &str) -> String {
    if field.is_empty() {
        "not valid TOML: ".to_string()
    } else {
        format!("field `{field}`: ")
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The header name of the table (`[boards]`, `[boards.bursts]`, `[[clients.commands]]`)
/// that contains `offset`.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..floor_char_boundary(text, offset)];
    before.lines().rev().find_map(header_name)
}

fn header_name(line: &str) -> Option<String> {
    let t = line.trim();
    let inner = t
        .strip_prefix("[[")
        .and_then(|r| r.split("]]").next())
        .or_else(|| t.strip_prefix('[').and_then(|r| r.split(']').next()))?;
    Some(inner.trim().to_string())
}

/// `unknown field `x`, expected ...` → `x`.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// The key of a `key = value` line.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

/// Line and column where dotted `field` is written: the key inside its table, else the
/// table header, else nothing.
fn locate(text: &str, field: &str) -> Option<(usize, usize)> {
    let (table, key) = field.rsplit_once('.').unwrap_or(("", field));
    let mut current = String::new();
    let mut header_pos = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(h) = header_name(l) {
            current = h;
            if current == table && header_pos.is_none() {
                header_pos = Some((i + 1, l.len() - l.trim_start().len() + 1));
            }
            continue;
        }
        if current != table {
            continue;
        }
        if let Some((k, _)) = l.split_once('=') {
            if k.trim().trim_matches('"') == key {
                return Some((i + 1, l.len() - l.trim_start().len() + 1));
            }
        }
    }
    header_pos
}

//! Knob overrides: `--set KEY=V1,V2,...` and `--with KEY=V` applied to a scenario's TOML text.
//!
//! A value is written into the parsed TOML table with the type the schema expects (an integer
//! field stays an integer, `25` given to a float field becomes `25.0`), then the text goes
//! back through the scenario loader, so every range check and every "unknown field" error of
//! `esbench run` applies to a swept point too, before anything runs.
//!
//! The expected type comes from the value already written in the scenario, else from the
//! schema's defaults (a scenario only states what differs); a key found in neither (an
//! optional field such as `boards.bursts.stall_ms`) takes the type its text reads as, and the
//! loader has the last word.

use std::path::Path;

use anyhow::{bail, Context, Result};
use toml::{Table, Value};

use crate::scenario::{Scenario, ScenarioError};

/// One swept knob: the dotted key and its values in the order they will run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Knob {
    pub key: String,
    pub values: Vec<String>,
}

/// Parses `KEY=V1,V2,...` (what `--set` takes). Values keep their text; their types are
/// checked against the scenario later.
pub fn parse_knob(arg: &str) -> Result<Knob, String> {
    let (key, values) = split_assignment(arg)?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(|v| v.is_empty()) {
        return Err(format!(
            "`{arg}`: empty value in the list (use KEY=V1,V2,... with no empty items)"
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("`{arg}`: value `{v}` is listed twice"));
        }
    }
    Ok(Knob { key, values })
}

/// Parses `KEY=VALUE` (what `--with` takes: a knob held fixed for the whole sweep).
pub fn parse_fixed(arg: &str) -> Result<(String, String), String> {
    let (key, value) = split_assignment(arg)?;
    if value.is_empty() {
        return Err(format!("`{arg}`: no value after `=`"));
    }
    Ok((key, value.to_string()))
}

fn split_assignment(arg: &str) -> Result<(String, &str), String> {
    let Some((key, rest)) = arg.split_once('=') else {
        return Err(format!(
            "`{arg}` is not KEY=VALUE (e.g. clients.per_board=1,2,4,8)"
        ));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|s| s.trim().is_empty()) {
        return Err(format!(
            "`{arg}`: `{key}` is not a dotted scenario key (e.g. workload.poll_work_us)"
        ));
    }
    Ok((key.to_string(), rest.trim()))
}

/// The scenario text with `key` set to `value`, typed as the schema expects. Errors name the
/// key and the value. The result is not validated yet: see [`load_point`].
pub fn apply(text: &str, key: &str, value: &str) -> Result<String> {
    let mut doc: Table = toml::from_str(text).context("the scenario is not valid TOML")?;
    let defaults = schema_defaults();
    let segments: Vec<&str> = key.split('.').map(str::trim).collect();
    set_path(&mut doc, Some(&defaults), &segments, key, value)?;
    toml::to_string(&doc).with_context(|| format!("cannot write the scenario back after {key}"))
}

/// Applies every `(key, value)` in turn, then loads the result through the scenario loader
/// (`name` stands for the file in its messages). Returns the new text and the scenario.
pub fn load_point(text: &str, name: &str, sets: &[(String, String)]) -> Result<(String, Scenario)> {
    let mut text = text.to_string();
    for (key, value) in sets {
        text = apply(&text, key, value).with_context(|| format!("--set {key}={value}"))?;
    }
    let label = sets
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    let scenario = Scenario::from_str_named(&text, name).map_err(|e| {
        // The loader's line and column point into the rewritten text, not the user's file,
        // so only the field and the reason are repeated.
        let why = match &e {
            ScenarioError::Invalid { field, message, .. } => format!("`{field}`: {message}"),
            other => other.to_string(),
        };
        anyhow::anyhow!("{label} in {name}: {why}{}", hint(sets, &e))
    })?;
    Ok((text, scenario))
}

/// "did you mean" for a misspelt key the loader refused as unknown.
fn hint(sets: &[(String, String)], e: &ScenarioError) -> String {
    let msg = e.to_string();
    if !msg.contains("unknown field") {
        return String::new();
    }
    let known = known_keys();
    for (key, _) in sets {
        if known.iter().any(|k| k == key) {
            continue;
        }
        if let Some(best) = known
            .iter()
            .min_by_key(|k| edit_distance(k, key))
            .filter(|k| edit_distance(k, key) <= 3)
        {
            return format!(" (did you mean `{best}`?)");
        }
    }
    String::new()
}

/// Makes a relative `boards.recording` absolute (against `base_dir`, the original scenario's
/// directory), so a point's scenario file can live in the sweep directory and still find it.
pub fn absolutise_recording(text: &str, base_dir: &Path) -> Result<String> {
    let mut doc: Table = toml::from_str(text).context("the scenario is not valid TOML")?;
    let Some(Value::Table(boards)) = doc.get_mut("boards") else {
        return Ok(text.to_string());
    };
    let Some(Value::String(rec)) = boards.get_mut("recording") else {
        return Ok(text.to_string());
    };
    let p = Path::new(rec.as_str());
    if p.is_absolute() {
        return Ok(text.to_string());
    }
    let joined = base_dir.join(p);
    let abs = joined.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(&joined))
            .unwrap_or(joined.clone())
    });
    *rec = abs.display().to_string();
    Ok(toml::to_string(&doc)?)
}

/// Every field with its default value, as TOML: the schema's types for keys a scenario omits.
fn schema_defaults() -> Table {
    Table::try_from(Scenario::default()).expect("the default scenario serialises to TOML")
}

/// Dotted keys the schema knows (defaults plus the optional fields that have none).
pub fn known_keys() -> Vec<String> {
    fn walk(prefix: &str, t: &Table, out: &mut Vec<String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Table(sub) => walk(&key, sub, out),
                _ => out.push(key),
            }
        }
    }
    let mut out = Vec::new();
    walk("", &schema_defaults(), &mut out);
    for extra in [
        "boards.recording",
        "boards.bursts.every_s",
        "boards.bursts.stall_ms",
    ] {
        out.push(extra.to_string());
    }
    out.sort();
    out
}

fn set_path(
    table: &mut Table,
    defaults: Option<&Table>,
    segments: &[&str],
    key: &str,
    value: &str,
) -> Result<()> {
    let (first, rest) = segments
        .split_first()
        .expect("keys have at least one segment");
    let default = defaults.and_then(|d| d.get(*first));
    if rest.is_empty() {
        let expected = table.get(*first).or(default);
        let typed = typed_value(key, value, expected)?;
        table.insert(first.to_string(), typed);
        return Ok(());
    }
    if !table.contains_key(*first) {
        // Materialise the defaults along the path (e.g. the default command list), so an
        // indexed key like `clients.commands.0.every_ms` has something to index into.
        let fresh = match default {
            Some(v @ (Value::Table(_) | Value::Array(_))) => v.clone(),
            _ => Value::Table(Table::new()),
        };
        table.insert(first.to_string(), fresh);
    }
    match table.get_mut(*first).expect("inserted above") {
        Value::Table(sub) => set_path(sub, default.and_then(Value::as_table), rest, key, value),
        Value::Array(items) => {
            let (index, after) = rest.split_first().expect("rest is not empty");
            let i: usize = index.parse().map_err(|_| {
                anyhow::anyhow!(
                    "`{key}`: `{first}` is a list; name an item by its index, \
                     e.g. {first}.0.{index}"
                )
            })?;
            let len = items.len();
            let Some(item) = items.get_mut(i) else {
                bail!("`{key}`: `{first}` has {len} item(s), there is no item {i}");
            };
            let item_default = match default {
                Some(Value::Array(d)) => d.get(i).or(d.first()).and_then(Value::as_table),
                _ => None,
            };
            match item {
                Value::Table(sub) if !after.is_empty() => {
                    set_path(sub, item_default, after, key, value)
                }
                _ if after.is_empty() => {
                    let typed = typed_value(key, value, Some(&*item))?;
                    *item = typed;
                    Ok(())
                }
                _ => bail!("`{key}`: item {i} of `{first}` is not a table"),
            }
        }
        other => bail!(
            "`{key}`: `{first}` is a {}, not a table, so it has no `{}`",
            other.type_str(),
            rest.join(".")
        ),
    }
}

/// `text` as the TOML value the schema expects where `expected` is the current (or default)
/// value of the key; errors name the key, the value and the type wanted.
fn typed_value(key: &str, text: &str, expected: Option<&Value>) -> Result<Value> {
    let parsed = parse_scalar(text);
    match expected {
        Some(Value::Integer(_)) => match parsed {
            Some(Value::Integer(i)) => Ok(Value::Integer(i)),
            _ => bail!("`{key}` takes a whole number, got `{text}`"),
        },
        Some(Value::Float(_)) => match parsed {
            Some(Value::Float(f)) => Ok(Value::Float(f)),
            Some(Value::Integer(i)) => Ok(Value::Float(i as f64)),
            _ => bail!("`{key}` takes a number, got `{text}`"),
        },
        Some(Value::Boolean(_)) => match parsed {
            Some(Value::Boolean(b)) => Ok(Value::Boolean(b)),
            _ => bail!("`{key}` takes true or false, got `{text}`"),
        },
        Some(Value::String(_)) => Ok(Value::String(match parsed {
            Some(Value::String(s)) => s,
            _ => text.to_string(),
        })),
        Some(Value::Array(_)) => bail!(
            "`{key}` is a list; a sweep varies one scalar knob (to choose models use --models)"
        ),
        Some(Value::Table(_)) => {
            bail!("`{key}` is a table; set one of its fields instead (e.g. `{key}.<field>=...`)")
        }
        Some(Value::Datetime(_)) => bail!("`{key}` is a date, which cannot be swept"),
        None => Ok(match parsed {
            Some(v @ (Value::Integer(_) | Value::Float(_) | Value::Boolean(_))) => v,
            Some(Value::String(s)) => Value::String(s),
            _ => Value::String(text.to_string()),
        }),
    }
}

/// A TOML scalar (`12`, `1_000`, `2.5`, `true`, `"text"`), or None for anything else.
fn parse_scalar(text: &str) -> Option<Value> {
    if text.contains(['\n', '\r']) {
        return None;
    }
    match text.trim().parse::<Value>() {
        Ok(v @ (Value::Integer(_) | Value::Float(_) | Value::Boolean(_) | Value::String(_))) => {
            Some(v)
        }
        _ => None,
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSROOM: &str = "name = \"c\"\n# a comment\n[workload]\npoll_work_us = 5\n\
                             watchdog_period_ms = 25.0\n";

    fn point(text: &str, key: &str, value: &str) -> Result<Scenario> {
        load_point(text, "test.toml", &[(key.into(), value.into())]).map(|(_, s)| s)
    }

    fn err(text: &str, key: &str, value: &str) -> String {
        format!("{:#}", point(text, key, value).unwrap_err())
    }

    #[test]
    fn knob_arguments() {
        let k = parse_knob("clients.per_board=1, 2,4").unwrap();
        assert_eq!(k.key, "clients.per_board");
        assert_eq!(k.values, ["1", "2", "4"]);
        assert!(parse_knob("clients.per_board")
            .unwrap_err()
            .contains("KEY=VALUE"));
        assert!(parse_knob("=1,2").unwrap_err().contains("dotted"));
        assert!(parse_knob("a..b=1").unwrap_err().contains("dotted"));
        assert!(parse_knob("k=1,,2").unwrap_err().contains("empty"));
        assert!(parse_knob("k=1,2,1").unwrap_err().contains("twice"));
        assert_eq!(
            parse_fixed("boards.count=4").unwrap(),
            ("boards.count".into(), "4".into())
        );
        assert!(parse_fixed("boards.count=").is_err());
    }

    #[test]
    fn integers_stay_integers_and_floats_become_floats() {
        let s = point(CLASSROOM, "workload.poll_work_us", "250").unwrap();
        assert_eq!(s.workload.poll_work_us, 250);
        // Keys the scenario omits take their type from the schema's defaults.
        let s = point(CLASSROOM, "clients.poll_period_ms", "10").unwrap();
        assert_eq!(s.clients.poll_period_ms, 10.0);
        let text = apply(CLASSROOM, "clients.poll_period_ms", "10").unwrap();
        assert!(text.contains("poll_period_ms = 10.0"), "{text}");
        let s = point(CLASSROOM, "boards.count", "1_0").unwrap();
        assert_eq!(s.boards.count, 10);
        let s = point(CLASSROOM, "boards.chunking", "true").unwrap();
        assert!(s.boards.chunking);
        let s = point(CLASSROOM, "workload.watchdog_period_ms", "2.5").unwrap();
        assert_eq!(s.workload.watchdog_period_ms, 2.5);
        // Everything else is kept.
        assert_eq!(s.name, "c");
        assert_eq!(s.workload.poll_work_us, 5);
    }

    /// Each `(key, value, words)`: overriding `key` with `value` in the classroom scenario is
    /// refused with an error that contains every one of `words`.
    fn assert_refused(cases: &[(&str, &str, &[&str])]) {
        for &(key, value, words) in cases {
            let e = err(CLASSROOM, key, value);
            for w in words {
                assert!(e.contains(w), "{key}={value}: {w:?} not in {e}");
            }
        }
    }

    #[test]
    fn wrong_types_name_key_and_value() {
        assert_refused(&[
            (
                "workload.poll_work_us",
                "2.5",
                &["workload.poll_work_us", "2.5", "whole number"],
            ),
            (
                "clients.poll_period_ms",
                "fast",
                &["clients.poll_period_ms", "fast"],
            ),
            ("boards.chunking", "yes", &["true or false", "yes"]),
            ("run.models", "smol", &["list"]),
            ("workload", "3", &["table"]),
            ("name.first", "3", &["not a table"]),
        ]);
    }

    #[test]
    fn the_loader_checks_ranges_and_unknown_keys() {
        assert_refused(&[
            (
                "boards.count",
                "0",
                &["boards.count=0", "between 1 and 1024"],
            ),
            ("clients.per_board", "-1", &["clients.per_board=-1"]),
            (
                "workload.pol_work_us",
                "10",
                &[
                    "pol_work_us",
                    "unknown field",
                    "did you mean `workload.poll_work_us`",
                ],
            ),
            ("nonsense", "1", &["nonsense"]),
        ]);
    }

    #[test]
    fn optional_and_indexed_fields() {
        let text = "[boards.bursts]\nevery_s = 5.0\nstall_ms = 100\n";
        let s = point(text, "boards.bursts.stall_ms", "300").unwrap();
        assert_eq!(s.boards.bursts.unwrap().stall_ms, 300);
        // The default command list is materialised so one of its items can be set.
        let s = point(CLASSROOM, "clients.commands.0.every_ms", "250").unwrap();
        assert_eq!(s.clients.commands[0].every_ms, 250.0);
        assert_eq!(s.clients.commands[0].paths.len(), 2);
        assert_refused(&[
            ("clients.commands.3.every_ms", "250", &["no item 3"]),
            ("clients.commands.every_ms", "250", &["index"]),
        ]);
        let s = point(CLASSROOM, "boards.source", "synth").unwrap();
        assert_eq!(s.boards.source, crate::scenario::SourceKind::Synth);
    }

    #[test]
    fn several_overrides_apply_in_order() {
        let sets = [
            ("boards.count".to_string(), "3".to_string()),
            ("clients.per_board".to_string(), "2".to_string()),
        ];
        let (text, s) = load_point(CLASSROOM, "t", &sets).unwrap();
        assert_eq!((s.boards.count, s.clients.per_board), (3, 2));
        assert_eq!(s.text, text);
    }

    #[test]
    fn relative_recordings_become_absolute() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.esrec"), b"").unwrap();
        let text = "[boards]\nsource = \"replay\"\nrecording = \"x.esrec\"\n";
        let out = absolutise_recording(text, dir.path()).unwrap();
        let s = Scenario::from_str_named(&out, "t").unwrap();
        let rec = s.boards.recording.unwrap();
        assert!(rec.is_absolute() && rec.ends_with("x.esrec"), "{rec:?}");
        assert_eq!(
            absolutise_recording(CLASSROOM, dir.path()).unwrap(),
            CLASSROOM
        );
    }

    #[test]
    fn known_keys_cover_the_schema() {
        let k = known_keys();
        for key in [
            "clients.per_board",
            "boards.count",
            "workload.poll_work_us",
            "workload.blocking_sleep_us",
            "clients.poll_period_ms",
            "boards.bursts.stall_ms",
        ] {
            assert!(k.iter().any(|x| x == key), "{key}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! An external bridge's command line: `NAME=COMMAND` from `--bridge`, or a scenario's
//! `[[bridges]]` entry, and its template variables.
//!
//! The template is split into words first (whitespace separates them; `'…'` and `"…"`
//! quote, a backslash escapes one character: nothing else of a shell), then each word's
//! variables are replaced, so a pty path or a port can never split or glue words, and no
//! shell runs unless the user writes one (`sh -c '…'`).
//!
//! Variables: `{serial}` (the board's pty, when there is one board), `{serial0}`,
//! `{serial1}`, … (board i's), `{serials}` (every board's, as separate words when it is a
//! word of its own, else joined by spaces), `{port}` (board 0's HTTP port; board i is
//! served on `{port}` + i, as `esbench serve` does), `{port0}`, `{port1}`, …, `{host}`
//! (`127.0.0.1`). `{{` and `}}` are literal braces.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};

/// How long a bridge may take to answer its first `/poll` unless told otherwise: real
/// bridges sleep at start (the original esp4s takes about 3 s before it listens).
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(15);

/// One external bridge to measure.
#[derive(Clone, Debug, PartialEq)]
pub struct BridgeSpec {
    /// The row's name in results.json's `models`.
    pub name: String,
    /// The command template, as the user wrote it.
    pub command: String,
    /// Directory to start it in (default: esbench's own).
    pub cwd: Option<PathBuf>,
    /// Extra environment (never written out: values may be secrets).
    pub env: BTreeMap<String, String>,
    pub ready_timeout: Duration,
}

impl BridgeSpec {
    /// Reads `NAME=COMMAND` (the `--bridge` argument).
    pub fn parse_cli(arg: &str) -> Result<BridgeSpec> {
        let Some((name, command)) = arg.split_once('=') else {
            bail!("--bridge wants NAME=COMMAND (e.g. 'py-async=python3 bridge.py {{serial}} --port {{port}}'), got {arg:?}");
        };
        Self::new(name.trim(), command)
    }

    /// A bridge with the defaults; checks the name and that the template parses.
    pub fn new(name: &str, command: &str) -> Result<BridgeSpec> {
        check_name(name)?;
        let words = split_words(command)?;
        if words.is_empty() {
            bail!("bridge {name:?}: the command is empty");
        }
        Ok(BridgeSpec {
            name: name.to_string(),
            command: command.to_string(),
            cwd: None,
            env: BTreeMap::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
        })
    }

    /// The argv for `vars`, with every variable replaced.
    pub fn argv(&self, vars: &Vars) -> Result<Vec<String>> {
        let words = split_words(&self.command)?;
        let names_a_serial = words
            .iter()
            .any(|w| w.contains("{serial") && !w.contains("{{serial"));
        if !names_a_serial {
            bail!(
                "bridge {:?}: the command never names the board's serial port \
                 (use {{serial}}, {{serial0}}… or {{serials}})",
                self.name
            );
        }
        let mut argv = Vec::new();
        for w in &words {
            if w == "{serials}" {
                argv.extend(vars.serials.iter().cloned());
            } else {
                argv.push(
                    substitute(w, vars)
                        .map_err(|e| anyhow::anyhow!("bridge {:?}: in {w:?}: {e}", self.name))?,
                );
            }
        }
        Ok(argv)
    }
}

/// What the variables stand for in one run.
#[derive(Clone, Debug)]
pub struct Vars {
    pub serials: Vec<String>,
    pub host: String,
    /// Board 0's port; board i's is `port + i`.
    pub port: u16,
}

/// A row name: what reports and `check` use, so letters, digits, `-`, `_`, `.` (that it is
/// not a built-in model's name is checked where the model registry is known, in `driver/`).
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        bail!(
            "bridge name {name:?}: use 1 to 64 letters, digits, '-', '_' or '.' \
             (it becomes the row's name)"
        );
    }
    Ok(())
}

/// Splits a command into words: whitespace separates, quotes group, `\` escapes.
pub fn split_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') if c == '"' => match chars.next() {
                            Some(e) => cur.push(e),
                            None => bail!("the command ends inside a quote"),
                        },
                        Some(x) => cur.push(x),
                        None => bail!("unclosed {c} in the command {text:?}"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(e) => cur.push(e),
                    None => bail!("the command ends with a lone backslash"),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Replaces the variables in one word.
fn substitute(word: &str, vars: &Vars) -> Result<String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('}') {
            bail!("a lone '}}' (write '}}}}' for a brace)");
        }
        let Some(end) = tail.find('}') else {
            bail!("'{{' without its '}}' (write '{{{{' for a brace)");
        };
        out.push_str(&value(&tail[1..end], vars)?);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn value(name: &str, vars: &Vars) -> Result<String> {
    let n = vars.serials.len();
    let indexed = |prefix: &str| -> Option<usize> { name.strip_prefix(prefix)?.parse().ok() };
    Ok(match name {
        "serial" if n == 1 => vars.serials[0].clone(),
        "serial" => bail!(
            "{{serial}} names one board, but the scenario has {n}: use {{serial0}}…{{serial{}}} \
             or {{serials}} (board i is served on {{port}} + i)",
            n - 1
        ),
        "serials" => vars.serials.join(" "),
        "port" => vars.port.to_string(),
        "host" => vars.host.clone(),
        _ => {
            if let Some(i) = indexed("serial") {
                match vars.serials.get(i) {
                    Some(s) => s.clone(),
                    None => bail!("{{{name}}}: the scenario has {n} board(s)"),
                }
            } else if let Some(i) = indexed("port") {
                if i >= n {
                    bail!("{{{name}}}: the scenario has {n} board(s)");
                }
                (vars.port as usize + i).to_string()
            } else {
                bail!(
                    "unknown variable {{{name}}} (known: serial, serial0…, serials, port, \
                     port0…, host)"
                )
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(n: usize) -> Vars {
        Vars {
            serials: (0..n).map(|i| format!("/dev/pts/{}", 10 + i)).collect(),
            host: "127.0.0.1".into(),
            port: 40000,
        }
    }

    #[test]
    fn words_are_split_before_variables_are_replaced() {
        let b = BridgeSpec::new(
            "py",
            r#"python3 "my bridge.py" {serial} --port={port} --host {host} 'a {b}' x\ y"#,
        )
        .unwrap();
        let argv = b.argv(&vars(1));
        // 'a {b}' is still a template word: {b} is unknown.
        assert!(format!("{:#}", argv.unwrap_err()).contains("unknown variable {b}"));
        let b = BridgeSpec::new(
            "py",
            r#"python3 "my bridge.py" {serial} --port={port} --host {host} '{{x}}' x\ y"#,
        )
        .unwrap();
        assert_eq!(
            b.argv(&vars(1)).unwrap(),
            [
                "python3",
                "my bridge.py",
                "/dev/pts/10",
                "--port=40000",
                "--host",
                "127.0.0.1",
                "{x}",
                "x y"
            ]
        );
    }

    #[test]
    fn several_boards() {
        let b =
            BridgeSpec::new("go", "bridge {serials} -p {port1} -s {serial1},{serials}").unwrap();
        assert_eq!(
            b.argv(&vars(2)).unwrap(),
            [
                "bridge",
                "/dev/pts/10",
                "/dev/pts/11",
                "-p",
                "40001",
                "-s",
                "/dev/pts/11,/dev/pts/10 /dev/pts/11"
            ]
        );
        let one = BridgeSpec::new("go", "bridge {serial} {port}").unwrap();
        let e = format!("{:#}", one.argv(&vars(2)).unwrap_err());
        assert!(e.contains("has 2"), "{e}");
        let e = format!("{:#}", b.argv(&vars(1)).unwrap_err());
        assert!(e.contains("{port1}"), "{e}");
    }

    #[test]
    fn bad_templates_and_names_are_clear_errors() {
        for (arg, want) in [
            ("noequals", "NAME=COMMAND"),
            ("x=", "empty"),
            ("a b=cmd {serial}", "bridge name"),
            ("x=cmd 'open {serial}", "unclosed"),
        ] {
            let e = format!("{:#}", BridgeSpec::parse_cli(arg).unwrap_err());
            assert!(e.contains(want), "{arg}: {e}");
        }
        let no_serial = BridgeSpec::parse_cli("x=cmd --port {port}").unwrap();
        let e = format!("{:#}", no_serial.argv(&vars(1)).unwrap_err());
        assert!(e.contains("never names"), "{e}");
        let lone = BridgeSpec::parse_cli("x=cmd {serial} {port").unwrap();
        assert!(lone.argv(&vars(1)).is_err());
    }
}

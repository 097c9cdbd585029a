//! The Scratch 2 extension descriptor and the Snap! blocks shipped in `docs/scratch/`: the
//! `.s2e` parses as JSON and is well formed, and every block of both files, with every
//! word of its menus, maps to a route of a running `esbench serve` that answers 200 (and
//! every Scratch reporter to a key of `/poll`), built into a URL the way each editor builds
//! it.

use crate::bridge_support as support;

use std::collections::BTreeSet;
use support::*;

fn docs(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/scratch")
        .join(name)
}

/// ECMAScript's `encodeURIComponent`, which Scratch applies to every string argument.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A serve with one frame in, so reporters have values.
fn running() -> (FakeBoard, Serve, Client) {
    let board = FakeBoard::new();
    let serve = Serve::start(models()[0], &board.link);
    let mut c = Client::connect(serve.addr);
    c.get("/poll");
    board.send_frame(5);
    poll_until(&mut c, "the frame", |b| b.contains(&seq_lines(5)));
    (board, serve, c)
}

/// One argument of a block: a menu (every word is tried) or a number (its default).
#[derive(Debug)]
enum Arg {
    Menu(Vec<String>),
    Number,
}

/// Argument lists to try: the defaults, then each menu word in turn.
fn variants(args: &[Arg], defaults: &[String]) -> Vec<Vec<String>> {
    let mut out = vec![defaults.to_vec()];
    for (i, a) in args.iter().enumerate() {
        if let Arg::Menu(words) = a {
            for w in words {
                let mut v = defaults.to_vec();
                v[i] = w.clone();
                out.push(v);
            }
        }
    }
    out
}

#[test]
fn the_s2e_parses_and_every_block_maps_to_a_route_that_answers() {
    let text = std::fs::read_to_string(docs("esbench.s2e")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).expect("the .s2e is JSON");
    assert_eq!(d["extensionPort"], 50209, "esp4s's port");
    assert!(d["extensionName"].as_str().is_some_and(|n| !n.is_empty()));
    let menus = d["menus"].as_object().expect("menus");
    let specs = d["blockSpecs"].as_array().expect("blockSpecs");
    let (_board, serve, mut c) = running();
    let poll = c.get("/poll").body;
    let poll_keys: BTreeSet<&str> = poll
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, _)| k))
        .collect();
    let mut ops = BTreeSet::new();
    for spec in specs {
        let spec = spec.as_array().expect("a block spec is an array");
        let kind = spec[0].as_str().unwrap();
        let label = spec[1].as_str().unwrap();
        let op = spec[2].as_str().unwrap();
        ops.insert(op);
        let args: Vec<Arg> = label
            .split(' ')
            .filter(|w| w.starts_with('%'))
            .map(|w| match w.strip_prefix("%m.") {
                Some(menu) => Arg::Menu(
                    menus[menu]
                        .as_array()
                        .unwrap_or_else(|| panic!("{op}: no menu {menu}"))
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect(),
                ),
                None => {
                    assert_eq!(w, "%n", "{op}: only number and menu arguments");
                    Arg::Number
                }
            })
            .collect();
        let defaults = &spec[3..];
        assert_eq!(defaults.len(), args.len(), "{op}: a default per argument");
        let mut default_words = Vec::new();
        for (a, v) in args.iter().zip(defaults) {
            match a {
                Arg::Menu(words) => {
                    let w = v.as_str().expect("a menu default is a word");
                    assert!(words.iter().any(|x| x == w), "{op}: default {w}");
                    default_words.push(encode_uri_component(w));
                }
                Arg::Number => {
                    assert!(v.is_number(), "{op}: number default {v}");
                    // Scratch appends numbers as they print, unencoded.
                    default_words.push(v.to_string());
                }
            }
        }
        let encoded: Vec<Arg> = args
            .into_iter()
            .map(|a| match a {
                Arg::Menu(w) => Arg::Menu(w.iter().map(|x| encode_uri_component(x)).collect()),
                n => n,
            })
            .collect();
        for words in variants(&encoded, &default_words) {
            let mut path = format!("/{}", encode_uri_component(op));
            for w in &words {
                path.push('/');
                path.push_str(w);
            }
            match kind {
                " " | "w" => {
                    let r = c.get(&path);
                    assert_eq!(r.status, 200, "{path}: {r:?}");
                    assert_eq!(r.body, "", "{path}: a command answers like esp4s's okay");
                }
                "r" => {
                    // Scratch reads reporters from /poll, keyed op/arg...
                    let key = path.trim_start_matches('/');
                    assert!(poll_keys.contains(key), "{key} not in /poll: {poll}");
                    // ...and the same path is the Snap! read.
                    let r = c.get(&path);
                    assert_eq!(r.status, 200, "{path}");
                    assert!(
                        r.body.ends_with("\r\n") && r.body.len() > 2,
                        "{path}: {r:?}"
                    );
                }
                other => panic!("{op}: unexpected block type {other:?}"),
            }
        }
    }
    for op in [
        "leds",
        "board_led",
        "play_tone",
        "tone2",
        "tinker_out",
        "orientation",
        "temp_units",
        "slider",
        "light",
        "temp",
        "sound",
        "buttons",
        "joystick",
        "accel",
        "tkInput",
    ] {
        assert!(ops.contains(op), "the .s2e has no {op} block");
    }
    assert_eq!(poll_keys.len(), 16);
    serve.stop();
}

/// Between `from` and the next `to` in `s`.
fn between<'a>(s: &'a str, from: &str, to: &str) -> Option<&'a str> {
    let start = s.find(from)? + from.len();
    let end = s[start..].find(to)? + start;
    Some(&s[start..end])
}

/// One Snap! block definition: its inputs (name, options or default) and the URL parts.
struct SnapBlock {
    spec: String,
    reporter: bool,
    inputs: Vec<(String, Vec<String>)>,
    parts: Vec<Result<String, String>>,
}

fn unescape(s: &str) -> String {
    s.replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn snap_blocks(xml: &str) -> Vec<SnapBlock> {
    let mut out = Vec::new();
    for def in xml.split("<block-definition ").skip(1) {
        let def = def.split("</block-definition>").next().unwrap();
        let spec = unescape(between(def, "s=\"", "\"").unwrap());
        let reporter = between(def, "type=\"", "\"").unwrap() == "reporter";
        let names: Vec<String> = spec
            .split(' ')
            .filter_map(|w| w.strip_prefix("%'").and_then(|w| w.strip_suffix('\'')))
            .map(str::to_string)
            .collect();
        let inputs_xml = between(def, "<inputs>", "</inputs>").unwrap_or("");
        let values: Vec<Vec<String>> = inputs_xml
            .split("<input ")
            .skip(1)
            .map(|i| {
                let body = between(i, ">", "</input>").unwrap();
                match between(body, "<options>", "</options>") {
                    Some(opts) => opts.lines().map(str::to_string).collect(),
                    None => vec![body.to_string()],
                }
            })
            .collect();
        assert_eq!(names.len(), values.len(), "{spec}: an input per slot");
        let list = between(def, "<block s=\"reportJoinWords\"><list>", "</list>")
            .unwrap_or_else(|| panic!("{spec}: no URL"));
        let mut parts = Vec::new();
        let mut rest = list;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("<l>") {
                let (text, r) = r.split_once("</l>").unwrap();
                parts.push(Ok(unescape(text)));
                rest = r;
            } else if let Some(r) = rest.strip_prefix("<block var=\"") {
                let (name, r) = r.split_once("\"/>").unwrap();
                parts.push(Err(name.to_string()));
                rest = r;
            } else {
                panic!("{spec}: unexpected URL part {rest}");
            }
        }
        out.push(SnapBlock {
            spec,
            reporter,
            inputs: names.into_iter().zip(values).collect(),
            parts,
        });
    }
    out
}

#[test]
fn every_snap_block_reaches_a_route_that_answers() {
    let xml = std::fs::read_to_string(docs("esbench_snap_blocks.xml")).unwrap();
    assert!(
        xml.starts_with("<blocks app=\"Snap!"),
        "a Snap! blocks file"
    );
    let blocks = snap_blocks(&xml);
    assert!(blocks.len() >= 15, "{} blocks", blocks.len());
    let (_board, serve, mut c) = running();
    let prefix = "http://127.0.0.1:50209/";
    for b in &blocks {
        let defaults: Vec<String> = b.inputs.iter().map(|i| i.1[0].clone()).collect();
        let mut tries = vec![defaults.clone()];
        for (i, (_, options)) in b.inputs.iter().enumerate() {
            for o in options {
                let mut v = defaults.clone();
                v[i] = o.clone();
                tries.push(v);
            }
        }
        for values in tries {
            let url: String = b
                .parts
                .iter()
                .map(|p| match p {
                    Ok(text) => text.clone(),
                    Err(var) => {
                        let i = b.inputs.iter().position(|x| &x.0 == var).unwrap();
                        values[i].clone()
                    }
                })
                .collect();
            let path = url
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{}: {url} is not on {prefix}", b.spec));
            let r = c.get(&format!("/{path}"));
            assert_eq!(r.status, 200, "{}: {url}: {r:?}", b.spec);
            if b.reporter {
                assert!(r.body.ends_with("\r\n") && r.body.len() > 2, "{url}: {r:?}");
            } else {
                assert_eq!(r.body, "", "{url}");
            }
        }
    }
    serve.stop();
}

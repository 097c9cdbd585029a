//! The HTML page around a body, with its inline CSS, shared by the report, the history's
//! trend page and the sweep's page. No scripts, no external resources: the file opens the
//! same from a CI artefact, an e-mail or a laptop without network.

use super::format::esc;

pub const CSS: &str = r#"
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --best:#dafbe1; --bad:#ffebe9; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1440px; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: .4rem 0; }
h2 { font-size: 1.3rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.1rem; margin-top: 1.4rem; }
nav a { margin-right: .9rem; }
.sub, .small { color: var(--muted); font-size: .9rem; }
.warn { background: var(--bad); padding: .5rem .8rem; border-radius: 6px; }
.headline { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { flex: 1 1 300px; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; background: #f6f8fa; }
.card .q { color: var(--muted); font-size: .85rem; text-transform: uppercase; letter-spacing: .04em; }
.card .m { font-size: 1.5rem; font-weight: 700; margin: .2rem 0; }
.card .f { font-weight: 600; }
.card .v { color: var(--muted); font-size: .9rem; }
.card .verdict { margin-top: .3rem; font-size: .9rem; font-style: italic; }
td .iv { color: var(--muted); font-size: .7rem; font-weight: 400; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .78rem; margin: .6rem 0; }
th, td { border: 1px solid var(--line); padding: .2rem .3rem; text-align: right; white-space: nowrap; }
thead th { background: #f6f8fa; text-align: center; white-space: normal; min-width: 3.6rem; }
tbody th { text-align: left; }
td.best { background: var(--best); font-weight: 700; }
td.thin { color: var(--muted); font-style: italic; }
.bad { color: #cf222e; }
tr.failed td, tr.failed th { color: #8c959f; }
table.compare td { text-align: center; white-space: normal; min-width: 6.5rem; }
table.compare thead th { min-width: 6.5rem; }
td.better { background: #dafbe1; } td.worse { background: #ffebe9; } td.noise { color: var(--muted); }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
figcaption { color: var(--muted); font-size: .9rem; }
dl.context { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.context dt { color: var(--muted); } dl.context dd { margin: 0; }
pre { background: #f6f8fa; padding: .7rem; border-radius: 6px; overflow-x: auto; font-size: .85rem; }
details > summary { cursor: pointer; }
details.run > summary { font-size: 1.3rem; font-weight: 600; margin-top: 1.5rem; }
ul.warn { list-style: none; }
"#;

/// The document around `body`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    )
}

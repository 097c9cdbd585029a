//! Prints the tables of a results.json exactly as esbench renders them, so documentation can
//! quote a real run instead of retyping one (`scripts/readme-table.sh` wraps it).
//!
//!     cargo run --release --example results_table -- RESULTS.json [--markdown | --wide]
//!
//! Without a flag: the terminal table `esbench run` prints (with its floor lines, 100
//! columns); `--wide`: that table with every column (`esbench run --wide`); `--markdown`: the
//! report's Markdown summary table (as in `summary.md`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let markdown = args.iter().any(|a| a == "--markdown");
    let wide = args.iter().any(|a| a == "--wide");
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [file] = files.as_slice() else {
        eprintln!("usage: results_table RESULTS.json [--markdown | --wide]");
        return ExitCode::from(2);
    };
    let path = PathBuf::from(file);
    let path = if path.is_dir() {
        path.join("results.json")
    } else {
        path
    };
    match esbench::metrics::results::Results::load(&path) {
        Ok(r) if markdown => {
            print!("{}", esbench::report::table::markdown(&r));
            ExitCode::SUCCESS
        }
        Ok(r) if wide => {
            print!("{}", esbench::report::run_table::render_wide(&r));
            ExitCode::SUCCESS
        }
        Ok(r) => {
            print!("{}", esbench::report::run_table::render(&r));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("results_table: {e:#}");
            ExitCode::from(1)
        }
    }
}

use clap::Parser;

fn main() {
    let cli = esbench::cli::Cli::parse();
    match esbench::cli::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // Errors may quote text from files (names, statuses): made safe for the terminal.
            let text = esbench::render::format::term_lines(&format!("{e:#}"));
            esbench::errln!("esbench: error: {text}");
            std::process::exit(2);
        }
    }
}

use clap::Parser;

fn main() {
    let cli = esbench::cli::Cli::parse();
    match esbench::cli::dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            esbench::errln!("esbench: error: {e:#}");
            std::process::exit(2);
        }
    }
}

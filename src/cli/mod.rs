//! Command-line interface: one file per subcommand, each with its clap `Args` and an `exec`
//! that returns the process exit code. Nothing but argument handling lives here; the work
//! is done by the library rooms.

use clap::{Parser, Subcommand};

pub(crate) mod agent;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod conform;
pub(crate) mod device;
pub(crate) mod floor_child;
pub(crate) mod history;
pub mod models;
pub(crate) mod paired_view;
pub(crate) mod profile;
pub(crate) mod record;
pub mod report;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod sweep;

/// Which concurrency model runs a small serial-to-HTTP bridge with the least CPU and the
/// lowest, steadiest latency? esbench measures it.
#[derive(Parser, Debug)]
#[command(name = "esbench", version = crate::build_info::VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Run(run::RunArgs),
    Serve(serve::ServeArgs),
    /// Run a virtual Esplora on a pseudo-terminal (prints `device: /dev/pts/N`)
    Device(device::DeviceArgs),
    /// Capture a board's (or any tty's) stream into a replayable .esrec file
    Record(record::RecordArgs),
    Report(report::ReportArgs),
    Check(check::CheckArgs),
    Conform(conform::ConformArgs),
    History(history::HistoryArgs),
    Profile(profile::ProfileArgs),
    Models(models::ModelsArgs),
    /// Vary one scenario knob over several values and plot where each model breaks
    Sweep(sweep::SweepArgs),
    /// The CPU floor's child process (started by `esbench run`)
    #[command(hide = true)]
    FloorChild(floor_child::FloorChildArgs),
    /// Run the device side of a remote run: boards and models, driven over the network
    Agent(agent::AgentArgs),
    /// Print a shell completion script (bash, zsh, fish)
    Completions(completions::CompletionsArgs),
    /// Print or write the man pages
    Man(completions::ManArgs),
}

/// Runs one subcommand and returns the exit code the process should end with.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(a) => run::exec(a),
        Command::Serve(a) => serve::exec(a),
        Command::Device(a) => device::exec(a),
        Command::Record(a) => record::exec(a),
        Command::Report(a) => report::exec(a),
        Command::Check(a) => check::exec(a),
        Command::Conform(a) => conform::exec(a),
        Command::History(a) => history::exec(a),
        Command::Profile(a) => profile::exec(a),
        Command::Models(a) => models::exec(a),
        Command::Sweep(a) => sweep::exec(a),
        Command::FloorChild(a) => floor_child::exec(a),
        Command::Agent(a) => agent::exec(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

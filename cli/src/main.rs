//! `akidb-cli`: back up, inspect and restore vector collections as Parquet snapshots.
//!
//! Every rule lives in the library; this binary parses arguments, reads and writes the user's
//! files, shows progress and turns errors into one line and an exit code.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line program

mod args;
mod commands;
mod exit;
mod input;
mod output;

use std::error::Error as _;

use clap::{CommandFactory, FromArgMatches};

/// mimalloc rather than glibc's malloc, whose per-thread arenas kept the row-group buffers a
/// create hands between threads; and without transparent huge pages, which a VM whose balloon
/// reports free memory makes slow to fault in. docs/DECISIONS.md ("The CLI runs on mimalloc")
/// has the measurements.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = parse().unwrap_or_else(|e| match e {
        Parsed::Clap(e) => e.exit(),
        Parsed::Refused(e) => exit::fail(&e),
    });
    init_logging(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => exit::fail(&exit::CliError::internal(format!("cannot start: {e}"))),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => std::process::exit(code),
        Err(e) => exit::fail(&e),
    }
}

/// Log lines on stderr: warnings by default; with -v one line per phase of an operation (its
/// time and bytes), with -vv one per row group too, with -vvv everything, dependencies' debug
/// lines included. Other crates stay at warnings below -vvv: their info lines are noise here.
fn init_logging(verbose: u8, quiet: bool) {
    use tracing::level_filters::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let (ours, others) = match (quiet, verbose) {
        (true, _) => (LevelFilter::ERROR, LevelFilter::ERROR),
        (false, 0) => (LevelFilter::WARN, LevelFilter::WARN),
        (false, 1) => (LevelFilter::INFO, LevelFilter::WARN),
        (false, 2) => (LevelFilter::DEBUG, LevelFilter::WARN),
        _ => (LevelFilter::TRACE, LevelFilter::DEBUG),
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(others)
        .with_target("akidb_snapshot", ours)
        .with_target("akidb_snapshot_codec", ours)
        .with_target("akidb_cli", ours);
    tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .finish()
        .with(filter)
        .init();
}

enum Parsed {
    /// Clap's own error, help or version: clap prints it and exits.
    Clap(clap::Error),
    /// A value the library refused, reported as every other error of its kind.
    Refused(exit::CliError),
}

/// The command line. `--help` ends with the exit codes of the library's table, and an id that
/// the library refuses (not a UUID, or the nil UUID) is its validation error, not a usage one.
fn parse() -> Result<args::Cli, Parsed> {
    let command = args::Cli::command();
    let help = command
        .get_after_help()
        .map_or_else(String::new, |h| format!("{h}\n\n"));
    let matches = command
        .after_help(format!("{help}{}", exit::exit_codes_help()))
        .try_get_matches()
        .map_err(|e| {
            let refused = (e.kind() == clap::error::ErrorKind::ValueValidation)
                .then(|| e.source())
                .flatten()
                .and_then(|source| source.downcast_ref::<akidb_snapshot::codec::Error>());
            match refused {
                Some(source) => Parsed::Refused(exit::CliError::Argument(source.to_string())),
                None => Parsed::Clap(e),
            }
        })?;
    args::Cli::from_arg_matches(&matches).map_err(Parsed::Clap)
}

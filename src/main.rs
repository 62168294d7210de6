//! The `upcause` command: argument parsing and exit codes; all logic is in the library.

use clap::Parser;

use upcause::{app, config::cli::Cli, error::print_error, exit::ExitCode};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match app::run(cli) {
        Ok(code) => code.into(),
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.is_broken_pipe() => ExitCode::Success.into(),
        Err(e) => {
            print_error(&e);
            ExitCode::InputError.into()
        }
    }
}

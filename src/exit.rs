//! Exit codes, documented in `--help` and the README.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything was read and reported.
    Success = 0,
    /// `check`: the logs broke a rule (`lint`: the configuration has a
    /// finding). Distinct from 2 so that CI can tell
    /// "the logs show failures" from "the gate itself could not run".
    GateFailed = 1,
    /// A usage error, or an input that could not be read (the rest was
    /// still analyzed and reported).
    InputError = 2,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c as u8)
    }
}

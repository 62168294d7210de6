//! The one error type of the crate.
//!
//! Every error names what it is about (a file, a flag value, the catalog) so
//! that the message printed to the user can be acted on without a debugger.
//! Per-file input errors are not fatal: the pipeline records them in the
//! report and carries on with the other inputs.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Result alias used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong, with the context needed to report it.
#[derive(Debug)]
pub enum Error {
    /// Reading an input failed: the path (or `-` for stdin) and the cause.
    Input {
        /// The input as the user named it.
        path: String,
        /// What the operating system or the decompressor said.
        source: io::Error,
    },
    /// A command-line value could not be understood.
    Usage(String),
    /// Writing the report failed.
    Output(io::Error),
    /// A saved file could not be read or parsed.
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// An input error for `path`.
    pub fn input(path: impl Into<String>, source: io::Error) -> Error {
        Error::Input {
            path: path.into(),
            source,
        }
    }

    /// True when the error is a closed stdout (a pager or `head` quit), which
    /// is not a failure of ours.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input { path, source } => write!(f, "{path}: {}", describe_io(source)),
            Error::Usage(msg) => f.write_str(msg),
            Error::Output(e) => write!(f, "writing output: {e}"),
            Error::File { path, reason } => write!(f, "{}: {reason}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Input { source, .. } | Error::Output(source) => Some(source),
            _ => None,
        }
    }
}

/// An I/O error as the report and stderr show it: without the "(os error
/// N)" noise for the common cases, the OS text otherwise.
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::UnexpectedEof => "unexpected end of file (truncated?)".to_string(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("corrupt data: {}", plain(e))
        }
        _ => plain(e),
    }
}

/// The OS's text of an error in the style of our own messages: without
/// its "(os error N)" and starting in lower case (`is a directory`).
fn plain(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => &text[..i],
        _ => &text[..],
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => first
            .to_lowercase()
            .chain(text[first.len_utf8()..].chars())
            .collect(),
        _ => text.to_string(),
    }
}

/// Prints an error on stderr. Errors name inputs, and a file name can hold
/// anything (escape sequences included), so the text is escaped like log
/// text is in the report.
pub fn print_error(e: &dyn std::fmt::Display) {
    eprintln!("upcause: {}", crate::bytes::escape(&e.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_like_our_messages() {
        assert_eq!(
            describe_io(&io::Error::from(io::ErrorKind::NotFound)),
            "no such file or directory"
        );
        assert_eq!(
            describe_io(&io::Error::from_raw_os_error(21)),
            "is a directory"
        );
        assert_eq!(
            describe_io(&io::Error::from_raw_os_error(98)),
            "address already in use"
        );
        assert_eq!(describe_io(&io::Error::other("TLS thing")), "TLS thing");
    }
}

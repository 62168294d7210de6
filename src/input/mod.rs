//! Where the bytes come from: files, gzip, stdin and directories of
//! rotated logs ([`source`]); the one line cutter ([`lines`]); files read
//! in place ([`mapped`]); the reader thread that cuts inputs into chunks
//! ([`reader`]); the progress bar
//! ([`progress`]); which inputs' times `--tz-offset` shifts ([`clock`]).

pub mod clock;
pub mod lines;
pub mod mapped;
pub mod progress;
pub mod reader;
pub mod source;

//! Where the bytes come from: files, gzip, stdin and directories of
//! rotated logs ([`source`]); the one line cutter ([`lines`]); files
//! scanned in place ([`mapped`], Linux only, plain reads elsewhere); the
//! reader thread that cuts inputs into chunks ([`reader`]); the progress
//! bar ([`progress`]).

pub mod lines;
#[cfg_attr(not(target_os = "linux"), path = "unmapped.rs")]
pub mod mapped;
pub mod progress;
pub mod reader;
pub mod source;

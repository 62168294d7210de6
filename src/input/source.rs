//! Inputs: files, directories of rotated logs, stdin; gzip, bzip2, xz and
//! zstd by magic bytes.
//!
//! Rotated logs come as `error.log`, `error.log.1`, `error.log.2.gz` (or
//! `.bz2`, `.xz`, `.zst`, logrotate's `compresscmd`), so the compression is
//! recognised from the first bytes, never from the name.
//! A directory stands for the error logs in it, oldest rotation first, so
//! the report reads in time order.

use std::cmp::Reverse;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use crate::error::Error;

/// What the user asked to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// Standard input (`-` or no path at all).
    Stdin,
    /// A path named on the command line: a regular file, or anything the
    /// OS can open and read (a FIFO such as `<(zcat a.gz)`, a device).
    Path(PathBuf),
    /// A regular file found in a directory: opened without blocking and
    /// read only if it still is a regular file once open, so a FIFO or
    /// device put in its place never hangs the run.
    Listed(PathBuf),
}

impl InputSpec {
    /// The name used in the report and in error messages.
    pub fn display_name(&self) -> String {
        match self {
            InputSpec::Stdin => "-".to_string(),
            InputSpec::Path(p) | InputSpec::Listed(p) => p.display().to_string(),
        }
    }
}

/// The command-line paths as inputs.
#[derive(Debug, Default)]
pub struct Expanded {
    /// What is to be read, in order.
    pub inputs: Vec<InputSpec>,
    /// Paths that cannot be listed.
    pub errors: Vec<Error>,
    /// Entries of directories that were skipped, and why (a FIFO, a
    /// device, a socket, a link to one of them: `error.log -> /dev/stderr`).
    pub skipped: Vec<String>,
    /// Files of folders without error logs that were not read, as their
    /// first lines showed, and why (an access log, an unknown format).
    pub unread: Vec<(String, &'static str)>,
}

/// What a file's first lines say it is (see [`Walk::looks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    /// Lines of a known error log.
    ErrorLog,
    /// An access log's lines (`1.2.3.4 - - [20/Nov/2026:10:23:45 +0000] "GET ..." 200 ...`).
    AccessLog,
    /// Neither.
    Unknown,
}

/// How directories are read.
pub struct Walk<'a> {
    /// Into every folder below (links followed, each folder once).
    pub recursive: bool,
    /// Access logs too (by name `*access*log*` beside error logs, or by
    /// their lines), not only error logs.
    pub access: bool,
    /// What the first bytes of a file (decompressed) say it is: asked for
    /// the files of a folder that holds no `*error*log*` file.
    pub looks: &'a dyn Fn(&[u8]) -> Looks,
}

/// Folders deeper than this below a directory given are not read.
const MAX_DEPTH: usize = 32;

/// Turns the command-line paths into inputs: `-` is stdin, a directory is
/// replaced by the regular files among its error logs, and those of every
/// folder below it (see [`Walk`]). Paths that cannot be listed come back as
/// errors beside the inputs that can be read.
pub fn expand(paths: &[PathBuf], walk: &Walk<'_>) -> Expanded {
    if paths.is_empty() {
        return Expanded {
            inputs: vec![InputSpec::Stdin],
            ..Default::default()
        };
    }
    let mut out = Expanded::default();
    for path in paths {
        if path.as_os_str() == "-" {
            out.inputs.push(InputSpec::Stdin);
            continue;
        }
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let mut found = Vec::new();
                let unread_before = out.unread.len();
                let mut seen = std::collections::HashSet::new();
                let listed = walk_dir(path, walk, 0, &mut seen, &mut found, &mut out);
                match listed {
                    Ok(()) if found.is_empty() && out.skipped.is_empty() => {
                        let why = if out.unread.len() > unread_before {
                            "directory holds no error logs (*error*log*), and none of its files looks like an error or access log"
                        } else {
                            "directory holds no error logs (*error*log*)"
                        };
                        out.errors.push(Error::input(
                            path.display().to_string(),
                            io::Error::other(why),
                        ))
                    }
                    Ok(()) => out.inputs.extend(found.into_iter().map(InputSpec::Listed)),
                    Err(e) => out.errors.push(Error::input(path.display().to_string(), e)),
                }
            }
            // Files, FIFOs, devices: opening them reports any problem.
            _ => out.inputs.push(InputSpec::Path(path.clone())),
        }
    }
    out
}

/// The error logs of `dir` in rotation order, then its access logs
/// (`*access*log*`), then those of the folders below it (by name), into
/// `found`. A folder with no `*error*log*` file gives the files whose
/// first lines are an error log's, then those whose first lines are an
/// access log's; the others are listed in [`Expanded::unread`].
fn walk_dir(
    dir: &Path,
    walk: &Walk<'_>,
    depth: usize,
    seen: &mut std::collections::HashSet<PathBuf>,
    found: &mut Vec<PathBuf>,
    out: &mut Expanded,
) -> io::Result<()> {
    // Each folder once, however links lead to it (a loop included); `seen`
    // holds the files read too.
    if !seen.insert(fs::canonicalize(dir)?) {
        return Ok(());
    }
    let mut logs = logs_named_in(dir, "error", &mut out.skipped)?;
    if !logs.is_empty() && walk.access {
        logs.extend(logs_named_in(dir, "access", &mut out.skipped)?);
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    if logs.is_empty() {
        let mut by_content = Vec::new();
        let mut access = Vec::new();
        for path in entries
            .iter()
            .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
        {
            match first_bytes(path) {
                Ok(head) => match (walk.looks)(&head) {
                    Looks::ErrorLog => by_content.push(path.clone()),
                    Looks::AccessLog if walk.access => access.push(path.clone()),
                    Looks::AccessLog => out.unread.push((
                        path.display().to_string(),
                        "an access log, read with a --max-rate rule only",
                    )),
                    Looks::Unknown => out.unread.push((
                        path.display().to_string(),
                        "not an error or access log (unknown format)",
                    )),
                },
                Err(e) => out.skipped.push(format!(
                    "{}: skipped: {}",
                    path.display(),
                    crate::error::describe_io(&e)
                )),
            }
        }
        by_content.sort_by_cached_key(|p| rotation_key(p));
        access.sort_by_cached_key(|p| rotation_key(p));
        by_content.extend(access);
        logs = by_content;
    }
    // A file reached twice (`/var/log/containers/*.log` are links into
    // `/var/log/pods`) is read once, where it is met first.
    found.extend(
        logs.into_iter()
            .filter(|p| fs::canonicalize(p).map_or(true, |c| seen.insert(c))),
    );
    if !walk.recursive || depth >= MAX_DEPTH {
        return Ok(());
    }
    for sub in entries
        .iter()
        .filter(|p| fs::metadata(p).is_ok_and(|m| m.is_dir()))
    {
        if let Err(e) = walk_dir(sub, walk, depth + 1, seen, found, out) {
            out.skipped.push(format!(
                "{}: skipped: {}",
                sub.display(),
                crate::error::describe_io(&e)
            ));
        }
    }
    Ok(())
}

/// The first [`HEAD`] bytes of a regular file, decompressed.
fn first_bytes(path: &Path) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut r = match sniff(Box::new(file)) {
        Ok(r) => r,
        // Binary, or compressed in a format not read: no log of ours.
        Err(_) => return Ok(Vec::new()),
    };
    let mut head = vec![0u8; HEAD];
    let n = read_head(&mut r, &mut head)?;
    head.truncate(n);
    Ok(head)
}

/// Whether an input may hold access-log lines: standard input, anything
/// that is not a regular file (a FIFO cannot be peeked at) and a file
/// whose first bytes (decompressed) are not an error log's may.
pub fn may_hold_access_lines(input: &InputSpec, looks: &dyn Fn(&[u8]) -> Looks) -> bool {
    match input {
        InputSpec::Stdin => true,
        // Not opened unless a regular file: opening a FIFO to peek would
        // let its writer in, to find nobody reading when it writes.
        InputSpec::Path(p) | InputSpec::Listed(p) => {
            !fs::metadata(p).is_ok_and(|m| m.is_file())
                || first_bytes(p).map_or(true, |head| looks(&head) != Looks::ErrorLog)
        }
    }
}

/// What a file that is not a regular one is, for messages.
pub fn kind_of(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The regular files of `dir` whose name matches `*WORD*log*` (`error`,
/// `access`), oldest rotation first (`error.log.2.gz`, `error.log.1`,
/// `error.log`). Links are followed; the names of other matching entries
/// (FIFOs, devices, sockets, links to them or to nothing) go to `skipped`
/// with the reason.
fn logs_named_in(dir: &Path, word: &str, skipped: &mut Vec<String>) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // Lossy, so a name with bytes that are not UTF-8 is still matched
        // (and read under its real path) instead of silently skipped.
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let named = name
            .find(word)
            .is_some_and(|i| name[i + word.len()..].contains("log"));
        // `error_access.log` is read once, as an error log.
        if !named
            || (word != "error"
                && name
                    .find("error")
                    .is_some_and(|i| name[i + 5..].contains("log")))
        {
            continue;
        }
        let path = entry.path();
        // Followed through links: `error.log -> /dev/stderr` is a device.
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => found.push(path),
            Ok(m) if m.is_dir() => {}
            Ok(m) => skipped.push(format!(
                "{}: skipped: {}, not a regular file",
                path.display(),
                kind_of(&m)
            )),
            Err(e) => skipped.push(format!(
                "{}: skipped: {}",
                path.display(),
                crate::error::describe_io(&e)
            )),
        }
    }
    found.sort_by_cached_key(|p| rotation_key(p));
    Ok(found)
}

/// Sort key: the base name, then the rotation number descending (a higher
/// number is older), the live file (no number) last.
fn rotation_key(path: &Path) -> (String, Reverse<u64>, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let trimmed = [".gz", ".bz2", ".xz", ".zst"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(&name);
    if let Some((base, num)) = trimmed.rsplit_once('.')
        && let Ok(n) = num.parse::<u64>()
    {
        return (base.to_string(), Reverse(n), name.clone());
    }
    (trimmed.to_string(), Reverse(0), name.clone())
}

/// Size in bytes of an input on disk, when it has one (not stdin, FIFOs).
pub fn size_on_disk(spec: &InputSpec) -> Option<u64> {
    match spec {
        InputSpec::Stdin => None,
        InputSpec::Path(p) | InputSpec::Listed(p) => fs::metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len()),
    }
}

/// Size in bytes of an input that is a regular file stored as it reads
/// (no compression's magic bytes first): what reading it yields, unless
/// it grows meanwhile. `None` for anything else (stdin, FIFOs, compressed
/// files, a file that cannot be opened).
pub fn plain_size(spec: &InputSpec) -> Option<u64> {
    Some(open_plain(spec)?.0.metadata().ok()?.len())
}

/// An input that is a regular file of text stored as it reads (no
/// compression's magic bytes first, not binary), opened, with the bytes
/// of a byte-order mark to skip: what can be read in place, as [`sniff`]
/// would pass it through. `None` for anything else (stdin, FIFOs,
/// compressed or binary files, a file that cannot be opened), which
/// [`open_counted`] reads or reports.
pub fn open_plain(spec: &InputSpec) -> Option<(File, u64)> {
    let path = match spec {
        InputSpec::Stdin => return None,
        InputSpec::Path(p) | InputSpec::Listed(p) => p,
    };
    // Looked at before it is opened, as a FIFO must not be.
    fs::metadata(path).ok().filter(|m| m.is_file())?;
    let mut file = open_regular(path).ok()?;
    let mut head = vec![0u8; HEAD];
    let got = read_head(&mut file, &mut head).ok()?;
    let head = &head[..got];
    if Codec::of(head).is_some() || not_text(head).is_some() {
        return None;
    }
    let skip = if head.starts_with(BOM) { BOM.len() } else { 0 };
    Some((file, skip as u64))
}

/// A reader that adds the bytes it reads to a shared counter (bytes as
/// stored, before decompression), for progress.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens an input for reading, decompressing gzip when its first bytes
/// are the gzip magic; the bytes read from the input as stored are added
/// to `count`.
pub fn open_counted(
    spec: &InputSpec,
    count: Option<Arc<AtomicU64>>,
) -> io::Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match spec {
        InputSpec::Stdin => Box::new(io::stdin()),
        InputSpec::Path(p) => {
            let file = File::open(p)?;
            if file.metadata()?.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            Box::new(file)
        }
        InputSpec::Listed(p) => Box::new(open_regular(p)?),
    };
    sniff(counted(raw, count))
}

/// `raw`, counting its bytes into `count` if there is one.
pub fn counted(raw: Box<dyn Read + Send>, count: Option<Arc<AtomicU64>>) -> Box<dyn Read + Send> {
    match count {
        Some(count) => Box::new(Counted { inner: raw, count }),
        None => raw,
    }
}

/// Opens `path` for reading if it is a regular file, without ever
/// blocking: `O_NONBLOCK` makes opening a FIFO return at once (and a
/// device's open not wait), and the open file is looked at before a byte
/// is read. (`O_NONBLOCK` changes nothing for a regular file's reads.)
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other(format!(
            "{}, not a regular file",
            kind_of(&meta)
        )));
    }
    Ok(file)
}

/// Bytes looked at to tell what an input holds: its first 8 KiB.
pub const HEAD: usize = 8 * 1024;

/// The UTF-8 byte-order mark some editors and Windows tools write first.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Compression formats told by their magic bytes that upcause does not
/// decompress, with the command that does.
const UNSUPPORTED: &[(&[u8], &str, &str)] = &[
    (b"\x04\x22\x4d\x18", "lz4", "lz4 -dc"),
    (b"\x5d\x00\x00", "lzma", "xz -dc"),
    (b"\x1f\x9d", "compress (.Z)", "gzip -dc"),
    (b"PK\x03\x04", "zip", "unzip -p"),
    (b"7z\xbc\xaf\x27\x1c", "7-zip", "7z x -so"),
];

/// The compressions upcause reads, told by their magic bytes. Each
/// decoder reads concatenated members or streams to the end, as the
/// command-line tools do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// gzip (`1f 8b`).
    Gzip,
    /// bzip2 (`BZh`).
    Bzip2,
    /// xz (`fd 37 7a 58 5a 00`).
    Xz,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

impl Codec {
    /// The compression `head` starts with, if upcause reads it.
    pub fn of(head: &[u8]) -> Option<Codec> {
        [
            (&b"\x1f\x8b"[..], Codec::Gzip),
            (b"BZh", Codec::Bzip2),
            (b"\xfd7zXZ\x00", Codec::Xz),
            (b"\x28\xb5\x2f\xfd", Codec::Zstd),
        ]
        .into_iter()
        .find_map(|(magic, c)| head.starts_with(magic).then_some(c))
    }

    /// A reader of what `stream` holds decompressed.
    fn decoder<R: io::BufRead + Send + 'static>(
        self,
        stream: R,
    ) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Codec::Gzip => Box::new(MultiGzDecoder::new(stream)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(stream)),
            Codec::Xz => Box::new(lzma_rust2::XzReader::new(stream, true)),
            Codec::Zstd => Box::new(ZstdFrames::new(stream)?),
        })
    }
}

/// zstd frames one after the other (`cat a.zst b.zst`, as `zstd -d` reads
/// them): each decoded in turn to the end of the stream.
struct ZstdFrames<R: io::BufRead> {
    frame: Option<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>,
}

impl<R: io::BufRead> ZstdFrames<R> {
    fn new(stream: R) -> io::Result<Self> {
        let frame = ruzstd::decoding::StreamingDecoder::new(stream).map_err(io::Error::other)?;
        Ok(ZstdFrames { frame: Some(frame) })
    }
}

impl<R: io::BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(frame) = &mut self.frame else {
                return Ok(0);
            };
            let n = frame.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This frame is done: the next one, if the stream goes on.
            let Some(mut stream) = self.frame.take().map(|f| f.into_inner()) else {
                return Ok(0);
            };
            if stream.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.frame =
                Some(ruzstd::decoding::StreamingDecoder::new(stream).map_err(io::Error::other)?);
        }
    }
}

/// Why the first bytes of an input (`head`, after gzip decompression if it
/// was gzip) show that it is no text log: compressed in a format upcause
/// does not read, or binary (NUL bytes among many control characters).
/// `None` for text.
pub fn not_text(head: &[u8]) -> Option<String> {
    let head = head.strip_prefix(BOM).unwrap_or(head);
    for (magic, name, command) in UNSUPPORTED {
        if head.starts_with(magic) {
            return Some(format!(
                "{name}-compressed, which upcause does not read: decompress it first ({command} FILE | upcause analyze -)"
            ));
        }
    }
    if looks_binary(head) {
        return Some("binary file (NUL bytes), not a text log".to_string());
    }
    None
}

/// True when `head` holds NUL bytes among many control characters (5% or
/// more of it): an executable, an image, a database. A log line with a
/// stray NUL in it is still a log line, read and escaped like any other.
fn looks_binary(head: &[u8]) -> bool {
    if memchr::memchr(0, head).is_none() {
        return false;
    }
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
        .count();
    controls * 20 >= head.len()
}

/// Fills `buf` from `r` up to its length or the end; the bytes read.
fn read_head(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// `r` with its first [`HEAD`] bytes read ahead and put back in front.
fn peek(mut r: Box<dyn Read + Send>) -> io::Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut head = vec![0u8; HEAD];
    let got = read_head(&mut r, &mut head)?;
    head.truncate(got);
    Ok((head, r))
}

/// Looks at the first bytes of `raw`: gzip is wrapped in a multi-member
/// decoder, other compression and binary data are refused (an
/// error saying what the input is), and a UTF-8 byte-order
/// mark at the start is dropped. The stream comes back whole otherwise.
pub fn sniff(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let (head, rest) = peek(raw)?;
    let (head, rest) = match Codec::of(&head) {
        Some(codec) => {
            let stream = io::Cursor::new(head).chain(rest);
            peek(codec.decoder(io::BufReader::with_capacity(256 * 1024, stream))?)?
        }
        None => (head, rest),
    };
    if let Some(why) = not_text(&head) {
        return Err(io::Error::other(why));
    }
    let skip = if head.starts_with(BOM) { BOM.len() } else { 0 };
    let head = io::Cursor::new(head[skip..].to_vec());
    Ok(Box::new(head.chain(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Folders below read; a file with `[error]` in its first bytes is
    /// taken for an error log, one with `HTTP/1.1" ` for an access log.
    const TEST_WALK: Walk<'static> = Walk {
        recursive: true,
        access: true,
        looks: &|head: &[u8]| {
            if crate::bytes::find(head, b"[error]").is_some() {
                Looks::ErrorLog
            } else if crate::bytes::find(head, b"HTTP/1.1\" ").is_some() {
                Looks::AccessLog
            } else {
                Looks::Unknown
            }
        },
    };

    #[test]
    fn folders_below_in_order_links_once_and_files_told_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("nginx/old")).unwrap();
        fs::create_dir_all(root.join("pods/a")).unwrap();
        fs::create_dir_all(root.join("containers")).unwrap();
        let line = b"2026/11/21 09:37:49 [error] 1#1: x\n";
        for f in [
            "nginx/error.log",
            "nginx/error.log.1",
            "nginx/old/error.log.2.gz",
            "pods/a/0.log",
        ] {
            fs::write(root.join(f), line).unwrap();
        }
        fs::write(
            root.join("nginx/access.log"),
            b"1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1\n",
        )
        .unwrap();
        fs::write(
            root.join("containers/access-1.log"),
            b"1.2.3.4 - - [x] \"GET / HTTP/1.1\" 200 1\n",
        )
        .unwrap();
        fs::write(root.join("containers/notes.txt"), b"hello\n").unwrap();
        std::os::unix::fs::symlink(root.join("pods/a/0.log"), root.join("containers/web.log"))
            .unwrap();
        // A loop: read once.
        std::os::unix::fs::symlink(root, root.join("nginx/old/up")).unwrap();
        let names = |e: &Expanded| -> Vec<String> {
            e.inputs
                .iter()
                .map(|i| {
                    i.display_name()
                        .strip_prefix(&format!("{}/", root.display()))
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let e = expand(&[root.to_path_buf()], &TEST_WALK);
        assert_eq!(
            names(&e),
            [
                "containers/web.log",
                "containers/access-1.log",
                "nginx/error.log.1",
                "nginx/error.log",
                "nginx/access.log",
                "nginx/old/error.log.2.gz"
            ]
        );
        let unread: Vec<(String, &str)> = e
            .unread
            .iter()
            .map(|(p, why)| (p.rsplit('/').next().unwrap().to_string(), *why))
            .collect();
        assert_eq!(
            unread,
            [(
                "notes.txt".to_string(),
                "not an error or access log (unknown format)"
            )]
        );
        let e = expand(
            &[root.join("nginx")],
            &Walk {
                recursive: false,
                ..TEST_WALK
            },
        );
        assert_eq!(
            names(&e),
            ["nginx/error.log.1", "nginx/error.log", "nginx/access.log"]
        );
    }

    #[test]
    fn directory_lists_error_logs_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "error.log",
            "error.log.1",
            "error.log.2.gz",
            "error.log.10.gz",
            "access.log",
            "ssl_error_log",
            "notes.txt",
        ] {
            fs::write(dir.path().join(name), b"").unwrap();
        }
        let got: Vec<String> = logs_named_in(dir.path(), "error", &mut Vec::new())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            got,
            [
                "error.log.10.gz",
                "error.log.2.gz",
                "error.log.1",
                "error.log",
                "ssl_error_log"
            ]
        );
    }

    /// A log whose name is not UTF-8 was silently skipped, and a
    /// directory holding only such logs reported "no error logs".
    #[test]
    fn directory_lists_error_logs_with_non_utf8_names() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let odd = std::ffi::OsStr::from_bytes(b"error\xff.log");
        fs::write(dir.path().join(odd), b"x\n").unwrap();
        fs::write(
            dir.path()
                .join(std::ffi::OsStr::from_bytes(b"access\xff.log")),
            b"",
        )
        .unwrap();
        let found = logs_named_in(dir.path(), "error", &mut Vec::new()).unwrap();
        assert_eq!(found, vec![dir.path().join(odd)]);
        let e = expand(&[dir.path().to_path_buf()], &TEST_WALK);
        assert!(e.errors.is_empty());
        let access = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"access\xff.log"));
        assert_eq!(
            e.inputs,
            vec![
                InputSpec::Listed(dir.path().join(odd)),
                InputSpec::Listed(access)
            ]
        );
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let gz_named_plain = dir.path().join("plain.gz");
        fs::write(&gz_named_plain, b"hello\n").unwrap();
        let plain_named_gz = dir.path().join("error.log.1");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"inside\n").unwrap();
        fs::write(&plain_named_gz, enc.finish().unwrap()).unwrap();

        let mut s = String::new();
        open_counted(&InputSpec::Path(gz_named_plain), None)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "hello\n");
        s.clear();
        open_counted(&InputSpec::Path(plain_named_gz), None)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "inside\n");
    }

    #[test]
    fn binary_and_unsupported_compression_are_told_from_text() {
        assert_eq!(not_text(b"2026/11/20 10:00:01 [error] 7#7: x\n"), None);
        assert_eq!(not_text(b""), None);
        // A stray NUL in a log line is no binary file.
        assert_eq!(
            not_text(b"2026/11/20 10:00:01 [error] a\0b and more text\n"),
            None
        );
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0\x01\0\0\0";
        assert!(not_text(elf).unwrap().starts_with("binary file"));
        assert!(
            not_text(b"\x04\x22\x4d\x18xx")
                .unwrap()
                .starts_with("lz4-compressed")
        );
        assert!(
            not_text(b"PK\x03\x04xx")
                .unwrap()
                .starts_with("zip-compressed")
        );
        assert!(
            not_text(b"7z\xbc\xaf\x27\x1c")
                .unwrap()
                .starts_with("7-zip-compressed")
        );
        assert!(
            not_text(b"\xef\xbb\xbfPK\x03\x04")
                .unwrap()
                .starts_with("zip")
        );
        // What upcause decompresses is no reason to refuse.
        for magic in [&b"BZh91AY&SY"[..], b"\xfd7zXZ\0\0", b"\x28\xb5\x2f\xfd"] {
            assert!(Codec::of(magic).is_some());
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let mut s = String::new();
        sniff(Box::new(io::Cursor::new(b"\xef\xbb\xbfline\n".to_vec())))
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "line\n");
    }

    #[test]
    fn one_byte_file_is_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::write(&p, b"\x1f").unwrap();
        let mut v = Vec::new();
        open_counted(&InputSpec::Path(p), None)
            .unwrap()
            .read_to_end(&mut v)
            .unwrap();
        assert_eq!(v, b"\x1f");
    }

    #[test]
    fn missing_and_dash() {
        let Expanded { inputs, errors, .. } =
            expand(&[PathBuf::from("-"), PathBuf::from("/no/such")], &TEST_WALK);
        assert_eq!(
            inputs,
            vec![InputSpec::Stdin, InputSpec::Path(PathBuf::from("/no/such"))]
        );
        assert!(errors.is_empty());
        assert!(open_counted(&inputs[1], None).is_err());
    }

    /// A FIFO or a link to a device among a directory's error
    /// logs (the nginx image's `error.log -> /dev/stderr`) hung the run;
    /// they are skipped with a note, and one that takes a listed file's
    /// place later is refused without blocking.
    #[test]
    fn only_regular_files_are_read_from_directories() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("error.log.1"), b"x\n").unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("error.log")).unwrap();
        let fifo = dir.path().join("php_error.log");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let e = expand(&[dir.path().to_path_buf()], &TEST_WALK);
        assert!(e.errors.is_empty());
        assert_eq!(
            e.inputs,
            vec![InputSpec::Listed(dir.path().join("error.log.1"))]
        );
        let mut skipped = e.skipped.clone();
        skipped.sort();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(
            skipped[0].ends_with("error.log: skipped: a character device, not a regular file"),
            "{skipped:?}"
        );
        assert!(
            skipped[1].ends_with("php_error.log: skipped: a FIFO, not a regular file"),
            "{skipped:?}"
        );
        // A listed file replaced by a FIFO: refused at once, not waited on.
        fs::remove_file(dir.path().join("error.log.1")).unwrap();
        fs::rename(&fifo, dir.path().join("error.log.1")).unwrap();
        let err = open_counted(&e.inputs[0], None).err().unwrap();
        assert_eq!(err.to_string(), "a FIFO, not a regular file");
    }
}

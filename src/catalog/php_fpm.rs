//! php-fpm's classifier: its own log's messages (`server reached
//! pm.max_children`, a child's crash) and its slowlog's entries, the pool
//! as the upstream.

use super::compiled::{Classified, Compiled, CompiledCause, RowFilter, finish};
use super::rows::Match;
use crate::parse::Head;
use crate::parse::php_fpm::Body;

/// The php-fpm rows.
pub struct PhpFpm {
    rows: Vec<Compiled>,
    filter: RowFilter,
    /// php-fpm's own messages, told by their fixed words.
    phrases: Phrases,
}

impl PhpFpm {
    /// The php-fpm rows, in table order.
    pub fn new(rows: Vec<Compiled>) -> PhpFpm {
        let filter = RowFilter::new(&rows);
        let phrases = Phrases::new(&rows);
        PhpFpm {
            rows,
            filter,
            phrases,
        }
    }

    /// The row that fits a message: the one [`RowFilter::first_fit`]
    /// gives, read off the message's fixed words where php-fpm wrote one of
    /// its own; and whether the message is known to hold no request.
    #[inline]
    fn fit(&self, message: &[u8]) -> Option<(&Compiled, bool)> {
        match self.phrases.fit(message) {
            Some(f) => Some((self.rows.get(f.row)?, f.no_request)),
            None => Some((self.filter.first_fit(&self.rows, message, None)?, false)),
        }
    }

    /// Classifies a php-fpm line.
    #[inline]
    pub fn classify<'a>(
        &self,
        head: &Head<'a>,
        scratch: &'a mut Vec<u8>,
    ) -> Option<Classified<'a>> {
        if matches!(head.level, b"DEBUG" | b"NOTICE") {
            return None;
        }
        let body = Body::parse(head.body);
        let (c, no_request) = self.fit(body.message)?;
        // Not a failure: nothing to read from the message.
        if matches!(c.cause, CompiledCause::Ignore) {
            return None;
        }
        let upstream = body.pool.map(|p| upstream(scratch, p));
        let route = if no_request {
            None
        } else {
            self.route(body.message)
        };
        finish(c, None, upstream, route, None)
    }

    /// The request in `(request: "GET /x") `, as `between` finds it.
    #[inline]
    fn route<'a>(&self, m: &'a [u8]) -> Option<&'a [u8]> {
        // The first `(` that opens it: a script's path seldom has one.
        let mut at = 0;
        let start = loop {
            let i = at + crate::bytes::find_byte(b'(', &m[at..])?;
            if m[i..].starts_with(REQUEST) {
                break i + REQUEST.len();
            }
            at = i + 1;
        };
        let rest = &m[start..];
        // Likewise the first `"` that a `)` follows.
        let mut at = 0;
        let end = loop {
            match crate::bytes::find_byte(b'"', &rest[at..]) {
                Some(i) if rest.get(at + i + 1) == Some(&b')') => break at + i,
                Some(i) => at += i + 1,
                None => break rest.len(),
            }
        };
        Some(&rest[..end])
    }
}

/// The upstream of a pool's line, `php-fpm:<pool>`, built in `scratch`,
/// where its `php-fpm:` is usually left from the line before.
#[inline]
fn upstream<'a>(scratch: &'a mut Vec<u8>, pool: &[u8]) -> &'a [u8] {
    const PREFIX: &[u8] = b"php-fpm:";
    if scratch.starts_with(PREFIX) {
        scratch.truncate(PREFIX.len());
    } else {
        scratch.clear();
        scratch.extend_from_slice(PREFIX);
    }
    scratch.extend_from_slice(pool);
    scratch
}

/// What opens the request a timed-out script was serving.
const REQUEST: &[u8] = b"(request: \"";

/// The row of a message, read off php-fpm's fixed words (see
/// [`Phrases::fit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fit {
    /// Index of the row in the table.
    row: usize,
    /// The message is all fixed words, numbers and a signal name: it holds
    /// no `(request: "`.
    no_request: bool,
}

impl Fit {
    /// `row`, for a message the template matched whole.
    fn whole(row: Option<usize>) -> Option<Fit> {
        row.map(|row| Fit {
            row,
            no_request: true,
        })
    }

    /// `row`, for a message that was searched for the earlier rows' texts.
    fn searched(row: Option<usize>) -> Option<Fit> {
        row.map(|row| Fit {
            row,
            no_request: false,
        })
    }
}

/// php-fpm writes a few messages of its own, most of a failing pool's
/// lines (sapi/fpm/fpm/fpm_children.c, fpm_process_ctl.c,
/// fpm_request.c):
///
/// - `server reached pm.max_children setting (%d), consider raising it`
/// - `seems busy (you may need to increase pm.start_servers, or
///   pm.min/max_spare_servers), spawning %d children, there are %d idle,
///   and %d total children`
/// - `child %d, script '%s' (request: "%s %s") execution timed out
///   (%d.%06d sec), terminating`
/// - `child %d exited on signal %d (%s%s) after %ld.%06d seconds from
///   start` (the name, and ` - core dumped`)
/// - `child %d exited with code %d after %ld.%06d seconds from start`
///
/// Their fixed words tell the row [`RowFilter::first_fit`] would find,
/// without the multi-literal search: a message that holds a row's text
/// fits the first row whose text it holds, so each phrase stands for its
/// own row when the message holds the text of no row before it. Either
/// the phrase is the whole message (numbers and a signal name between its
/// words, which hold no other row's text), or a search for words that every
/// row before it has (`reached`, `seems busy`) shows them absent. A phrase
/// is used only while the rows before its own are ones it rules out so
/// (checked when the table is compiled); any other message goes to the
/// row filter.
struct Phrases {
    /// Rows of the texts each phrase stands for, `None` where the rows
    /// before it are not ones the phrase rules out.
    max_children: Option<usize>,
    busy: Option<usize>,
    timed_out: Option<usize>,
    signal: Option<usize>,
    code_zero: Option<usize>,
    code: Option<usize>,
}

/// The texts of the rows the phrases stand for.
const MAX_CHILDREN: &str = "reached pm.max_children setting";
const BUSY: &str = "seems busy (you may need to increase pm.start_servers";
const TIMED_OUT: &str = "execution timed out";
const SIGNAL: &str = "exited on signal";
const CODE_ZERO: &str = "exited with code 0 ";
const CODE: &str = "exited with code";
/// Words searched for: every row before the busy pool's holds the first,
/// every row before the timed-out script's one of the two.
const REACHED: &str = "reached";
const SEEMS_BUSY: &str = "seems busy";
/// The texts a whole `exited on signal` or `exited with code` message
/// cannot hold (lower-case words, a newline, or a signal name the message
/// is checked not to have). `(SIGTERM` and `(SIGQUIT` are in it only
/// for the signal names they start: [`Phrases::exited`] leaves those to
/// the row filter.
const NOT_IN_EXITED: &[&str] = &[
    "reached pm.max_children setting",
    "reached max_children setting",
    "maximum number of processes has been reached",
    "seems busy (you may need to increase pm.start_servers",
    "execution timed out",
    "\nscript_filename = ",
    "(SIGTERM",
    "(SIGQUIT",
];

impl Phrases {
    fn new(rows: &[Compiled]) -> Phrases {
        // A code other than 0 rules out the text of code 0 too.
        let not_in_code: Vec<&str> = NOT_IN_EXITED.iter().copied().chain([SIGNAL]).collect();
        let not_in_other_code: Vec<&str> = not_in_code.iter().copied().chain([CODE_ZERO]).collect();
        Phrases {
            max_children: own_row(rows, MAX_CHILDREN, &[], &[]),
            busy: own_row(rows, BUSY, &[REACHED], &[]),
            timed_out: own_row(rows, TIMED_OUT, &[REACHED, SEEMS_BUSY], &[]),
            signal: own_row(rows, SIGNAL, &[], NOT_IN_EXITED),
            code_zero: own_row(rows, CODE_ZERO, &[], &not_in_code),
            code: own_row(rows, CODE, &[], &not_in_other_code),
        }
    }

    /// The row [`RowFilter::first_fit`] gives `m`, when `m` is one of the
    /// phrases; `None` when it is not (or the phrase is not in use): the
    /// row filter decides then.
    #[inline]
    fn fit(&self, m: &[u8]) -> Option<Fit> {
        let (whole, searched) = (Fit::whole, Fit::searched);
        match m.first()? {
            b's' => {
                if max_children_whole(m) {
                    whole(self.max_children)
                } else if m.starts_with(b"server reached pm.max_children setting ") {
                    searched(self.max_children)
                } else if busy_whole(m) {
                    whole(self.busy)
                } else if m.starts_with(BUSY.as_bytes()) && !holds_guards(m, false) {
                    searched(self.busy)
                } else {
                    None
                }
            }
            b'c' => {
                let rest = m.strip_prefix(b"child ")?;
                let rest = &rest[digits(rest)?..];
                if let Some(e) = rest.strip_prefix(b" exited ") {
                    return self.exited(e);
                }
                // `child %d, script '` holds its `h` too early to end
                // `reached`, and `execution timed out (%d.%06d sec),
                // terminating` neither letter: only the script and the
                // request between are looked over.
                if let Some(script) = rest.strip_prefix(b", script '")
                    && let Some(tail) = timed_out_tail(m)
                    && !holds_guards_between(m, m.len() - script.len(), tail, true)
                {
                    return searched(self.timed_out);
                }
                None
            }
            _ => None,
        }
    }

    /// `on signal %d (%s%s) after ...` or `with code %d after ...`, the
    /// rest of a `child %d exited ` message.
    #[inline]
    fn exited(&self, e: &[u8]) -> Option<Fit> {
        let whole = Fit::whole;
        if let Some(s) = e.strip_prefix(b"on signal ") {
            let s = s[digits(s)?..].strip_prefix(b" (")?;
            let (name, s) = s.split_at(signal_name(s));
            if name.starts_with(b"SIGTERM") || name.starts_with(b"SIGQUIT") {
                return None;
            }
            let s = s.strip_prefix(b" - core dumped").unwrap_or(s);
            let s = s.strip_prefix(b") after ")?;
            return seconds_from_start(s).then_some(()).and(whole(self.signal));
        }
        let s = e.strip_prefix(b"with code ")?;
        let n = digits(s)?;
        let (code, s) = s.split_at(n);
        let s = s.strip_prefix(b" after ")?;
        if !seconds_from_start(s) {
            return None;
        }
        whole(if code == b"0" {
            self.code_zero
        } else {
            self.code
        })
    }
}

/// The row whose text is `text` (matched by that text alone), if every
/// row before it holds one of the words in `guards` or is one of the texts
/// in `ruled_out`.
fn own_row(rows: &[Compiled], text: &str, guards: &[&str], ruled_out: &[&str]) -> Option<usize> {
    let i = rows
        .iter()
        .position(|c| matches!(c.sig.matcher, Match::Contains(t) if t == text))?;
    rows[..i]
        .iter()
        .all(|c| match c.sig.matcher {
            Match::Contains(t) => ruled_out.contains(&t) || guards.iter().any(|g| t.contains(g)),
            _ => false,
        })
        .then_some(i)
}

/// `server reached pm.max_children setting (%d), consider raising it`,
/// the words between its numbers.
const MAX_CHILDREN_WORDS: (&[u8; 40], &[u8; 22]) = (
    b"server reached pm.max_children setting (",
    b"), consider raising it",
);
/// `seems busy (...), spawning %d children, there are %d idle, and %d
/// total children`, likewise. Its words hold `reached` nowhere, nor any
/// other row's text but its own.
const BUSY_WORDS: (&[u8; 94], &[u8; 21], &[u8; 11], &[u8; 15]) = (
    b"seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning ",
    b" children, there are ",
    b" idle, and ",
    b" total children",
);

/// `m` less the fixed `word` it starts with: a comparison of known
/// length, in place, where a slice's would call `memcmp`.
#[inline(always)]
fn strip_word<'m, const N: usize>(m: &'m [u8], word: &[u8; N]) -> Option<&'m [u8]> {
    match m.split_first_chunk::<N>() {
        Some((head, rest)) if head == word => Some(rest),
        _ => None,
    }
}

/// `m` less the number (a run of digits) and the fixed `word` it starts
/// with.
#[inline(always)]
fn number_then<'m, const N: usize>(m: &'m [u8], word: &[u8; N]) -> Option<&'m [u8]> {
    strip_word(&m[digits(m)?..], word)
}

/// Whether `m` is [`MAX_CHILDREN_WORDS`] with a number between the two,
/// all of it.
#[inline]
fn max_children_whole(m: &[u8]) -> bool {
    let (first, last) = MAX_CHILDREN_WORDS;
    strip_word(m, first)
        .and_then(|m| number_then(m, last))
        .is_some_and(<[u8]>::is_empty)
}

/// Whether `m` is [`BUSY_WORDS`] with a number between each two, all of
/// it.
#[inline]
fn busy_whole(m: &[u8]) -> bool {
    let (first, children, idle, total) = BUSY_WORDS;
    strip_word(m, first)
        .and_then(|m| number_then(m, children))
        .and_then(|m| number_then(m, idle))
        .and_then(|m| number_then(m, total))
        .is_some_and(<[u8]>::is_empty)
}

/// Whether `m` is `words` with a number (a run of digits) between each
/// two, all of it: the plain reading of [`max_children_whole`] and
/// [`busy_whole`].
#[cfg(test)]
fn numbers_between(m: &[u8], words: &[&[u8]]) -> bool {
    let Some((first, rest)) = words.split_first() else {
        return m.is_empty();
    };
    let Some(mut m) = m.strip_prefix(*first) else {
        return false;
    };
    for w in rest {
        let Some(n) = digits(m) else { return false };
        match m[n..].strip_prefix(*w) {
            Some(r) => m = r,
            None => return false,
        }
    }
    m.is_empty()
}

/// The length of the run of digits `b` starts with, if there is one:
/// eight bytes at a time (a pid, a code, the seconds of a number end
/// within the first eight), the last few byte by byte.
#[inline]
fn digits(b: &[u8]) -> Option<usize> {
    let n = crate::bytes::digit_run(b);
    (n > 0).then_some(n)
}

/// The length of the run of upper-case letters and digits `b` starts with
/// (a signal's name): eight bytes at a time, the last few byte by byte.
#[inline]
fn signal_name(b: &[u8]) -> usize {
    use crate::bytes::within;
    let mut n = 0;
    while let Some(w) = b.get(n..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*w);
        let name = within(w, b'A', b'Z') | within(w, b'0', b'9');
        let not_name = !name & 0x8080_8080_8080_8080;
        if not_name != 0 {
            return n + not_name.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        .count()
}

/// Whether `b` is `%ld.%06d seconds from start`, all of it.
#[inline]
fn seconds_from_start(b: &[u8]) -> bool {
    let Some(n) = digits(b) else { return false };
    let Some(b) = b[n..].strip_prefix(b".") else {
        return false;
    };
    digits(b).is_some_and(|n| &b[n..] == b" seconds from start")
}

/// Where `execution timed out (%d.%06d sec), terminating` starts, when a
/// message ends in it.
#[inline]
fn timed_out_tail(m: &[u8]) -> Option<usize> {
    const TAIL: &[u8; 18] = b" sec), terminating";
    const BEFORE: &[u8; 21] = b"execution timed out (";
    let (m, tail) = m.split_last_chunk::<18>()?;
    if tail != TAIL {
        return None;
    }
    let i = digits_or_dots_from(m);
    (i < m.len() && m[..i].last_chunk::<21>() == Some(BEFORE)).then(|| i - BEFORE.len())
}

/// Where the run of digits and dots that `m` ends with starts (`m.len()`
/// when there is none): eight bytes at a time while all eight are, then
/// byte by byte.
#[inline]
fn digits_or_dots_from(m: &[u8]) -> usize {
    use crate::bytes::within;
    let mut i = m.len();
    while let Some(w) = i.checked_sub(8).and_then(|s| m[s..i].first_chunk::<8>()) {
        let w = u64::from_le_bytes(*w);
        if within(w, b'0', b'9') | within(w, b'.', b'.') != 0x8080_8080_8080_8080 {
            break;
        }
        i -= 8;
    }
    while i > 0 && (m[i - 1].is_ascii_digit() || m[i - 1] == b'.') {
        i -= 1;
    }
    i
}

/// Whether `m` holds [`REACHED`] (or, with `busy`, [`SEEMS_BUSY`]): each
/// place of an `h` (`y`) is looked at, the rarer letter of the word, in
/// one pass over the message.
#[inline]
fn holds_guards(m: &[u8], busy: bool) -> bool {
    holds_guards_between(m, 0, m.len(), busy)
}

/// [`holds_guards`] where the `h`s (`y`s) can only be from `from` to `to`:
/// the words of a message around them hold none.
#[inline]
fn holds_guards_between(m: &[u8], from: usize, to: usize, busy: bool) -> bool {
    const H: usize = 4; // "reached"[4] == b'h'
    const Y: usize = 9; // "seems busy"[9] == b'y'
    let at =
        |i: usize, back: usize, word: &str| i >= back && m[i - back..].starts_with(word.as_bytes());
    let Some(part) = m.get(from..to) else {
        return holds_guards_between(m, 0, m.len(), busy);
    };
    if busy {
        any_place(part, b'h', b'y', |i| match part[i] {
            b'h' => at(from + i, H, REACHED),
            _ => at(from + i, Y, SEEMS_BUSY),
        })
    } else {
        any_place(part, b'h', b'h', |i| at(from + i, H, REACHED))
    }
}

/// Whether `hit` holds at a place of `hay` whose byte is `a` or `b`, the
/// places tried in order: 16 bytes at a time inline, the last 16 as one
/// block overlapping the one before (a `memchr` call costs about 60
/// instructions before its first compare, and a message has several
/// such places).
#[inline(always)]
fn any_place(hay: &[u8], a: u8, b: u8, mut hit: impl FnMut(usize) -> bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    if hay.len() >= 16 {
        use crate::bytes::Block;
        let mut any = |at: usize, mut places: u16| {
            while places != 0 {
                if hit(at + places.trailing_zeros() as usize) {
                    return true;
                }
                places &= places - 1;
            }
            false
        };
        let mut at = 0;
        while let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk::<16>) {
            if any(at, Block::load(block).eq2(a, b)) {
                return true;
            }
            at += 16;
        }
        let last = hay.len() - 16;
        return at < hay.len()
            && hay[last..]
                .first_chunk::<16>()
                // Only the bytes from `at` on are new.
                .is_some_and(|block| any(at, Block::load(block).eq2(a, b) >> (at - last)));
    }
    hay.iter()
        .enumerate()
        .any(|(i, &c)| (c == a || c == b) && hit(i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::compiled::{between, compile};
    use crate::catalog::signatures::SIGNATURES;
    use crate::event::Server;
    use memchr::memmem;

    fn rows() -> Vec<Compiled> {
        SIGNATURES
            .iter()
            .filter(|s| s.server == Server::PhpFpm)
            .map(compile)
            .collect()
    }

    /// Messages php-fpm writes, as they come and changed in every way that
    /// could fool the phrases: other rows' texts put in, words cut or
    /// changed, numbers missing, the signals and codes that are no crash.
    fn messages(rows: &[Compiled]) -> Vec<Vec<u8>> {
        let mut base: Vec<String> = vec![
            "server reached pm.max_children setting (16), consider raising it".into(),
            "server reached pm.max_children setting (5), consider raising it, reached max_children setting".into(),
            "server reached max_children setting (5), consider raising it".into(),
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 32 children, there are 0 idle, and 33 total children".into(),
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 9 total children, reached pm.max_children setting".into(),
            "child 40235, script '/var/www/app/public/index.php' (request: \"GET /api/v2/search/530048/action11\") execution timed out (30.636950 sec), terminating".into(),
            "child 1, script '/reached/x.php' (request: \"GET /\") execution timed out (1.5 sec), terminating".into(),
            "child 1, script '/x.php' (request: \"GET /seems busy\") execution timed out (1.5 sec), terminating".into(),
            "child 1, script '/x.php' (request: \"GET /maximum number of processes has been reached\") execution timed out (1.5 sec), terminating".into(),
            "child 1, script '/x.php' (request: \"GET /?q=exited on signal\") execution timed out (1.5 sec), terminating".into(),
            "child 1, script '/x.php' (request: \"GET /\") execution timed out ( sec), terminating".into(),
            "child 1, script '/x.php' (request: \"GET /\") execution timed out (1.5 sec), terminating now".into(),
            "child 1, script '/x.php' (request: \"GET /\") execution timed out (1.5x sec), terminating".into(),
            "child 7, script '/x.php' execution timed out (2.000001 sec), terminating".into(),
            "child 10354 exited on signal 11 (SIGSEGV) after 9.338758 seconds from start".into(),
            "child 10354 exited on signal 11 (SIGSEGV - core dumped) after 9.338758 seconds from start".into(),
            "child 10354 exited on signal 6 () after 0.000001 seconds from start".into(),
            "child 10359 exited on signal 15 (SIGTERM) after 12.011408 seconds from start".into(),
            "child 10359 exited on signal 3 (SIGQUIT) after 12.011408 seconds from start".into(),
            "child 10359 exited on signal 3 (SIGQUITX) after 12.011408 seconds from start".into(),
            "child 10359 exited on signal 15 (SIGTERMS - core dumped) after 1.0 seconds from start".into(),
            "child 10359 exited on signal 9 (SIGKILL) after 12.011408 seconds from start, reached pm.max_children setting".into(),
            "child 10359 exited on signal 9 (SIGKILL) after 12. seconds from start".into(),
            "child 10359 exited on signal 9 (SIGKILL) after .5 seconds from start".into(),
            "child 10359 exited on signal 9 (SIGKILL) after 1.5 seconds from star".into(),
            "child 10359 exited on signal x (SIGKILL) after 1.5 seconds from start".into(),
            "child 10359 exited on signal 9 (SIGKILL (SIGTERM) after 1.5 seconds from start".into(),
            "child 10359 exited on signal 9 (sigkill) after 1.5 seconds from start".into(),
            "child 15192 exited with code 0 after 2943.687159 seconds from start".into(),
            "child 15192 exited with code 1 after 2943.687159 seconds from start".into(),
            "child 15192 exited with code 00 after 1.5 seconds from start".into(),
            "child 15192 exited with code 10 after 1.5 seconds from start".into(),
            "child 15192 exited with code -1 after 1.5 seconds from start".into(),
            "child 15192 exited with code  after 1.5 seconds from start".into(),
            "child 15192 exited with code 255 after 1.5 seconds from start (SIGTERM".into(),
            "child 15192 exited with code 255 after 1.5 seconds".into(),
            "child 15192 exited on code 1 after 1.5 seconds from start".into(),
            "child 27793 said into stderr: \"PHP Warning:  Undefined array key \"page\" in /x.php on line 307\"".into(),
            "child 27793 said into stderr: \"child 1 exited on signal 11 (SIGSEGV) after 1.5 seconds from start\"".into(),
            "child failed to initialize".into(),
            "child 12 started".into(),
            "child  exited on signal 11 (SIGSEGV) after 1.5 seconds from start".into(),
            "childs 1 exited on signal 11 (SIGSEGV) after 1.5 seconds from start".into(),
            "server reached pm.max_children setting".into(),
            "server reached pm.max_children setting (), consider raising it".into(),
            "server reached pm.max_children setting (5), consider raising it (request: \"GET /\")".into(),
            "server reached pm.max_children setting (5x), consider raising it".into(),
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 32 children, there are 0 idle, and 33 total children (request: \"GET /\")".into(),
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning  children, there are 0 idle, and 33 total children".into(),
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 1 children, there are 0 idle, and 1 total children, reached".into(),
            "seems busy (you may need to increase pm.start_servers".into(),
            "seems busy".into(),
            "s".into(),
            "c".into(),
            "child ".into(),
            String::new(),
        ];
        for dir in ["php-fpm", "incidents"] {
            let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if !path.to_string_lossy().contains("php-fpm") {
                    continue;
                }
                for line in String::from_utf8_lossy(&std::fs::read(&path).unwrap()).lines() {
                    if let Some(h) = crate::parse::php_fpm::head(line.as_bytes()) {
                        let m = Body::parse(h.body).message;
                        base.push(String::from_utf8_lossy(m).into_owned());
                    }
                }
            }
        }
        let texts: Vec<&str> = rows
            .iter()
            .filter_map(|c| match c.sig.matcher {
                Match::Contains(t) => Some(t),
                _ => None,
            })
            .collect();
        let mut all: Vec<Vec<u8>> = Vec::new();
        for m in &base {
            all.push(m.clone().into_bytes());
            // Every row's text put in at every word boundary, and each
            // prefix of the message.
            for (i, _) in m.match_indices(' ').chain([(m.len(), "")]) {
                for t in &texts {
                    all.push(format!("{}{t}{}", &m[..i], &m[i..]).into_bytes());
                }
                all.push(m.as_bytes()[..i].to_vec());
            }
            for sig in ["SIGTERM", "SIGQUIT", "SIGSEGV", "SIGTERM - core dumped"] {
                all.push(m.replace("SIGSEGV", sig).into_bytes());
            }
        }
        all
    }

    /// The phrases' words compared in place answer as the plain walk over
    /// the words does, on every message and every changed one, with a
    /// digit put in or taken out at each place.
    #[test]
    fn words_in_place_match_the_plain_walk() {
        let (a, b) = MAX_CHILDREN_WORDS;
        let max_children: &[&[u8]] = &[a, b];
        let (a, b, c, d) = BUSY_WORDS;
        let busy: &[&[u8]] = &[a, b, c, d];
        let mut all = messages(&rows());
        for m in all.clone() {
            for i in (0..m.len()).step_by(3) {
                let mut more = m.clone();
                more.insert(i, b'7');
                all.push(more);
                let mut less = m.clone();
                less.remove(i);
                all.push(less);
            }
        }
        let (mut whole_mc, mut whole_busy) = (0, 0);
        for m in &all {
            let plain = numbers_between(m, max_children);
            assert_eq!(
                max_children_whole(m),
                plain,
                "{}",
                String::from_utf8_lossy(m)
            );
            whole_mc += usize::from(plain);
            let plain = numbers_between(m, busy);
            assert_eq!(busy_whole(m), plain, "{}", String::from_utf8_lossy(m));
            whole_busy += usize::from(plain);
        }
        assert!(whole_mc > 2 && whole_busy > 2, "{whole_mc} {whole_busy}");
    }

    /// Where a phrase tells a message's row, it is the row the row filter
    /// finds (and the plain walk over the rows); and the phrases are in use
    /// with the table as it is, on the messages they are for.
    #[test]
    fn phrases_fit_like_the_row_filter() {
        let rows = rows();
        let filter = RowFilter::new(&rows);
        let phrases = Phrases::new(&rows);
        for (name, row) in [
            ("max_children", phrases.max_children),
            ("busy", phrases.busy),
            ("timed_out", phrases.timed_out),
            ("signal", phrases.signal),
            ("code_zero", phrases.code_zero),
            ("code", phrases.code),
        ] {
            assert!(row.is_some(), "{name} not in use with the table as it is");
        }
        let mut told = 0;
        for m in messages(&rows) {
            let plain = rows.iter().position(|c| c.matches(&m, None));
            let filtered = filter
                .first_fit(&rows, &m, None)
                .map(|c| rows.iter().position(|r| std::ptr::eq(r, c)).unwrap());
            assert_eq!(filtered, plain, "{:?}", String::from_utf8_lossy(&m));
            if let Some(f) = phrases.fit(&m) {
                told += 1;
                assert_eq!(Some(f.row), plain, "{:?}", String::from_utf8_lossy(&m));
                if f.no_request {
                    assert_eq!(
                        between(&m, b"(request: \"", b"\")"),
                        None,
                        "{:?}",
                        String::from_utf8_lossy(&m)
                    );
                }
            }
        }
        assert!(told > 100, "phrases told {told} messages");
        let told = |m: &str| phrases.fit(m.as_bytes()).map(|f| f.row);
        for m in [
            "server reached pm.max_children setting (16), consider raising it",
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 32 children, there are 0 idle, and 33 total children",
            "child 1, script '/x.php' (request: \"GET /a\") execution timed out (30.6 sec), terminating",
            "child 1 exited on signal 11 (SIGSEGV) after 1.5 seconds from start",
            "child 1 exited on signal 6 (SIGABRT - core dumped) after 1.5 seconds from start",
            "child 1 exited with code 0 after 1.5 seconds from start",
            "child 1 exited with code 3 after 1.5 seconds from start",
        ] {
            assert!(told(m).is_some(), "{m}");
        }
        // Messages that are all php-fpm's words hold no request: none is
        // searched for.
        for m in [
            "server reached pm.max_children setting (16), consider raising it",
            "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), spawning 32 children, there are 0 idle, and 33 total children",
            "child 1 exited on signal 11 (SIGSEGV) after 1.5 seconds from start",
        ] {
            assert_eq!(
                phrases.fit(m.as_bytes()).map(|f| f.no_request),
                Some(true),
                "{m}"
            );
        }
    }

    /// The one pass for `reached` and `seems busy` finds what the plain
    /// searches find.
    #[test]
    fn guards_match_the_plain_searches() {
        assert_eq!(&REACHED[4..5], "h");
        assert_eq!(&SEEMS_BUSY[9..10], "y");
        let rows = rows();
        let mut all = messages(&rows);
        for w in [
            "reached",
            "seems busy",
            "reache",
            "eached",
            "seems bus",
            "eems busy",
            "hy",
            "yh",
        ] {
            for pre in ["", "h", "y", "x reac", "seems "] {
                all.push(format!("{pre}{w}").into_bytes());
                all.push(format!("{pre}{w} tail").into_bytes());
            }
        }
        for m in &all {
            let has = |w: &str| memmem::find(m, w.as_bytes()).is_some();
            let s = String::from_utf8_lossy(m);
            assert_eq!(holds_guards(m, false), has(REACHED), "{s}");
            assert_eq!(
                holds_guards(m, true),
                has(REACHED) || has(SEEMS_BUSY),
                "{s}"
            );
        }
    }

    /// A table whose rows before a phrase's own are not ones it rules out
    /// leaves that phrase out of use.
    #[test]
    fn phrases_step_aside_for_other_rows() {
        let mut rows = rows();
        let extra = crate::catalog::rows::Signature::new(
            Server::PhpFpm,
            Match::Contains("after"),
            crate::catalog::rows::CauseRule::Ignore,
        );
        rows.insert(0, compile(&extra));
        let p = Phrases::new(&rows);
        assert_eq!(
            (p.max_children, p.busy, p.timed_out, p.signal, p.code),
            (None, None, None, None, None)
        );
    }

    /// The request read from the first `(` and `"` that open and close it
    /// is the one `between` reads.
    /// The run of digits and dots a message ends with starts where the
    /// byte-by-byte look finds it.
    #[test]
    fn digits_and_dots_eight_at_a_time_match_byte_by_byte() {
        fn plain(m: &[u8]) -> usize {
            let mut i = m.len();
            while i > 0 && (m[i - 1].is_ascii_digit() || m[i - 1] == b'.') {
                i -= 1;
            }
            i
        }
        let mut seed = 9u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        let alphabet = b"0123456789.../:-( \x7f\x80\xae\xb0\xb9\xff0a9";
        for _ in 0..20_000 {
            let len = next(40) as usize;
            let m: Vec<u8> = (0..len)
                .map(|_| {
                    if next(4) == 0 {
                        alphabet[next(alphabet.len() as u64) as usize]
                    } else {
                        b"0123456789."[next(11) as usize]
                    }
                })
                .collect();
            assert_eq!(digits_or_dots_from(&m), plain(&m), "{m:?}");
        }
        for b in 0..=255u8 {
            let m = [b'1', b'2', b'3', b'4', b'5', b'6', b'7', b, b'.', b'9'];
            assert_eq!(digits_or_dots_from(&m), plain(&m), "{b}");
            let m = [b; 9];
            assert_eq!(digits_or_dots_from(&m), plain(&m), "{b}");
        }
    }

    /// The guard words are found 16 bytes at a time where a search for
    /// them finds them, whatever the length and wherever they lie.
    #[test]
    fn guards_found_by_blocks_match_a_search() {
        let mut seed = 17u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        let pieces = [
            "reached",
            "seems busy",
            "h",
            "y",
            "reac",
            "hed",
            "seems bus",
            "x",
            "/index.php",
            "hy",
        ];
        for _ in 0..20_000 {
            let mut m = Vec::new();
            for _ in 0..next(8) {
                m.extend_from_slice(pieces[next(pieces.len() as u64) as usize].as_bytes());
            }
            let has = |w: &str| memmem::find(&m, w.as_bytes()).is_some();
            let s = String::from_utf8_lossy(&m);
            assert_eq!(holds_guards(&m, false), has(REACHED), "{s}");
            assert_eq!(
                holds_guards(&m, true),
                has(REACHED) || has(SEEMS_BUSY),
                "{s}"
            );
        }
    }

    /// The upstream built on what the scratch holds is the one built
    /// afresh, whatever another classifier left there.
    #[test]
    fn upstreams_built_on_the_last_match_built_afresh() {
        use crate::catalog::compiled::built;
        let mut scratch = Vec::new();
        for (left, pool) in [
            ("", "www"),
            ("php-fpm:www", "api"),
            ("php-fpm:a-long-pool-name", "x"),
            ("php-fpm", "www"),
            ("http://php-fpm:9000", "www"),
            ("php-fpm:", ""),
            ("php-fpm:www", "a-long-pool-name-past-sixteen-bytes"),
        ] {
            scratch.clear();
            scratch.extend_from_slice(left.as_bytes());
            let got = upstream(&mut scratch, pool.as_bytes()).to_vec();
            let mut fresh = Vec::new();
            assert_eq!(
                got,
                built(&mut fresh, &[b"php-fpm:", pool.as_bytes()]),
                "{left} {pool}"
            );
        }
    }

    /// A signal's name read eight bytes at a time is the one read byte by
    /// byte.
    #[test]
    fn signal_names_eight_at_a_time_match_byte_by_byte() {
        fn plain(b: &[u8]) -> usize {
            b.iter()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count()
        }
        let mut seed = 19u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        let name = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        for _ in 0..20_000 {
            let len = next(30) as usize;
            let b: Vec<u8> = (0..len)
                .map(|_| match next(6) {
                    0 => next(256) as u8,
                    _ => name[next(name.len() as u64) as usize],
                })
                .collect();
            assert_eq!(signal_name(&b), plain(&b), "{b:?}");
        }
        for x in 0..=255u8 {
            for at in 0..12 {
                let mut b = *b"SIGSEGV1SIGK";
                b[at] = x;
                assert_eq!(signal_name(&b), plain(&b), "{x} at {at}");
            }
        }
    }

    /// Digits counted eight at a time are the ones counted byte by byte.
    #[test]
    fn digits_eight_at_a_time_match_byte_by_byte() {
        fn plain(b: &[u8]) -> Option<usize> {
            let n = b.iter().take_while(|b| b.is_ascii_digit()).count();
            (n > 0).then_some(n)
        }
        let mut seed = 13u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        for _ in 0..20_000 {
            let len = next(30) as usize;
            let b: Vec<u8> = (0..len)
                .map(|_| match next(6) {
                    0 => next(256) as u8,
                    _ => b'0' + next(10) as u8,
                })
                .collect();
            assert_eq!(digits(&b), plain(&b), "{b:?}");
        }
        for x in 0..=255u8 {
            for at in 0..12 {
                let mut b = vec![b'7'; 12];
                b[at] = x;
                assert_eq!(digits(&b), plain(&b), "{x} at {at}");
            }
        }
    }

    #[test]
    fn route_matches_between() {
        let f = PhpFpm::new(Vec::new());
        for m in [
            "child 1, script '/x(1).php' (request: \"GET /a(b)\") execution timed out (1.5 sec), terminating",
            "child 1, script '/x.php' (request: \"GET /\"a\"b\") execution timed out (1.5 sec), terminating",
            "child 1, script '/(request: \"x\").php' (request: \"GET /\")",
            "((request: \"a\"\")",
            "(req(request: \"a\"",
            "(request: \"a\"",
            "(request: \"a\")\")",
            "child 1, script '/x.php' (request: \"GET /a?b=1\") execution timed out (30.1 sec), terminating",
            "child 1, script '/x.php' (request: \"POST /a\"",
            "(request: \"",
            "(request: \"\")",
            "server reached pm.max_children setting (5), consider raising it",
            "(request \"GET /\")",
            "",
        ] {
            assert_eq!(
                f.route(m.as_bytes()),
                between(m.as_bytes(), b"(request: \"", b"\")"),
                "{m}"
            );
        }
    }
}

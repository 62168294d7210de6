//! Route normalization: `/api/users/123?x=1` becomes `/api/users/:id`.
//!
//! Failures group by route only if ids do not split them, so numeric,
//! UUID and long hex path segments become `:id`. The query string and the
//! fragment are dropped, an absolute-form request target loses its scheme
//! and host, and the result is bounded in length so that hostile URLs
//! cannot blow up memory.
//!
//! The scanner asks for a route's key id ([`RouteKeys`]): a path under 64
//! bytes is normalized from 16-byte masks into a fixed buffer, and the id
//! comes from a memo keyed by the route ([`KeyMemo`]) in front of the key
//! table, since a route repeats far more often than its raw path (which
//! holds the id). [`normalize`] and [`KeyTable::intern`] are the plain
//! steps the tests hold them to.

use crate::keys::KeyTable;

/// Longest route kept, in bytes; longer ones end in `...`.
pub const MAX_ROUTE: usize = 200;

/// Writes the normalized route of `raw` into `out` (cleared first). `raw`
/// is a request line (`GET /x HTTP/1.1`) or a bare path. Returns false when
/// there is no usable path.
pub fn normalize(raw: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let path = strip_origin(request_target(raw));
    if path.first() != Some(&b'/') {
        let path = match memchr::memchr2(b'?', b'#', path) {
            Some(i) => &path[..i],
            None => path,
        };
        if path.is_empty() {
            return false;
        }
        // `*` (OPTIONS), authority form (CONNECT) or garbage: keep bounded.
        push_bounded(out, path);
        return true;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let (mut buf, mut bytes) = ([0u8; short::OUT], [0u8; short::BYTES]);
        if let Some(n) = short::normalize(path, &mut bytes, &mut buf) {
            out.extend_from_slice(&buf[..n]);
            return true;
        }
    }
    normalize_path(path, out);
    true
}

/// Slots of [`RouteKeys`]' memo at most (a power of two): 512 KiB, room
/// for the few thousand routes of a busy site with few collisions.
const ROUTE_SLOTS: usize = 1 << 13;

/// Slots a [`KeyMemo`] starts with (32 KiB): it grows to its size only
/// as its table fills, so a short run does not fault in pages of slots
/// that its few keys never use.
const FIRST_SLOTS: usize = 1 << 9;

/// Bytes of a key a [`KeyMemo`] slot holds: the rest of its cache line.
const INLINE: usize = 64 - 8 - 4 - 4 - 1;

/// A [`KeyMemo`] slot: one cache line holding the key itself, so that a
/// hit reads nothing else (the table's spans and text are other lines,
/// which a log read through the caches has pushed out by the time a
/// route comes back).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    /// The table's epoch ([`KeyTable::epoch`]) when the slot was filled;
    /// 0, which no table has, while empty.
    epoch: u64,
    /// The high half of the key's memo hash.
    tag: u32,
    /// The key's id in the table.
    id: u32,
    /// The key's length.
    len: u8,
    /// Its bytes, zero past `len`.
    key: [u8; INLINE],
}

impl Slot {
    const EMPTY: Slot = Slot {
        epoch: 0,
        tag: 0,
        id: 0,
        len: 0,
        key: [0; INLINE],
    };
}

/// Ids of keys in a [`KeyTable`], through a memo of the ids found last:
/// a key is hashed with a hash cheaper than the table's, and its slot
/// holds the key itself, its id, and the table's epoch then; a key whose
/// slot a newer key took keeps the other slot of the pair (slots `2k` and
/// `2k + 1`), so two keys of one slot do not take it from each other by
/// turns. A slot is
/// an answer only for the same key in the same table not cleared since
/// (same epoch), so a slot another key took, or one the table forgot
/// since, is only a miss; keys longer than a slot holds go to the table.
/// `tests::key_memo_is_intern` holds it to [`KeyTable::intern`].
#[derive(Debug, Clone, Default)]
pub struct KeyMemo {
    /// Slots by the key's memo hash; allocated on first use, with
    /// [`FIRST_SLOTS`], and four times as many each time the table holds
    /// more keys than a quarter of them and the misses since the last
    /// growth are twice the slots, up to `size`.
    slots: Vec<Slot>,
    /// How many slots at most (a power of two).
    size: usize,
    /// Misses since the slots were last made: growth waits for a run
    /// long enough to pay for writing the larger slots (a short input's
    /// keys, mostly seen once, would not read them back).
    misses: usize,
}

impl KeyMemo {
    /// A memo of `size` slots (a power of two, two at least).
    pub fn new(size: usize) -> KeyMemo {
        KeyMemo {
            slots: Vec::new(),
            size: size.next_power_of_two().max(2),
            misses: 0,
        }
    }

    /// `table.intern(key)`, from the memo where it holds the answer.
    #[inline(always)]
    pub fn id(&mut self, key: &[u8], table: &mut KeyTable) -> u32 {
        if key.len() > INLINE {
            return table.intern(key);
        }
        if self.slots.is_empty() {
            self.slots = vec![Slot::EMPTY; self.size.clamp(2, FIRST_SLOTS)];
        }
        let h = memo_hash(key);
        let tag = (h >> 32) as u32;
        let at = h as usize & (self.slots.len() - 1);
        let epoch = table.epoch();
        let holds = |slot: &Slot| {
            slot.epoch == epoch
                && slot.tag == tag
                && usize::from(slot.len) == key.len()
                && same(&slot.key[..key.len()], key)
        };
        if holds(&self.slots[at]) {
            return self.slots[at].id;
        }
        // The other slot of the pair: a key whose own slot another took.
        if holds(&self.slots[at ^ 1]) {
            return self.slots[at ^ 1].id;
        }
        self.miss(key, table, (at, tag, epoch))
    }

    /// [`KeyMemo::id`] where neither slot of the pair holds `key`: the
    /// table's answer, kept in the key's own slot, whose key (if it is
    /// one of the table's now) moves to the other slot of the pair.
    #[inline(never)]
    fn miss(
        &mut self,
        key: &[u8],
        table: &mut KeyTable,
        (at, tag, epoch): (usize, u32, u64),
    ) -> u32 {
        let id = table.intern(key);
        self.misses += 1;
        if table.len() * 4 > self.slots.len()
            && self.misses >= 2 * self.slots.len()
            && self.slots.len() < self.size
        {
            // Room for more keys: the slots are only a memo, so they
            // start again empty.
            self.slots = vec![Slot::EMPTY; (self.slots.len() * 4).min(self.size)];
            self.misses = 0;
            return id;
        }
        if self.slots[at].epoch == epoch {
            self.slots[at ^ 1] = self.slots[at];
        }
        let slot = &mut self.slots[at];
        *slot = Slot {
            epoch,
            tag,
            id,
            len: key.len() as u8,
            key: [0; INLINE],
        };
        slot.key[..key.len()].copy_from_slice(key);
        id
    }
}

/// Route keys of request lines: [`normalize`], then [`KeyTable::intern`]
/// through a [`KeyMemo`]. Most paths hold an id, so the raw path seldom
/// repeats where its route does: the memo is keyed by the route, built in
/// a fixed buffer. `tests::route_keys_are_normalize_and_intern` holds it
/// to the plain two steps.
#[derive(Debug, Clone)]
pub struct RouteKeys {
    memo: KeyMemo,
    /// Where a route that does not fit the fixed buffer is written.
    spill: Vec<u8>,
    /// The fixed buffer a short path's route is written into, and the
    /// path's bytes it is copied from, kept from line to line: only the
    /// bytes written for a line are read back for it, so they are not
    /// cleared for each.
    #[cfg(target_arch = "x86_64")]
    buf: Box<([u8; short::OUT], [u8; short::BYTES])>,
}

impl Default for RouteKeys {
    fn default() -> Self {
        RouteKeys {
            memo: KeyMemo::new(ROUTE_SLOTS),
            spill: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            buf: Box::new(([0; short::OUT], [0; short::BYTES])),
        }
    }
}

impl RouteKeys {
    /// The id in `table` of the normalized route of `raw` (a request line
    /// or a bare path), added if new; `None` when there is no usable path
    /// (as [`normalize`] returns false).
    #[inline]
    pub fn id(&mut self, raw: &[u8], table: &mut KeyTable) -> Option<u32> {
        #[cfg(target_arch = "x86_64")]
        {
            let path = strip_origin(request_target(raw));
            let (buf, bytes) = &mut *self.buf;
            if path.first() == Some(&b'/')
                && let Some(n) = short::normalize(path, bytes, buf)
            {
                return Some(self.memo.id(&buf[..n], table));
            }
        }
        if !normalize(raw, &mut self.spill) {
            return None;
        }
        Some(table.intern(&self.spill))
    }
}

/// `a == b`, eight bytes at a time with the last eight overlapping, for
/// the short keys of [`KeyMemo`] (slice equality calls `memcmp`).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| {
        s[at..]
            .first_chunk::<8>()
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    match (a.last_chunk::<8>(), b.last_chunk::<8>()) {
        (Some(x), Some(y)) => {
            let mut at = 0;
            while at + 8 < a.len() {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            x == y
        }
        _ => a == b,
    }
}

/// A hash of a short key for [`KeyMemo`]: eight bytes at a time,
/// each folded in by a 64x64->128-bit multiply.
#[inline(always)]
fn memo_hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let fold = |h: u64, w: u64| {
        let x = u128::from(h ^ w) * u128::from(K);
        (x as u64) ^ ((x >> 64) as u64)
    };
    let mut h = (b.len() as u64).wrapping_mul(K);
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        h = fold(h, u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        // The last eight bytes, overlapping those already folded in, or
        // the few there are.
        let w = match b.last_chunk::<8>() {
            Some(last) => u64::from_le_bytes(*last),
            None => {
                let mut w = [0u8; 8];
                w[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(w)
            }
        };
        h = fold(h ^ 0x5bd1_e995, w);
    }
    h
}

/// [`normalize`] of a path that starts with `/`, a byte at a time.
fn normalize_path(path: &[u8], out: &mut Vec<u8>) {
    // One pass: each segment's class is gathered as its bytes go by, and
    // the path ends at the query or the fragment. Text between ids is
    // copied in runs, not segment by segment.
    let mut copied = 0;
    let mut start = 1;
    let mut all = CLASS_DIGIT | CLASS_HEX;
    let mut any = 0u8;
    let mut end = path.len();
    let mut cut = false;
    for (i, &c) in path.iter().enumerate().skip(1) {
        let class = CLASS[usize::from(c)];
        if class & CLASS_END == 0 {
            all &= class;
            any |= class;
            continue;
        }
        if is_id(&path[start..i], all, any) {
            out.extend_from_slice(&path[copied..start]);
            out.extend_from_slice(b":id");
            copied = i;
        }
        if c != b'/' || out.len() + (i - copied) > MAX_ROUTE {
            end = i;
            cut = true;
            break;
        }
        start = i + 1;
        all = CLASS_DIGIT | CLASS_HEX;
        any = 0;
    }
    if !cut && is_id(&path[start..], all, any) {
        out.extend_from_slice(&path[copied..start]);
        out.extend_from_slice(b":id");
        copied = end;
    }
    out.extend_from_slice(&path[copied..end]);
    if out.len() > MAX_ROUTE {
        out.truncate(MAX_ROUTE);
        out.extend_from_slice(b"...");
    }
}

/// [`normalize_path`] for the usual short path, from byte masks: most
/// routes end within 64 bytes, and classifying 16 bytes per instruction
/// and testing each segment with a mask costs a fraction of a loop over
/// the bytes. The route is written into a fixed buffer, 16 bytes per copy.
#[cfg(target_arch = "x86_64")]
mod short {
    use crate::bytes::Block;

    /// Room for the route of a path under 64 bytes (an id of one byte
    /// becomes `:id`, so a route is at most about twice its path), and for
    /// the 16 bytes a copy writes past its end.
    pub(super) const OUT: usize = 160;

    /// Room for the bytes of a path the masks look at (64), and for a
    /// 16-byte copy from any of them.
    pub(super) const BYTES: usize = 80;

    /// Per byte of the first 64 of a path, one bit per mask.
    struct Masks {
        /// `/`.
        slash: u64,
        /// `?` and `#`: the path ends.
        end: u64,
        /// ASCII digits.
        digit: u64,
    }

    /// The masks of `path` up to its first `?` or `#` (or 64 bytes), by
    /// 16-byte blocks: zero bits past the blocks looked at. The bytes of
    /// the blocks looked at are copied into `bytes` at their place (those
    /// after them are left as they were).
    #[inline(always)]
    fn masks(path: &[u8], bytes: &mut [u8; BYTES]) -> Masks {
        let mut m = Masks {
            slash: 0,
            end: 0,
            digit: 0,
        };
        let mut at = 0;
        // Only for a path under 16 bytes, one block.
        let mut tail = [0u8; 16];
        while at < path.len().min(64) {
            // A short last block is read as the path's last 16 bytes, the
            // bits of those before `at` shifted out (a copy only for paths
            // under 16 bytes).
            let next = path.get(at..).and_then(<[u8]>::first_chunk::<16>);
            let (block, skip) = match (next, path.last_chunk::<16>()) {
                (Some(b), _) => {
                    bytes[at..at + 16].copy_from_slice(b);
                    (b, 0)
                }
                (None, Some(last)) => {
                    let len = path.len();
                    bytes[len - 16..len].copy_from_slice(last);
                    (last, at + 16 - len)
                }
                (None, None) => {
                    tail[..path.len() - at].copy_from_slice(&path[at..]);
                    bytes[at..at + 16].copy_from_slice(&tail);
                    (&tail, 0)
                }
            };
            let v = Block::load(block);
            let (slash, end) = (v.eq(b'/'), v.eq2(b'?', b'#'));
            let (digit, _) = v.digits_and_hex();
            let bits = |mask: u16| u64::from(mask >> skip) << at;
            m.slash |= bits(slash);
            m.end |= bits(end);
            m.digit |= bits(digit);
            if bits(end) != 0 {
                break;
            }
            at += 16;
        }
        m
    }

    /// `src[from..to]` written at `out[at..]`, 16 bytes per copy (bytes
    /// past the end written too, to be overwritten or left out); where
    /// the route goes on.
    #[inline(always)]
    fn copy(out: &mut [u8; OUT], at: usize, src: &[u8; BYTES], from: usize, to: usize) -> usize {
        let n = to - from;
        let mut k = 0;
        while k < n {
            out[at + k..at + k + 16].copy_from_slice(&src[from + k..from + k + 16]);
            k += 16;
        }
        at + n
    }

    /// Writes the route of `path` (which starts with `/`) into `out` and
    /// returns its length if the path ends before byte 64; `None`
    /// otherwise. `bytes` is room for the path's bytes: what it held
    /// before is not read.
    #[inline(always)]
    pub(super) fn normalize(
        path: &[u8],
        bytes: &mut [u8; BYTES],
        out: &mut [u8; OUT],
    ) -> Option<usize> {
        let m = masks(path, bytes);
        let end = if m.end != 0 {
            m.end.trailing_zeros() as usize
        } else if path.len() < 64 {
            path.len()
        } else {
            return None;
        };
        // Under 64 bytes, so even with every segment an id the route stays
        // under its bound.
        let valid = (1u64 << end) - 1;
        let slash = m.slash & valid;
        // A run of 16 bytes without a slash: a segment that may be an id
        // of another kind than digits (a UUID, a long hex string).
        let mut long = !slash & valid;
        long &= long >> 1;
        long &= long >> 2;
        long &= long >> 4;
        long &= long >> 8;
        if long != 0 {
            return Some(segments(path, &m, bytes, end, out));
        }
        // Only digits are ids then: a segment that starts with a digit is
        // one if the first byte after it that is no digit is a slash or
        // the end.
        let mut starts = (slash << 1) & valid & m.digit;
        let stopper = !m.digit | !valid;
        let (mut copied, mut at) = (0, 0);
        while starts != 0 {
            let start = starts.trailing_zeros() as usize;
            starts &= starts - 1;
            let stop = (stopper & (u64::MAX << start)).trailing_zeros() as usize;
            if (slash | !valid) & (1u64 << stop) != 0 {
                at = copy(out, at, bytes, copied, start);
                out[at..at + 3].copy_from_slice(b":id");
                at += 3;
                copied = stop;
            }
        }
        Some(copy(out, at, bytes, copied, end))
    }

    /// The route of a path up to `end` segment by segment, for paths with
    /// a segment of 16 bytes or more; its length.
    #[inline(never)]
    fn segments(
        path: &[u8],
        m: &Masks,
        bytes: &[u8; BYTES],
        end: usize,
        out: &mut [u8; OUT],
    ) -> usize {
        let valid = (1u64 << end) - 1;
        let mut slashes = m.slash & valid;
        let mut copied = 0;
        let mut at = 0;
        while slashes != 0 {
            let start = slashes.trailing_zeros() as usize + 1;
            slashes &= slashes - 1;
            let stop = if slashes == 0 {
                end
            } else {
                slashes.trailing_zeros() as usize
            };
            let len = stop - start;
            if len == 0 {
                continue;
            }
            let seg = ((1u64 << len) - 1) << start;
            // All digits is an id; otherwise only 16 bytes or more can be
            // one (a UUID, a long hex string): the segment's classes, as
            // the byte loop gathers them, for the one rule of what an id is.
            let id = m.digit & seg == seg
                || len >= 16 && {
                    let seg_bytes = &path[start..stop];
                    let all = if seg_bytes.iter().all(u8::is_ascii_hexdigit) {
                        super::CLASS_HEX
                    } else {
                        0
                    };
                    let any = if m.digit & seg != 0 {
                        super::CLASS_DIGIT
                    } else {
                        0
                    };
                    super::is_id(seg_bytes, all, any)
                };
            if id {
                at = copy(out, at, bytes, copied, start);
                out[at..at + 3].copy_from_slice(b":id");
                at += 3;
                copied = stop;
            }
        }
        copy(out, at, bytes, copied, end)
    }
}

const CLASS_DIGIT: u8 = 1;
const CLASS_HEX: u8 = 2;
/// `/`, `?` and `#`: a segment ends.
const CLASS_END: u8 = 4;

/// Byte classes for [`normalize`].
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'0'..=b'9' => CLASS_DIGIT | CLASS_HEX,
            b'a'..=b'f' | b'A'..=b'F' => CLASS_HEX,
            b'/' | b'?' | b'#' => CLASS_END,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// The request target of a request line, or `raw` itself when it is not one.
#[inline(always)]
fn request_target(raw: &[u8]) -> &[u8] {
    // The usual method told at once, others by a search for the space.
    let rest = match raw.strip_prefix(b"GET ") {
        Some(rest) => rest,
        None => match raw.iter().take(16).position(|&c| c == b' ') {
            Some(i) if i > 0 && raw[..i].iter().all(|c| c.is_ascii_uppercase()) => &raw[i + 1..],
            _ => return raw,
        },
    };
    // The version is after the last space: ` HTTP/1.1` and the like are
    // told by their place, others found with a search (memrchr is SIMD; a
    // reverse substring search is not).
    if let Some(at) = rest.len().checked_sub(9)
        && let Some(v) = rest[at..].first_chunk::<9>()
        && v[..6] == *b" HTTP/"
        && !v[6..].contains(&b' ')
    {
        return &rest[..at];
    }
    match memchr::memrchr(b' ', rest).filter(|&j| rest[j + 1..].starts_with(b"HTTP/")) {
        Some(j) => &rest[..j],
        // Cut line or HTTP/0.9: up to the next space.
        None => &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())],
    }
}

/// `http://host:port/path` -> `/path`.
fn strip_origin(t: &[u8]) -> &[u8] {
    if t.first() == Some(&b'/') {
        return t;
    }
    let Some(i) = t
        .iter()
        .take(12)
        .position(|&c| c == b':')
        .filter(|&i| t[i..].starts_with(b"://"))
    else {
        return t;
    };
    let rest = &t[i + 3..];
    match memchr::memchr(b'/', rest) {
        Some(j) => &rest[j..],
        None => b"/",
    }
}

fn push_bounded(out: &mut Vec<u8>, b: &[u8]) {
    if b.len() > MAX_ROUTE {
        out.extend_from_slice(&b[..MAX_ROUTE]);
        out.extend_from_slice(b"...");
    } else {
        out.extend_from_slice(b);
    }
}

/// A segment that is an identifier rather than part of the route's shape:
/// all digits, a UUID, or a long hex string with at least one digit. `all`
/// holds the classes every byte has, `any` those some byte has.
fn is_id(seg: &[u8], all: u8, any: u8) -> bool {
    if seg.is_empty() {
        return false;
    }
    all & CLASS_DIGIT != 0
        || is_uuid(seg)
        || seg.len() >= 16 && all & CLASS_HEX != 0 && any & CLASS_DIGIT != 0
}

fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Option<String> {
        let mut out = Vec::new();
        normalize(s.as_bytes(), &mut out).then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn ids_and_queries() {
        assert_eq!(
            norm("GET /api/users/123?x=1 HTTP/1.1").unwrap(),
            "/api/users/:id"
        );
        assert_eq!(
            norm("POST /api/orders/8a6e0804-2bd0-4672-b79d-d97027f9071a/items/7 HTTP/2.0").unwrap(),
            "/api/orders/:id/items/:id"
        );
        assert_eq!(
            norm("/img/5f2b9c0e4d3a1b7c8e9f/x.png").unwrap(),
            "/img/:id/x.png"
        );
        assert_eq!(norm("/deadbeefdeadbeef/").unwrap(), "/deadbeefdeadbeef/");
        assert_eq!(norm("/v2/api#frag").unwrap(), "/v2/api");
        assert_eq!(norm("/").unwrap(), "/");
        assert_eq!(norm("/a//b").unwrap(), "/a//b");
    }

    #[test]
    fn absolute_form_and_odd_targets() {
        assert_eq!(
            norm("GET http://example.com:8080/a/1 HTTP/1.1").unwrap(),
            "/a/:id"
        );
        assert_eq!(norm("GET http://example.com HTTP/1.1").unwrap(), "/");
        assert_eq!(norm("OPTIONS * HTTP/1.1").unwrap(), "*");
        assert_eq!(norm("GET /cut/at/2048/byt").unwrap(), "/cut/at/:id/byt");
        assert_eq!(norm("GET /a b c HTTP/1.1").unwrap(), "/a b c");
        assert!(norm("GET ?x HTTP/1.1").is_none());
    }

    /// The straightforward form of [`normalize`]: cut at `?`/`#`, split at
    /// `/`, test each segment.
    fn reference(raw: &[u8], out: &mut Vec<u8>) -> bool {
        out.clear();
        let mut path = strip_origin(request_target(raw));
        if let Some(i) = memchr::memchr2(b'?', b'#', path) {
            path = &path[..i];
        }
        if path.is_empty() {
            return false;
        }
        if path[0] != b'/' {
            push_bounded(out, path);
            return true;
        }
        for seg in path[1..].split(|&c| c == b'/') {
            out.push(b'/');
            let id = !seg.is_empty()
                && (seg.iter().all(u8::is_ascii_digit)
                    || is_uuid(seg)
                    || seg.len() >= 16
                        && seg.iter().all(u8::is_ascii_hexdigit)
                        && seg.iter().any(u8::is_ascii_digit));
            if id {
                out.extend_from_slice(b":id");
            } else {
                out.extend_from_slice(seg);
            }
            if out.len() > MAX_ROUTE {
                out.truncate(MAX_ROUTE);
                out.extend_from_slice(b"...");
                break;
            }
        }
        true
    }

    #[test]
    fn one_pass_agrees_with_the_reference() {
        let parts: &[&str] = &[
            "/",
            "a",
            "12",
            "?",
            "#",
            "x=1",
            "GET ",
            " HTTP/1.1",
            "deadbeef",
            "DEADBEEF0",
            "-",
            "8a6e0804-2bd0-4672-b79d-d97027f9071a",
            "http://h:1",
            "*",
            "",
            "é",
            "//",
        ];
        // Every sequence of up to four parts.
        let mut n = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let raw = format!("{a}{b}{c}{d}");
                        let (mut x, mut y) = (Vec::new(), Vec::new());
                        let (rx, ry) = (
                            normalize(raw.as_bytes(), &mut x),
                            reference(raw.as_bytes(), &mut y),
                        );
                        assert_eq!((rx, &x), (ry, &y), "{raw:?}");
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, parts.len().pow(4));
        let long = format!("/{}", "ab/1234/".repeat(100));
        let (mut x, mut y) = (Vec::new(), Vec::new());
        assert_eq!(
            normalize(long.as_bytes(), &mut x),
            reference(long.as_bytes(), &mut y)
        );
        assert_eq!(x, y);
    }

    /// The request target with the version told by its place is the one
    /// the search for the last space finds.
    #[test]
    fn version_by_place_agrees_with_the_search() {
        fn searched(raw: &[u8]) -> &[u8] {
            let Some(i) = raw.iter().position(|&c| c == b' ') else {
                return raw;
            };
            let rest = &raw[i + 1..];
            match memchr::memrchr(b' ', rest).filter(|&j| rest[j + 1..].starts_with(b"HTTP/")) {
                Some(j) => &rest[..j],
                None => &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())],
            }
        }
        let targets = ["", "/", "/a b", "/x HTTP/1.1", "*", "/a?b=c d"];
        let versions = [
            "",
            " ",
            " HTTP/1.1",
            " HTTP/2.0",
            " HTTP/1.1 ",
            " HTTP/ 1",
            "HTTP/1.1",
            " HTTP/10",
            " HTTP/1.10",
            " HTTP/1 1",
            " HTTP/",
            " http/1.1",
            "  HTTP/1.1",
        ];
        for t in targets {
            for v in versions {
                let raw = format!("GET {t}{v}");
                assert_eq!(
                    request_target(raw.as_bytes()),
                    searched(raw.as_bytes()),
                    "{raw:?}"
                );
            }
        }
    }

    /// The mask path against the byte loop, on paths of every length
    /// around the 16-byte blocks and the 64-byte limit.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn masks_agree_with_the_byte_loop() {
        let parts: &[&[u8]] = &[
            b"/",
            b"/users",
            b"/12",
            b"/7",
            b"/DeadBeef00112233",
            b"/deadbeefdeadbeef",
            b"/8a6e0804-2bd0-4672-b79d-d97027f9071a",
            b"/x-1",
            b"?q=1/2",
            b"#f/3",
            b"/\xc3\xa9",
            b"//",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut checked = 0;
        // Kept from path to path, as [`RouteKeys`] keeps them, and not
        // clear to begin with.
        let (mut buf, mut bytes) = ([b'7'; short::OUT], [b'/'; short::BYTES]);
        for _ in 0..20_000 {
            let mut path = Vec::new();
            while path.len() < 90 {
                // xorshift: a fixed sequence, so failures repeat.
                crate::testing::xorshift(&mut state);
                path.extend_from_slice(parts[state as usize % parts.len()]);
                if state >> 60 == 0 {
                    break;
                }
            }
            let path = [b"/", &path[..]].concat();
            for len in 1..=path.len() {
                let p = &path[..len];
                let mut slow = Vec::new();
                if let Some(n) = short::normalize(p, &mut bytes, &mut buf) {
                    normalize_path(p, &mut slow);
                    assert_eq!(&buf[..n], &slow[..], "{:?}", String::from_utf8_lossy(p));
                    checked += 1;
                } else {
                    let end = memchr::memchr2(b'?', b'#', p).unwrap_or(p.len());
                    assert!(end >= 64, "{:?}", String::from_utf8_lossy(p));
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    /// The memo against the plain two steps, [`normalize`] then
    /// [`KeyTable::intern`]: the same ids, the same table, with routes
    /// that share memo slots, and tables cleared under the memo.
    #[test]
    fn route_keys_are_normalize_and_intern() {
        let parts: &[&str] = &[
            "/api",
            "/v2",
            "/users",
            "/12",
            "/7",
            "/8a6e0804-2bd0-4672-b79d-d97027f9071a",
            "/deadbeefdeadbeef0",
            "/action3",
            "?q=1",
            "#f",
            "/\u{e9}",
            "//",
            "/x/y/z/w/v/u/t/s/r/q/p/o/n/m",
        ];
        let heads = ["GET ", "POST ", "", "GET http://h:8", "OPTIONS "];
        let tails = [" HTTP/1.1", " HTTP/2.0", "", " x"];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |k: usize| {
            crate::testing::xorshift(&mut state);
            state as usize % k
        };
        let (mut fast_table, mut plain_table) = (KeyTable::default(), KeyTable::default());
        let mut keys = RouteKeys::default();
        let mut buf = Vec::new();
        let mut hits = 0;
        for round in 0..60_000 {
            let mut raw = String::from(heads[next(heads.len())]);
            for _ in 0..next(7) {
                raw.push_str(parts[next(parts.len())]);
            }
            if next(50) == 0 {
                raw.push_str(&"/abc".repeat(next(40)));
            }
            raw.push_str(tails[next(tails.len())]);
            let before = fast_table.len();
            let fast = keys.id(raw.as_bytes(), &mut fast_table);
            let plain = normalize(raw.as_bytes(), &mut buf).then(|| plain_table.intern(&buf));
            assert_eq!(fast, plain, "{raw:?}");
            hits += usize::from(fast.is_some() && fast_table.len() == before);
            assert_eq!(fast_table.len(), plain_table.len());
            if round % 9_999 == 0 {
                fast_table.clear();
                plain_table.clear();
            }
        }
        for id in 0..fast_table.len() as u32 {
            assert_eq!(fast_table.keys().get(id), plain_table.keys().get(id));
        }
        assert!(hits > 30_000, "{hits}");
    }

    /// The memo against [`KeyTable::intern`], with a memo small enough
    /// for keys to take each other's slots, keys of every length around
    /// a word and around what a slot holds, tables cleared under it, and
    /// two tables asked through the one memo by turns.
    #[test]
    fn key_memo_is_intern() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |k: usize| {
            crate::testing::xorshift(&mut state);
            state as usize % k
        };
        let mut fast_tables = [KeyTable::default(), KeyTable::default()];
        let mut plain_tables = [KeyTable::default(), KeyTable::default()];
        let pool: Vec<Vec<u8>> = (0..60)
            .map(|_| {
                let len = next(INLINE + 12);
                (0..len).map(|_| b"ab:1."[next(5)]).collect()
            })
            .collect();
        let mut memo = KeyMemo::new(16);
        let mut hits = 0;
        for round in 0..50_000 {
            let key = &pool[next(pool.len())];
            let t = usize::from(round % 5 == 0 || next(9) == 0);
            let before = fast_tables[t].len();
            let fast = memo.id(key, &mut fast_tables[t]);
            assert_eq!(fast, plain_tables[t].intern(key), "{key:?}");
            hits += usize::from(fast_tables[t].len() == before);
            if round % 7_919 == 0 {
                fast_tables[t].clear();
                plain_tables[t].clear();
            }
        }
        for t in 0..2 {
            assert_eq!(fast_tables[t].len(), plain_tables[t].len());
            for id in 0..fast_tables[t].len() as u32 {
                assert_eq!(
                    fast_tables[t].keys().get(id),
                    plain_tables[t].keys().get(id)
                );
            }
        }
        assert!(hits > 10_000, "{hits}");
    }

    /// A memo that grows as its table fills answers as the table does
    /// before, across and after each growth, up to its size and no more.
    #[test]
    fn a_growing_memo_is_intern() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut memo = KeyMemo::new(FIRST_SLOTS * 16);
        let (mut fast, mut plain) = (KeyTable::default(), KeyTable::default());
        let mut sizes = vec![];
        for round in 0..60_000u32 {
            crate::testing::xorshift(&mut state);
            // Ever more distinct keys as the rounds go, each seen again.
            let n = u64::from(round / 8 + 1);
            let key = format!("/k/{}", state % n).into_bytes();
            assert_eq!(memo.id(&key, &mut fast), plain.intern(&key), "{key:?}");
            if sizes.last() != Some(&memo.slots.len()) {
                sizes.push(memo.slots.len());
            }
        }
        assert_eq!(
            sizes,
            [FIRST_SLOTS, FIRST_SLOTS * 4, FIRST_SLOTS * 16],
            "grown in steps of four up to the size"
        );
        assert_eq!(fast.len(), plain.len());
    }

    /// Keys seen once each, as in a short input, leave the slots as they
    /// were made until the misses are twice the slots; then they grow.
    #[test]
    fn a_memo_grows_only_after_misses_enough() {
        let mut memo = KeyMemo::new(FIRST_SLOTS * 16);
        let (mut fast, mut plain) = (KeyTable::default(), KeyTable::default());
        for k in 0..2 * FIRST_SLOTS {
            let key = format!("/once/{k}").into_bytes();
            assert_eq!(memo.id(&key, &mut fast), plain.intern(&key));
            let want = if k + 1 < 2 * FIRST_SLOTS {
                FIRST_SLOTS
            } else {
                FIRST_SLOTS * 4
            };
            assert_eq!(memo.slots.len(), want, "after {} keys", k + 1);
        }
    }

    /// Two keys of one slot, asked by turns, keep the two slots of its
    /// pair: after the first two, every answer is the memo's.
    #[test]
    fn keys_of_one_slot_share_its_pair() {
        let mut memo = KeyMemo::new(2);
        let mut table = KeyTable::default();
        let (a, b) = (&b"/a/:id"[..], &b"/b/:id"[..]);
        let (ia, ib) = (memo.id(a, &mut table), memo.id(b, &mut table));
        for _ in 0..10 {
            assert_eq!(memo.id(a, &mut table), ia);
            assert_eq!(memo.id(b, &mut table), ib);
        }
        assert_eq!(memo.slots.len(), 2);
        for key in [a, b] {
            assert!(
                memo.slots
                    .iter()
                    .any(|s| &s.key[..usize::from(s.len)] == key && s.epoch == table.epoch()),
                "{key:?}"
            );
        }
    }

    /// A memo slot is one cache line.
    #[test]
    fn memo_slots_are_a_cache_line() {
        assert_eq!(std::mem::size_of::<Slot>(), 64);
        assert_eq!(std::mem::align_of::<Slot>(), 64);
    }

    /// The word-wise comparison of [`KeyMemo`] against `==`.
    #[test]
    fn same_is_equality() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..40 {
            for _ in 0..300 {
                let mut key = |n: usize| -> Vec<u8> {
                    (0..n)
                        .map(|_| {
                            crate::testing::xorshift(&mut state);
                            b"ab"[(state % 2) as usize]
                        })
                        .collect()
                };
                let a = key(len);
                let b = if len % 3 == 0 { key(len + 1) } else { key(len) };
                assert_eq!(same(&a, &b), a == b, "{a:?} {b:?}");
                assert!(same(&a, &a));
            }
            // One byte changed, at every place.
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 7) as u8).collect();
            for i in 0..len {
                let mut c = a.clone();
                c[i] ^= 1;
                assert!(!same(&a, &c), "{len} {i}");
            }
        }
    }

    #[test]
    fn long_routes_are_bounded() {
        let long = format!("/{}", "a/".repeat(500));
        let r = norm(&long).unwrap();
        assert!(r.len() <= MAX_ROUTE + 3, "{}", r.len());
        assert!(r.ends_with("..."));
    }
}

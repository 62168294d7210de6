//! From classified lines to failed requests.
//!
//! Servers do not log one line per failed request:
//! - Apache writes one failure as several lines on the same `[pid:tid]`
//!   (AH00957 + AH00959 + AH01114 for a refused connect, AH01102 + AH00898
//!   for a read timeout). They are joined here, so the failure gets its
//!   cause from the line that knows it, its upstream from another and its
//!   route from a third.
//! - nginx logs one line per server tried for one request. A retry (same
//!   worker, connection and request line, another server, same cause) adds
//!   an attempt, not a request.
//!
//! - nginx numbers connections from `*1` again whenever it starts workers.
//!   A request's identity holds the worker's pid, and a lifecycle line
//!   (`start worker process`, `signal process started`, `exiting`, a
//!   reload, a worker's crash; see [`crate::catalog::lifecycle`]) ends
//!   every open request of its input ([`Correlator::end_workers`]): a
//!   restarted nginx's `*1` is never taken for a retry of an old `*1`,
//!   even under a reused pid. (It ends the surviving workers' open
//!   requests too, when one worker is replaced: a retry of theirs that
//!   straddles the line counts as a new request.)
//!
//! This runs in the sequential stage, in input order, on compact events
//! whose keys are already global ids. The joins keep a few bytes of state
//! per thread or connection, capped, so memory stays bounded whatever the
//! input.

use hashbrown::HashMap;
use hashbrown::hash_map::Entry;

use crate::event::{CauseId, Event, Failure, LocalTime, Restatus, Role, Server};
use crate::keys::{Key, KeyList, Keys, NO_KEY};

/// Seconds within which Apache lines on one thread belong to one failure.
const APACHE_JOIN_SECS: i64 = 2;
/// Seconds within which nginx lines of one request are its retries.
const RETRY_SECS: i64 = 600;
/// Text buffers of emitted Apache failures kept for reuse.
const SPARE_TEXTS: usize = 64;
/// Most Apache threads with a failure being assembled.
pub const MAX_PENDING: usize = 4096;
/// nginx requests remembered for retry detection (slots of a direct-mapped
/// table).
pub const MAX_RECENT: usize = 16_384;
/// (cause, upstream) pairs remembered per nginx request (a request retried
/// on more upstreams than this is still recognised as one; only a repeat of
/// a pair not remembered is taken for a retry rather than a new request).
const RECENT_PAIRS: usize = 6;

/// Where an event is in the input: what the scanner, which sees one chunk,
/// cannot know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Input index.
    pub file: u32,
    /// Line number of the record's first line.
    pub line: u64,
    /// Physical lines of the record (more than the scanner saw when the
    /// record was continued across a chunk end).
    pub lines: u32,
}

struct Pending {
    /// Its upstream and route are [`Key::None`] here while it is being
    /// assembled: they are held in `upstream` and `route`, and given to it
    /// when it is emitted ([`Pending::give_keys`]).
    failure: Failure,
    /// Text of the failure's first line, for the example (the first
    /// `text_len` bytes), then the bytes of its held keys; empty while the
    /// failure is [`Pending::in_chunk`].
    buf: Vec<u8>,
    text_len: usize,
    /// Whether the chunk of its first line is still being read: its text is
    /// then `text` of that chunk's bytes and its keys ids in that chunk's
    /// tables, nothing copied. Most failures are complete within their
    /// chunk; the others are copied when it ends
    /// ([`Correlator::chunk_end`]).
    in_chunk: bool,
    text: (u32, u32),
    upstream: Held,
    route: Held,
    strong: bool,
    has_lead: bool,
    last: Option<LocalTime>,
    seq: u64,
}

/// An upstream or route of a failure being assembled: its bytes, kept in
/// the failure's buffer, and the id and [`crate::keys::key_hash`] they had
/// in the key table of the chunk that gave them. Most failures are
/// complete within that chunk: the key then goes on as that id, as any
/// other line's does, with no copy of its own to make and to hash again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Held {
    /// [`NO_KEY`] for none.
    id: u32,
    hash: u64,
    start: u32,
    end: u32,
}

const NO_HELD: Held = Held {
    id: NO_KEY,
    hash: 0,
    start: 0,
    end: 0,
};

impl Held {
    /// Key `id` of the chunk being read, its bytes left in the chunk's
    /// table (a failure [`Pending::in_chunk`]).
    fn local(id: u32) -> Held {
        Held { id, ..NO_HELD }
    }

    /// Holds key `id` of `list` (none for [`NO_KEY`]), its bytes put at
    /// the end of `buf`.
    fn new(id: u32, list: &KeyList, buf: &mut Vec<u8>) -> Held {
        if id == NO_KEY {
            return NO_HELD;
        }
        let start = buf.len() as u32;
        buf.extend_from_slice(list.get(id));
        Held {
            id,
            hash: list.hash(id),
            start,
            end: buf.len() as u32,
        }
    }

    /// The key for an emitted failure: the id it had, where `list` (the
    /// key table of the chunk being read, if any) still holds the same
    /// bytes under it; its own copy otherwise.
    fn key(&self, buf: &[u8], list: Option<&KeyList>) -> Key {
        if self.id == NO_KEY {
            return Key::None;
        }
        let bytes = &buf[self.start as usize..self.end as usize];
        if let Some(t) = list
            && (self.id as usize) < t.len()
            && t.hash(self.id) == self.hash
            && t.get(self.id) == bytes
        {
            return Key::Local(self.id);
        }
        Key::Owned(bytes.into())
    }
}

impl Pending {
    /// Gives the failure its keys, for `emit` while the chunk whose keys
    /// are `keys` is read (`None`: between chunks).
    fn give_keys(&mut self, keys: Option<&Keys>) {
        let f = &mut self.failure;
        if self.in_chunk {
            debug_assert!(keys.is_some(), "a failure of a chunk after it ended");
            f.upstream = Key::local(self.upstream.id);
            f.route = Key::local(self.route.id);
        } else {
            f.upstream = self.upstream.key(&self.buf, keys.map(|k| &k.upstreams));
            f.route = self.route.key(&self.buf, keys.map(|k| &k.routes));
        }
    }

    /// Copies what it holds of the chunk whose bytes are `chunk` and whose
    /// keys are `keys`, which ends: its text and keys' bytes, into a buffer
    /// of `spare` if there is one.
    fn leave_chunk(&mut self, chunk: &[u8], keys: &Keys, spare: &mut Vec<Vec<u8>>) {
        let mut buf = spare.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&chunk[self.text.0 as usize..self.text.1 as usize]);
        self.text_len = buf.len();
        self.upstream = Held::new(self.upstream.id, &keys.upstreams, &mut buf);
        self.route = Held::new(self.route.id, &keys.routes, &mut buf);
        self.buf = buf;
        self.in_chunk = false;
    }
}

/// Emits an assembled failure where it is, not moved out of its slot
/// (`chunk`: the bytes of the chunk being read, whose keys are `keys`);
/// returns its buffer for reuse.
fn emit_pending(
    p: &mut Pending,
    keys: Option<&Keys>,
    chunk: &[u8],
    emit: &mut Emit<'_>,
) -> Vec<u8> {
    p.give_keys(keys);
    if p.in_chunk {
        emit(&p.failure, &chunk[p.text.0 as usize..p.text.1 as usize]);
    } else {
        emit(&p.failure, &p.buf[..p.text_len]);
    }
    std::mem::take(&mut p.buf)
}

// A pending failure is kept in the table itself, not boxed: most are
// emitted a line later, and a box would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Slot {
    Pending(Pending),
    /// A failure was just emitted for this thread; a weak line right after
    /// it (AH01097 after AH00898, say) belongs to it.
    Closed {
        time: Option<LocalTime>,
        seq: u64,
    },
}

impl Slot {
    fn seq(&self) -> u64 {
        match self {
            Slot::Pending(p) => p.seq,
            Slot::Closed { seq, .. } => *seq,
        }
    }
}

/// Words of one slot of the retry memory, in one cache line (the table is
/// probed once per nginx failure): a request and the (cause, upstream)
/// pairs it failed with. Word 0 is the request key mixed with the
/// correlator's epoch: a slot of an older epoch never matches, so
/// forgetting everything is one increment, not a memset; 0 marks an empty
/// slot. Word 1 is the time of its last failure, shifted left 16 bits, and
/// in the low 16 the status that failure gave the client (0: none), which
/// its causes counted it with (see [`pack`]). Then the [`pair`]s, the
/// unused ones 0.
const SLOT_WORDS: usize = 2 + RECENT_PAIRS;

/// The retry memory: [`MAX_RECENT`] slots of [`SLOT_WORDS`] words, each
/// slot on a cache line of its own. An empty slot is all zero bytes, so
/// the table is one zeroed allocation: its pages cost nothing until a
/// request's slot lands in them (a short log touches a few, not the whole
/// megabyte).
///
/// A page of it is written before it is first read: a zeroed page read
/// first is mapped as the system's shared zero page, and the write that
/// follows then replaces it, which on a process with threads on other
/// cores interrupts them all to flush the old mapping (3.8% of a run's
/// CPU on 64 MiB of nginx, where the table is met page after page).
struct RecentTable {
    words: Vec<u64>,
    /// The word where the first cache line starts.
    start: usize,
    /// One bit per page of `words` (4 KiB, counted from the page its
    /// first word is in) a slot was taken from since the allocation or
    /// the last clear.
    written: [u64; PAGE_BITS_WORDS],
}

/// Words of [`RecentTable::written`]: a bit for each page the table
/// spans, one more for a table that does not start at a page's start.
const PAGE_BITS_WORDS: usize = (MAX_RECENT * SLOT_WORDS * 8 / 4096 + 1).div_ceil(64);

impl RecentTable {
    fn new() -> Self {
        let words = vec![0u64; MAX_RECENT * SLOT_WORDS + SLOT_WORDS - 1];
        let start = words.as_ptr().align_offset(64).min(SLOT_WORDS - 1);
        RecentTable {
            words,
            start,
            written: [0; PAGE_BITS_WORDS],
        }
    }

    /// Slot `i` (below [`MAX_RECENT`]).
    #[inline]
    fn slot(&mut self, i: usize) -> &mut [u64; SLOT_WORDS] {
        let first_page = self.words.as_ptr() as usize >> 12;
        let slot = &mut self.words[self.start..].as_chunks_mut::<SLOT_WORDS>().0[i];
        // A slot is one cache line, so it lies in one page.
        let page = (slot.as_ptr() as usize >> 12) - first_page;
        let bit = 1u64 << (page % 64);
        if self.written[page / 64] & bit == 0 {
            self.written[page / 64] |= bit;
            // The page's first touch a write (of the zero it holds), so
            // that the page comes in writable; the slot then escapes, so
            // that the write is made before anything reads it.
            slot[0] = 0;
            std::hint::black_box(&mut *slot);
        }
        slot
    }

    /// Empties every slot.
    fn clear(&mut self) {
        self.words.fill(0);
        self.written = [u64::MAX; PAGE_BITS_WORDS];
    }
}

/// A (cause, upstream) pair as one word, never 0: the cause in the top 16
/// bits (plus one), the upstream's hash in the other 48.
fn pair(cause: CauseId, upstream_hash: u64) -> u64 {
    (u64::from(cause.0) + 1) << 48 | (upstream_hash & 0xFFFF_FFFF_FFFF)
}

/// A slot's time and status as one word (see [`SLOT_WORDS`]).
fn pack(t: i64, status: u16) -> u64 {
    (t.wrapping_shl(16) | i64::from(status)) as u64
}

/// The time and status of a packed word.
fn unpack(x: u64) -> (i64, u16) {
    ((x as i64) >> 16, x as u16)
}

/// The status a client got for a failure: the message's own when it tells
/// one, else the cause's on the server that logged it (nginx's when that
/// server has none).
pub fn client_status(f: &Failure) -> Option<u16> {
    let info = f.cause.info();
    f.status
        .or(info.status[f.server])
        .or(info.status[Server::Nginx])
}

/// The cause of a [`pair`].
fn pair_cause(p: u64) -> u16 {
    ((p >> 48) as u16).wrapping_sub(1)
}

/// Joins lines into failures; feed it events in input order, then flush.
pub struct Correlator {
    apache: HashMap<(u32, u32, u64), Slot>,
    /// nginx requests seen recently, direct-mapped by connection number: a
    /// newer request takes the slot of an older one, which bounds memory
    /// and keeps the lookup to one cache line. Allocated on first use
    /// (Apache and php-fpm logs never need it).
    recent: Option<RecentTable>,
    /// Generation of the valid slots of `recent` (starts at 1).
    epoch: u32,
    /// Per input, how many times its workers were ended (see
    /// [`Correlator::end_workers`]); mixed into its request keys. Empty
    /// until a lifecycle line comes.
    workers: Vec<u32>,
    /// `proxy_worker_crash`, looked up once.
    worker_crash: Option<CauseId>,
    seq: u64,
    /// Text buffers of emitted Apache failures, reused.
    spare_texts: Vec<Vec<u8>>,
    /// Whether an Apache failure may be [`Pending::in_chunk`].
    chunk_pending: bool,
}

impl Default for Correlator {
    fn default() -> Self {
        Correlator {
            apache: HashMap::new(),
            recent: None,
            epoch: 1,
            workers: Vec::new(),
            worker_crash: CauseId::from_id("proxy_worker_crash"),
            seq: 0,
            spare_texts: Vec::new(),
            chunk_pending: false,
        }
    }
}

/// Receives completed failures with the text of their first line.
pub type Emit<'e> = dyn FnMut(&Failure, &[u8]) + 'e;

impl Correlator {
    /// A correlator with empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event (the bytes of the chunk its record is in, and the
    /// keys its ids point into); calls `emit` for each failure it completes
    /// with the text of its first record. The one place that decides
    /// whether a record is a new failed request, a retry of one, or a part
    /// of one being assembled. Tell it when the chunk ends
    /// ([`Correlator::chunk_end`]).
    #[inline]
    pub fn push<E: FnMut(&Failure, &[u8])>(
        &mut self,
        ev: &Event,
        at: Place,
        chunk: &[u8],
        keys: &Keys,
        emit: &mut E,
    ) {
        let text = &chunk[ev.start as usize..ev.end as usize];
        match ev.server {
            // nginx lines are failures of their own, or retries of one.
            Server::Nginx => {
                let Some(cause) = ev.cause else { return };
                if ev.request.is_none() && Some(cause) == self.worker_crash {
                    // `worker process N exited on signal 11`: a lifecycle
                    // line as well as a cause.
                    self.end_workers(at.file);
                }
                let mut f = failure_of(ev, cause, at);
                if let Some(req) = ev.request {
                    let upstream_hash = if ev.upstream == NO_KEY {
                        0
                    } else {
                        keys.upstreams.hash(ev.upstream)
                    };
                    let status = client_status(&f).unwrap_or(0);
                    let seen =
                        self.nginx_attempt(req, at.file, ev.time, cause, upstream_hash, status);
                    f.new_request = seen.new_request;
                    f.repeat = seen.repeat;
                    f.restatus = seen.restatus;
                }
                emit(&f, text);
            }
            Server::Apache if ev.role != Role::Alone => self.push_apache(ev, at, chunk, keys, emit),
            _ => {
                if let Some(cause) = ev.cause {
                    emit(&failure_of(ev, cause, at), text);
                }
            }
        }
    }

    /// A lifecycle line of input `file` (workers started, stopped or
    /// gone): every nginx request open in it ends, so a later line with
    /// the same connection number is a new request.
    pub fn end_workers(&mut self, file: u32) {
        let i = file as usize;
        if self.workers.len() <= i {
            self.workers.resize(i + 1, 0);
        }
        self.workers[i] = self.workers[i].wrapping_add(1);
    }

    /// The chunk whose bytes are `chunk` and keys `keys`, which events
    /// were pushed from, ends: the Apache failures still being assembled
    /// copy what they hold of it.
    pub fn chunk_end(&mut self, chunk: &[u8], keys: &Keys) {
        if !std::mem::take(&mut self.chunk_pending) {
            return;
        }
        for slot in self.apache.values_mut() {
            if let Slot::Pending(p) = slot
                && p.in_chunk
            {
                p.leave_chunk(chunk, keys, &mut self.spare_texts);
            }
        }
    }

    /// Emits every failure still being assembled (end of an input; after
    /// [`Correlator::chunk_end`]).
    pub fn flush(&mut self, emit: &mut Emit<'_>) {
        let mut pending: Vec<Pending> = self
            .apache
            .drain()
            .filter_map(|(_, s)| match s {
                Slot::Pending(p) => Some(p),
                Slot::Closed { .. } => None,
            })
            .collect();
        pending.sort_by_key(|p| p.seq);
        for mut p in pending {
            emit_pending(&mut p, None, &[], emit);
        }
        self.epoch = self.epoch.wrapping_add(1).max(1);
        if self.epoch == 1 {
            // Wrapped around: old slots could look valid again.
            if let Some(table) = &mut self.recent {
                table.clear();
            }
        }
    }

    /// What an nginx failure of request key `req` (see [`Event::request`])
    /// in input `file`, which gave the client `status`, is to the requests
    /// remembered: a new request, or a retry of one counted under the same
    /// cause (an attempt) or under others (new for its cause, and the
    /// client got this attempt's status, not theirs); remembers it either
    /// way.
    #[inline]
    fn nginx_attempt(
        &mut self,
        req: u64,
        file: u32,
        time: Option<LocalTime>,
        cause: CauseId,
        upstream_hash: u64,
        status: u16,
    ) -> Attempt {
        let t = time.map_or(0, |t| t.0);
        let pair = pair(cause, upstream_hash);
        let workers = self.workers.get(file as usize).copied().unwrap_or(0);
        let key = req
            ^ u64::from(file).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(workers).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        // Never 0, which marks an empty slot.
        let tag = (key ^ u64::from(self.epoch).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)) | 1;
        // The slot follows the connection number (the low bits of the key),
        // so requests logged close together use slots close together and
        // the table is walked almost in order instead of at random.
        let slot = (req as u32).wrapping_add(file.wrapping_mul(0x9E37_79B9));
        let [slot_tag, slot_time, seen @ ..] = self
            .recent
            .get_or_insert_with(RecentTable::new)
            .slot(slot as usize % MAX_RECENT);
        let mut out = Attempt {
            new_request: true,
            repeat: false,
            restatus: None,
        };
        let (last, was) = unpack(*slot_time);
        if *slot_tag == tag && (t - last).abs() <= RETRY_SECS {
            let len = seen.iter().position(|&p| p == 0).unwrap_or(RECENT_PAIRS);
            if seen[..len].contains(&pair) {
                // The same failure again: a new request on a keepalive
                // connection, not a retry.
                *seen = first_pair(pair);
            } else {
                let causes = seen[..len]
                    .iter()
                    .map(|&p| pair_cause(p))
                    .filter(|&c| c < 64)
                    .fold(0u64, |m, c| m | 1 << c);
                if seen[..len].iter().any(|&p| pair_cause(p) == cause.0) {
                    out.new_request = false;
                } else {
                    out.repeat = true;
                }
                if was != 0 && status != 0 && was != status && causes != 0 {
                    out.restatus = Some(Restatus { causes, from: was });
                }
                if len < RECENT_PAIRS {
                    seen[len] = pair;
                }
            }
        } else {
            *slot_tag = tag;
            *seen = first_pair(pair);
        }
        *slot_time = pack(t, status);
        out
    }

    fn push_apache(
        &mut self,
        ev: &Event,
        at: Place,
        chunk: &[u8],
        keys: &Keys,
        emit: &mut Emit<'_>,
    ) {
        let key = (at.file, ev.pid.unwrap_or(0), ev.tid.unwrap_or(0));
        let role = ev.role;
        let strong = ev.strong;
        let time = ev.time;
        self.seq += 1;
        let seq = self.seq;

        let near = |a: Option<LocalTime>, b: Option<LocalTime>| match (a, b) {
            (Some(a), Some(b)) => (a.0 - b.0).abs() <= APACHE_JOIN_SECS,
            _ => true,
        };

        // The thread's slot is looked up once: a line joining its failure,
        // or the one just emitted, is taken in place, and a line starting a
        // new one takes the slot over.
        let spare = &mut self.spare_texts;
        match self.apache.entry(key) {
            Entry::Occupied(mut o) => {
                let slot = o.get_mut();
                match slot {
                    Slot::Pending(p) if near(p.last, time) => {
                        let second_failure = role == Role::Lead
                            && p.has_lead
                            && strong
                            && p.strong
                            && ev.cause == Some(p.failure.cause);
                        if !second_failure {
                            merge(p, ev, at, keys);
                            if role == Role::Final {
                                keep_spare(spare, emit_pending(p, Some(keys), chunk, emit));
                                *slot = Slot::Closed { time, seq };
                            }
                            self.bound_pending(keys, chunk, emit);
                            return;
                        }
                    }
                    Slot::Closed { time: closed, .. }
                        if near(*closed, time) && (role == Role::Attach || !strong) =>
                    {
                        // Part of the failure just emitted (AH01097 after
                        // AH00898): nothing more to count.
                        *slot = Slot::Closed { time: *closed, seq };
                        self.bound_pending(keys, chunk, emit);
                        return;
                    }
                    _ => {}
                }
                // A second failure of the same kind (the first one had no
                // request-level line), or a line too late to join it: the
                // one assembled goes first.
                if let Slot::Pending(p) = slot {
                    keep_spare(spare, emit_pending(p, Some(keys), chunk, emit));
                }
                match start_apache(ev, at, chunk, seq, emit) {
                    Some(new) => *slot = new,
                    None => {
                        o.remove();
                    }
                }
            }
            Entry::Vacant(v) => {
                if let Some(new) = start_apache(ev, at, chunk, seq, emit) {
                    v.insert(new);
                }
            }
        }
        self.chunk_pending = true;
        self.bound_pending(keys, chunk, emit);
    }

    /// Emits the Apache failures being assembled whose last line is more
    /// than twice the join window older than `now` (log time): any later
    /// line on their thread would not join them but emit them. For inputs
    /// that never end (`upcause follow`); the result is the same as when
    /// that later line comes.
    pub fn flush_stale(&mut self, now: LocalTime, emit: &mut Emit<'_>) {
        let stale = |s: &Slot| match s {
            Slot::Pending(p) => p.last.is_some_and(|t| now.0 - t.0 > 2 * APACHE_JOIN_SECS),
            Slot::Closed { .. } => false,
        };
        if !self.apache.values().any(stale) {
            return;
        }
        let mut old: Vec<((u32, u32, u64), u64)> = self
            .apache
            .iter()
            .filter(|(_, s)| stale(s))
            .map(|(k, s)| (*k, s.seq()))
            .collect();
        old.sort_by_key(|&(_, seq)| seq);
        for (k, _) in old {
            if let Some(Slot::Pending(mut p)) = self.apache.remove(&k) {
                emit_pending(&mut p, None, &[], emit);
            }
        }
    }

    /// Keeps the per-thread state bounded: past the cap, the oldest half
    /// is emitted (pending) or forgotten (closed).
    #[inline(always)]
    fn bound_pending(&mut self, keys: &Keys, chunk: &[u8], emit: &mut Emit<'_>) {
        if self.apache.len() > MAX_PENDING {
            self.halve_pending(keys, chunk, emit);
        }
    }

    /// [`Correlator::bound_pending`] past the cap.
    #[cold]
    #[inline(never)]
    fn halve_pending(&mut self, keys: &Keys, chunk: &[u8], emit: &mut Emit<'_>) {
        let mut by_age: Vec<((u32, u32, u64), u64)> =
            self.apache.iter().map(|(k, s)| (*k, s.seq())).collect();
        by_age.sort_by_key(|&(_, s)| s);
        for (k, _) in by_age.into_iter().take(MAX_PENDING / 2) {
            if let Some(Slot::Pending(mut p)) = self.apache.remove(&k) {
                keep_spare(
                    &mut self.spare_texts,
                    emit_pending(&mut p, Some(keys), chunk, emit),
                );
            }
        }
    }
}

/// Keeps the buffer of an emitted failure for the next one (none for one
/// emitted within its chunk).
fn keep_spare(spare: &mut Vec<Vec<u8>>, buf: Vec<u8>) {
    if buf.capacity() > 0 && spare.len() < SPARE_TEXTS {
        spare.push(buf);
    }
}

/// The slot of a thread whose line starts a failure: pending, or closed
/// when the line completes it on its own (then emitted now); `None` for an
/// attach line with nothing to attach to.
#[inline(always)]
fn start_apache(
    ev: &Event,
    at: Place,
    chunk: &[u8],
    seq: u64,
    emit: &mut Emit<'_>,
) -> Option<Slot> {
    let cause = ev.cause?;
    let mut f = failure_of(ev, cause, at);
    if ev.role == Role::Final {
        emit(&f, &chunk[ev.start as usize..ev.end as usize]);
        return Some(Slot::Closed { time: ev.time, seq });
    }
    // Its text and keys stay in the chunk until it ends (see
    // [`Pending::in_chunk`]).
    f.upstream = Key::None;
    f.route = Key::None;
    Some(Slot::Pending(Pending {
        failure: f,
        buf: Vec::new(),
        text_len: 0,
        in_chunk: true,
        text: (ev.start, ev.end),
        upstream: Held::local(ev.upstream),
        route: Held::local(ev.route),
        strong: ev.strong,
        has_lead: ev.role == Role::Lead,
        last: ev.time,
        seq,
    }))
}

/// Adds a line to a failure being assembled: the first strong cause wins,
/// the first upstream and route found are kept.
fn merge(p: &mut Pending, ev: &Event, at: Place, keys: &Keys) {
    if let Some(cause) = ev.cause
        && ev.strong
        && !p.strong
    {
        p.failure.cause = cause;
        p.failure.status = ev.status;
        p.strong = true;
    }
    if p.upstream.id == NO_KEY {
        p.upstream = if p.in_chunk {
            Held::local(ev.upstream)
        } else {
            Held::new(ev.upstream, &keys.upstreams, &mut p.buf)
        };
    }
    if p.route.id == NO_KEY {
        p.route = if p.in_chunk {
            Held::local(ev.route)
        } else {
            Held::new(ev.route, &keys.routes, &mut p.buf)
        };
    }
    if p.failure.time.is_none() {
        p.failure.time = ev.time;
    }
    if p.failure.join.log_id == 0 {
        p.failure.join.log_id = ev.join.log_id;
    }
    p.has_lead |= ev.role == Role::Lead;
    p.last = ev.time.or(p.last);
    p.failure.lines += at.lines;
}

/// What an nginx failure is to the requests before it.
struct Attempt {
    /// Not a retry under the same cause.
    new_request: bool,
    /// A retry of a request counted under another cause.
    repeat: bool,
    /// The statuses its request was counted with, to correct.
    restatus: Option<Restatus>,
}

/// A request's pair list holding `pair` alone.
fn first_pair(pair: u64) -> [u64; RECENT_PAIRS] {
    let mut seen = [0; RECENT_PAIRS];
    seen[0] = pair;
    seen
}

/// The failure a single record of `cause` stands for, its keys still in
/// the chunk's tables.
#[inline]
fn failure_of(ev: &Event, cause: CauseId, at: Place) -> Failure {
    Failure {
        cause,
        server: ev.server,
        status: ev.status,
        time: ev.time,
        micros: ev.micros,
        upstream: Key::local(ev.upstream),
        route: Key::local(ev.route),
        new_request: true,
        lines: at.lines,
        file: at.file,
        line: at.line,
        repeat: false,
        restatus: None,
        join: ev.join,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyTable;

    fn lead(tid: u64, t: i64) -> Event {
        Event {
            cause: CauseId::from_id("upstream_timeout"),
            role: Role::Lead,
            strong: true,
            status: None,
            server: Server::Apache,
            time: Some(LocalTime(t)),
            micros: crate::event::NO_MICROS,
            pid: Some(1),
            tid: Some(tid),
            request: None,
            upstream: NO_KEY,
            route: NO_KEY,
            line: 0,
            start: 0,
            end: 1,
            lines: 1,
            join: Default::default(),
        }
    }

    fn place(file: u32, line: u64) -> Place {
        Place {
            file,
            line,
            lines: 1,
        }
    }

    /// The Apache join state is capped: past MAX_PENDING threads with a
    /// failure being assembled, the oldest are emitted early, none lost.
    #[test]
    fn pending_apache_failures_are_bounded_and_never_lost() {
        let mut c = Correlator::new();
        let keys = Keys::default();
        let mut emitted = 0u64;
        let n = MAX_PENDING as u64 * 2 + 7;
        for tid in 0..n {
            let at = place(0, tid);
            c.push(&lead(tid, 100), at, b"x", &keys, &mut |_, _| emitted += 1);
            assert!(c.apache.len() <= MAX_PENDING + 1);
        }
        assert!(emitted > 0, "the oldest were emitted early");
        c.chunk_end(b"x", &keys);
        c.flush(&mut |_, _| emitted += 1);
        assert_eq!(emitted, n);
        assert!(c.apache.is_empty());
    }

    /// The Apache joiner as it was before its fast paths: three lookups
    /// of the thread's slot for a line that starts a failure, and the
    /// keys of a failure copied out of the chunk's table when it starts.
    mod plain {
        use super::super::*;

        enum Slot {
            Pending(Box<Assembled>),
            Closed { time: Option<LocalTime>, seq: u64 },
        }

        /// The failure, its first line, whether strong, whether it has a
        /// lead line, its last time and its sequence number.
        type Assembled = (Failure, Vec<u8>, bool, bool, Option<LocalTime>, u64);

        #[derive(Default)]
        pub struct Joiner {
            apache: HashMap<(u32, u32, u64), Slot>,
            seq: u64,
        }

        fn seq(s: &Slot) -> u64 {
            match s {
                Slot::Pending(p) => p.5,
                Slot::Closed { seq, .. } => *seq,
            }
        }

        impl Joiner {
            pub fn push(
                &mut self,
                ev: &Event,
                at: Place,
                text: &[u8],
                keys: &Keys,
                emit: &mut Emit<'_>,
            ) {
                let key = (at.file, ev.pid.unwrap_or(0), ev.tid.unwrap_or(0));
                let (role, strong, time) = (ev.role, ev.strong, ev.time);
                self.seq += 1;
                let seq = self.seq;
                let near = |a: Option<LocalTime>, b: Option<LocalTime>| match (a, b) {
                    (Some(a), Some(b)) => (a.0 - b.0).abs() <= APACHE_JOIN_SECS,
                    _ => true,
                };
                if let Some(slot) = self.apache.get_mut(&key) {
                    match slot {
                        Slot::Pending(p) if near(p.4, time) => {
                            let (f, _, p_strong, has_lead, last, _) = &mut **p;
                            let second = role == Role::Lead
                                && *has_lead
                                && strong
                                && *p_strong
                                && ev.cause == Some(f.cause);
                            if !second {
                                if let Some(cause) = ev.cause
                                    && strong
                                    && !*p_strong
                                {
                                    f.cause = cause;
                                    f.status = ev.status;
                                    *p_strong = true;
                                }
                                if f.upstream.is_none() {
                                    f.upstream = Key::owned(ev.upstream, &keys.upstreams);
                                }
                                if f.route.is_none() {
                                    f.route = Key::owned(ev.route, &keys.routes);
                                }
                                if f.time.is_none() {
                                    f.time = ev.time;
                                }
                                if f.join.log_id == 0 {
                                    f.join.log_id = ev.join.log_id;
                                }
                                *has_lead |= role == Role::Lead;
                                *last = ev.time.or(*last);
                                f.lines += at.lines;
                                if role == Role::Final {
                                    let done = std::mem::replace(slot, Slot::Closed { time, seq });
                                    if let Slot::Pending(p) = done {
                                        emit(&p.0, &p.1);
                                    }
                                }
                                self.bound(emit);
                                return;
                            }
                        }
                        Slot::Closed { time: closed, .. }
                            if near(*closed, time) && (role == Role::Attach || !strong) =>
                        {
                            *slot = Slot::Closed { time: *closed, seq };
                            self.bound(emit);
                            return;
                        }
                        _ => {}
                    }
                }
                if let Some(Slot::Pending(p)) = self.apache.remove(&key) {
                    emit(&p.0, &p.1);
                }
                if let Some(cause) = ev.cause {
                    let mut f = failure_of(ev, cause, at);
                    if role == Role::Final {
                        emit(&f, text);
                        self.apache.insert(key, Slot::Closed { time, seq });
                    } else {
                        f.upstream = Key::owned(ev.upstream, &keys.upstreams);
                        f.route = Key::owned(ev.route, &keys.routes);
                        let p = (f, text.to_vec(), strong, role == Role::Lead, time, seq);
                        self.apache.insert(key, Slot::Pending(Box::new(p)));
                    }
                }
                self.bound(emit);
            }

            fn bound(&mut self, emit: &mut Emit<'_>) {
                if self.apache.len() <= MAX_PENDING {
                    return;
                }
                let mut by_age: Vec<_> = self.apache.iter().map(|(k, s)| (*k, seq(s))).collect();
                by_age.sort_by_key(|&(_, s)| s);
                for (k, _) in by_age.into_iter().take(MAX_PENDING / 2) {
                    if let Some(Slot::Pending(p)) = self.apache.remove(&k) {
                        emit(&p.0, &p.1);
                    }
                }
            }

            pub fn flush(&mut self, emit: &mut Emit<'_>) {
                let mut pending: Vec<_> = self
                    .apache
                    .drain()
                    .filter_map(|(_, s)| match s {
                        Slot::Pending(p) => Some(p),
                        Slot::Closed { .. } => None,
                    })
                    .collect();
                pending.sort_by_key(|p| p.5);
                for p in pending {
                    emit(&p.0, &p.1);
                }
            }
        }
    }

    /// An emitted failure with its keys' bytes and its text.
    type Seen = (Failure, Option<Vec<u8>>, Option<Vec<u8>>, Vec<u8>);

    fn seen(f: &Failure, text: &[u8], keys: Option<&Keys>) -> Seen {
        let bytes = |k: &Key, list: Option<&KeyList>| match (k, list) {
            (Key::Local(_), None) => panic!("a local key between chunks"),
            (k, Some(l)) => k.bytes(l).map(<[u8]>::to_vec),
            (k, None) => k.bytes(&KeyList::default()).map(<[u8]>::to_vec),
        };
        let up = bytes(&f.upstream, keys.map(|k| &k.upstreams));
        let route = bytes(&f.route, keys.map(|k| &k.routes));
        let mut f = f.clone();
        f.upstream = Key::None;
        f.route = Key::None;
        (f, up, route, text.to_vec())
    }

    /// The joiner gives the failures, keys and texts the plain one gives,
    /// in the same order, over chunks whose key tables give the same id to
    /// other keys, with threads enough to reach the cap on its table.
    #[test]
    fn apache_joins_as_the_plain_joiner() {
        let causes = ["upstream_timeout", "upstream_refused", "premature_close"]
            .map(|c| CauseId::from_id(c).unwrap());
        let names: Vec<Vec<u8>> = (0..6)
            .map(|i| format!("http://b{i}:80").into_bytes())
            .collect();
        let roles = [
            Role::Lead,
            Role::Lead,
            Role::Final,
            Role::Attach,
            Role::Final,
        ];
        let (mut fast, mut plain) = (Correlator::new(), plain::Joiner::default());
        let (mut got, mut want) = (Vec::new(), Vec::new());
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: u64| {
            crate::testing::xorshift(&mut x);
            x % n
        };
        let (mut line, mut local, mut most) = (0, 0, 0);
        for chunk in 0..40u64 {
            // This chunk's tables: the keys in another order each time.
            let mut up = KeyTable::default();
            let mut routes = KeyTable::default();
            for i in 0..names.len() {
                let n = &names[(i + chunk as usize) % names.len()];
                up.intern(n);
                routes.intern(&[b"/r".as_slice(), n].concat());
            }
            let mut keys = Keys::default();
            keys.upstreams.extend_from(up.keys(), 0);
            keys.routes.extend_from(routes.keys(), 0);
            // Wide chunks spread over many threads, to reach the cap.
            let (threads, lines) = if chunk % 10 == 9 {
                (9_000, 6_000)
            } else {
                (12, 400)
            };
            // The chunk's bytes: its lines' texts, each line's own.
            let texts: Vec<String> = (line + 1..=line + lines)
                .map(|n| format!("line {n}\n"))
                .collect();
            let bytes = texts.concat().into_bytes();
            let mut start = 0;
            for text in &texts {
                line += 1;
                let key = |k: u64| if k >= 6 { NO_KEY } else { k as u32 };
                let mut ev = lead(next(threads), 100 + (line / 50) as i64 + next(4) as i64 * 3);
                ev.cause = (next(8) != 0).then(|| causes[next(3) as usize]);
                ev.role = roles[next(roles.len() as u64) as usize];
                ev.strong = next(3) != 0;
                ev.upstream = key(next(9));
                ev.route = key(next(9));
                ev.join.log_id = next(3);
                (ev.start, ev.end) = (start, start + text.len() as u32 - 1);
                start += text.len() as u32;
                let at = place((chunk / 20) as u32, line);
                fast.push(&ev, at, &bytes, &keys, &mut |f, t| {
                    local += usize::from(matches!(f.upstream, Key::Local(_)));
                    got.push(seen(f, t, Some(&keys)))
                });
                let text = &bytes[ev.start as usize..ev.end as usize];
                plain.push(&ev, at, text, &keys, &mut |f, t| {
                    want.push(seen(f, t, Some(&keys)))
                });
                most = most.max(fast.apache.len());
            }
            fast.chunk_end(&bytes, &keys);
            if chunk == 19 || chunk == 39 {
                fast.flush(&mut |f, t| got.push(seen(f, t, None)));
                plain.flush(&mut |f, t| want.push(seen(f, t, None)));
            }
        }
        assert!(
            want.len() > 5_000 && local > 1_000,
            "{} {local}",
            want.len()
        );
        assert_eq!(most, MAX_PENDING, "the cap was reached");
        assert!(got == want, "{} {}", got.len(), want.len());
    }

    /// nginx lines through `push`: a second server tried for the same
    /// request under the same cause is an attempt, not a request; the same
    /// (cause, upstream) again on that connection is a new request (keepalive),
    /// and so is the same request line on another connection or in another
    /// input.
    #[test]
    fn nginx_retries_through_push() {
        let refused = CauseId::from_id("upstream_refused");
        let mut table = KeyTable::default();
        let (a, b) = (table.intern(b"http://a:80"), table.intern(b"http://b:80"));
        let mut keys = Keys::default();
        keys.upstreams.extend_from(table.keys(), 0);
        let ev = |request: u64, upstream: u32| Event {
            cause: refused,
            role: Role::Alone,
            strong: true,
            status: None,
            server: Server::Nginx,
            time: Some(LocalTime(100)),
            micros: crate::event::NO_MICROS,
            pid: Some(7),
            tid: Some(7),
            request: Some(request),
            upstream,
            route: NO_KEY,
            line: 0,
            start: 0,
            end: 1,
            lines: 1,
            join: Default::default(),
        };
        let mut c = Correlator::new();
        let mut new = Vec::new();
        for (e, file) in [
            (ev(1, a), 0),
            (ev(1, b), 0),
            (ev(1, a), 0),
            (ev(2, a), 0),
            (ev(1, a), 1),
        ] {
            c.push(&e, place(file, 1), b"x", &keys, &mut |f, _| {
                new.push(f.new_request)
            });
        }
        assert_eq!(new, [true, false, true, true, true]);
    }

    /// A request whose first attempt timed out and whose retry met "no
    /// live upstreams" is new for the second cause but not a new request,
    /// and the client got the last attempt's status: the timeout's 504 is
    /// corrected to 502. A third attempt of the first cause moves both
    /// back.
    #[test]
    fn a_retry_under_another_cause_carries_the_status_the_client_got() {
        let id = |s: &str| CauseId::from_id(s).unwrap();
        let mut table = KeyTable::default();
        let (a, b, group) = (
            table.intern(b"http://a:80"),
            table.intern(b"http://b:80"),
            table.intern(b"backend"),
        );
        let mut keys = Keys::default();
        keys.upstreams.extend_from(table.keys(), 0);
        let ev = |cause: &str, upstream: u32| Event {
            cause: Some(id(cause)),
            role: Role::Alone,
            strong: true,
            status: None,
            server: Server::Nginx,
            time: Some(LocalTime(100)),
            micros: crate::event::NO_MICROS,
            pid: Some(7),
            tid: Some(7),
            request: Some(42),
            upstream,
            route: NO_KEY,
            line: 0,
            start: 0,
            end: 1,
            lines: 1,
            join: Default::default(),
        };
        let mut c = Correlator::new();
        let mut got = Vec::new();
        for e in [
            ev("upstream_timeout", a),
            ev("no_live_upstreams", group),
            ev("upstream_timeout", b),
        ] {
            c.push(&e, place(0, 1), b"x", &keys, &mut |f, _| {
                got.push((f.new_request, f.repeat, f.restatus))
            });
        }
        let bit = |s: &str| 1u64 << id(s).0;
        assert_eq!(got[0], (true, false, None));
        assert_eq!(
            got[1],
            (
                true,
                true,
                Some(Restatus {
                    causes: bit("upstream_timeout"),
                    from: 504
                })
            )
        );
        assert_eq!(
            got[2],
            (
                false,
                false,
                Some(Restatus {
                    causes: bit("upstream_timeout") | bit("no_live_upstreams"),
                    from: 502
                })
            )
        );
        let f = failure_of(
            &ev("no_live_upstreams", group),
            id("no_live_upstreams"),
            place(0, 1),
        );
        assert_eq!(client_status(&f), Some(502));
    }

    /// The retry memory as it was first written: a table of slot structs,
    /// every slot written empty when it is made, driven like
    /// [`Correlator::nginx_attempt`].
    mod plain_recent {
        use super::super::{RECENT_PAIRS, RETRY_SECS, first_pair, pair, pair_cause};
        use crate::event::{CauseId, Restatus};

        #[derive(Clone, Copy)]
        struct Recent {
            tag: u64,
            time: i64,
            seen: [u64; RECENT_PAIRS],
        }

        const EMPTY: Recent = Recent {
            tag: 0,
            time: 0,
            seen: [0; RECENT_PAIRS],
        };

        pub struct Table {
            recent: Vec<Recent>,
            pub epoch: u32,
            workers: Vec<u32>,
            size: usize,
        }

        impl Table {
            pub fn new(size: usize) -> Self {
                Table {
                    recent: vec![EMPTY; size],
                    epoch: 1,
                    workers: Vec::new(),
                    size,
                }
            }

            pub fn end_workers(&mut self, file: u32) {
                let i = file as usize;
                if self.workers.len() <= i {
                    self.workers.resize(i + 1, 0);
                }
                self.workers[i] = self.workers[i].wrapping_add(1);
            }

            pub fn flush(&mut self) {
                self.epoch = self.epoch.wrapping_add(1).max(1);
                if self.epoch == 1 {
                    self.recent.fill(EMPTY);
                }
            }

            /// (new request, repeat, restatus).
            pub fn attempt(
                &mut self,
                req: u64,
                file: u32,
                t: i64,
                cause: CauseId,
                upstream_hash: u64,
                status: u16,
            ) -> (bool, bool, Option<Restatus>) {
                let pair = pair(cause, upstream_hash);
                let workers = self.workers.get(file as usize).copied().unwrap_or(0);
                let key = req
                    ^ u64::from(file).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    ^ u64::from(workers).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
                let tag = (key ^ u64::from(self.epoch).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)) | 1;
                let slot = (req as u32).wrapping_add(file.wrapping_mul(0x9E37_79B9));
                let r = &mut self.recent[slot as usize % self.size];
                let (mut new_request, mut repeat, mut restatus) = (true, false, None);
                let (last, was) = (r.time >> 16, r.time as u16);
                if r.tag == tag && (t - last).abs() <= RETRY_SECS {
                    let len = r.seen.iter().position(|&p| p == 0).unwrap_or(RECENT_PAIRS);
                    let seen = &r.seen[..len];
                    if seen.contains(&pair) {
                        r.seen = first_pair(pair);
                    } else {
                        let causes = seen
                            .iter()
                            .map(|&p| pair_cause(p))
                            .filter(|&c| c < 64)
                            .fold(0u64, |m, c| m | 1 << c);
                        if seen.iter().any(|&p| pair_cause(p) == cause.0) {
                            new_request = false;
                        } else {
                            repeat = true;
                        }
                        if was != 0 && status != 0 && was != status && causes != 0 {
                            restatus = Some(Restatus { causes, from: was });
                        }
                        if len < RECENT_PAIRS {
                            r.seen[len] = pair;
                        }
                    }
                } else {
                    r.tag = tag;
                    r.seen = first_pair(pair);
                }
                r.time = t.wrapping_shl(16) | i64::from(status);
                (new_request, repeat, restatus)
            }
        }
    }

    #[test]
    fn retry_memory_slots_are_cache_lines() {
        let mut table = RecentTable::new();
        for i in [0, 1, MAX_RECENT / 2, MAX_RECENT - 1] {
            assert_eq!(table.slot(i).as_ptr() as usize % 64, 0);
            assert_eq!(*table.slot(i), [0; SLOT_WORDS]);
        }
    }

    /// Each page the slots lie in is marked once, when its first slot is
    /// taken, and the write that marks it never clears a slot in use.
    #[test]
    fn retry_memory_pages_are_marked_once_each() {
        let mut table = RecentTable::new();
        let mut pages = std::collections::HashSet::new();
        for i in (0..MAX_RECENT).rev() {
            let slot = table.slot(i);
            pages.insert(slot.as_ptr() as usize >> 12);
            slot[0] = i as u64 + 1;
            // Taken again at once: the page is marked already.
            table.slot(i)[1] = 7;
        }
        let marked: u32 = table.written.iter().map(|w| w.count_ones()).sum();
        assert_eq!(marked as usize, pages.len());
        assert!(pages.len() >= MAX_RECENT * SLOT_WORDS * 8 / 4096);
        for i in 0..MAX_RECENT {
            assert_eq!(table.slot(i)[..2], [i as u64 + 1, 7], "slot {i}");
        }
        table.clear();
        assert!(table.written.iter().all(|&w| w == u64::MAX));
        assert_eq!(*table.slot(3), [0; SLOT_WORDS]);
    }

    #[test]
    fn zeroed_retry_memory_answers_as_the_plain_table() {
        let mut fast = Correlator::new();
        let mut slow = plain_recent::Table::new(MAX_RECENT);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            crate::testing::xorshift(&mut x);
            x
        };
        let mut t = 1_700_000_000i64;
        let mut answers = [0usize; 4];
        for step in 0..200_000u32 {
            let r = next();
            match r % 1000 {
                0 => {
                    fast.flush(&mut |_, _| {});
                    slow.flush();
                    continue;
                }
                1 => {
                    let file = (r >> 10) as u32 % 3;
                    fast.end_workers(file);
                    slow.end_workers(file);
                    continue;
                }
                2 if step > 150_000 => {
                    // Towards the wrap of the epoch, which empties the table.
                    fast.epoch = u32::MAX - 1;
                    slow.epoch = u32::MAX - 1;
                    continue;
                }
                _ => {}
            }
            // Few connections, some a table's length apart (one slot).
            let conn = (r >> 12) % 200 + ((r >> 24) % 3) * MAX_RECENT as u64;
            let file = ((r >> 30) % 8 / 7) as u32;
            t += match (r >> 34) % 100 {
                0 => 700,
                1 => -650,
                _ => ((r >> 40) % 3) as i64,
            };
            let cause = CauseId(((r >> 42) % 5) as u16 * if (r >> 45) % 50 == 0 { 17 } else { 1 });
            let upstream = (r >> 48) % 4;
            let status = [0, 502, 504, 503][((r >> 52) % 4) as usize];
            let a = fast.nginx_attempt(conn, file, Some(LocalTime(t)), cause, upstream, status);
            let b = slow.attempt(conn, file, t, cause, upstream, status);
            assert_eq!(
                (a.new_request, a.repeat, a.restatus),
                b,
                "step {step}: connection {conn}, file {file}"
            );
            // New, retry under the same cause, repeat under another,
            // statuses to correct.
            answers[match (a.new_request, a.repeat) {
                (true, false) => 0,
                (false, _) => 1,
                (true, true) => 2,
            }] += 1;
            answers[3] += usize::from(a.restatus.is_some());
        }
        // Every kind of answer came up.
        assert!(answers.iter().all(|&n| n > 1000), "{answers:?}");
    }
}

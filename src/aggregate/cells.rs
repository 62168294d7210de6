//! Failures per short time window, cause, server and upstream: what
//! incidents are found from.
//!
//! A [`Cell`] counts the failures of one (cause, server, upstream) in one
//! window and keeps the first and last failure time, so an incident's edges
//! are exact whatever the window, a few of its routes, and its first line
//! as evidence. Memory is bounded three ways: at most [`MAX_WINDOW_KEYS`]
//! keys per window (further upstreams are counted under `(other)`),
//! [`CELL_ROUTES`] routes per cell (the rest counted as other routes), and
//! at most [`MAX_CELLS`] cells in all: past that the window grows to the
//! next coarser step and cells of the same key merge, which keeps the edges
//! exact and only coarsens the peak. A cell keeps its first line only
//! where a run of its key starts (the key had no cell in the window
//! before), cut at [`MAX_CELL_TEXT`]: a key that fails all the time keeps
//! one line per run. At the cap that is a few megabytes at most: each cell
//! is about 150 bytes, plus its line when it has one.

use std::collections::BTreeMap;

use super::window;
use crate::event::{CauseId, Failure, LocalTime, NO_MICROS, Server};
use crate::keys::{NO_KEY, OTHER};

/// Window of the cells before any coarsening, in seconds.
pub const CELL_WINDOW: i64 = 10;
/// Most cells kept before the window is coarsened.
pub const MAX_CELLS: usize = 8192;
/// Most keys in one window; further upstreams are counted as `(other)`.
pub const MAX_WINDOW_KEYS: usize = 64;
/// Routes counted per cell.
pub const CELL_ROUTES: usize = 4;
/// Longest evidence line kept per cell, in bytes.
pub const MAX_CELL_TEXT: usize = 512;

/// A line with where it is: a cause's first line, a cell's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Input index.
    pub file: u32,
    /// Line number.
    pub line: u64,
    /// The line, cut (at [`MAX_EXAMPLE`](super::MAX_EXAMPLE) bytes for a
    /// cause's example).
    pub text: Vec<u8>,
}

/// Slots of the current window's index.
const INDEX_SLOTS: usize = 256;
/// One slot of the current window's index: a key, and the index in `cur`
/// plus one (0: empty) of the cell that counts it, its own or, for a key
/// folded into `(other)`, that one.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: CellKey,
    cell: u16,
}
const EMPTY_SLOT: Slot = Slot {
    key: CellKey {
        cause: CauseId(0),
        server: Server::Nginx,
        upstream: NO_KEY,
    },
    cell: 0,
};
/// Cells of the current window the index holds at most (beyond, a
/// window found again after others can hold more: it is searched).
const INDEXED: usize = INDEX_SLOTS * 3 / 4;

/// The index slot a key starts probing at.
#[inline]
fn slot_of(key: &CellKey) -> usize {
    let x = (u64::from(key.cause.0) << 40
        | (key.server.index() as u64) << 32
        | u64::from(key.upstream))
    .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as usize
}

/// What a cell counts: one cause, on one upstream, logged by one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// The cause.
    pub cause: CauseId,
    /// The server that logged it.
    pub server: Server,
    /// The upstream id, [`NO_KEY`] or [`OTHER`].
    pub upstream: u32,
}

/// One key's failures in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// What is counted.
    pub key: CellKey,
    /// Failed requests.
    pub count: u64,
    /// Attempts (requests and their retries).
    pub attempts: u64,
    /// Of `count`, requests counted before under another cause (a retry
    /// that failed otherwise): not new requests.
    pub repeats: u64,
    /// The earliest failure in the window.
    pub first: LocalTime,
    /// The latest.
    pub last: LocalTime,
    /// The microseconds of `first` where its line had them, else
    /// [`NO_MICROS`]: a failure of the same second without them may have
    /// come first.
    pub first_us: u32,
    /// The microseconds of `last`, likewise.
    pub last_us: u32,
    /// Failed requests per route id, most counted first come first; unused
    /// slots have the count 0.
    /// (Ids and counts apart: a cell is 16 bytes smaller than with
    /// pairs, which pad each id to 8.)
    pub route_ids: [u32; CELL_ROUTES],
    /// The counts of `route_ids`, slot by slot.
    pub route_ns: [u64; CELL_ROUTES],
    /// Failed requests on routes past [`CELL_ROUTES`] (or without a route
    /// slot after a merge).
    pub other_routes: u64,
    /// The first line (in input order): where it is, and its text (cut at
    /// [`MAX_CELL_TEXT`]) in the cells' store ([`Cells::example`]).
    pub line: CellLine,
}

/// Order of earliest failures: a second without microseconds comes
/// before any of the same second with them (its failure may have been the
/// first), so an edge is given to the microsecond only when it is known.
#[inline]
pub fn early(t: LocalTime, us: u32) -> (i64, i64) {
    (t.0, if us == NO_MICROS { -1 } else { i64::from(us) })
}

/// Order of latest failures: a second without microseconds comes after any
/// of the same second with them.
#[inline]
pub fn late(t: LocalTime, us: u32) -> (i64, i64) {
    (
        t.0,
        if us == NO_MICROS {
            1_000_000
        } else {
            i64::from(us)
        },
    )
}

/// Where a cell's first line is, and where its text is in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellLine {
    /// Input index.
    pub file: u32,
    /// Line number.
    pub line: u64,
    /// Offset of its text in the store.
    at: u32,
    /// Length of its text (0: none kept).
    len: u32,
}

impl CellLine {
    /// True when the line's text is kept.
    pub fn has_text(&self) -> bool {
        self.len > 0
    }
}

impl Cell {
    /// A cell with nothing counted yet, its first line at `file:line`
    /// (its text stored apart, see [`Cells::insert`]).
    pub fn new(key: CellKey, t: LocalTime, file: u32, line: u64) -> Cell {
        Cell {
            key,
            count: 0,
            attempts: 0,
            repeats: 0,
            first: t,
            last: t,
            first_us: NO_MICROS,
            last_us: NO_MICROS,
            route_ids: [NO_KEY; CELL_ROUTES],
            route_ns: [0; CELL_ROUTES],
            other_routes: 0,
            line: CellLine {
                file,
                line,
                at: 0,
                len: 0,
            },
        }
    }

    /// Takes in failures from `first` to `last` (with their microseconds).
    #[inline]
    fn widen(&mut self, first: LocalTime, first_us: u32, last: LocalTime, last_us: u32) {
        // The seconds first: most failures fall strictly inside.
        if first <= self.first && early(first, first_us) < early(self.first, self.first_us) {
            (self.first, self.first_us) = (first, first_us);
        }
        if last >= self.last && late(last, last_us) > late(self.last, self.last_us) {
            (self.last, self.last_us) = (last, last_us);
        }
    }

    /// Counts `n` failed requests on `route`.
    pub fn add_route(&mut self, route: u32, n: u64) {
        if n == 0 {
            return;
        }
        if route == NO_KEY || route == OTHER {
            self.other_routes = self.other_routes.saturating_add(n);
            return;
        }
        // Slots fill in order and never empty: the first free one ends
        // the search.
        for (id, count) in self.route_ids.iter_mut().zip(&mut self.route_ns) {
            if *count == 0 {
                (*id, *count) = (route, n);
                return;
            }
            if *id == route {
                *count = count.saturating_add(n);
                return;
            }
        }
        self.other_routes = self.other_routes.saturating_add(n);
    }

    /// Routes counted, in slot order.
    pub fn route_counts(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.route_ids
            .iter()
            .copied()
            .zip(self.route_ns.iter().copied())
            .filter(|r| r.1 > 0)
    }

    /// Takes the routes out (for keying them anew), leaving none.
    pub fn take_routes(&mut self) -> [(u32, u64); CELL_ROUTES] {
        let routes = std::array::from_fn(|i| (self.route_ids[i], self.route_ns[i]));
        self.route_ids = [NO_KEY; CELL_ROUTES];
        self.route_ns = [0; CELL_ROUTES];
        routes
    }

    /// Adds another cell of the same key.
    fn absorb(&mut self, o: Cell) {
        self.count = self.count.saturating_add(o.count);
        self.attempts = self.attempts.saturating_add(o.attempts);
        self.repeats = self.repeats.saturating_add(o.repeats);
        self.widen(o.first, o.first_us, o.last, o.last_us);
        for (r, n) in o.route_counts() {
            self.add_route(r, n);
        }
        self.other_routes = self.other_routes.saturating_add(o.other_routes);
        if (o.line.file, o.line.line) < (self.line.file, self.line.line) {
            self.line = o.line;
        }
    }
}

/// Every cell of a run, by window.
#[derive(Debug, Clone)]
pub struct Cells {
    /// Window length in seconds.
    window: i64,
    /// Windows other than the current one, by start.
    done: BTreeMap<i64, Vec<Cell>>,
    /// The window being written (logs run forward: almost every failure
    /// lands here), and its start.
    cur: Vec<Cell>,
    cur_start: i64,
    /// Index in `cur` of the cell counted last.
    hit: usize,
    /// `cur`'s cells by key, open addressing, while `cur` holds at most
    /// [`INDEXED`]; with the keys folded into `(other)` seen so far, so
    /// that a window past [`MAX_WINDOW_KEYS`] finds their cell at once.
    index: Box<[Slot; INDEX_SLOTS]>,
    /// Folded keys in `index`.
    aliases: usize,
    /// Cells in all.
    len: usize,
    /// The cells' lines, one after the other (see [`CellLine`]); rebuilt
    /// when cells merge, so it holds at most about two lines per cell.
    store: Vec<u8>,
}

impl Default for Cells {
    fn default() -> Self {
        Cells::new(CELL_WINDOW)
    }
}

impl Cells {
    /// No cells, windows of `window` seconds.
    pub fn new(window: i64) -> Cells {
        Cells {
            window: window.max(1),
            done: BTreeMap::new(),
            cur: Vec::new(),
            cur_start: i64::MIN,
            hit: 0,
            index: Box::new([EMPTY_SLOT; INDEX_SLOTS]),
            aliases: 0,
            len: 0,
            store: Vec::new(),
        }
    }

    /// Window length in seconds.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// Cells in all.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets everything (the window length stays).
    pub fn clear(&mut self) {
        *self = Cells::new(self.window);
    }

    /// Forgets the windows that end at or before `t` (a rolling baseline:
    /// `follow` keeps only the recent past). With none left, the window
    /// goes back to `fine`, so a coarsening forced by a burst of keys does
    /// not outlive it.
    pub fn forget_before(&mut self, t: i64, fine: i64) {
        let keep = |start: i64, w: i64| start.saturating_add(w) > t;
        let w = self.window;
        let gone = self.done.range(..t.saturating_sub(w - 1)).count();
        if gone == 0 && (self.cur.is_empty() || keep(self.cur_start, w)) {
            return;
        }
        self.park();
        self.done.retain(|&s, _| keep(s, w));
        self.len = self.done.values().map(Vec::len).sum();
        if self.len == 0 {
            *self = Cells::new(fine.max(1));
        } else {
            self.compact();
        }
    }

    /// Counts one failure or attempt (ids as the aggregator's); failures
    /// without a time are not placed in any window.
    #[inline]
    pub fn add(&mut self, f: &Failure, upstream: u32, route: u32, text: &[u8]) {
        let Some(t) = f.time else { return };
        // In the current window (one compare, no division), or another.
        if (t.0.wrapping_sub(self.cur_start) as u64) >= self.window as u64 {
            self.switch(window::bucket(t.0, self.window));
        }
        let key = CellKey {
            cause: f.cause,
            server: f.server,
            upstream,
        };
        let i = match self.cur.get(self.hit) {
            Some(c) if c.key == key => self.hit,
            _ => match self.lookup(&key) {
                Ok(i) => i,
                Err(slot) => self.add_key(key, slot, t, f.file, f.line, text),
            },
        };
        self.hit = i;
        let c = &mut self.cur[i];
        if c.attempts == 0 {
            // A new cell: its time is this failure's.
            (c.first_us, c.last_us) = (f.micros, f.micros);
        }
        c.attempts += 1;
        c.widen(t, f.micros, t, f.micros);
        if (f.file, f.line) < (c.line.file, c.line.line) {
            // An earlier line than the first (inputs out of order): rare.
            let (file, line) = (f.file, f.line);
            self.set_line(i, file, line, text);
        }
        let c = &mut self.cur[i];
        if f.new_request {
            c.count += 1;
            c.repeats += u64::from(f.repeat);
            c.add_route(route, 1);
        }
    }

    /// Makes the window starting at `start` the current one.
    #[inline(never)]
    fn switch(&mut self, start: i64) {
        let old = std::mem::take(&mut self.cur);
        // A new window is given the room the last one took: its keys are
        // mostly the same, and it grows in one step instead of several.
        let room = old.len();
        if !old.is_empty() {
            self.done.insert(self.cur_start, old);
        }
        self.cur = self
            .done
            .remove(&start)
            .unwrap_or_else(|| Vec::with_capacity(room));
        self.cur_start = start;
        self.hit = 0;
        self.reindex();
    }

    /// Rebuilds the index of `cur`.
    fn reindex(&mut self) {
        self.index.fill(EMPTY_SLOT);
        self.aliases = 0;
        if self.cur.len() > INDEXED {
            return;
        }
        for i in 0..self.cur.len() {
            let key = self.cur[i].key;
            if let Err(slot) = self.lookup(&key) {
                self.index[slot] = Slot {
                    key,
                    cell: i as u16 + 1,
                };
            }
        }
    }

    /// The index in `cur` of the cell of `key`, or the free slot where it
    /// goes in the index (`usize::MAX` when `cur` is past the index).
    #[inline]
    fn lookup(&self, key: &CellKey) -> Result<usize, usize> {
        if self.cur.len() > INDEXED {
            return self
                .cur
                .iter()
                .position(|c| c.key == *key)
                .ok_or(usize::MAX);
        }
        // Never full: at most INDEXED entries (cells and aliases).
        let mut s = slot_of(key);
        loop {
            let e = &self.index[s];
            if e.cell == 0 {
                return Err(s);
            }
            if e.key == *key {
                return Ok(usize::from(e.cell) - 1);
            }
            s = (s + 1) % INDEX_SLOTS;
        }
    }

    /// Adds a cell to `cur` (whose key is not there), indexed.
    fn push_cur(&mut self, cell: Cell, slot: usize) -> usize {
        self.cur.push(cell);
        self.len += 1;
        let i = self.cur.len() - 1;
        if self.cur.len() > INDEXED {
            if self.cur.len() == INDEXED + 1 {
                self.index.fill(EMPTY_SLOT);
                self.aliases = 0;
            }
        } else if self.cur.len() + self.aliases > INDEXED {
            // Room for the cell: the folded keys are forgotten.
            self.reindex();
        } else if slot != usize::MAX {
            self.index[slot] = Slot {
                key: self.cur[i].key,
                cell: i as u16 + 1,
            };
        }
        i
    }

    /// Points `key`, folded, at `cur[cell]` in the index, while there is
    /// room.
    fn alias(&mut self, key: CellKey, cell: usize) {
        if self.cur.len() + self.aliases >= INDEXED {
            return;
        }
        if let Err(slot) = self.lookup(&key) {
            self.index[slot] = Slot {
                key,
                cell: cell as u16 + 1,
            };
            self.aliases += 1;
        }
    }

    /// The cell in `cur` that counts `key`, which has none there (`slot`
    /// is its free slot in the index): a new one, or past
    /// [`MAX_WINDOW_KEYS`] the `(other)` cell, which the key is then
    /// pointed at in the index.
    #[inline(never)]
    fn add_key(
        &mut self,
        key: CellKey,
        slot: usize,
        t: LocalTime,
        file: u32,
        line: u64,
        text: &[u8],
    ) -> usize {
        if self.cur.len() < MAX_WINDOW_KEYS {
            return self.new_cell(key, slot, t, file, line, text);
        }
        let folded = CellKey {
            upstream: OTHER,
            ..key
        };
        let i = match self.lookup(&folded) {
            Ok(i) => i,
            Err(slot) => self.new_cell(folded, slot, t, file, line, text),
        };
        if self.cur[i].key == folded {
            self.alias(key, i);
        }
        i
    }

    /// A new cell of `key` in `cur` (`slot` its free slot in the index).
    /// Coarsens first when it would pass [`MAX_CELLS`]: the current window
    /// is then re-bucketed with the others, made current again, and `key`
    /// looked up afresh.
    fn new_cell(
        &mut self,
        key: CellKey,
        slot: usize,
        t: LocalTime,
        file: u32,
        line: u64,
        text: &[u8],
    ) -> usize {
        if self.len >= MAX_CELLS && self.window < i64::MAX / 24 {
            self.coarsen_to_fit_one_more();
            let start = window::bucket(t.0, self.window);
            self.switch(start);
            return match self.lookup(&key) {
                Ok(i) => i,
                Err(slot) => self.add_key(key, slot, t, file, line, text),
            };
        }
        let i = self.push_cur(Cell::new(key, t, file, line), slot);
        self.set_line(i, file, line, text);
        i
    }

    /// Makes `file:line`, whose text is `text`, the first line of `cur[i]`.
    fn set_line(&mut self, i: usize, file: u32, line: u64, text: &[u8]) {
        let (at, len) = self.keep(text);
        self.cur[i].line = CellLine {
            file,
            line,
            at,
            len,
        };
    }

    /// Stores a line's text; its offset and length.
    fn keep(&mut self, text: &[u8]) -> (u32, u32) {
        if self.store.len() > 2 * MAX_CELLS * MAX_CELL_TEXT {
            self.compact();
        }
        let text = &text[..text.len().min(MAX_CELL_TEXT)];
        let at = self.store.len() as u32;
        self.store.extend_from_slice(text);
        (at, text.len() as u32)
    }

    /// The text of a cell's first line (empty when none was kept).
    pub fn text(&self, c: &Cell) -> &[u8] {
        let (at, len) = (c.line.at as usize, c.line.len as usize);
        self.store.get(at..at + len).unwrap_or(&[])
    }

    /// A cell's first line, owned.
    pub fn example(&self, c: &Cell) -> Example {
        Example {
            file: c.line.file,
            line: c.line.line,
            text: self.text(c).to_vec(),
        }
    }

    /// Rebuilds the store with the lines of the cells there are, in place:
    /// each kept line moves down over the lines no cell holds any more, in
    /// the order of their offsets, so no line is overwritten before it
    /// moves. A fresh buffer instead would cost new pages at every
    /// compaction (megabytes, on a log that keeps failing).
    fn compact(&mut self) {
        let mut held: Vec<(u32, u32, &mut CellLine)> = self
            .done
            .values_mut()
            .flat_map(|cells| cells.iter_mut())
            .chain(self.cur.iter_mut())
            .map(|c| (c.line.at, c.line.len, &mut c.line))
            .collect();
        held.sort_unstable_by_key(|&(at, len, _)| (at, len));
        let mut end = 0usize;
        // The last line moved, where it was and where it went: cells that
        // share a line (or hold none) keep sharing it.
        let mut last: Option<((u32, u32), (u32, u32))> = None;
        for (at, len, line) in held {
            let from = at as usize;
            let moved = match last {
                Some((was, moved)) if was == (at, len) => moved,
                _ => match self.store.get(from..from + len as usize) {
                    Some(_) if from >= end => {
                        self.store.copy_within(from..from + len as usize, end);
                        end += len as usize;
                        ((end - len as usize) as u32, len)
                    }
                    // Overlapping or past the end: no such line was kept.
                    _ => (end as u32, 0),
                },
            };
            (line.at, line.len) = moved;
            last = Some(((at, len), moved));
        }
        self.store.truncate(end);
    }

    /// [`Cells::compact`] the plain way, into a fresh buffer: the oracle.
    #[cfg(test)]
    fn compact_plain(&mut self) {
        let old = std::mem::take(&mut self.store);
        let mut store = Vec::new();
        let mut move_line = |c: &mut Cell| {
            let (at, len) = (c.line.at as usize, c.line.len as usize);
            let text = old.get(at..at + len).unwrap_or(&[]);
            c.line.at = store.len() as u32;
            c.line.len = text.len() as u32;
            store.extend_from_slice(text);
        };
        for cells in self.done.values_mut() {
            cells.iter_mut().for_each(&mut move_line);
        }
        self.cur.iter_mut().for_each(&mut move_line);
        self.store = store;
    }

    /// Every window with its cells, by start.
    pub fn windows(&self) -> Vec<(i64, &[Cell])> {
        let mut v: Vec<(i64, &[Cell])> =
            self.done.iter().map(|(&s, c)| (s, c.as_slice())).collect();
        if !self.cur.is_empty() {
            let at = v.partition_point(|&(s, _)| s < self.cur_start);
            v.insert(at, (self.cur_start, self.cur.as_slice()));
        }
        v
    }

    /// Puts a cell (from a saved report or another run) in the window
    /// holding `start`, `text` its first line's text.
    pub fn insert(&mut self, start: i64, mut cell: Cell, text: &[u8]) {
        self.park();
        let (at, len) = self.keep(text);
        cell.line.at = at;
        cell.line.len = len;
        let start = window::bucket(start, self.window);
        let cells = self.done.entry(start).or_default();
        if put(cells, cell) {
            self.len += 1;
        }
        if self.len > MAX_CELLS {
            self.coarsen_to_fit();
        }
    }

    /// Moves the current window in with the others.
    fn park(&mut self) {
        if !self.cur.is_empty() {
            let old = std::mem::take(&mut self.cur);
            self.done.insert(self.cur_start, old);
        }
        self.cur_start = i64::MIN;
        self.hit = 0;
        self.index.fill(EMPTY_SLOT);
        self.aliases = 0;
    }

    /// Grows the window until the cells fit under the cap.
    fn coarsen_to_fit(&mut self) {
        while self.len > MAX_CELLS && self.window < i64::MAX / 24 {
            self.rebucket(window::coarser(self.window));
        }
    }

    /// Grows the window until one more cell fits under the cap.
    #[inline(never)]
    fn coarsen_to_fit_one_more(&mut self) {
        while self.len >= MAX_CELLS && self.window < i64::MAX / 24 {
            self.rebucket(window::coarser(self.window));
        }
    }

    /// Re-buckets every cell into windows of `new_window` (a multiple of
    /// the current one).
    pub fn rebucket(&mut self, new_window: i64) {
        self.park();
        self.window = new_window;
        let old = std::mem::take(&mut self.done);
        self.len = 0;
        // Old windows come in order, so those of one new window come
        // together: their cells are merged through one index by key.
        let mut index: hashbrown::HashMap<CellKey, usize> = hashbrown::HashMap::new();
        let mut target: Option<(i64, Vec<Cell>)> = None;
        for (start, cells) in old {
            let to = window::bucket(start, new_window);
            if target.as_ref().is_some_and(|t| t.0 != to)
                && let Some((s, cs)) = target.take()
            {
                self.done.insert(s, cs);
            }
            let (_, into) = target.get_or_insert_with(|| {
                index.clear();
                (to, Vec::new())
            });
            for mut c in cells {
                if into.len() >= MAX_WINDOW_KEYS && !index.contains_key(&c.key) {
                    c.key.upstream = OTHER;
                }
                match index.get(&c.key) {
                    Some(&i) => into[i].absorb(c),
                    None => {
                        index.insert(c.key, into.len());
                        into.push(c);
                        self.len += 1;
                    }
                }
            }
        }
        if let Some((s, cs)) = target {
            self.done.insert(s, cs);
        }
        self.compact();
    }

    /// Adds another run's cells, their keys and inputs mapped by `map`.
    pub fn merge(&mut self, other: Cells, mut map: impl FnMut(&mut Cell)) {
        if other.window > self.window {
            let mut w = self.window;
            while w < other.window {
                w = window::coarser(w);
            }
            self.rebucket(w);
        }
        let mut other = other;
        other.park();
        let done = std::mem::take(&mut other.done);
        for (start, cells) in done {
            for mut c in cells {
                let text = other.text(&c).to_vec();
                map(&mut c);
                self.insert(start, c, &text);
            }
        }
    }
}

/// Adds `cell` to a window's cells: into the cell of its key, or as a new
/// one (folded into `(other)` past [`MAX_WINDOW_KEYS`]); true when a cell
/// was added.
fn put(cells: &mut Vec<Cell>, mut cell: Cell) -> bool {
    if let Some(c) = cells.iter_mut().find(|c| c.key == cell.key) {
        c.absorb(cell);
        return false;
    }
    if cells.len() >= MAX_WINDOW_KEYS {
        cell.key.upstream = OTHER;
        if let Some(c) = cells.iter_mut().find(|c| c.key == cell.key) {
            c.absorb(cell);
            return false;
        }
    }
    cells.push(cell);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Key;

    fn failure(cause: &str, t: i64, new_request: bool) -> Failure {
        Failure {
            cause: CauseId::from_id(cause).unwrap(),
            server: Server::Nginx,
            status: None,
            time: Some(LocalTime(t)),
            micros: crate::event::NO_MICROS,
            upstream: Key::None,
            route: Key::None,
            new_request,
            lines: 1,
            file: 0,
            line: t as u64,
            repeat: false,
            restatus: None,
            join: Default::default(),
        }
    }

    #[test]
    fn the_past_is_forgotten_and_the_window_comes_back() {
        let mut c = Cells::new(10);
        for t in [100, 105, 120, 131, 139] {
            c.add(&failure("upstream_refused", t, true), 1, NO_KEY, b"line");
        }
        assert_eq!(c.len(), 3);
        // Windows ending at or before 130 go; 130..140 stays, the current
        // one included.
        c.forget_before(130, 10);
        let w = c.windows();
        assert_eq!(w.len(), 1);
        assert_eq!(
            (w[0].0, w[0].1[0].count, w[0].1[0].first),
            (130, 2, LocalTime(131))
        );
        assert_eq!(c.text(&w[0].1[0]), b"line");
        assert_eq!(c.len(), 1);
        // Nothing to forget: unchanged.
        c.forget_before(135, 10);
        assert_eq!(c.len(), 1);
        // A coarsened store that empties starts afresh at the fine window.
        c.rebucket(60);
        c.forget_before(1000, 10);
        assert!(c.is_empty());
        assert_eq!(c.window(), 10);
        c.add(&failure("upstream_refused", 1001, true), 1, NO_KEY, b"x");
        assert_eq!(c.windows()[0].0, 1000);
    }

    #[test]
    fn cells_keep_counts_and_exact_edges() {
        let mut c = Cells::new(10);
        for (t, new) in [(101, true), (103, false), (109, true), (112, true)] {
            c.add(&failure("upstream_timeout", t, new), 0, 5, b"line");
        }
        c.add(&failure("upstream_refused", 104, true), 1, NO_KEY, b"other");
        let w = c.windows();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].0, 100);
        let t = &w[0].1[0];
        assert_eq!((t.count, t.attempts), (2, 3));
        assert_eq!((t.first.0, t.last.0), (101, 109));
        assert_eq!(t.route_counts().collect::<Vec<_>>(), [(5, 2)]);
        assert_eq!(w[0].1[1].other_routes, 1);
        assert_eq!((w[1].0, w[1].1[0].first.0), (110, 112));
    }

    /// Thousands of upstreams failing over a month of seconds stay under
    /// the caps: keys per window, cells in all; counts and edges survive.
    #[test]
    fn memory_stays_bounded_for_many_upstreams_and_a_long_span() {
        let mut c = Cells::new(CELL_WINDOW);
        let month = 30 * 86_400;
        let mut total = 0u64;
        let mut t = 0i64;
        let mut i = 0u32;
        while t < month {
            let f = failure("upstream_refused", t, true);
            c.add(&f, i % 5000, i % 20_000, &[b'x'; 4000]);
            total += 1;
            i += 1;
            t += 7 + i64::from(i % 50);
        }
        assert!(c.len() <= MAX_CELLS, "{} cells", c.len());
        let w = c.windows();
        assert!(
            w.iter()
                .all(|(_, cells)| cells.len() <= MAX_WINDOW_KEYS + 1)
        );
        assert!(c.window() > CELL_WINDOW);
        let counted: u64 = w
            .iter()
            .flat_map(|(_, cs)| cs.iter())
            .map(|x| x.count)
            .sum();
        assert_eq!(counted, total);
        assert_eq!(w[0].1.iter().map(|x| x.first.0).min(), Some(0));
        assert!(
            w.iter()
                .flat_map(|(_, cs)| cs.iter())
                .all(|x| c.text(x).len() == MAX_CELL_TEXT)
        );
        // The store holds about one line per cell, however many merged.
        assert!(c.store.len() <= 2 * MAX_CELLS * MAX_CELL_TEXT);
        // One window with more upstreams than its key cap folds the rest.
        let mut one = Cells::new(10);
        for u in 0..1000 {
            one.add(&failure("upstream_timeout", 5, true), u, NO_KEY, b"x");
        }
        let w = one.windows();
        assert_eq!(w[0].1.len(), MAX_WINDOW_KEYS + 1);
        assert_eq!(w[0].1.iter().map(|x| x.count).sum::<u64>(), 1000);
        assert!(w[0].1.iter().any(|x| x.key.upstream == OTHER));
        // Folded keys seen again (found through the index, past its room
        // for them) land in the same cells as the first time.
        let mut again = Cells::new(10);
        for round in 0..3 {
            for u in 0..400 {
                let f = failure("upstream_timeout", 5 + round, true);
                again.add(&f, u, NO_KEY, b"x");
            }
        }
        let w = again.windows();
        assert_eq!(w[0].1.len(), MAX_WINDOW_KEYS + 1);
        assert!(w[0].1[..MAX_WINDOW_KEYS].iter().all(|x| x.count == 3));
        assert_eq!(w[0].1[MAX_WINDOW_KEYS].key.upstream, OTHER);
        assert_eq!(w[0].1[MAX_WINDOW_KEYS].count, 3 * (400 - 64));
    }

    #[test]
    fn out_of_order_windows_and_merges_add_up() {
        let mut a = Cells::new(10);
        a.add(&failure("upstream_timeout", 200, true), 0, NO_KEY, b"a");
        a.add(&failure("upstream_timeout", 100, true), 0, NO_KEY, b"b");
        a.add(&failure("upstream_timeout", 205, true), 0, NO_KEY, b"c");
        let mut b = Cells::new(30);
        b.add(&failure("upstream_timeout", 95, true), 3, NO_KEY, b"d");
        a.merge(b, |c| c.key.upstream = 0);
        assert_eq!(a.window(), 30);
        let w = a.windows();
        assert_eq!(
            w.iter()
                .map(|(s, cs)| (*s, cs[0].count, cs[0].first.0))
                .collect::<Vec<_>>(),
            [(90, 2, 95), (180, 2, 200)]
        );
    }

    /// Compacting in place keeps every cell's text, as compacting into a
    /// fresh buffer does, and frees as many bytes, whichever windows and
    /// cells are gone and in whatever order the survivors' lines lie.
    #[test]
    fn compacting_in_place_keeps_what_a_fresh_buffer_keeps() {
        let causes = ["upstream_timeout", "upstream_refused", "connection_reset"];
        let mut cells = Cells::new(10);
        let mut seed = 7u64;
        let mut next = || {
            crate::testing::lcg(&mut seed);
            seed >> 33
        };
        for i in 0..3000u64 {
            let t = 1_000 + (i as i64) * 3 + (next() % 50) as i64;
            let f = failure(causes[(next() % 3) as usize], t, true);
            let text = format!("line {i} {}", "x".repeat((next() % 700) as usize));
            cells.add(&f, (next() % 40) as u32, 1, text.as_bytes());
        }
        for cut in [2_000i64, 4_000, 6_000, 8_000] {
            let mut state = cells.clone();
            state.park();
            state
                .done
                .retain(|&start, _| start >= cut || start % 30 == 0);
            state.len = state.done.values().map(Vec::len).sum();
            // Absorbed cells leave lines behind too, and a survivor's line
            // may lie after its neighbours'.
            if let Some(cs) = state.done.values_mut().find(|cs| cs.len() > 2) {
                let gone = cs.remove(0);
                cs.last_mut().unwrap().absorb(gone);
                cs.swap(0, 1);
            }
            let mut plain = state.clone();
            state.compact();
            plain.compact_plain();
            assert_eq!(state.store.len(), plain.store.len(), "cut {cut}");
            let texts = |c: &Cells| -> Vec<Vec<u8>> {
                c.windows()
                    .iter()
                    .flat_map(|(_, cs)| cs.iter().map(|cell| c.text(cell).to_vec()))
                    .collect()
            };
            let kept = texts(&state);
            assert_eq!(kept, texts(&plain), "cut {cut}");
            assert!(
                kept.iter().filter(|t| !t.is_empty()).count() > 10,
                "cut {cut}"
            );
        }
    }
}

//! Upstream and route keys: interned once, referred to by small ids.
//!
//! A scanner interns the keys of its chunk ([`KeyTable`]) and hands on the
//! new ones ([`KeyList`], [`KeySource`]); the ordered stage maps them to
//! the report's ids ([`Interner`]) in input order, so the ids are the same
//! whatever the thread count. One fixed hash ([`key_hash`]) serves every
//! table, so a key is hashed once on its way through.

use hashbrown::HashTable;

/// The hash of a key, the same in every table and run (not seeded).
#[inline]
pub fn key_hash(key: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(key)
}

/// Key id used for everything past a dimension's cap.
pub const OTHER: u32 = u32::MAX - 1;

/// Distinct byte strings, each with a small id, up to a cap.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    /// Ids, hashed by their key with the fixed hash that the scanning
    /// stage's tables use too ([`KeyTable`]), so a key
    /// arriving from there is not hashed again.
    ids: HashTable<u32>,
    keys: Vec<Box<[u8]>>,
    cap: usize,
    /// Failures counted under `(other)` (kept by the aggregator: per
    /// attempt for upstreams, per request for routes).
    pub folded: u64,
}

impl Interner {
    /// An interner holding at most `cap` keys.
    pub fn new(cap: usize) -> Self {
        Interner {
            cap,
            ..Default::default()
        }
    }

    /// The id of `key`, adding it if there is room; [`OTHER`] otherwise.
    /// Allocates only for a key not seen before.
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        self.intern_hashed(key, key_hash(key))
    }

    /// [`Interner::intern`] with the key's [`key_hash`] known.
    pub fn intern_hashed(&mut self, key: &[u8], hash: u64) -> u32 {
        let keys = &self.keys;
        if let Some(&id) = self.ids.find(hash, |&id| *keys[id as usize] == *key) {
            return id;
        }
        if self.keys.len() >= self.cap {
            return OTHER;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        let keys = &self.keys;
        self.ids
            .insert_unique(hash, id, |&i| key_hash(&keys[i as usize]));
        id
    }

    /// The key of an id (`(other)` for [`OTHER`]).
    pub fn key(&self, id: u32) -> &[u8] {
        if id == OTHER {
            b"(other)"
        } else {
            &self.keys[id as usize]
        }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Key id for "no key".
pub const NO_KEY: u32 = u32::MAX;

/// Keys by id, in one arena, with their [`key_hash`]: what a scanner
/// hands on with each chunk, and the copy the ordered stage keeps of a
/// scanner's table.
#[derive(Default)]
pub struct KeyList {
    arena: Vec<u8>,
    spans: Vec<(u32, u32)>,
    hashes: Vec<u64>,
}

impl KeyList {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.spans.clear();
        self.hashes.clear();
    }

    /// Appends a key (not checked for duplicates) and returns its id.
    fn push(&mut self, key: &[u8], hash: u64) -> u32 {
        let id = self.spans.len() as u32;
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        self.spans.push((start, self.arena.len() as u32));
        self.hashes.push(hash);
        id
    }

    /// Appends the keys of `other` from id `from` on.
    pub fn extend_from(&mut self, other: &KeyList, from: u32) {
        for id in from..other.len() as u32 {
            self.push(other.get(id), other.hash(id));
        }
    }

    /// The [`key_hash`] of a key.
    pub fn hash(&self, id: u32) -> u64 {
        self.hashes[id as usize]
    }

    /// The key of an id.
    pub fn get(&self, id: u32) -> &[u8] {
        let (s, e) = self.spans[id as usize];
        &self.arena[s as usize..e as usize]
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Bytes of key text held.
    pub fn text_len(&self) -> usize {
        self.arena.len()
    }
}

/// Distinct byte strings with small ids. The hash is fixed (not seeded per
/// table), so a key hashes the same in every table and hashes can be
/// compared across them.
pub struct KeyTable {
    keys: KeyList,
    table: HashTable<u32>,
    /// The keys [`KeyTable::intern_recent`] gave last, newest first.
    recent: [Recent; RECENT_KEYS],
    /// See [`KeyTable::epoch`].
    epoch: u64,
}

/// The last [`KeyTable::epoch`] handed out.
static EPOCHS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An epoch no table had before.
fn next_epoch() -> u64 {
    EPOCHS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
}

impl Default for KeyTable {
    fn default() -> Self {
        KeyTable {
            keys: KeyList::default(),
            table: HashTable::new(),
            recent: [Recent::default(); RECENT_KEYS],
            epoch: next_epoch(),
        }
    }
}

/// Keys [`KeyTable::intern_recent`] looks at before hashing.
const RECENT_KEYS: usize = 4;

/// A key of 8 to 16 bytes [`KeyTable::intern_recent`] gave: its id plus
/// one (0: none), its length, and its first and last 8 bytes, which
/// together are all of it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Recent {
    id: u32,
    len: u32,
    head: u64,
    tail: u64,
}

impl Recent {
    /// `key` as a recent key with no id yet, when it has 8 to 16 bytes.
    #[inline]
    fn of(key: &[u8]) -> Option<Recent> {
        let (head, tail) = (key.first_chunk::<8>()?, key.last_chunk::<8>()?);
        (key.len() <= 16).then(|| Recent {
            id: 0,
            len: key.len() as u32,
            head: u64::from_le_bytes(*head),
            tail: u64::from_le_bytes(*tail),
        })
    }
}

impl KeyTable {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.table.clear();
        self.recent = [Recent::default(); RECENT_KEYS];
        self.epoch = next_epoch();
    }

    /// A number no other table in the process had, nor this one before
    /// it last forgot its keys (never 0): while it stays the same, an id
    /// this table gave still stands for the same key.
    #[inline]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// [`KeyTable::intern`] for keys that come back soon (a php-fpm log's
    /// few pools): a key of 8 to 16 bytes is compared with the last few
    /// such keys as two words, without hashing or reading the table.
    #[inline]
    pub fn intern_recent(&mut self, key: &[u8]) -> u32 {
        let Some(mut k) = Recent::of(key) else {
            return self.intern(key);
        };
        for r in &self.recent {
            if r.id != 0 && (r.len, r.head, r.tail) == (k.len, k.head, k.tail) {
                return r.id - 1;
            }
        }
        let id = self.intern(key);
        k.id = id + 1;
        self.recent.rotate_right(1);
        self.recent[0] = k;
        id
    }

    /// The id of `key`, added if new.
    #[inline]
    pub fn intern(&mut self, key: &[u8]) -> u32 {
        let hash = key_hash(key);
        let keys = &self.keys;
        if let Some(&id) = self.table.find(hash, |&id| keys.get(id) == key) {
            return id;
        }
        let id = self.keys.push(key, hash);
        let keys = &self.keys;
        self.table.insert_unique(hash, id, |&i| keys.hash(i));
        id
    }

    /// The keys, by id.
    pub fn keys(&self) -> &KeyList {
        &self.keys
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The upstream and route keys that events refer to by id.
#[derive(Default)]
pub struct Keys {
    /// Upstreams.
    pub upstreams: KeyList,
    /// Normalized routes.
    pub routes: KeyList,
}

impl Keys {
    /// Forgets every key, keeping the memory.
    pub fn clear(&mut self) {
        self.upstreams.clear();
        self.routes.clear();
    }
}

/// Which key ids a `Scan`'s events use, and which keys are new in it.
///
/// A scanner may keep its key tables from chunk to chunk, so that a key
/// seen in every chunk is interned in the ordered stage once per scanner
/// instead of once per chunk. Each scan carries only the keys its scanner
/// added while scanning it; the ordered stage keeps the rest from earlier
/// scans of the same scanner (a key mirror).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeySource {
    /// The scanner (unique in the process).
    pub scanner: u64,
    /// The id of the first new upstream key (the scanner's table size
    /// before the chunk).
    pub first_upstream: u32,
    /// The id of the first new route key.
    pub first_route: u32,
    /// The scanner keeps its tables for its next scan; when false, the
    /// next scan starts afresh and the keys can be forgotten after this one.
    pub kept: bool,
}

impl KeySource {
    /// The scanner's tables were empty before this chunk: the scan's new
    /// keys are all its keys.
    pub fn fresh(&self) -> bool {
        self.first_upstream == 0 && self.first_route == 0
    }
}

/// An upstream or route of a failure. Keys are interned into the report
/// only when the failure passes the filters, so until then they stay where
/// they are: in the chunk's key table, or owned by a failure that outlives
/// its chunk (an Apache failure still being assembled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// No key.
    None,
    /// An id in the key list of the scanner of the current chunk
    /// ([`Keys`]).
    Local(u32),
    /// The key itself.
    Owned(Box<[u8]>),
}

impl Key {
    /// True for [`Key::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Key::None)
    }

    /// The key's bytes, looked up in `table` when local.
    pub fn bytes<'a>(&'a self, table: &'a KeyList) -> Option<&'a [u8]> {
        match self {
            Key::None => None,
            Key::Local(id) => Some(table.get(*id)),
            Key::Owned(b) => Some(b),
        }
    }

    /// The key of local id `id` (or none, for [`NO_KEY`]).
    #[inline]
    pub fn local(id: u32) -> Key {
        if id == NO_KEY {
            Key::None
        } else {
            Key::Local(id)
        }
    }

    /// The key of local id `id`, made independent of the chunk.
    pub fn owned(id: u32, table: &KeyList) -> Key {
        if id == NO_KEY {
            Key::None
        } else {
            Key::Owned(table.get(id).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interning through the recent keys gives the ids and keeps the keys
    /// that plain interning does, whether keys come back soon or not, and
    /// after the table is cleared.
    #[test]
    fn recent_keys_intern_as_the_table_does() {
        let mut seed = 3u64;
        let mut next = |n: u64| {
            crate::testing::lcg(&mut seed);
            (seed >> 33) % n
        };
        let (mut plain, mut recent) = (KeyTable::default(), KeyTable::default());
        for round in 0..3 {
            for i in 0..5000u64 {
                // A few keys most of the time, now and then one of many;
                // keys that are prefixes of others.
                let key = match next(10) {
                    0..=6 => format!(
                        "php-fpm:{}",
                        ["www", "api", "shop", "admin", "ww"][next(5) as usize]
                    ),
                    7 => format!("php-fpm:pool{}", next(50)),
                    9 if i % 2 == 0 => format!("php-fpm:a-long-pool-name-{}", next(3)),
                    8 => String::new(),
                    _ => format!("{round}-{i}"),
                };
                let want = plain.intern(key.as_bytes());
                assert_eq!(recent.intern_recent(key.as_bytes()), want, "{key}");
                assert_eq!(recent.keys().get(want), key.as_bytes());
            }
            assert_eq!(recent.len(), plain.len());
            for id in 0..plain.len() as u32 {
                assert_eq!(recent.keys().get(id), plain.keys().get(id));
                assert_eq!(recent.keys().hash(id), plain.keys().hash(id));
            }
            plain.clear();
            recent.clear();
        }
    }
}

//! What the catalog decided for the start of recent nginx lines.
//!
//! Which row an nginx line fits depends only on the text before its
//! context (`upstream timed out (110: Connection timed out) while reading
//! response header from upstream`), and a busy log repeats a few dozen such
//! texts millions of times. Splitting that text into message, errno and
//! action and trying the rows costs more than hashing it and comparing it
//! with the one seen last time in its slot, so a scanner keeps the answers
//! for recent texts here. Exact: a slot answers only for the same bytes.
//! Bounded: a fixed number of slots of a fixed size; longer texts (such as
//! most FastCGI payloads) are decided afresh each time.

/// Slots; a power of two.
const SLOTS: usize = 256;

/// The longest text a slot keeps.
const MAX_KEY: usize = 160;

/// What the text before an nginx line's context decides, as offsets into
/// that text so that it can be applied to any line that starts the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Fit {
    /// The row the line fits (index into the nginx rows); `None` when no
    /// row fits or the first that does says to ignore the line.
    pub row: Option<u32>,
    /// Length of the message.
    pub message_len: u32,
    /// The errno in parentheses after the message.
    pub errno: Option<i64>,
    /// Where the action (after ` while `) starts and ends.
    pub action: (u32, u32),
    /// The action contains `upstream`.
    pub action_upstream: bool,
}

#[derive(Clone)]
struct Slot {
    hash: u64,
    len: u8,
    key: [u8; MAX_KEY],
    fit: Fit,
}

/// Recent texts and their `Fit`; one per scanner.
#[derive(Default)]
pub struct FitMemo {
    /// Allocated on first use.
    slots: Vec<Slot>,
}

impl FitMemo {
    /// The fit of `pre`, from a slot if it holds the same text, else from
    /// `decide` (and then kept). Texts longer than a slot holds are always
    /// decided afresh.
    #[inline]
    pub(super) fn get_or(&mut self, pre: &[u8], decide: impl FnOnce() -> Fit) -> Fit {
        if pre.len() > MAX_KEY {
            return decide();
        }
        let hash = text_hash(pre);
        if self.slots.is_empty() {
            let empty = Slot {
                hash: 0,
                len: 0,
                key: [0; MAX_KEY],
                fit: Fit::default(),
            };
            self.slots = vec![empty; SLOTS];
        }
        let slot = &mut self.slots[hash as usize & (SLOTS - 1)];
        let len = pre.len();
        // An empty slot has length 0 and never answers: neither does an
        // empty text (a line whose context starts at once), the one text
        // such a slot could be mistaken for.
        if slot.hash == hash && usize::from(slot.len) == len && slot.key[..len] == *pre && len > 0 {
            return slot.fit;
        }
        let fit = decide();
        slot.hash = hash;
        slot.len = len as u8;
        slot.key[..len].copy_from_slice(pre);
        slot.fit = fit;
        fit
    }
}

/// A hash of a text from its length and three 16-byte windows (start,
/// middle, end): a few instructions, where hashing every byte of a
/// hundred-byte text costs dozens. Two texts alike in those windows share
/// a slot and evict each other, which costs time, never a wrong answer
/// (a slot answers only for the same bytes).
#[inline]
fn text_hash(t: &[u8]) -> u64 {
    let n = t.len();
    if n < 16 {
        return crate::keys::key_hash(t);
    }
    let window = |i: usize| u128::from_le_bytes(t[i..i + 16].try_into().unwrap_or([0; 16]));
    let x = window(0) ^ window(n / 2 - 8).rotate_left(17) ^ window(n - 16).rotate_left(41);
    let v = (x as u64) ^ ((x >> 64) as u64).rotate_left(23) ^ n as u64;
    let m = u128::from(v) * 0x9E37_79B9_7F4A_7C15;
    (m as u64) ^ ((m >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(row: u16) -> Fit {
        Fit {
            row: Some(u32::from(row)),
            message_len: 1,
            errno: None,
            action: (0, 0),
            action_upstream: false,
        }
    }

    #[test]
    fn answers_only_for_the_same_text() {
        let mut memo = FitMemo::default();
        let decided = std::cell::Cell::new(0);
        let get = |memo: &mut FitMemo, text: &[u8], row: u16| {
            memo.get_or(text, || {
                decided.set(decided.get() + 1);
                fit(row)
            })
        };
        assert_eq!(get(&mut memo, b"upstream timed out", 1), fit(1));
        assert_eq!(get(&mut memo, b"upstream timed out", 2), fit(1));
        assert_eq!(get(&mut memo, b"upstream timed ou", 3), fit(3));
        assert_eq!(get(&mut memo, b"upstream timed out!", 4), fit(4));
        // Many other texts: each is decided the first time; asked again
        // (last first, so that each slot's last text is asked before a
        // text decided again can evict it), each is answered with its own
        // fit (kept) or decided again (evicted), never with another text's.
        let text = |i: u16| format!("connect() to 10.0.{}.{}:80 failed", i / 250, i % 250);
        for i in 0..2_000u16 {
            assert_eq!(get(&mut memo, text(i).as_bytes(), i), fit(i));
        }
        let mut kept = 0;
        for i in (0..2_000u16).rev() {
            let got = get(&mut memo, text(i).as_bytes(), i + 10_000);
            assert!(got == fit(i) || got == fit(i + 10_000), "{i}: {got:?}");
            kept += usize::from(got == fit(i));
        }
        assert!(kept > SLOTS / 2, "{kept}");
        let long = [b'x'; MAX_KEY + 1];
        assert_eq!(get(&mut memo, &long, 5), fit(5));
        assert_eq!(get(&mut memo, &long, 6), fit(6));
        assert_eq!(decided.get(), 4_005 - kept);
    }
}

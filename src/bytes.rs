//! Byte tricks on the hot path, and the text of log lines made safe to
//! show.
//!
//! The searches here beat the general ones of `memchr` on the short
//! haystacks of log lines (a context value, a message before its context);
//! each has a test against the plain search it replaces. The SIMD loads
//! and the prefetch hint of a line scan are `unsafe`, each with its SAFETY
//! argument; the crate's only other `unsafe` is
//! [`crate::input::mapped`]'s (`tests/architecture.rs` keeps it so).

use std::borrow::Cow;

/// 16 bytes in an SSE2 register, and the per-byte tests the vector
/// searches need, each answered as a mask with one bit per byte (bit `i`
/// for byte `i`). SSE2 is part of x86_64, so every intrinsic used here is
/// available; the `unsafe` of the crate's SIMD is all in this type.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
pub struct Block(std::arch::x86_64::__m128i);

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
impl Block {
    /// Loads the 16 bytes `bytes` borrows.
    #[inline(always)]
    pub fn load(bytes: &[u8; 16]) -> Block {
        // SAFETY: SSE2 is part of x86_64; the unaligned load reads exactly
        // the 16 bytes of `bytes`.
        Block(unsafe { std::arch::x86_64::_mm_loadu_si128(bytes.as_ptr().cast()) })
    }

    /// Bytes equal to `c`.
    #[inline(always)]
    pub fn eq(self, c: u8) -> u16 {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set1_epi8};
        // SAFETY: SSE2 is part of x86_64; register operations only.
        unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(self.0, _mm_set1_epi8(c as i8))) as u16 }
    }

    /// Bytes equal to `a` or to `b`.
    #[inline(always)]
    pub fn eq2(self, a: u8, b: u8) -> u16 {
        use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
        // SAFETY: SSE2 is part of x86_64; register operations only.
        unsafe {
            let is = |c: u8| _mm_cmpeq_epi8(self.0, _mm_set1_epi8(c as i8));
            _mm_movemask_epi8(_mm_or_si128(is(a), is(b))) as u16
        }
    }

    /// Bytes a JSON string escapes: control characters (below 0x20), `"`
    /// and `\`.
    #[inline(always)]
    pub fn json_escaped(self) -> u16 {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; register operations only.
        unsafe {
            let v = self.0;
            // Below 0x20 (unsigned) when min(x, 0x1f) == x.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
            let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))) as u16
        }
    }

    /// ASCII digits, and ASCII hex digits (digits included).
    #[inline(always)]
    pub fn digits_and_hex(self) -> (u16, u16) {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
            _mm_sub_epi8,
        };
        // SAFETY: SSE2 is part of x86_64; register operations only.
        unsafe {
            let v = self.0;
            // `x` is within 0..=max (unsigned) when min(x, max) == x.
            let within =
                |x: __m128i, max: u8| _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(max as i8)), x);
            let digit = within(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), 9);
            // Lowercased, `a..=f` (only `A..=F` and `a..=f` land there).
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let letter = within(_mm_sub_epi8(lower, _mm_set1_epi8(b'a' as i8)), 5);
            (
                _mm_movemask_epi8(digit) as u16,
                _mm_movemask_epi8(_mm_or_si128(digit, letter)) as u16,
            )
        }
    }
}

/// Asks the CPU to bring the cache line holding `bytes[at]` in ahead of
/// its first read (nothing when `at` is past the end): a scan of a mapped
/// file reaches every line first through memory, and the CPU's own
/// prefetcher stops at each 4 KiB page's end.
#[inline(always)]
pub fn prefetch(bytes: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(b) = bytes.get(at) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of x86_64; a prefetch only hints at an
        // address (here one inside `bytes`) and never faults or reads
        // into the program.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(b).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, at);
}

/// The first `byte` in `hay`, for searches that usually end within a few
/// dozen bytes (the end of a context value, a text in a message): 16 bytes
/// at a time inline, the last block overlapping the one before, where a
/// call to `memchr` costs about 60 instructions of dispatch and set-up
/// before its first compare. Past 128 bytes it hands over to `memchr`.
#[inline(always)]
pub(crate) fn find_byte(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut at = 0;
        while at < 128 {
            let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk) else {
                break;
            };
            let hits = Block::load(block).eq(byte);
            if hits != 0 {
                return Some(at + hits.trailing_zeros() as usize);
            }
            at += 16;
        }
        memchr::memchr(byte, &hay[at..]).map(|i| at + i)
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memchr(byte, hay)
}

/// [`find_byte`] for a line's text (a few dozen bytes), which mostly ends
/// in a part block: that part is searched as the last 16 bytes, one block
/// overlapping the one before, instead of by a call; no hand-over to
/// `memchr`, and a byte at a time below 16 bytes.
#[inline(always)]
pub(crate) fn find_byte_in_text(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if hay.len() < 16 {
            return hay.iter().position(|&c| c == byte);
        }
        in_blocks(hay, |block| block.eq(byte))
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memchr(byte, hay)
}

/// The first `a` or `b` in `hay`, a line's text: [`find_byte_in_text`] for
/// either of two bytes.
#[inline(always)]
pub(crate) fn find_byte2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        // Below 16 bytes a byte at a time; from 16 on the blocks say it
        // all (a miss is not searched for again).
        if hay.len() < 16 {
            return hay.iter().position(|&c| c == a || c == b);
        }
        in_blocks(hay, |block| block.eq2(a, b))
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memchr2(a, b, hay)
}

/// The first byte of `hay` that `hits` marks in its 16-byte block: blocks
/// from the start, then the last 16 bytes as one block overlapping the one
/// before, so a tail costs no call. `None` where none is marked, and for
/// fewer than 16 bytes (which the caller searches itself).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn in_blocks(hay: &[u8], hits: impl Fn(Block) -> u16) -> Option<usize> {
    let n = hay.len();
    let mut at = 0;
    while let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let h = hits(Block::load(block));
        if h != 0 {
            return Some(at + h.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at < n && n >= 16 {
        let last = n - 16;
        let h = hay[last..]
            .first_chunk::<16>()
            .map_or(0, |b| hits(Block::load(b)));
        // Only the bytes from `at` on are new.
        let h = h >> (at - last);
        if h != 0 {
            return Some(at + h.trailing_zeros() as usize);
        }
    }
    None
}

/// The last occurrence of `needle` in `hay`. memchr's reverse substring
/// search is not vectorized; a reverse byte search is, so this searches for
/// the needle's rarest byte in log text ([`rare_byte`]) and checks the
/// needle around each hit.
#[inline(always)]
pub(crate) fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    rfind_by(hay, needle, rare_byte(needle)?)
}

/// [`rfind`] by the byte of `needle` at `k`, as [`find_by`] (`None` for a
/// `k` past the end of the needle).
#[inline(always)]
pub(crate) fn rfind_by(hay: &[u8], needle: &[u8], k: usize) -> Option<usize> {
    memchr::memrchr_iter(*needle.get(k)?, hay)
        .filter(|&i| i >= k)
        .map(|i| i - k)
        .find(|&i| hay[i..].starts_with(needle))
}

/// The last `byte` in `hay`, a line's text: [`find_byte_in_text`] from the
/// end, 16 bytes a step inline, the first 16 bytes as one block overlapping
/// the one after, where `memrchr` costs a call and its set-up per search.
#[inline(always)]
pub(crate) fn rfind_byte_in_text(byte: u8, hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        if hay.len() < 16 {
            return hay.iter().rposition(|&c| c == byte);
        }
        // `end`: the bytes before it are still to search.
        let mut end = hay.len();
        while end >= 16 {
            let h = hay[end - 16..]
                .first_chunk::<16>()
                .map_or(0, |b| Block::load(b).eq(byte));
            if h != 0 {
                return Some(end - 1 - h.leading_zeros() as usize);
            }
            end -= 16;
        }
        if end > 0 {
            // Only the first `end` bytes are new.
            let h = hay
                .first_chunk::<16>()
                .map_or(0, |b| Block::load(b).eq(byte))
                & ((1u16 << end) - 1);
            if h != 0 {
                return Some(15 - h.leading_zeros() as usize);
            }
        }
        None
    }
    #[cfg(not(target_arch = "x86_64"))]
    memchr::memrchr(byte, hay)
}

/// [`rfind_by`] by [`rfind_byte_in_text`], for a line's text (a message of
/// a few dozen bytes): the same result, no call per search.
#[inline(always)]
pub(crate) fn rfind_by_in_text(hay: &[u8], needle: &[u8], k: usize) -> Option<usize> {
    let &byte = needle.get(k)?;
    // `end`: where the searched byte of the next candidate may be, before.
    let mut end = hay.len();
    loop {
        let i = rfind_byte_in_text(byte, &hay[..end])?;
        if i < k {
            return None;
        }
        if hay[i - k..].starts_with(needle) {
            return Some(i - k);
        }
        end = i;
    }
}

/// The first occurrence of `needle` in `hay`. For the short haystacks of
/// log lines a vectorized search for the needle's rarest byte
/// ([`rare_byte`]) and a check around each hit beat building a substring
/// searcher per call, as `memmem::find` does. (Hits found by [`find_byte`]
/// instead, as [`find_by`] does, cost more on the longer messages of
/// nginx and php-fpm logs.)
#[inline(always)]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some(k) = rare_byte(needle) else {
        return Some(0);
    };
    memchr::memchr_iter(needle[k], hay.get(k..)?).find(|&i| hay[i..].starts_with(needle))
}

/// [`find`] by the byte of `needle` at `k`, for a caller that knows which
/// of its bytes is rarest in what it searches, or chose it once for many
/// searches: hits of that byte by [`find_byte_in_text`], inline, each checked for
/// the needle around it. An empty needle is found at 0; `None` for a `k`
/// past the end of another.
#[inline(always)]
pub(crate) fn find_by(hay: &[u8], needle: &[u8], k: usize) -> Option<usize> {
    let Some(&byte) = needle.get(k) else {
        return needle.is_empty().then_some(0);
    };
    // `at`: where the searched byte of the next candidate may be.
    let mut at = k;
    loop {
        let i = at + find_byte_in_text(byte, hay.get(at..)?)?;
        if hay[i - k..].starts_with(needle) {
            return Some(i - k);
        }
        at = i + 1;
    }
}

/// The index of the byte of `needle` least frequent in log text (by a rough
/// rank: spaces, commas and common lowercase letters first); `None` for an
/// empty needle.
#[inline(always)]
pub(crate) fn rare_byte(needle: &[u8]) -> Option<usize> {
    let first = needle.first()?;
    let (mut best, mut best_rank) = (0, RARITY[usize::from(*first)]);
    for (i, &c) in needle.iter().enumerate().skip(1) {
        let rank = RARITY[usize::from(c)];
        if rank > best_rank {
            (best, best_rank) = (i, rank);
        }
    }
    Some(best)
}

/// [`rare_byte`] as a `const fn`, for a needle known when compiling: its
/// byte is chosen then (`const K: usize = ...`); 0 for an empty needle.
pub(crate) const fn rare_byte_const(needle: &[u8]) -> usize {
    let mut best = 0;
    let mut i = 1;
    while i < needle.len() {
        if RARITY[needle[i] as usize] > RARITY[needle[best] as usize] {
            best = i;
        }
        i += 1;
    }
    best
}

/// How rare each byte is in log text: 0 for the most common.
static RARITY: [u8; 256] = {
    const COMMON: &[u8] = b" etaoinsrhl,dcu:m/.f0p1g2";
    let mut t = [COMMON.len() as u8; 256];
    let mut i = 0;
    while i < COMMON.len() {
        t[COMMON[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// The high bit of each byte of `w` (eight bytes, little-endian) that is
/// within `lo..=hi`, an ASCII range: a byte test for eight bytes at once.
/// Bytes from 0x80 on are never within it.
#[inline(always)]
pub(crate) fn within(w: u64, lo: u8, hi: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Below 0x80 no sum carries into the next byte; a byte from 0x80 on is
    // left out by its own high bit.
    let low = w & !HIGH;
    let from = |c: u8| low.wrapping_add(ONES * (0x80 - u64::from(c)));
    from(lo) & !from(hi + 1) & !w & HIGH
}

/// The length of the run of ASCII digits `b` starts with, eight bytes at a
/// time (a stamp's fraction, a pid, a count).
#[inline(always)]
pub(crate) fn digit_run(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(w) = b.get(n..).and_then(|r| r.first_chunk::<8>()) {
        let not_digits = !within(u64::from_le_bytes(*w), b'0', b'9') & 0x8080_8080_8080_8080;
        if not_digits != 0 {
            return n + not_digits.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + b[n..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// A run of ASCII digits at the start of `b`, with its length.
#[inline(always)]
pub(crate) fn leading_number(b: &[u8]) -> Option<(u64, usize)> {
    // Ids in log prefixes are short: eight bytes at once give the length
    // of the run without a branch per digit.
    if let Some(word) = b.first_chunk::<8>() {
        let x = u64::from_le_bytes(*word) ^ 0x3030_3030_3030_3030;
        // A byte is a digit when it is now 0..=9: high nibble clear and no
        // carry into bit 4 when 6 is added. Carries out of a non-digit byte
        // only disturb the bytes after it, which do not count.
        let non_digit = (x | x.wrapping_add(0x0606_0606_0606_0606)) & 0xF0F0_F0F0_F0F0_F0F0;
        let n = (non_digit.trailing_zeros() / 8) as usize;
        if n == 0 {
            return None;
        }
        if n < 8 {
            // The digits' values, moved up to the top bytes (zeros below
            // act as leading zeros), combined pairwise in three multiplies.
            let d = x << (64 - 8 * n as u32);
            let d = d.wrapping_mul(10).wrapping_add(d >> 8);
            let hi = (d & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
            let lo = ((d >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
            let d = hi.wrapping_add(lo) >> 32;
            return Some((d, n));
        }
    }
    leading_number_slow(b)
}

/// [`leading_number`] one byte at a time, up to 20 digits.
fn leading_number_slow(b: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut n = 0;
    // 19 digits always fit in a u64; only a 20th needs checking.
    while n < b.len() && n < 20 {
        let d = b[n].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = if n < 19 {
            v * 10 + u64::from(d)
        } else {
            v.checked_mul(10)?.checked_add(u64::from(d))?
        };
        n += 1;
    }
    (n > 0).then_some((v, n))
}

/// Escapes what must not reach a terminal raw: C0 and C1 control
/// characters, DEL, and Unicode bidi and invisible format characters.
/// Tabs become `\t`; everything else is shown as `\xNN` or `\u{NNNN}`.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if c == '\t' {
            out.push_str("\\t");
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

pub(crate) fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line and paragraph separators; LRE, RLE, PDF, LRO, RLO
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}' // LRI, RLI, FSI, PDI; deprecated format controls
            | '\u{061c}'              // ALM
            | '\u{00ad}'              // soft hyphen
            | '\u{180e}'              // Mongolian vowel separator
            | '\u{feff}'              // zero-width no-break space (BOM)
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{e0000}'..='\u{e007f}') // tag characters (invisible ASCII look-alikes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The eight-byte range test and digit run against byte-by-byte ones,
    /// on every byte value at every place of a word and on runs of every
    /// length.
    #[test]
    fn word_tests_match_byte_by_byte() {
        for c in 0..=255u8 {
            for at in 0..8 {
                let mut w = [b'5'; 8];
                w[at] = c;
                let word = u64::from_le_bytes(w);
                for (lo, hi) in [(b'0', b'9'), (b'A', b'Z'), (b'.', b'.')] {
                    let plain = w.iter().enumerate().fold(0u64, |m, (k, &x)| {
                        m | u64::from((lo..=hi).contains(&x)) << (8 * k + 7)
                    });
                    assert_eq!(within(word, lo, hi), plain, "{c} at {at} in {lo}..={hi}");
                }
            }
        }
        for len in 0..40 {
            for stop in [b'a', b'.', b'/', b':', 0x80, 0xff] {
                for at in 0..=len {
                    let mut b = vec![b'7'; len];
                    if at < len {
                        b[at] = stop;
                    }
                    let plain = b.iter().take_while(|c| c.is_ascii_digit()).count();
                    assert_eq!(digit_run(&b), plain, "{b:?}");
                }
            }
        }
    }

    #[test]
    fn find_byte_agrees_with_memchr() {
        for len in 0..=200 {
            let mut hay = vec![b'a'; len];
            assert_eq!(find_byte(b',', &hay), None);
            for at in 0..len {
                hay[at] = b',';
                assert_eq!(
                    find_byte(b',', &hay),
                    memchr::memchr(b',', &hay),
                    "{len} {at}"
                );
                if let Some(later) = hay.get_mut(at + 17) {
                    *later = b',';
                    assert_eq!(find_byte(b',', &hay), Some(at), "{len} {at}");
                    hay[at + 17] = b'a';
                }
                hay[at] = b'a';
            }
        }
    }

    #[test]
    fn find_byte2_agrees_with_memchr2() {
        for len in 0..=200 {
            let mut hay = vec![b'a'; len];
            assert_eq!(find_byte2(b']', b' ', &hay), None);
            for at in 0..len {
                for (first, later) in [(b']', b' '), (b' ', b']'), (b']', b']')] {
                    hay[at] = first;
                    if let Some(l) = hay.get_mut(at + 9) {
                        *l = later;
                    }
                    assert_eq!(
                        find_byte2(b']', b' ', &hay),
                        memchr::memchr2(b']', b' ', &hay),
                        "{len} {at}"
                    );
                    hay.fill(b'a');
                }
            }
        }
    }

    /// Needles whose rare byte comes often, and hits past the inline
    /// blocks of [`find_byte`].
    #[test]
    fn find_agrees_with_memmem_on_long_lines() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet = b"ab, :/rfe";
        let needles: [&[u8]; 7] = [b", referer: ", b": ", b"ab", b", ", b"f", b"://", b"e:/"];
        for _ in 0..3_000 {
            crate::testing::xorshift(&mut x);
            let len = (x % 320) as usize;
            let hay: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            for n in needles {
                for start in [0, 1, 15, 17] {
                    let h = hay.get(start..).unwrap_or_default();
                    assert_eq!(find(h, n), memchr::memmem::find(h, n), "{h:?} {n:?}");
                }
            }
        }
        let mut hay = vec![b'x'; 300];
        hay[290..].copy_from_slice(b", referer:");
        assert_eq!(find(&hay, b", referer: "), None);
        hay.extend_from_slice(b" ");
        assert_eq!(find(&hay, b", referer: "), Some(290));
    }

    /// The inline reverse searches against `memrchr` and [`rfind_by`], on
    /// every length and place across the block edges, and on haystacks
    /// where the searched byte comes often.
    #[test]
    fn reverse_find_in_text_agrees_with_memrchr() {
        for len in 0..=80 {
            let mut hay = vec![b'a'; len];
            assert_eq!(rfind_byte_in_text(b'b', &hay), None);
            for at in 0..len {
                hay[at] = b'b';
                assert_eq!(
                    rfind_byte_in_text(b'b', &hay),
                    memchr::memrchr(b'b', &hay),
                    "{len} {at}"
                );
                if at >= 17 {
                    hay[at - 17] = b'b';
                    assert_eq!(rfind_byte_in_text(b'b', &hay), Some(at), "{len} {at}");
                }
                hay.fill(b'a');
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let alphabet = b"b yrtedun/";
        let needles: [&[u8]; 4] = [b" returned by ", b"by", b" b", b"b"];
        for _ in 0..3_000 {
            crate::testing::xorshift(&mut x);
            let len = (x % 120) as usize;
            let mut hay: Vec<u8> = (0..len)
                .map(|i| alphabet[((x >> (i % 50)) as usize + i * 7) % alphabet.len()])
                .collect();
            if x.is_multiple_of(3) {
                let at = (x >> 20) as usize % (len + 1);
                hay.splice(at..at, b" returned by ".iter().copied());
            }
            for n in needles {
                for k in 0..n.len() + 1 {
                    assert_eq!(
                        rfind_by_in_text(&hay, n, k),
                        rfind_by(&hay, n, k),
                        "{hay:?} {n:?} {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn reverse_find() {
        assert_eq!(rfind(b"a while b while c", b" while "), Some(9));
        assert_eq!(rfind(b"while", b" while "), None);
        assert_eq!(rfind(b"x", b""), None);
    }

    #[test]
    fn searches_agree_with_memmem() {
        let hays = [
            "a while b while c",
            "GET /x returned by /a returned by /b",
            "x, referer: y, referer: z",
            "\" while \" while x, client: y",
            "",
            "yyy",
            ", , ,",
            "xx, client: y",
            ", , client: ",
            "a://b://",
            "::://",
            "while",
            " whil",
            "a, b",
            "x",
        ];
        let needles = [
            " while ",
            " returned by ",
            ", referer: ",
            "\" while ",
            ", ",
            ", client: ",
            "://",
            "y",
            "",
        ];
        for h in hays {
            for n in needles {
                let (h, n) = (h.as_bytes(), n.as_bytes());
                assert_eq!(find(h, n), memchr::memmem::find(h, n), "{h:?} {n:?}");
                for k in 0..n.len().max(1) {
                    assert_eq!(find_by(h, n, k), memchr::memmem::find(h, n), "{h:?} {n:?}");
                    if !n.is_empty() {
                        assert_eq!(rfind_by(h, n, k), memchr::memmem::rfind(h, n));
                    }
                }
                if !n.is_empty() {
                    assert_eq!(rfind(h, n), memchr::memmem::rfind(h, n), "{h:?} {n:?}");
                }
            }
        }
        assert_eq!(rare_byte(b" returned by "), Some(10));
        assert_eq!(rare_byte(b"\" while "), Some(0));
    }

    #[test]
    fn numbers_agree_with_the_bytewise_parse() {
        let samples: &[&[u8]] = &[
            b"",
            b"1",
            b"12#",
            b"1234567",
            b"12345678",
            b"123456789 ",
            b"0000000000",
            b"9/",
            b"9:",
            b"x1",
            b"\xff1234567",
            b"1234\xfa678",
            b"12345\x3a",
            b"123 *45",
            b"1234567\xff\xff",
            b"98765432109876543210",
            b"184467440737095516159",
        ];
        for b in samples {
            assert_eq!(leading_number(b), leading_number_slow(b), "{:?}", b);
        }
        for c in 0..=255u8 {
            for at in 0..9 {
                let mut b = *b"987654321";
                b[at] = c;
                assert_eq!(leading_number(&b), leading_number_slow(&b), "{c} at {at}");
                let mut b = *b"123456789";
                b[at] = c;
                assert_eq!(leading_number(&b), leading_number_slow(&b), "{c} at {at}");
            }
        }
    }

    #[test]
    fn numbers_of_every_length_agree() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            crate::testing::xorshift(&mut x);
            let len = (x % 10) as usize;
            let digits: String = x.to_string().chars().take(len).collect();
            let b = format!("{digits}#{}", x % 97);
            assert_eq!(
                leading_number(b.as_bytes()),
                leading_number_slow(b.as_bytes()),
                "{b}"
            );
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(leading_number(b"812#7"), Some((812, 3)));
        assert_eq!(leading_number(b"x"), None);
        assert_eq!(
            leading_number(b"18446744073709551615"),
            Some((u64::MAX, 20))
        );
        assert_eq!(leading_number(b"18446744073709551616"), None);
        assert_eq!(leading_number(b"99999999999999999999"), None);
        assert_eq!(
            leading_number(b"1234567890123456789012"),
            Some((12345678901234567890, 20))
        );
    }

    #[test]
    fn escapes_terminal_tricks() {
        assert_eq!(escape("plain / text"), "plain / text");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("x\u{202e}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(escape("tab\there\r\n"), "tab\\there\\x0d\\x0a");
        assert_eq!(escape("c1\u{9b}"), "c1\\u{009b}");
        assert_eq!(escape("ok é ü 日本"), "ok é ü 日本");
    }

    /// Invisible format characters other than the bidi controls
    /// reached the terminal raw (found by tests/props.rs).
    #[test]
    fn escapes_invisible_format_characters() {
        assert_eq!(escape("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(
            escape("\u{2060}\u{206a}\u{ad}"),
            "\\u{2060}\\u{206a}\\u{00ad}"
        );
        // Tag characters spell hidden ASCII ("ASCII smuggling").
        assert_eq!(escape("x\u{e0041}\u{e007f}"), "x\\u{e0041}\\u{e007f}");
        assert_eq!(escape("\u{fff9}"), "\\u{fff9}");
    }
}

//! What the unit tests of every stage share: seeded generators of their
//! random inputs, so that a failing input comes back on every run. Built
//! for tests only.

/// Advances `state` one step of Marsaglia's xorshift64 (never zero from a
/// state that is not).
pub(crate) fn xorshift(state: &mut u64) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
}

/// Advances `state` one step of a 64-bit linear congruential generator
/// (Knuth's MMIX constants); its high bits are the random part.
pub(crate) fn lcg(state: &mut u64) {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
}

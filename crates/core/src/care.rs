//! 探访关爱: risk tiers, visit intervals and the monthly visit rule for special-difficulty elderly.

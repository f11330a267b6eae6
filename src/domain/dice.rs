//! Reproducible dice: a number in [0, 1) from a seed and a key. The simulated world
//! draws its failures from it and the probe scheduler its per-customer jitter, so a
//! drill replays exactly.

/// A number in [0, 1) from the seed and a key (FNV-1a, then a 64-bit finaliser).
pub fn unit_hash(seed: u64, key: &str) -> f64 {
    let mut h: u64 = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_hash_is_stable_and_spread() {
        assert_eq!(unit_hash(7, "acme"), unit_hash(7, "acme"));
        assert_ne!(unit_hash(7, "acme"), unit_hash(8, "acme"));
        let below: usize = (0..1000)
            .filter(|i| unit_hash(1, &format!("c{i}")) < 0.25)
            .count();
        assert!((150..350).contains(&below), "{below}");
    }
}

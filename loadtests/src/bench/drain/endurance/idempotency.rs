//! (e)'s idempotency keys: how many, the size of one (`MEMORY USAGE` of a sample of 200), the
//! TTL left, then deleted so the JSON can say what is left without them.

use rand::seq::IndexedRandom;

use crate::bench::drain::redis_probe::Redis;

pub struct Keys {
    pub count: u64,
    /// Mean `MEMORY USAGE` of up to 200 keys, rounded.
    pub bytes_each: u64,
    /// TTL of one key (-2: there was none).
    pub ttl_left_s: i64,
}

/// Mean of the sizes, rounded (0 for none).
pub fn mean_bytes(sizes: &[u64]) -> u64 {
    if sizes.is_empty() {
        return 0;
    }
    (sizes.iter().sum::<u64>() as f64 / sizes.len() as f64).round() as u64
}

pub async fn measure_and_drop(redis: &Redis, prefix: &str) -> Keys {
    // sluice's own namespace (every lane) and, while `SLUICE_DEDUP_LANE_KEYS` is on, the lanes'
    // apalis-style keys (`<q>:idempotency:*`): the old script counted only the latter.
    let mut keys = redis
        .scan(
            &sluice_shared::queue::dedup_key_name(prefix, "*"),
            usize::MAX,
        )
        .await;
    keys.extend(
        redis
            .scan(&format!("{prefix}:*:idempotency:*"), usize::MAX)
            .await,
    );
    let sample: Vec<&String> = keys.choose_multiple(&mut rand::rng(), 200).collect();
    let mut sizes = Vec::with_capacity(sample.len());
    for key in sample {
        sizes.push(redis.memory_usage(key).await);
    }
    let ttl_left_s = match keys.first() {
        Some(key) => redis.int("TTL", key).await,
        None => -2,
    };
    redis.unlink(&keys).await;
    Keys {
        count: keys.len() as u64,
        bytes_each: mean_bytes(&sizes),
        ttl_left_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_is_rounded() {
        assert_eq!(mean_bytes(&[168, 168, 169]), 168);
        assert_eq!(mean_bytes(&[]), 0);
    }
}

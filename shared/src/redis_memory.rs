//! Redis's memory use and limit (`INFO memory`), exported next to the queue depth so an operator
//! sees Redis filling up before it refuses writes (with `maxmemory` and the default
//! `noeviction` policy, a full Redis answers every enqueue with an error: 503 for all updates).
//!
//! Sampled by every api replica from the same Redis: aggregate with `max`, never `sum`.

use redis::aio::ConnectionManager;

use crate::metrics as m;

/// One sample of `INFO memory`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisMemory {
    /// `used_memory`: bytes allocated by Redis for its data and itself.
    pub used: u64,
    /// `maxmemory`: the configured limit; 0 means none.
    pub max: u64,
}

/// Reads the two fields from an `INFO memory` reply; a missing field reads as 0.
pub fn parse_info(info: &str) -> RedisMemory {
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    RedisMemory {
        used: field("used_memory"),
        max: field("maxmemory"),
    }
}

/// One `INFO memory` round trip.
pub async fn sample(conn: &mut ConnectionManager) -> redis::RedisResult<RedisMemory> {
    let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
    Ok(parse_info(&info))
}

/// Publishes a sample as `sluice_redis_used_memory_bytes` and `sluice_redis_maxmemory_bytes`.
pub fn export(mem: RedisMemory) {
    metrics::gauge!(m::REDIS_USED_MEMORY_BYTES).set(mem.used as f64);
    metrics::gauge!(m::REDIS_MAXMEMORY_BYTES).set(mem.max as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_used_memory_and_maxmemory_not_their_lookalikes() {
        let info = "# Memory\r\nused_memory:939584\r\nused_memory_human:917.56K\r\n\
                    used_memory_rss:7135232\r\nmaxmemory:2147483648\r\nmaxmemory_human:2.00G\r\n\
                    maxmemory_policy:noeviction\r\n";
        assert_eq!(
            parse_info(info),
            RedisMemory {
                used: 939_584,
                max: 2_147_483_648
            }
        );
        assert_eq!(parse_info("# Memory\r\n"), RedisMemory::default());
    }
}

//! Running our Lua scripts, followed in the same round trip by `WAIT` when replicas must
//! acknowledge a write (`SLUICE_ENQUEUE_MIN_REPLICAS`), and how long such a `WAIT` may block.

use std::time::{Duration, Instant};

use redis::{ErrorKind, FromRedisValue, Script, ServerErrorKind, aio::ConnectionManager};

use super::PushError;

/// A script's body, and its hash for `EVALSHA`.
pub(super) struct Lua {
    script: Script,
    body: &'static str,
}

impl Lua {
    pub(super) fn new(body: &'static str) -> Lua {
        Lua {
            script: Script::new(body),
            body,
        }
    }
}

/// A Lua script sent by its hash, or by its body when a `WAIT` follows: a `WAIT` pipelined after
/// an `EVALSHA` that Redis answers NOSCRIPT (after a restart or a failover) would spend the budget
/// before the script could be loaded and sent again.
pub(super) struct ScriptCall {
    script: &'static Script,
    /// The command being built: callers append the script's arguments.
    pub(super) cmd: redis::Cmd,
    by_hash: bool,
}

impl ScriptCall {
    /// A call of `lua` with `keys` leading key arguments, by body when `min_replicas > 0`.
    pub(super) fn new(lua: &'static Lua, min_replicas: u32, keys: usize) -> ScriptCall {
        let by_hash = min_replicas == 0;
        let mut cmd = redis::cmd(if by_hash { "EVALSHA" } else { "EVAL" });
        match by_hash {
            true => cmd.arg(lua.script.get_hash()),
            false => cmd.arg(lua.body),
        };
        cmd.arg(keys);
        ScriptCall {
            script: &lua.script,
            cmd,
            by_hash,
        }
    }

    /// Runs the script and, when replicas are required, `WAIT` in the same round trip.
    pub(super) async fn run<T: FromRedisValue>(
        self,
        conn: &mut ConnectionManager,
        min_replicas: u32,
        wait: Duration,
    ) -> Result<T, PushError> {
        let redis_err = |e: redis::RedisError| PushError::Redis(e.to_string());
        if self.by_hash {
            let result = self.cmd.query_async(conn).await;
            return match result {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.script.load_async(conn).await.map_err(redis_err)?;
                    self.cmd.query_async(conn).await.map_err(redis_err)
                }
                other => other.map_err(redis_err),
            };
        }
        // WAIT 0 would block for ever: wait at least a millisecond.
        let wait_ms = wait.as_millis().clamp(1, u64::MAX as u128) as u64;
        let mut pipe = redis::pipe();
        pipe.add_command(self.cmd)
            .cmd("WAIT")
            .arg(min_replicas)
            .arg(wait_ms);
        let (value, acked): (T, u32) = pipe.query_async(conn).await.map_err(redis_err)?;
        match acked < min_replicas {
            true => Err(PushError::Replicas {
                acked,
                wanted: min_replicas,
            }),
            false => Ok(value),
        }
    }
}

/// What a `WAIT` leaves of the budget for its answer: Redis notices a blocked client's timeout
/// on its cron (hz 10 by default), up to 100 ms late.
const WAIT_SLACK: Duration = Duration::from_millis(110);

/// How long a `WAIT` may block so that its answer still arrives before `deadline`.
pub(super) fn wait_within(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(WAIT_SLACK)
}

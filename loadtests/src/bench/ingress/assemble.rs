//! The summary from the phases' measurements: pure arithmetic, as the bash script's jq did it
//! (rates rounded to 2 decimals, latencies µs → ms, CPU per 1000 requests, RSS KiB → MB).

use std::collections::BTreeMap;

use super::drain::DrainPhase;
use super::machine::Machine;
use super::measure::Phase;
use super::summary::*;
use crate::bench::knobs::round_to;
use crate::bench::redis_probe::CallsUsec;

/// Everything the summary is made of.
#[derive(Debug, Clone)]
pub struct SummaryInput {
    pub timestamp: String,
    pub queue_prefix: String,
    pub machine: Machine,
    pub rate_scope: String,
    /// `high=…,normal=…,low=…`.
    pub shed: String,
    pub rss_idle_kib: u64,
    /// (a), (b), (c) and the reference at (c)'s rate.
    pub phases: [Phase; 4],
    pub drain: DrainPhase,
}

fn r2(x: f64) -> f64 {
    round_to(x, 2)
}

fn ms(us: u64) -> f64 {
    r2(us as f64 / 1000.0)
}

fn mb(kib: u64) -> f64 {
    r2(kib as f64 / 1024.0)
}

/// CPU ms per 1000 of `n` (requests, enqueues, updates); none when there were none.
fn per1k(cpu_s: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| r2(cpu_s * 1_000_000.0 / n as f64))
}

fn calls(commands: &BTreeMap<String, CallsUsec>, requests: u64) -> BTreeMap<String, CallRate> {
    let n = requests.max(1) as f64;
    commands
        .iter()
        .map(|(name, c)| {
            let usec_per_call = if c.calls > 0 {
                r2(c.usec as f64 / c.calls as f64)
            } else {
                0.0
            };
            let per_request = round_to(c.calls as f64 / n, 3);
            (
                name.clone(),
                CallRate {
                    per_request,
                    usec_per_call,
                },
            )
        })
        .collect()
}

fn busy_percent(p: &Phase, nproc: u64) -> i64 {
    (p.machine_busy_cpu_s / p.wrk.duration_s / nproc.max(1) as f64 * 100.0).round() as i64
}

fn cpu_split(p: &Phase) -> CpuSplit {
    CpuSplit {
        server: p.process_cpu_s,
        redis: r2(p.redis_cpu_s),
        wrk: p.wrk_cpu_s,
        other: p.other_cpu_s,
        machine: p.machine_busy_cpu_s,
    }
}

pub fn assemble(input: &SummaryInput) -> Summary {
    let [a, b, c, cref] = &input.phases;
    Summary {
        timestamp: input.timestamp.clone(),
        queue_prefix: input.queue_prefix.clone(),
        machine: input.machine.clone(),
        api_settings: ApiSettings {
            rate_scope: input.rate_scope.clone(),
            shed_depth: input.shed.clone(),
        },
        commands: Commands {
            reference: a.wrk_command.clone(),
            sluice_api: b.wrk_command.clone(),
            fixed_rate: format!("BENCH_RATE={} {}", c.target_rps, c.wrk_command),
        },
        reference: Reference {
            rps: r2(a.wrk.rps),
            p50_ms: ms(a.wrk.lat_us.p50),
            p99_ms: ms(a.wrk.lat_us.p99),
            cpu_ms_per_1k_requests: per1k(a.process_cpu_s, a.wrk.requests),
            rss_max_mb: mb(a.rss_max_kib),
        },
        sluice_api: SluiceApi {
            rps: r2(b.wrk.rps),
            p50_ms: ms(b.wrk.lat_us.p50),
            p99_ms: ms(b.wrk.lat_us.p99),
            p999_ms: ms(b.wrk.lat_us.p999),
            non_2xx: b.wrk.non_2xx_3xx,
            socket_errors: b.wrk.socket_errors.clone(),
            mean_body_bytes: b.wrk.mean_body_bytes,
        },
        ratio_b_over_a: round_to(b.wrk.rps / a.wrk.rps, 3),
        fixed_rate: fixed_rate(c, cref),
        api_rss_mb: ApiRss {
            idle: mb(input.rss_idle_kib),
            max_b: mb(b.rss_max_kib),
            max_c: mb(c.rss_max_kib),
            max: mb(b.rss_max_kib.max(c.rss_max_kib)),
        },
        non_2xx_total: b.wrk.non_2xx_3xx + c.wrk.non_2xx_3xx,
        socket_errors_total: b.wrk.socket_errors.total() + c.wrk.socket_errors.total(),
        where_the_time_goes: where_the_time_goes(&input.phases, input.machine.nproc),
        drain: drain(&input.drain),
        targets: Targets::ISSUE_2,
    }
}

fn fixed_rate(c: &Phase, cref: &Phase) -> FixedRate {
    FixedRate {
        target_rps: c.target_rps,
        achieved_rps: r2(c.wrk.rps),
        p50_ms: ms(c.wrk.lat_us.p50),
        p99_ms: ms(c.wrk.lat_us.p99),
        p999_ms: ms(c.wrk.lat_us.p999),
        non_2xx: c.wrk.non_2xx_3xx,
        reference: FixedRateReference {
            achieved_rps: r2(cref.wrk.rps),
            p50_ms: ms(cref.wrk.lat_us.p50),
            p99_ms: ms(cref.wrk.lat_us.p99),
            p999_ms: ms(cref.wrk.lat_us.p999),
        },
        method: "per-thread pacing in update.lua delay() (wrk2 is not packaged in Debian)".into(),
    }
}

fn where_the_time_goes(phases: &[Phase; 4], nproc: u64) -> WhereTheTimeGoes {
    let [a, b, c, cref] = phases;
    WhereTheTimeGoes {
        b: CostsB {
            redis_cpu_ms_per_1k_enqueues: per1k(b.redis_cpu_s, b.wrk.ok()),
            api_cpu_ms_per_1k_requests: per1k(b.process_cpu_s, b.wrk.requests),
            reference_cpu_ms_per_1k_requests: per1k(a.process_cpu_s, a.wrk.requests),
            wrk_cpu_ms_per_1k_requests: per1k(b.wrk_cpu_s, b.wrk.requests),
            machine_busy_ms_per_1k_requests: per1k(b.machine_busy_cpu_s, b.wrk.requests),
            machine_busy_percent: busy_percent(b, nproc),
            redis_bytes_per_job: (b.jobs_queued > 0).then(|| {
                (b.redis_used_memory_delta_bytes as f64 / b.jobs_queued as f64).round() as i64
            }),
            jobs_queued: b.jobs_queued,
            accepted: b.wrk.ok(),
            redis_calls: calls(&b.redis_commands, b.wrk.requests),
        },
        c: CostsC {
            redis_cpu_ms_per_1k_enqueues: per1k(c.redis_cpu_s, c.wrk.ok()),
            api_cpu_ms_per_1k_requests: per1k(c.process_cpu_s, c.wrk.requests),
            redis_calls: calls(&c.redis_commands, c.wrk.requests),
        },
        a: CostsA {
            machine_busy_percent: busy_percent(a, nproc),
            wrk_cpu_ms_per_1k_requests: per1k(a.wrk_cpu_s, a.wrk.requests),
        },
        cpu_seconds: CpuSeconds {
            a: cpu_split(a),
            b: cpu_split(b),
            c: cpu_split(c),
            cref: cpu_split(cref),
        },
    }
}

fn drain(d: &DrainPhase) -> Drain {
    Drain {
        updates_per_s: r2(d.result.updates_per_s),
        updates_per_s_middle_80: r2(d.result.updates_per_s_middle_80),
        worker_cpu_ms_per_1k: per1k(d.result.worker_cpu_s, d.result.backlog),
        redis_cpu_ms_per_1k: per1k(d.result.redis_cpu_s, d.result.backlog),
        worker_rss_max_mb: mb(d.worker_rss_max_kib),
        phase: d.clone(),
    }
}

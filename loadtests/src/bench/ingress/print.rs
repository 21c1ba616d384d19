//! The printed summary of a run: the headline figures, each against issue 2's target, and
//! where the CPU went, in the bash script's layout.

use std::path::Path;

use super::summary::{CallRate, CpuSplit, Summary};

fn pass(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

/// A figure as jq printed it: `null` when absent.
fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn redis_calls(calls: &std::collections::BTreeMap<String, CallRate>) -> String {
    calls
        .iter()
        .filter(|(_, c)| c.per_request >= 0.01)
        .map(|(k, c)| format!("{k} {} ({} us)", c.per_request, c.usec_per_call))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cpu_split(s: &CpuSplit) -> String {
    format!(
        "server {} redis {} wrk {} other {} of {}",
        s.server, s.redis, s.wrk, s.other, s.machine
    )
}

/// The five commands Redis spent most time on per drained update.
fn drain_redis(s: &Summary) -> String {
    let mut per: Vec<_> = s
        .drain
        .phase
        .result
        .redis_per_update
        .iter()
        .filter(|(_, p)| p.calls >= 0.01)
        .collect();
    per.sort_by(|x, y| y.1.usec.total_cmp(&x.1.usec));
    per.iter()
        .take(5)
        .map(|(k, p)| format!("{k} {} calls {} us", p.calls, p.usec))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The summary block, each line as the bash script printed it.
pub fn render(s: &Summary, json: &Path) -> String {
    let mut lines = vec![String::new()];
    lines.extend(throughput(s));
    lines.extend(targets(s));
    lines.extend(costs(s));
    lines.extend(drain(s));
    lines.push(format!("JSON             : {}", json.display()));
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The run, (a), (b) and their ratio.
fn throughput(s: &Summary) -> Vec<String> {
    let (m, r, b) = (&s.machine, &s.reference, &s.sluice_api);
    let ratio_min = s.targets.ratio_min;
    vec![
        format!("== sluice ingress benchmark {} ==", s.timestamp),
        format!(
            "machine   : {} x {}, {} GiB RAM; git {}",
            m.nproc, m.cpu_model, m.mem_gib, m.git
        ),
        format!("load      : {}", s.commands.sluice_api),
        format!(
            "(a) reference    : {} req/s   p50 {} ms   p99 {} ms",
            r.rps.floor(),
            r.p50_ms,
            r.p99_ms
        ),
        format!(
            "(b) sluice-api   : {} req/s   p50 {} ms   p99 {} ms",
            b.rps.floor(),
            b.p50_ms,
            b.p99_ms
        ),
        format!(
            "    ratio b/a    : {}   (target >= {ratio_min}: {})",
            s.ratio_b_over_a,
            pass(s.ratio_b_over_a >= ratio_min)
        ),
    ]
}

/// (c), memory and errors against issue 2's targets.
fn targets(s: &Summary) -> Vec<String> {
    let (t, f, rss) = (&s.targets, &s.fixed_rate, &s.api_rss_mb);
    let fr = &f.reference;
    let p99_max = t.fixed_rate_p99_ms_max;
    vec![
        format!(
            "(c) fixed rate   : {} req/s target, {} achieved   p50 {} ms   p99 {} ms   (target p99 <= {p99_max} ms: {})",
            f.target_rps,
            f.achieved_rps.floor(),
            f.p50_ms,
            f.p99_ms,
            pass(f.p99_ms <= p99_max)
        ),
        format!(
            "    reference    : same rate, {} achieved   p50 {} ms   p99 {} ms",
            fr.achieved_rps.floor(),
            fr.p50_ms,
            fr.p99_ms
        ),
        format!(
            "api RSS max      : {} MB (idle {} MB)   (target <= {} MB: {})",
            rss.max,
            rss.idle,
            t.rss_mb_max,
            pass(rss.max <= t.rss_mb_max)
        ),
        format!(
            "non-2xx          : {} (b+c), socket errors {}   (target {}: {})",
            s.non_2xx_total,
            s.socket_errors_total,
            t.non_2xx,
            pass(s.non_2xx_total == t.non_2xx)
        ),
    ]
}

/// Where the CPU went.
fn costs(s: &Summary) -> Vec<String> {
    let w = &s.where_the_time_goes;
    let cpu = &w.cpu_seconds;
    vec![
        format!(
            "Redis CPU        : {} ms per 1000 enqueues at max rate, {} at half rate",
            opt(w.b.redis_cpu_ms_per_1k_enqueues),
            opt(w.c.redis_cpu_ms_per_1k_enqueues)
        ),
        format!(
            "api CPU          : {} ms per 1000 requests (reference {}; wrk {}); machine {} % busy",
            opt(w.b.api_cpu_ms_per_1k_requests),
            opt(w.b.reference_cpu_ms_per_1k_requests),
            opt(w.b.wrk_cpu_ms_per_1k_requests),
            w.b.machine_busy_percent
        ),
        format!("Redis calls/req  : {}", redis_calls(&w.b.redis_calls)),
        format!(
            "CPU-s a/b/c/cref : {}",
            [&cpu.a, &cpu.b, &cpu.c, &cpu.cref]
                .map(cpu_split)
                .join(" | ")
        ),
    ]
}

/// (d).
fn drain(s: &Summary) -> Vec<String> {
    let d = &s.drain;
    let manual = match &d.phase.retry_after_promotion {
        Some(_) => format!(
            "-- AFTER MANUAL PROMOTION; the shipped worker stalled: {}, {} unpack errors",
            d.phase.attempt.end, d.phase.unpack_errors
        ),
        None => String::new(),
    };
    vec![
        format!(
            "drain            : {} updates, {} updates/s (middle 80 %: {}) {manual}",
            d.phase.result.backlog, d.updates_per_s, d.updates_per_s_middle_80
        ),
        format!("drain Redis/upd  : {}", drain_redis(s)),
    ]
}

//! The summary block printed at the end of a run, from the JSON's figures.

use std::path::Path;

use super::{
    drains::DrainFigures,
    endurance::EnduranceFigures,
    priority::PriorityFigures,
    show::{loads, opt},
    summary::Summary,
};

fn pass(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISS" }
}

fn drain(x: &Option<DrainFigures>) -> String {
    let Some(x) = x else { return "-".into() };
    format!(
        "{} updates/s (middle 80 %: {}), {} s, {}; slow statements {}; rows {}, jobs done {} (+{} beyond rows), retried {}, dead {}; batch {} rows; worker CPU {} ms/1k; machine {} % busy",
        x.updates_per_s,
        x.updates_per_s_middle_80,
        x.seconds,
        x.end.as_str(),
        x.worker_slow_statements,
        x.rows,
        x.jobs.done,
        x.jobs.done_beyond_rows,
        x.jobs.retried,
        x.jobs.dead,
        opt(x.mean_insert_batch_rows),
        opt(x.worker_cpu_ms_per_1k),
        x.machine.machine_busy_percent
    )
}

fn priority(p: &PriorityFigures) -> Vec<String> {
    let (h, l, w) = (&p.high, &p.low, &p.high.wait_ms_from_rows);
    let hist = &h.wait_histogram;
    let ran_out = if l.ran_out {
        " (RAN OUT: the rate during is a lower bound)"
    } else {
        ""
    };
    vec![
        format!(
            "(d) high lane     : {}/{} at {}/s, answers {}; wait p50 {} ms, p99 {} ms, max {} ms (rows: upper bound)   (target p99 < 100 ms: {})",
            h.rows,
            h.posted,
            h.rate_per_s,
            serde_json::to_string(&h.answers).unwrap_or_default(),
            opt(w.p50),
            opt(w.p99),
            opt(w.max),
            pass(w.p99.is_some_and(|p| p < 100.0))
        ),
        format!(
            "    histogram     : sluice_job_wait_seconds{{lane=high}}: {} jobs, p50 <= {} s, p99 <= {} s, {} under 100 ms",
            hist.count,
            hist.p50_le_s,
            hist.p99_le_s,
            opt(hist.share_under_100ms)
        ),
        format!(
            "    low lane      : {} rows/s alone, {} rows/s with the high traffic; {} queued when it started, {} when it ended{ran_out}; worker slow statements: {}",
            l.rows_per_s_before,
            l.rows_per_s_during,
            l.queued_when_high_started,
            l.queued_when_high_ended,
            p.worker_slow_statements
        ),
    ]
}

fn endurance(e: &EnduranceFigures) -> Vec<String> {
    let (m, d, k) = (&e.used_memory_mb, &e.dbsize, &e.idempotency_keys);
    vec![
        format!("(e) endurance     : {}", e.command),
        format!(
            "    traffic       : {} requests ({} req/s, p99 {} ms), {} accepted, {} rows, {} lost; backlog max {}",
            e.wrk.requests,
            e.wrk.rps.floor(),
            e.wrk.p99_ms,
            e.accepted,
            e.rows,
            e.lost,
            e.backlog_max
        ),
        format!(
            "    Redis memory  : used_memory {} -> {} MB (max {}), DBSIZE {} -> {}; {} bytes per update",
            m.before,
            m.after,
            m.max,
            d.before,
            d.after,
            opt(e.growth_bytes_per_update)
        ),
        format!(
            "    idempotency   : {} keys x {} B (MEMORY USAGE), TTL left {} s; without them used_memory {} MB, DBSIZE {} ({} bytes vs before)",
            k.count,
            k.memory_usage_bytes_each,
            k.ttl_left_s,
            m.after_dropping_idempotency_keys,
            d.after_dropping_idempotency_keys,
            e.residual_after_dropping_keys_bytes
        ),
        format!(
            "    RSS           : (/metrics scraped every sample: {}) worker {} -> {} MB (max {}), api {} -> {} MB (max {})",
            e.metrics_scraped_every_sample,
            e.worker_rss_mb.before,
            e.worker_rss_mb.after,
            e.worker_rss_mb.max,
            e.api_rss_mb.before,
            e.api_rss_mb.after,
            e.api_rss_mb.max
        ),
    ]
}

/// The lines of the summary block.
pub fn lines(s: &Summary, json: &Path) -> Vec<String> {
    let (m, r) = (&s.machine, &s.ratios);
    let settings = serde_json::to_value(&s.worker_settings).unwrap_or_default();
    let settings: Vec<String> = settings
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let mut out = vec![
        String::new(),
        format!("== sluice drain benchmark {} ==", s.timestamp),
        format!(
            "machine   : {} x {}, {} GiB RAM; git {} (+{} modified files); load average {} at start, {} at end",
            m.nproc,
            m.cpu_model,
            m.mem_gib,
            m.git,
            m.git_modified_files,
            loads(&m.loadavg_start),
            loads(&m.loadavg_end)
        ),
        format!("postgres  : {} {}", m.postgres, m.postgres_settings),
        format!("worker    : {}", settings.join(" ")),
    ];
    if let Some(a) = &s.pgbench {
        out.push(format!(
            "(a) pgbench       : {} tps ({}; latency {} ms; machine {} % busy)",
            a.tps.floor(),
            a.command,
            opt(a.latency_avg_ms),
            a.machine.machine_busy_percent
        ));
    }
    out.push(format!("(b) 1 worker      : {}", drain(&s.drain.workers_1)));
    out.push(format!("(c) 2 workers     : {}", drain(&s.drain.workers_2)));
    out.push(format!("(c) 3 workers     : {}", drain(&s.drain.workers_3)));
    out.push(format!(
        "    ratios        : b/a {}   c2/a {}   c3/a {}   (target >= 1.0: b {}, c2 {})",
        opt(r.b_over_a),
        opt(r.c2_over_a),
        opt(r.c3_over_a),
        pass(r.b_over_a.unwrap_or(0.0) >= 1.0),
        pass(r.c2_over_a.unwrap_or(0.0) >= 1.0)
    ));
    out.push(format!(
        "    growth        : 2 workers x{}, 3 workers x{} of 1 worker",
        opt(r.growth_2_over_1),
        opt(r.growth_3_over_1)
    ));
    out.extend(s.priority.iter().flat_map(priority));
    out.extend(s.endurance.iter().flat_map(endurance));
    out.push(format!("JSON              : {}", json.display()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_captured_run_reads_as_before() {
        let s: Summary =
            serde_json::from_str(include_str!("../../../tests/fixtures/drain/summary.json"))
                .unwrap();
        let text = lines(&s, Path::new("x.json")).join("\n");
        assert!(text.contains("(a) pgbench       : 4366 tps"), "{text}");
        assert!(text.contains(
            "ratios        : b/a 0.485   c2/a 0.436   c3/a null   (target >= 1.0: b MISS, c2 MISS)"
        ));
        assert!(text.contains("(c) 3 workers     : -"));
        assert!(text.contains("(target p99 < 100 ms: ok)"));
        assert!(text.contains("RAN OUT"));
        assert!(text.contains("1004 keys x 168 B (MEMORY USAGE), TTL left 89970 s"));
        assert!(text.contains("worker    : concurrency=16 "));
    }
}

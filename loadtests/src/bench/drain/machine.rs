//! The JSON's `machine`: CPU, memory, kernel, the versions of Redis, Postgres and pgbench, the
//! commit, and which binaries were measured.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::{db, host, redis_probe::info_field, session::Bench, summary::MachineInfo};

/// `model name` of /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> String {
    cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(": ")
                .map(|(_, m)| m.to_owned())
        })
        .unwrap_or_default()
}

/// MemTotal of /proc/meminfo in GiB, to 0.1.
pub fn mem_gib(meminfo: &str) -> f64 {
    let kib = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(0.0);
    (kib / 1_048_576.0 * 10.0).round() / 10.0
}

/// The first 12 hex digits of a file's SHA-256.
fn sha256_12(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => Sha256::digest(&bytes)
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect(),
        Err(_) => "missing".into(),
    }
}

/// A command's standard output, trimmed ("" when it fails).
async fn output(program: &str, args: &[&str]) -> String {
    match tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => String::new(),
    }
}

pub async fn info(bench: &Bench) -> MachineInfo {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let (postgres, postgres_settings) = db::server(&bench.args.pg_url).await.unwrap_or_default();
    let git = output("git", &["rev-parse", "--short", "HEAD"]).await;
    let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"]).await;
    MachineInfo {
        cpu_model: cpu_model(&read("/proc/cpuinfo")),
        nproc: host::nproc(),
        mem_gib: mem_gib(&read("/proc/meminfo")),
        kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
        redis: info_field(&bench.redis.info("server").await, "redis_version").unwrap_or_default(),
        postgres,
        postgres_settings,
        pgbench: output("pgbench", &["--version"]).await,
        git: if git.is_empty() {
            "unknown".into()
        } else {
            git
        },
        git_modified_files: dirty.lines().count() as u64,
        binaries_sha256: ["sluice-api", "sluice-worker"]
            .map(|b| format!("{b}={}", sha256_12(&bench.bin(b))))
            .join(" "),
        loadavg_start: bench.loadavg_start.clone(),
        loadavg_end: host::loadavg(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_and_memory() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t: fpu\n";
        assert_eq!(cpu_model(cpuinfo), "AMD EPYC");
        assert_eq!(
            mem_gib("MemTotal:       24641916 kB\nMemFree: 1 kB\n"),
            23.5
        );
    }

    #[test]
    fn hashes_a_file() {
        let path = std::env::temp_dir().join(format!("drain-sha-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(sha256_12(&path), "ba7816bf8f01");
        std::fs::remove_file(&path).unwrap();
    }
}

//! A worker identity unique per process: apalis-redis recovers a dead worker's in-flight jobs by
//! name, so two processes sharing a name (a rolling deploy re-using a pod name) would break it.

use rand::Rng;

/// `<POD_NAME or hostname>-<6 random hex digits>`.
pub fn worker_id(configured: Option<&str>) -> String {
    let base = configured
        .map(str::to_owned)
        .or_else(|| hostname::get().ok().and_then(|h| h.into_string().ok()))
        .unwrap_or_else(|| "sluice-worker".to_owned());
    let suffix: u32 = rand::rng().random_range(0..0x100_0000);
    format!("{base}-{suffix:06x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_even_with_the_same_pod_name() {
        let a = worker_id(Some("pod-1"));
        let b = worker_id(Some("pod-1"));
        assert!(a.starts_with("pod-1-"));
        assert_ne!(a, b);
    }
}

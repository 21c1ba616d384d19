//! The trace settings, under the OpenTelemetry SDK's standard names, and the check of
//! `RUST_LOG`. The SDK would read `OTEL_TRACES_SAMPLER` itself, but it falls back to "sample
//! everything" on a value it does not know; parsed here, a typo stops start-up instead.

use tracing_subscriber::EnvFilter;

/// Where and how much to trace. Traces are off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
#[derive(clap::Args, Debug, Clone)]
pub struct TraceConfig {
    /// OTLP/HTTP collector base URL (e.g. `http://otel-collector:4318`); spans go to
    /// `<url>/v1/traces` as protobuf. Unset: no traces, and no exporter work at all.
    #[arg(
        long = "otlp-endpoint",
        env = "OTEL_EXPORTER_OTLP_ENDPOINT",
        value_name = "OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    pub endpoint: Option<String>,

    /// Which traces to keep: `parentbased_always_on` (default), `parentbased_traceidratio`,
    /// `traceidratio`, `always_on`, `always_off`, `parentbased_always_off`.
    #[arg(
        long = "traces-sampler",
        env = "OTEL_TRACES_SAMPLER",
        value_name = "OTEL_TRACES_SAMPLER",
        default_value = "parentbased_always_on"
    )]
    pub sampler: Sampler,

    /// The ratio (0 to 1) of the `*traceidratio` samplers.
    #[arg(
        long = "traces-sampler-arg",
        env = "OTEL_TRACES_SAMPLER_ARG",
        value_name = "OTEL_TRACES_SAMPLER_ARG",
        default_value = "1.0",
        value_parser = parse_ratio
    )]
    pub sampler_arg: f64,
}

/// The samplers of the OpenTelemetry specification that need no remote service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Sampler {
    AlwaysOn,
    AlwaysOff,
    #[value(name = "traceidratio")]
    TraceIdRatio,
    ParentbasedAlwaysOn,
    ParentbasedAlwaysOff,
    #[value(name = "parentbased_traceidratio")]
    ParentbasedTraceIdRatio,
}

impl Sampler {
    /// The SDK's sampler; `ratio` is used by the ratio samplers only.
    pub(super) fn sdk(self, ratio: f64) -> opentelemetry_sdk::trace::Sampler {
        use opentelemetry_sdk::trace::Sampler as S;
        let parent_based = |root: S| S::ParentBased(Box::new(root));
        match self {
            Sampler::AlwaysOn => S::AlwaysOn,
            Sampler::AlwaysOff => S::AlwaysOff,
            Sampler::TraceIdRatio => S::TraceIdRatioBased(ratio),
            Sampler::ParentbasedAlwaysOn => parent_based(S::AlwaysOn),
            Sampler::ParentbasedAlwaysOff => parent_based(S::AlwaysOff),
            Sampler::ParentbasedTraceIdRatio => parent_based(S::TraceIdRatioBased(ratio)),
        }
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("'{s}' is not a ratio from 0 to 1 (e.g. 0.25)")),
    }
}

/// `RUST_LOG` as clap's value parser: a filter `tracing` cannot read stops start-up instead of
/// silently becoming `info`.
pub fn parse_log_filter(s: &str) -> Result<String, String> {
    EnvFilter::builder()
        .parse(s)
        .map(|_| s.to_owned())
        .map_err(|e| format!("'{s}' is not a tracing filter (e.g. `info,sluice_api=debug`): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_not_guessed() {
        for good in ["info", "warn,sluice_api=debug", "sluice::access=off", ""] {
            assert!(parse_log_filter(good).is_ok(), "{good}");
        }
        for bad in ["sluice_api=verbose", "info,=[", "debug,hyper=loud"] {
            assert!(parse_log_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_ratio_is_between_zero_and_one() {
        assert_eq!(parse_ratio("0.25"), Ok(0.25));
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("half").is_err());
    }
}

//! How figures read in the progress lines and the printed summary.

/// A progress line on stderr.
pub fn say(line: &str) {
    eprintln!("==> {line}");
}

/// `null` for a missing figure, as the JSON has it.
pub fn opt(x: Option<f64>) -> String {
    x.map_or_else(|| "null".into(), |x| x.to_string())
}

/// Load averages as /proc/loadavg has them: "1.2 0.8 0.5".
pub fn loads(l: &[f64]) -> String {
    l.iter().map(f64::to_string).collect::<Vec<_>>().join(" ")
}

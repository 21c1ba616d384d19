//! The `sluice-api` binary, for the tests of crates that must not link it: the worker's
//! end-to-end tests run the real api as a process, as a deployment does.
//!
//! `CARGO_BIN_EXE_<name>` only names the binaries of the package under test, so the api's is
//! built here, once per test process, with the `cargo` that runs the tests: `cargo build -p
//! sluice-api --bin sluice-api`, whose JSON messages name the executable wherever the target
//! directory is (`CARGO_TARGET_DIR`, the profile). A small helper rather than a crate such as
//! `escargot`: it is one command and one message to read, and no new dependency to vet.
//! `SLUICE_API_BIN` names a binary to use instead (no build), as for the load tests; the worker's
//! likewise (`worker_binary`, `SLUICE_WORKER_BIN`) for the load tests' end-to-end checks.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

/// The path of a `sluice-api` built from this workspace; builds it on the first call.
///
/// # Panics
/// When cargo cannot build it: every test that needs the api would fail anyway, and the panic
/// carries cargo's own diagnostics.
pub fn api_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("SLUICE_API_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => build("sluice-api", "sluice-api"),
    })
}

/// The path of a `sluice-worker` built from this workspace (`SLUICE_WORKER_BIN` to use another),
/// for the load tests that run the real api and worker as processes.
pub fn worker_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("SLUICE_WORKER_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => build("sluice-worker", "sluice-worker"),
    })
}

/// The path of the Telegram stand-in's binary (`telegram-stand-in`; `SLUICE_STAND_IN_BIN` to
/// use another), for load runs against it as a process.
pub fn stand_in_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("SLUICE_STAND_IN_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => build("sluice-testkit", "telegram-stand-in"),
    })
}

/// The path of an example of `package` built from this workspace (a bot built on the worker's
/// library, such as `reply_bot`), built once per test process.
pub fn example_binary(package: &str, example: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let name = format!("{package}/{example}");
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, path)) = built.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let path = build_target(package, "--example", example);
    built.push((name, path.clone()));
    path
}

/// `cargo build -p <package> --bin <bin>` in this workspace, in the tests' own profile.
fn build(package: &str, bin: &str) -> PathBuf {
    build_target(package, "--bin", bin)
}

fn build_target(package: &str, kind: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", package, kind, bin])
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cargo build -p {package}: {e}"));
    assert!(
        out.status.success(),
        "cargo build -p {package} {kind} {bin} failed: {}",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == bin)
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo build -p {package} named no `{bin}` executable"))
}

//! Installs a framework from its registry (pip into a venv, npm into a folder) once, into a
//! cached folder under `target/tmp/frameworks/`, reused while its pinned versions are the same.
//! Concurrent tests (and test processes) wait for one install: a `mkdir` lock, as atomic as the
//! file system.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant, SystemTime},
};

/// Where the framework apps and their pinned versions are.
pub fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/frameworks")
}

fn cache(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("frameworks")
        .join(name)
}

/// The venv's python with `<sources>/<name>/requirements.txt` installed.
pub fn python(name: &str) -> PathBuf {
    let pins = sources().join(name).join("requirements.txt");
    let dir = installed(name, &pins, |dir| {
        run(Command::new("python3").args(["-m", "venv"]).arg(dir));
        run(Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&pins));
    });
    dir.join("bin/python")
}

/// The `node_modules` of `<sources>/<name>/package.json`, for NODE_PATH.
pub fn node_modules(name: &str) -> PathBuf {
    let pins = sources().join(name).join("package.json");
    let dir = installed(name, &pins, |dir| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::copy(&pins, dir.join("package.json")).unwrap();
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir));
    });
    dir.join("node_modules")
}

/// The cache folder of `name`, installed by `install` unless it holds the same `pins` already.
fn installed(name: &str, pins: &Path, install: impl FnOnce(&Path)) -> PathBuf {
    let dir = cache(name);
    let pinned = std::fs::read_to_string(pins).unwrap();
    let ready = dir.join(".installed");
    let lock = dir.with_extension("lock");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        if std::fs::read_to_string(&ready).is_ok_and(|p| p == pinned) {
            return dir;
        }
        if std::fs::create_dir(&lock).is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
            install(&dir);
            std::fs::write(&ready, &pinned).unwrap();
            std::fs::remove_dir(&lock).unwrap();
            return dir;
        }
        // A lock left by a killed run is older than any install.
        let age = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|a| a > Duration::from_secs(900)) {
            let _ = std::fs::remove_dir(&lock);
        }
        assert!(Instant::now() < until, "waited 10 min for {name}'s install");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Runs an install step; its failure (no registry, no python3-venv or npm) fails the test.
fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?} did not start ({e}): see scripts/test install_missing")
    });
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

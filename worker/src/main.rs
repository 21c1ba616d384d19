//! `sluice-worker`: thin entry point for the built-in handlers.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sluice_worker::cli::main_builtin().await
}

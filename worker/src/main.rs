//! `sluice-worker`: thin entry point for the built-in handlers.

/// The binary's allocator, not the library's: a bot's own binary chooses its own. glibc's malloc
/// cost a quarter of the worker's CPU per job (docs/performance.md, "The drain's CPU").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sluice_worker::cli::main_builtin().await
}

//! `sluice-api`: thin entry point; the command line is [`sluice_api::cli`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sluice_api::cli::main().await
}

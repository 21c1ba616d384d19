//! The shutdown signal both binaries obey: SIGTERM (Kubernetes) or Ctrl-C.

use std::future::Future;

/// Completes on the first SIGTERM or SIGINT received after this call.
///
/// The handlers are installed here, when it is called, not when the future is first polled: a
/// process that calls it early and polls it only once its start-up is done still shuts down
/// gracefully on a SIGTERM that arrives in between (Kubernetes may send one at any time), where
/// the default action would have killed it. Must be called inside the Tokio runtime.
pub fn signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

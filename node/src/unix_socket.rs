//! The unix socket a Kubernetes plugin serves gRPC on (`coffer kms-plugin`,
//! `coffer csi-provider`): bound fresh (a stale socket file from a previous run is removed), its
//! connections handed to tonic, and the file removed again on SIGTERM or Ctrl-C.
//! Outside simulation only.

use std::path::{Path, PathBuf};
use tokio::net::{UnixListener, UnixStream};

/// `unix:///var/run/kms/coffer.sock` or a plain path → the path.
pub fn socket_path(listen: &str) -> Result<PathBuf, String> {
    let path = listen.strip_prefix("unix://").unwrap_or(listen).trim();
    if path.is_empty() || !path.starts_with('/') && !path.starts_with('.') {
        return Err(format!(
            "{listen:?}: expected unix:///absolute/path.sock or a socket path"
        ));
    }
    Ok(PathBuf::from(path))
}

/// Bind `path`, creating its directory and replacing a stale socket file.
pub fn bind(path: &Path) -> Result<UnixListener, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    UnixListener::bind(path).map_err(err)
}

/// The accepted connections, as `serve_with_incoming` wants them. An accept error is logged and
/// skipped (the listener itself stays up).
pub fn incoming(
    listener: UnixListener,
) -> impl futures::Stream<Item = Result<UnixStream, std::io::Error>> {
    futures::stream::unfold(listener, |listener| async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => return Some((Ok(stream), listener)),
                Err(e) => tracing::warn!(error = %e, "unix socket accept failed"),
            }
        }
    })
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = futures::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A multi-threaded runtime for a plugin process (`None` after printing why it failed).
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("Error starting the runtime: {e}");
            None
        }
    }
}

/// Serve `router` on the socket at `path` until SIGTERM or Ctrl-C, on a runtime of its own,
/// printing `banner` once bound; the process exit code. `flag` names the option the path came
/// from and `name` the plugin, for the error messages.
pub fn serve(
    path: PathBuf,
    flag: &str,
    name: &str,
    banner: String,
    router: tonic::transport::server::Router,
) -> i32 {
    let Some(runtime) = runtime() else {
        return 1;
    };
    runtime.block_on(async move {
        let listener = match bind(&path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{flag}: {e}");
                return 1;
            }
        };
        println!("{banner}");
        let served = router
            .serve_with_incoming_shutdown(incoming(listener), shutdown_signal())
            .await;
        let _ = std::fs::remove_file(&path);
        match served {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{name}: {e}");
                1
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_are_unix_urls_or_paths() {
        assert_eq!(
            socket_path("unix:///var/run/kms/coffer.sock").unwrap(),
            PathBuf::from("/var/run/kms/coffer.sock")
        );
        assert_eq!(
            socket_path("/tmp/c.sock").unwrap(),
            PathBuf::from("/tmp/c.sock")
        );
        assert!(socket_path("tcp://0.0.0.0:1").is_err());
        assert!(socket_path("").is_err());
    }
}

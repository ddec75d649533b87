//! `coffer csi-provider`: a Secrets Store CSI driver provider (`v1alpha1.CSIDriverProvider`
//! from the vendored `proto/k8s/csi/v1alpha1/service.proto`) on a unix socket, with
//! vault-csi-provider's SecretProviderClass parameters. For each Mount it logs in to the
//! kubernetes auth method with the pod's service account token (which the driver passes in the
//! attributes), reads every object and returns the files with their object versions; the driver
//! writes them. Outside simulation only.

mod fetch;
mod objects;
mod params;
mod server;

pub use server::{CsiService, RUNTIME_NAME};

/// Generated stubs of the vendored provider API (package `v1alpha1`).
pub mod pb {
    tonic::include_proto!("v1alpha1");
}

use crate::plugin_client::Target;
use crate::unix_socket;
use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct CsiProviderArgs {
    /// The unix socket the CSI driver dials: `<providers dir>/coffer.sock`.
    #[arg(
        long,
        default_value = "/etc/kubernetes/secrets-store-csi-providers/coffer.sock"
    )]
    pub endpoint: String,
    /// Bound on one Mount, login and every read included (Go duration or seconds).
    #[arg(long, default_value = "10s")]
    pub timeout: String,
}

/// Run the provider until SIGTERM; the process exit code.
pub fn run(args: CsiProviderArgs, target: &Target) -> i32 {
    let timeout = match crate::plugin_client::parse_timeout(&args.timeout) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("-timeout: {e}");
            return 1;
        }
    };
    let path = match unix_socket::socket_path(&args.endpoint) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("-endpoint: {e}");
            return 1;
        }
    };
    let service = CsiService {
        target: target.clone(),
        timeout,
    };
    let banner = format!(
        "coffer csi-provider: serving on {} (coffer at {})",
        path.display(),
        target.address()
    );
    let router = tonic::transport::Server::builder()
        .add_service(pb::csi_driver_provider_server::CsiDriverProviderServer::new(service));
    unix_socket::serve(path, "-endpoint", "csi-provider", banner, router)
}

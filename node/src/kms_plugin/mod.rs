//! `coffer kms-plugin`: the Kubernetes KMS v2 plugin (`v2.KeyManagementService` from the
//! vendored `proto/k8s/kms/v2/api.proto`) on a unix socket, backed by a Coffer transit key.
//!
//! kube-apiserver generates a DEK seed per key epoch and calls `Encrypt` to wrap it: the plugin
//! sends it to `transit/encrypt/<key>` and returns the transit ciphertext as the KMS ciphertext,
//! with `key_id = <key>:v<version>`. After `transit/keys/<key>/rotate` the key id changes, which
//! tells kube-apiserver to generate a new seed (and that stored data is stale); `Decrypt` goes to
//! `transit/decrypt/<key>`, which accepts every version down to `min_decryption_version`.
//! `Status` reads `transit/keys/<key>`: healthy only when Coffer answers and the key is usable.
//! Outside simulation only.

mod args;
mod server;
mod transit;

pub use args::KmsPluginArgs;
pub use server::{KmsService, API_VERSION};
pub use transit::{key_id, TransitKey};

/// Generated stubs of the vendored KMS v2 API (package `v2`).
pub mod pb {
    tonic::include_proto!("v2");
}

use crate::plugin_client::{Endpoint, Session, Target};
use crate::unix_socket;
use std::sync::Arc;

/// Run the plugin until SIGTERM; the process exit code.
pub fn run(args: KmsPluginArgs, target: &Target) -> i32 {
    let timeout = match crate::plugin_client::parse_timeout(&args.timeout) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("-timeout: {e}");
            return 1;
        }
    };
    let login = match args.login() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let endpoint = match Endpoint::new(
        &target.address(),
        target.ca_cert.as_deref(),
        target.tls_skip_verify,
        timeout,
    ) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let path = match unix_socket::socket_path(&args.listen) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("-listen: {e}");
            return 1;
        }
    };
    let service = KmsService {
        key: Arc::new(TransitKey {
            session: Session::new(endpoint, login),
            mount: args.transit_mount.clone(),
            key: args.key.clone(),
        }),
        timeout,
    };
    let banner = format!(
        "coffer kms-plugin: serving KMS {API_VERSION} on {} (transit key {}/{})",
        path.display(),
        args.transit_mount,
        args.key
    );
    let router = tonic::transport::Server::builder()
        .add_service(pb::key_management_service_server::KeyManagementServiceServer::new(service));
    unix_socket::serve(path, "-listen", "kms-plugin", banner, router)
}

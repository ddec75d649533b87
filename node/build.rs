//! Generates the gRPC stubs (real tonic normally, the simulated transport under `--cfg madsim`;
//! `tonic::include_proto!` picks the right one): `proto/forward.proto` (node-to-node forwarding)
//! and the vendored Kubernetes APIs in `proto/k8s/` (see its VENDORED.md): the KMS v2 plugin API
//! and the Secrets Store CSI driver's provider API.

fn main() -> std::io::Result<()> {
    tonic_build::configure().compile_protos(
        &[
            "proto/forward.proto",
            "proto/k8s/kms/v2/api.proto",
            "proto/k8s/csi/v1alpha1/service.proto",
        ],
        &["proto"],
    )
}

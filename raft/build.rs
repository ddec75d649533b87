//! Generates the cluster RPC stubs from `proto/raft.proto`: madsim-tonic-build writes the real
//! tonic code and, under `sim/`, the simulated one; `tonic::include_proto!` picks the right one.

fn main() -> std::io::Result<()> {
    tonic_build::configure().compile_protos(&["proto/raft.proto"], &["proto"])
}

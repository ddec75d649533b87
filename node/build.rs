//! Generates the forwarding RPC stubs from `proto/forward.proto` (real tonic normally, the
//! simulated transport under `--cfg madsim`; `tonic::include_proto!` picks the right one).

fn main() -> std::io::Result<()> {
    tonic_build::configure().compile_protos(&["proto/forward.proto"], &["proto"])
}

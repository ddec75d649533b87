//! The `coffer` binary: the server and the Vault-compatible CLI.
#![forbid(unsafe_code)]

#[cfg(not(madsim))]
fn main() {
    std::process::exit(coffer_node::cli::main());
}

/// Under simulation the server runs inside the simulator (crate coffer-sim), not as a process.
#[cfg(madsim)]
fn main() {
    eprintln!("coffer: this build is for deterministic simulation; run the simulator instead");
    std::process::exit(1);
}

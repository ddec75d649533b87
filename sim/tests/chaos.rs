//! One seed of the chaos run (see `coffer_sim::chaos`): `MADSIM_TEST_SEED=N` picks the seed,
//! `sim/run.sh` runs many, one per process. Prints one `CHAOS` line the runner reads; on a
//! violation it also prints the run's event log and fails.
#![cfg(madsim)]

use coffer_sim::chaos::{self, Scenario};

#[madsim::test]
async fn chaos_seed() {
    let seed = madsim::runtime::Handle::current().seed();
    let scenario = Scenario::for_seed(seed);
    let report = chaos::run(seed, &scenario).await;
    println!("CHAOS seed {seed} nodes {} {report}", scenario.nodes);
    if report.violations.is_empty() {
        if let Some(events) = &report.event_log {
            println!("EVENT LOG\n{events}");
        }
    } else {
        println!("EVENT LOG\n{}", report.event_log.as_deref().unwrap_or(""));
        for v in &report.violations {
            println!("VIOLATION {v}");
        }
        panic!(
            "seed {seed}: {} violations; replay with MADSIM_TEST_SEED={seed}",
            report.violations.len()
        );
    }
}

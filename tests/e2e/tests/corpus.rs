//! The kept batches under `tests/corpus/`: each is what `gnomon-sim` generates today (so a
//! change of the engine's behaviour or of a wire layout shows here), and the guest commits
//! each one's output. `GNOMON_BLESS=1 cargo test -p gnomon-e2e --test corpus` rewrites them
//! after an intended change.

use gnomon_e2e::assert_guest_reproduces;
use gnomon_e2e::corpus::{CorpusBatch, read_all, write_all};
use gnomon_sim::scenarios::{mixed, per_action};

/// Actions per named scenario, steps of the mixed batch.
const ACTIONS: usize = 3;
const MIXED_STEPS: usize = 150;
const MIXED_SEED: u64 = 1;

fn generate() -> Vec<(String, CorpusBatch)> {
    let mut batches: Vec<(String, CorpusBatch)> = per_action(ACTIONS)
        .into_iter()
        .map(|scenario| (scenario.name.replace(' ', "-"), scenario.batch.into()))
        .collect();
    let [setup, batch] = mixed(MIXED_SEED, MIXED_STEPS);
    batches.push(("mixed-1-setup".into(), setup.into()));
    batches.push(("mixed-2".into(), batch.into()));
    batches.sort_by(|a, b| a.0.cmp(&b.0));
    batches
}

#[test]
fn the_corpus_is_current_and_the_guest_replays_it() {
    let fresh = generate();
    if std::env::var_os("GNOMON_BLESS").is_some() {
        write_all(&fresh);
    }
    let kept = read_all();
    let names = |batches: &[(String, CorpusBatch)]| -> Vec<String> {
        batches.iter().map(|(name, _)| name.clone()).collect()
    };
    assert_eq!(
        names(&kept),
        names(&fresh),
        "the corpus files differ from what gnomon-sim generates; rerun with GNOMON_BLESS=1 if intended"
    );
    for ((name, kept), (_, fresh)) in kept.into_iter().zip(fresh) {
        assert!(
            kept == fresh,
            "tests/corpus/{name}.borsh differs from what gnomon-sim generates; rerun with GNOMON_BLESS=1 if intended"
        );
        assert_guest_reproduces(&kept.into());
    }
}

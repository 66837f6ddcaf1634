//! Generated batches through the guest: for every batch, the guest's committed output is the
//! engine's native output, byte for byte, and the run's digests are those of its input and
//! output. The batches must between them exercise what the issue names: fills, triggers,
//! liquidations into the book, onto the insurance fund and by deleveraging, funding hours,
//! deposits, withdrawals, session keys and refused actions.

use gnomon_e2e::assert_guest_reproduces;
use gnomon_sim::generate::{Coverage, Generator, Profile};

/// Batches per seed, steps per batch.
const BATCHES: usize = 4;
const STEPS: usize = 60;

#[test]
fn the_guest_commits_the_engines_output_for_generated_batches() {
    let mut total = Coverage::default();
    // Seeds whose batches between them hold every event the test asks for.
    for seed in [8, 12] {
        let profile = Profile::default();
        let mut generator = Generator::new(seed, profile);
        let mut prior = None;
        for _ in 0..BATCHES {
            let batch = generator.batch(STEPS);
            if let Some(root) = prior {
                assert_eq!(batch.input.prior_root, root, "batches chain");
            }
            prior = Some(batch.output.new_root);
            assert_guest_reproduces(&batch);
        }
        let coverage = generator.coverage();
        macro_rules! add {
            ($($field:ident),*) => { $(total.$field += coverage.$field;)* };
        }
        add!(
            fills,
            triggers,
            book_liquidations,
            backstops,
            deleverages,
            bad_debts,
            funding_hours,
            deposits,
            withdrawals,
            session_keys,
            market_status_changes,
            refused_actions
        );
    }
    let Coverage {
        fills,
        triggers,
        book_liquidations,
        backstops,
        deleverages,
        bad_debts,
        funding_hours,
        deposits,
        withdrawals,
        session_keys,
        market_status_changes,
        refused_actions,
    } = total;
    for (what, count) in [
        ("fills", fills),
        ("triggers", triggers),
        ("book liquidations", book_liquidations),
        ("backstops", backstops),
        ("deleverages", deleverages),
        ("bad debts", bad_debts),
        ("funding hours", funding_hours),
        ("deposits", deposits),
        ("withdrawals", withdrawals),
        ("session keys", session_keys),
        ("market status changes", market_status_changes),
        ("refused actions", refused_actions),
    ] {
        assert!(count > 0, "the generated batches have no {what}: {total:?}");
    }
}

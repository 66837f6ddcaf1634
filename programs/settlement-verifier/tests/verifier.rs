//! The verification core on the host: the compiled-in key, real proofs and their tampered
//! variants, the public-input packing, and the layouts' agreement with the engine's borsh
//! encodings.

use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, Field, PrimeField};
use ark_groth16::Groth16;
use ark_snark::SNARK;
use ark_std::rand::SeedableRng;
use ark_std::rand::rngs::StdRng;
use gnomon_settlement_verifier::batch::{
    BatchHeader, DepositRange, EMPTY_LIST_HASH, ENTRY_LEN, FIXED_LEN, HEADER_LEN, ListEntry,
    SettledBalance, TimeRange, Withdrawal, deposit_chain_next, list_hash,
};
use gnomon_settlement_verifier::inputs::{
    BABY_BEAR_MODULUS, commitment_input, digest_input, public_inputs,
};
use gnomon_settlement_verifier::test_circuit;
use gnomon_settlement_verifier::verify::{
    PROOF_LEN, Proof, VERIFYING_KEY_LEN, VerifyError, VerifyingKey, verify_batch, verify_inputs,
};
use gnomon_settlement_verifier::vk::VERIFYING_KEY;
use proptest::prelude::*;

fn header() -> BatchHeader {
    BatchHeader {
        exchange_id: [9; 32],
        batch_number: 3,
        prior_root: [1; 32],
        new_root: [2; 32],
        time: TimeRange {
            start_ms: 1_000,
            end_ms: 2_000,
        },
        deposits: DepositRange {
            first_sequence: 4,
            end_sequence: 9,
            chain_before: [5; 32],
            chain_after: [6; 32],
        },
        oracle_digest: [3; 32],
        balance_count: 2,
        balances_hash: [7; 32],
        withdrawal_count: 1,
        withdrawals_hash: [8; 32],
    }
}

fn commitment(elements: [u32; 8]) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    for (chunk, element) in bytes.chunks_exact_mut(4).zip(elements) {
        chunk.copy_from_slice(&element.to_le_bytes());
    }
    bytes
}

#[test]
fn the_compiled_verifying_key_is_the_test_circuit_setup() {
    let source = test_circuit::verifying_key_source();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/vk.rs");
    if std::env::var("GNOMON_BLESS").as_deref() == Ok("1") {
        std::fs::write(path, &source).expect("vk.rs is writable");
    }
    assert!(
        std::fs::read_to_string(path).expect("vk.rs exists") == source,
        "src/vk.rs is not the test setup's key: rerun with GNOMON_BLESS=1"
    );
    assert_eq!(VERIFYING_KEY, test_circuit::verifying_key());
}

/// The key file round-trips, and bytes of any other length or shape are refused, not
/// misread.
#[test]
fn the_verifying_key_file_round_trips() {
    let key = test_circuit::verifying_key();
    let bytes = key.to_bytes();
    assert_eq!(bytes.len(), VERIFYING_KEY_LEN);
    assert_eq!(VerifyingKey::from_bytes(&bytes), Some(key));
    for len in [0, 64, bytes.len() - 64, bytes.len() - 1] {
        assert_eq!(VerifyingKey::from_bytes(&bytes[..len]), None, "{len}");
    }
    let mut longer = bytes.to_vec();
    longer.extend_from_slice(&[0; 64]);
    assert_eq!(VerifyingKey::from_bytes(&longer), None);
    let count_at = 64 + 3 * 128;
    for count in [2u32, 4, u32::MAX] {
        let mut other_count = bytes;
        other_count[count_at..count_at + 4].copy_from_slice(&count.to_le_bytes());
        assert_eq!(VerifyingKey::from_bytes(&other_count), None, "{count}");
    }
}

/// A real key's points are valid; one changed coordinate of any point, or an identity among
/// alpha, beta, gamma and delta, makes the key one the program refuses to record.
#[test]
fn only_a_key_with_valid_non_degenerate_points_passes_the_point_check() {
    let key = test_circuit::verifying_key();
    assert!(key.has_valid_points());
    let mut broken = Vec::new();
    for at in [0, 63] {
        let mut changed = key;
        changed.alpha_g1[at] ^= 1;
        broken.push(changed);
    }
    for (point, at) in [(0, 5), (1, 127), (2, 64)] {
        let mut changed = key;
        [
            &mut changed.beta_g2,
            &mut changed.gamma_g2,
            &mut changed.delta_g2,
        ][point][at] ^= 1;
        broken.push(changed);
    }
    for index in 0..3 {
        let mut changed = key;
        changed.ic[index][40] ^= 1;
        broken.push(changed);
    }
    let mut identity = key;
    identity.alpha_g1 = [0; 64];
    broken.push(identity);
    let mut identity = key;
    identity.beta_g2 = [0; 128];
    broken.push(identity);
    for (index, changed) in broken.iter().enumerate() {
        assert!(!changed.has_valid_points(), "change {index}");
    }
}

#[test]
fn a_real_proof_verifies_and_every_tampering_is_rejected() {
    let (pk, vk) = test_circuit::setup();
    let program = commitment([11, 22, 33, 44, 55, 66, 77, BABY_BEAR_MODULUS - 1]);
    let header = header();
    let proof = test_circuit::prove(&pk, &program, &header, 9);
    assert_eq!(
        verify_batch(&VERIFYING_KEY, &proof, &program, &header),
        Ok(())
    );

    // arkworks agrees on the same statement.
    let inputs = public_inputs(&program, &header).expect("canonical");
    let scalars: Vec<Fr> = inputs
        .iter()
        .map(|input| Fr::from_be_bytes_mod_order(input))
        .collect();
    let circuit = test_circuit::TestCircuit {
        inputs: Some([scalars[0], scalars[1]]),
    };
    let ark_proof =
        Groth16::<Bn254>::prove(&pk, circuit, &mut StdRng::seed_from_u64(9)).expect("proves");
    assert!(Groth16::<Bn254>::verify(&vk, &scalars, &ark_proof).expect("verifies"));

    let rejected = Err(VerifyError::ProofRejected);
    let other_program = commitment([11, 22, 33, 44, 55, 66, 77, 0]);
    assert_eq!(
        verify_batch(&VERIFYING_KEY, &proof, &other_program, &header),
        rejected
    );
    let mut other_header = header;
    other_header.deposits.end_sequence += 1;
    assert_eq!(
        verify_batch(&VERIFYING_KEY, &proof, &program, &other_header),
        rejected
    );
    for (part, byte) in [(0, 5), (0, 63), (1, 17), (1, 127), (2, 40)] {
        let mut tampered = proof;
        match part {
            0 => tampered.a[byte] ^= 1,
            1 => tampered.b[byte] ^= 1,
            _ => tampered.c[byte] ^= 1,
        }
        assert_eq!(
            verify_batch(&VERIFYING_KEY, &tampered, &program, &header),
            rejected,
            "tampered part {part} byte {byte}"
        );
    }
    let non_canonical = commitment([BABY_BEAR_MODULUS, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        verify_batch(&VERIFYING_KEY, &proof, &non_canonical, &header),
        Err(VerifyError::NonCanonicalCommitment)
    );
}

proptest! {
    /// Arbitrary bytes as a proof, as public inputs or as a verifying key file are refused
    /// with an error, never a panic (points off their curve, coordinates above the modulus,
    /// inputs above the scalar modulus, keys of any length).
    #[test]
    fn arbitrary_bytes_are_refused_without_a_panic(
        proof in prop::collection::vec(any::<u8>(), PROOF_LEN),
        inputs in any::<[[u8; 32]; 2]>(),
        key in prop::collection::vec(any::<u8>(), 0..1200),
    ) {
        let proof = Proof::from_bytes(&proof.try_into().expect("PROOF_LEN bytes"));
        prop_assert!(verify_inputs(&VERIFYING_KEY, &proof, &inputs).is_err());
        if let Some(key) = VerifyingKey::from_bytes(&key) {
            prop_assert!(verify_inputs(&key, &proof, &inputs).is_err());
        }
    }

    /// A real proof against a key whose points are corrupted, or against inputs above the
    /// scalar field, is refused without a panic.
    #[test]
    fn a_real_proof_against_corrupted_keys_or_inputs_is_refused(
        position in any::<prop::sample::Index>(),
        flip in 1u8..,
        input in 0usize..2,
    ) {
        let (pk, _) = test_circuit::setup();
        let header = header();
        let program = commitment([9; 8]);
        let proof = test_circuit::prove(&pk, &program, &header, 4);
        let inputs = public_inputs(&program, &header).unwrap();
        let mut key = test_circuit::verifying_key().to_bytes();
        let at = position.index(key.len());
        key[at] ^= flip;
        // The count field: a changed count changes the length the key must have.
        if let Some(key) = VerifyingKey::from_bytes(&key) {
            prop_assert!(verify_inputs(&key, &proof, &inputs).is_err());
        }
        let mut above = inputs;
        above[input] = [0xff; 32];
        prop_assert!(verify_inputs(&VERIFYING_KEY, &proof, &above).is_err());
    }

    #[test]
    fn the_commitment_input_is_the_documented_integer(elements in prop::array::uniform8(0..BABY_BEAR_MODULUS)) {
        let packed = commitment_input(&commitment(elements)).expect("canonical");
        let two_31 = Fr::from(1u64 << 31);
        let expected = elements
            .iter()
            .fold(Fr::from(0u64), |sum, &element| sum * two_31 + Fr::from(element));
        prop_assert_eq!(packed.to_vec(), expected.into_bigint().to_bytes_be());
        prop_assert_eq!(packed[0], 0);
    }

    #[test]
    fn list_hashes_check_any_chunking(
        entries in prop::collection::vec((any::<u32>(), any::<[u8; 32]>(), any::<i64>()), 0..12),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let entries: Vec<SettledBalance> = entries
            .into_iter()
            .map(|(account, owner, collateral)| SettledBalance { account, owner, collateral })
            .collect();
        let whole = list_hash(&entries, &EMPTY_LIST_HASH);
        // What the program does: keep the hash of the rest, check each chunk against it.
        let mut bounds: Vec<usize> = cuts.iter().map(|cut| cut.index(entries.len() + 1)).collect();
        bounds.push(0);
        bounds.push(entries.len());
        bounds.sort_unstable();
        let mut remaining = whole;
        for pair in bounds.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let tail = list_hash(&entries[end..], &EMPTY_LIST_HASH);
            prop_assert_eq!(list_hash(&entries[start..end], &tail), remaining);
            remaining = tail;
        }
        prop_assert_eq!(remaining, EMPTY_LIST_HASH);
        if let Some(first) = entries.first() {
            let mut forged = *first;
            forged.collateral = forged.collateral.wrapping_add(1);
            let mut forged_list = entries.clone();
            forged_list[0] = forged;
            prop_assert_ne!(list_hash(&forged_list, &EMPTY_LIST_HASH), whole);
        }
    }
}

#[test]
fn the_digest_input_is_the_digest_with_its_first_byte_cleared() {
    let header = header();
    let digest = header.output_digest();
    let input = digest_input(&digest);
    assert_eq!(input[0], 0);
    assert_eq!(input[1..], digest[1..]);
    assert_eq!(
        public_inputs(&commitment([0; 8]), &header).expect("canonical")[1],
        input
    );
    assert_eq!(commitment_input(&commitment([BABY_BEAR_MODULUS; 8])), None);
    let modulus_minus_one = Fr::from(-1i64).into_bigint().to_bytes_be();
    assert!(
        input.to_vec() < modulus_minus_one,
        "always a canonical scalar"
    );
    assert_eq!(
        Fr::from(2u64).pow([248]).into_bigint().to_bytes_be()[0],
        1,
        "2^248 needs byte 0"
    );
}

#[test]
fn the_header_round_trips_and_mirrors_the_engine_encoding() {
    let header = header();
    let bytes = header.to_bytes();
    assert_eq!(bytes.len(), HEADER_LEN);
    assert_eq!(BatchHeader::from_bytes(&bytes), header);

    // The engine's output, encoded by the engine: its fixed-size fields are the header's
    // first FIXED_LEN bytes, and its lists are what the list hashes cover.
    let root = |seed: u32| -> [u32; 8] { core::array::from_fn(|i| seed * 100 + i as u32) };
    let root_bytes = |seed: u32| -> [u8; 32] {
        borsh::to_vec(&root(seed))
            .expect("encodes")
            .try_into()
            .expect("32 bytes")
    };
    let balances = vec![
        gnomon_core::batch::SettledBalance {
            account: 1,
            owner: [7; 32],
            collateral: -5,
        },
        gnomon_core::batch::SettledBalance {
            account: 4,
            owner: [8; 32],
            collateral: 90,
        },
    ];
    let withdrawals = vec![gnomon_core::batch::Withdrawal {
        account: 4,
        owner: [8; 32],
        amount: 3,
    }];
    let output = gnomon_core::batch::BatchOutput {
        exchange_id: [9; 32],
        batch_number: 3,
        prior_root: root(1),
        new_root: root(2),
        time: gnomon_core::batch::TimeRange {
            start_ms: 1_000,
            end_ms: 2_000,
        },
        deposits: gnomon_core::batch::DepositRange {
            first_sequence: 4,
            end_sequence: 9,
            chain_before: [5; 32],
            chain_after: [6; 32],
        },
        oracle_digest: [3; 32],
        balances: balances.clone(),
        withdrawals: withdrawals.clone(),
    };
    let mirror = |entries: Vec<Vec<u8>>| -> Vec<[u8; ENTRY_LEN]> {
        entries
            .into_iter()
            .map(|bytes| bytes.try_into().expect("44 bytes"))
            .collect()
    };
    let mirrored = BatchHeader {
        prior_root: root_bytes(1),
        new_root: root_bytes(2),
        balance_count: 2,
        balances_hash: list_hash(
            &mirror(
                balances
                    .iter()
                    .map(|b| borsh::to_vec(b).expect("encodes"))
                    .collect(),
            ),
            &EMPTY_LIST_HASH,
        ),
        withdrawal_count: 1,
        withdrawals_hash: list_hash(
            &mirror(
                withdrawals
                    .iter()
                    .map(|w| borsh::to_vec(w).expect("encodes"))
                    .collect(),
            ),
            &EMPTY_LIST_HASH,
        ),
        ..header
    };
    let engine = borsh::to_vec(&output).expect("encodes");
    assert_eq!(mirrored.to_bytes()[..FIXED_LEN], engine[..FIXED_LEN]);
    let balance_entries: Vec<SettledBalance> = balances
        .iter()
        .map(|b| SettledBalance {
            account: b.account,
            owner: b.owner,
            collateral: b.collateral,
        })
        .collect();
    assert_eq!(
        list_hash(&balance_entries, &EMPTY_LIST_HASH),
        mirrored.balances_hash
    );
    // What the guest commits is this header, and the public input is its digest.
    assert_eq!(output.header(), mirrored.to_bytes());
    assert_eq!(
        output.digest(),
        gnomon_settlement_verifier::inputs::digest_input(&mirrored.output_digest())
    );
}

#[test]
fn entries_and_the_deposit_chain_mirror_the_engine() {
    let balance = gnomon_core::batch::SettledBalance {
        account: 77,
        owner: [9; 32],
        collateral: -1_234_567,
    };
    let mirrored = SettledBalance {
        account: 77,
        owner: [9; 32],
        collateral: -1_234_567,
    };
    assert_eq!(
        mirrored.to_bytes().to_vec(),
        borsh::to_vec(&balance).expect("encodes")
    );
    let withdrawal = gnomon_core::batch::Withdrawal {
        account: 78,
        owner: [10; 32],
        amount: u64::MAX,
    };
    let mirrored = Withdrawal {
        account: 78,
        owner: [10; 32],
        amount: u64::MAX,
    };
    assert_eq!(
        mirrored.to_bytes().to_vec(),
        borsh::to_vec(&withdrawal).expect("encodes")
    );
    assert_eq!(mirrored.to_bytes().len(), ENTRY_LEN);

    let deposit = gnomon_core::batch::Deposit {
        sequence: 41,
        owner: [12; 32],
        amount: 5_000,
        account: 3,
    };
    let chain = [13; 32];
    assert_eq!(
        deposit_chain_next(&chain, 41, &[12; 32], 5_000),
        gnomon_core::batch::deposit_chain_next(&gnomon_core::sha256::SoftSha256, &chain, &deposit)
    );
}

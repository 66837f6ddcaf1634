//! `gnomon_ed25519::verify_strict` against ed25519-dalek 2's `VerifyingKey::from_bytes` and
//! `verify_strict`, the engine's verifier: every case asserts the two answers are equal, and
//! most cases are built so that dalek's answer is sometimes yes and sometimes no.
//!
//! Every case also checks `gnomon_ed25519::verify_batch` on that one signature against the
//! cofactored rule computed with curve25519-dalek, and that it accepts whatever dalek's
//! `verify_strict` accepts; the batches of many signatures are tested at the end.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::traits::IsIdentity;
use curve25519_dalek::{EdwardsPoint, Scalar};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use gnomon_ed25519::{CHUNK, SignedMessage};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha512};

/// The group order l, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn dalek(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    VerifyingKey::from_bytes(public_key).is_ok_and(|key| {
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    })
}

/// The batch verifier's rule for one signature: `verify_strict`'s parsing, then
/// [8]([s]B - [k]A - R) = 0.
fn cofactored(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let (r_bytes, s_bytes) = (
        signature[..32].try_into().unwrap(),
        signature[32..].try_into().unwrap(),
    );
    let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
        return false;
    };
    let point = |bytes: [u8; 32]| {
        CompressedEdwardsY(bytes)
            .decompress()
            .filter(|point| !point.is_small_order())
    };
    let (Some(r), Some(key)) = (point(r_bytes), point(*public_key)) else {
        return false;
    };
    let k = challenge(&r_bytes, public_key, message);
    (ED25519_BASEPOINT_POINT * s - key * k - r)
        .mul_by_cofactor()
        .is_identity()
}

fn signed(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> SignedMessage {
    SignedMessage {
        public_key: *public_key,
        message: message.to_vec(),
        signature: *signature,
    }
}

/// Asserts that both verifiers agree, and that the batch verifier follows the cofactored
/// rule and accepts whatever they accept; returns their answer.
fn agree(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let expected = dalek(public_key, message, signature);
    let ours = gnomon_ed25519::verify_strict(public_key, message, signature);
    let case = format!(
        "key {} message {} signature {}",
        hex(public_key),
        hex(message),
        hex(signature)
    );
    assert_eq!(ours, expected, "{case}");
    let batch = gnomon_ed25519::verify_batch(&[signed(public_key, message, signature)]);
    assert_eq!(
        batch,
        cofactored(public_key, message, signature),
        "batch: {case}"
    );
    assert!(
        batch || !expected,
        "the batch refuses what verify_strict accepts: {case}"
    );
    ours
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn signature_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut signature = [0; 64];
    signature[..32].copy_from_slice(r);
    signature[32..].copy_from_slice(s);
    signature
}

/// k = SHA-512(R || A || M) mod l, as both verifiers compute it.
fn challenge(r: &[u8; 32], public_key: &[u8; 32], message: &[u8]) -> Scalar {
    let digest = Sha512::new()
        .chain_update(r)
        .chain_update(public_key)
        .chain_update(message)
        .finalize();
    Scalar::from_bytes_mod_order_wide(&digest.into())
}

/// A signature with R = [r]B + torsion and s = r + k a for a key A = [a]B + key_torsion:
/// valid exactly when torsion = -[k] key_torsion, which depends on k mod 8.
fn torsioned_signature(
    rng: &mut StdRng,
    key_torsion: EdwardsPoint,
    torsion: EdwardsPoint,
    message: &[u8],
) -> ([u8; 32], [u8; 64]) {
    let a = Scalar::from_bytes_mod_order(rng.random());
    let public_key = (ED25519_BASEPOINT_POINT * a + key_torsion)
        .compress()
        .to_bytes();
    let r = Scalar::from_bytes_mod_order(rng.random());
    let r_bytes = (ED25519_BASEPOINT_POINT * r + torsion)
        .compress()
        .to_bytes();
    let s = r + challenge(&r_bytes, &public_key, message) * a;
    (public_key, signature_of(&r_bytes, s.as_bytes()))
}

fn random_message(rng: &mut StdRng) -> Vec<u8> {
    let length = rng.random_range(0..300);
    (0..length).map(|_| rng.random()).collect()
}

/// Every encoding whose y is one of the 19 non-canonical values p..2^255 - 1, or whose y is
/// small, with either sign bit.
fn edge_encodings() -> Vec<[u8; 32]> {
    let mut encodings = Vec::new();
    for k in 0..24u8 {
        for sign in [0, 0x80] {
            let mut low = [0u8; 32];
            low[0] = k;
            low[31] = sign;
            encodings.push(low);
            let mut high = [0xffu8; 32];
            high[0] = 0xff - k;
            high[31] = 0x7f | sign;
            encodings.push(high);
        }
    }
    encodings
}

/// The eight points of order dividing 8, canonically encoded and with the other sign bit
/// (x = 0 with the sign bit set, for two of them), and y + p where y + p < 2^255.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut encodings = Vec::new();
    for torsion in EIGHT_TORSION {
        let canonical = torsion.compress().to_bytes();
        encodings.push(canonical);
        let mut flipped = canonical;
        flipped[31] ^= 0x80;
        encodings.push(flipped);
    }
    // y = 0 and y = 1 have the non-canonical forms p and p + 1.
    encodings.extend(edge_encodings().into_iter().filter(|bytes| {
        let y_plus_p = bytes[1..31].iter().all(|&byte| byte == 0xff);
        y_plus_p && matches!(bytes[0], 0xed | 0xee)
    }));
    for bytes in &encodings {
        let point = CompressedEdwardsY(*bytes).decompress().unwrap();
        assert!(point.is_small_order());
    }
    encodings
}

#[test]
fn random_valid_signatures_are_accepted() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..200 {
        let key = SigningKey::from_bytes(&rng.random());
        let message = random_message(&mut rng);
        let signature = key.sign(&message).to_bytes();
        assert!(agree(&key.verifying_key().to_bytes(), &message, &signature));
    }
}

#[test]
fn every_single_bit_flip() {
    let mut rng = StdRng::seed_from_u64(2);
    for _ in 0..3 {
        let key = SigningKey::from_bytes(&rng.random());
        let public_key = key.verifying_key().to_bytes();
        let message: Vec<u8> = (0..24).map(|_| rng.random()).collect();
        let signature = key.sign(&message).to_bytes();
        assert!(agree(&public_key, &message, &signature));
        for bit in 0..512 {
            let mut flipped = signature;
            flipped[bit / 8] ^= 1 << (bit % 8);
            agree(&public_key, &message, &flipped);
        }
        for bit in 0..256 {
            let mut flipped = public_key;
            flipped[bit / 8] ^= 1 << (bit % 8);
            agree(&flipped, &message, &signature);
        }
        for bit in 0..message.len() * 8 {
            let mut flipped = message.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            agree(&public_key, &flipped, &signature);
        }
    }
}

#[test]
fn non_canonical_s_is_rejected() {
    let mut rng = StdRng::seed_from_u64(3);
    let l = num_bigint::BigUint::from_bytes_le(&L);
    for _ in 0..20 {
        let key = SigningKey::from_bytes(&rng.random());
        let public_key = key.verifying_key().to_bytes();
        let message = random_message(&mut rng);
        let signature = key.sign(&message).to_bytes();
        let s = num_bigint::BigUint::from_bytes_le(&signature[32..]);
        // s + l, s + 2l, ... while below 2^256: the same residue, never canonical.
        for multiple in 1u32..=15 {
            let bytes = (&s + &l * multiple).to_bytes_le();
            if bytes.len() > 32 {
                break;
            }
            let mut wide = [0u8; 32];
            wide[..bytes.len()].copy_from_slice(&bytes);
            let mut malleated = signature;
            malleated[32..].copy_from_slice(&wide);
            assert!(!agree(&public_key, &message, &malleated));
        }
    }
    // l itself, l - 1 and the all-ones scalar.
    let key = SigningKey::from_bytes(&[9; 32]);
    let public_key = key.verifying_key().to_bytes();
    let signature = key.sign(b"s").to_bytes();
    let mut l_minus_one = L;
    l_minus_one[0] -= 1;
    for s in [L, l_minus_one, [0xff; 32], [0; 32]] {
        let mut edited = signature;
        edited[32..].copy_from_slice(&s);
        agree(&public_key, b"s", &edited);
    }
}

#[test]
fn non_canonical_and_edge_encodings_of_keys_and_r() {
    let mut rng = StdRng::seed_from_u64(4);
    let key = SigningKey::from_bytes(&rng.random());
    let public_key = key.verifying_key().to_bytes();
    let message = b"edge encodings";
    let signature = key.sign(message).to_bytes();
    for encoding in edge_encodings() {
        // As the key with a valid signature of another key, and as R of a valid signature.
        agree(&encoding, message, &signature);
        let mut edited = signature;
        edited[..32].copy_from_slice(&encoding);
        agree(&public_key, message, &edited);
    }
    // The non-canonical key encodings that decompress to points of large order, hashed as
    // given: no signature can be made for them, both must still say no for the same reason.
    let large: Vec<_> = edge_encodings()
        .into_iter()
        .filter(|bytes| {
            CompressedEdwardsY(*bytes)
                .decompress()
                .is_some_and(|point| !point.is_small_order())
        })
        .collect();
    assert!(!large.is_empty());
    for encoding in large {
        let s = Scalar::from_bytes_mod_order(rng.random());
        let r = (ED25519_BASEPOINT_POINT * s).compress().to_bytes();
        agree(&encoding, message, &signature_of(&r, s.as_bytes()));
    }
}

#[test]
fn small_order_keys_and_r_are_rejected_even_when_the_equation_holds() {
    let mut rng = StdRng::seed_from_u64(5);
    let message = b"small order";
    for encoding in small_order_encodings() {
        // A small-order key: R = [s]B - [k]A holds whenever [k]A is the identity, which for
        // the identity itself is always: verify (not strict) would accept these.
        for _ in 0..4 {
            let s = Scalar::from_bytes_mod_order(rng.random());
            let r = (ED25519_BASEPOINT_POINT * s).compress().to_bytes();
            assert!(!agree(&encoding, message, &signature_of(&r, s.as_bytes())));
        }
        // A small-order R with a prime-order key: s = k a makes [s]B - [k]A the identity, the
        // signature of R = identity under the plain equation.
        let a = Scalar::from_bytes_mod_order(rng.random());
        let public_key = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
        let s = challenge(&encoding, &public_key, message) * a;
        assert!(!agree(
            &public_key,
            message,
            &signature_of(&encoding, s.as_bytes())
        ));
        // And a small-order R on a valid signature's s.
        let key = SigningKey::from_bytes(&rng.random());
        let mut signature = key.sign(message).to_bytes();
        signature[..32].copy_from_slice(&encoding);
        assert!(!agree(&key.verifying_key().to_bytes(), message, &signature));
    }
}

#[test]
fn mixed_order_keys_and_r_accept_exactly_when_the_torsion_cancels() {
    let mut rng = StdRng::seed_from_u64(6);
    let (mut accepted, mut rejected, mut batch_only) = (0, 0, 0);
    for round in 0..160 {
        let key_torsion = EIGHT_TORSION[round % 8];
        let torsion = EIGHT_TORSION[(round / 8) % 8];
        let message = random_message(&mut rng);
        let (public_key, signature) = torsioned_signature(&mut rng, key_torsion, torsion, &message);
        let one = signed(&public_key, &message, &signature);
        if agree(&public_key, &message, &signature) {
            accepted += 1;
        } else {
            rejected += 1;
            // The cofactored rule clears the torsion: the key holder's odd signature passes
            // a batch (the documented difference).
            batch_only += u32::from(gnomon_ed25519::verify_batch(&[one]));
        }
    }
    assert!(
        batch_only > 10,
        "{batch_only} accepted by the batch rule only"
    );
    // Both outcomes happen, so the comparison decided something.
    assert!(
        accepted > 10 && rejected > 10,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn random_bytes_and_points_off_the_curve() {
    let mut rng = StdRng::seed_from_u64(7);
    let key = SigningKey::from_bytes(&rng.random());
    let public_key = key.verifying_key().to_bytes();
    let message = b"noise";
    let signature = key.sign(message).to_bytes();
    let mut off_curve = 0;
    for _ in 0..200 {
        let noise: [u8; 32] = rng.random();
        if CompressedEdwardsY(noise).decompress().is_none() {
            off_curve += 1;
        }
        agree(&noise, message, &signature);
        let mut edited = signature;
        edited[..32].copy_from_slice(&noise);
        agree(&public_key, message, &edited);
        let mut random_signature: [u8; 64] = [0; 64];
        random_signature[..32].copy_from_slice(&noise);
        random_signature[32..].copy_from_slice(&rng.random::<[u8; 32]>());
        agree(&public_key, message, &random_signature);
    }
    assert!(off_curve > 50);
}

#[test]
fn identities_and_zeros() {
    let identity = EdwardsPoint::default().compress().to_bytes();
    let key = SigningKey::from_bytes(&[3; 32]);
    let public_key = key.verifying_key().to_bytes();
    let zero = [0u8; 32];
    for r in [identity, zero, public_key] {
        for s in [zero, identity] {
            for a in [identity, zero, public_key] {
                agree(&a, b"", &signature_of(&r, &s));
            }
        }
    }
    // The empty message, signed.
    assert!(agree(&public_key, b"", &key.sign(b"").to_bytes()));
}

/// Valid signatures of random keys and messages.
fn valid_signatures(rng: &mut StdRng, count: usize) -> Vec<SignedMessage> {
    (0..count)
        .map(|_| {
            let key = SigningKey::from_bytes(&rng.random());
            let message = random_message(rng);
            let signature = key.sign(&message).to_bytes();
            signed(&key.verifying_key().to_bytes(), &message, &signature)
        })
        .collect()
}

fn batch_of(signatures: &[SignedMessage]) -> bool {
    gnomon_ed25519::verify_batch(signatures)
}

#[test]
fn batches_accept_valid_signatures_and_refuse_any_one_tampered() {
    let mut rng = StdRng::seed_from_u64(8);
    // Two whole chunks and a partial one.
    let valid = valid_signatures(&mut rng, 2 * CHUNK + 5);
    assert!(batch_of(&valid));
    assert!(batch_of(&[]));
    let other_key = SigningKey::from_bytes(&[9; 32]).verifying_key().to_bytes();
    for index in [0, CHUNK - 1, CHUNK, valid.len() - 1] {
        let mut flipped_s = valid.clone();
        flipped_s[index].signature[40] ^= 1;
        let mut flipped_r = valid.clone();
        flipped_r[index].signature[3] ^= 4;
        let mut wrong_key = valid.clone();
        wrong_key[index].public_key = other_key;
        let mut wrong_message = valid.clone();
        wrong_message[index].message.push(0);
        let mut swapped = valid.clone();
        let neighbour = (index + 1) % valid.len();
        swapped[index].signature = valid[neighbour].signature;
        swapped[neighbour].signature = valid[index].signature;
        // s + l: the same equation, a non-canonical s.
        let mut malleated = valid.clone();
        let s =
            Scalar::from_canonical_bytes(valid[index].signature[32..].try_into().unwrap()).unwrap();
        // Below 2^254: no carry out of the 32 bytes.
        let mut carry = 0u16;
        for (at, byte) in malleated[index].signature[32..].iter_mut().enumerate() {
            let total = u16::from(s.as_bytes()[at]) + u16::from(L[at]) + carry;
            *byte = total as u8;
            carry = total >> 8;
        }
        assert!(!batch_of(&malleated), "non-canonical s at {index}");
        for (case, batch) in [
            ("flipped s", flipped_s),
            ("flipped R", flipped_r),
            ("wrong key", wrong_key),
            ("wrong message", wrong_message),
            ("swapped signatures", swapped),
        ] {
            assert!(!batch_of(&batch), "{case} at {index}");
        }
    }
}

#[test]
fn batches_refuse_small_order_keys_and_r_whose_equations_hold() {
    let mut rng = StdRng::seed_from_u64(9);
    let batch = valid_signatures(&mut rng, 3);
    let s = Scalar::from_bytes_mod_order(rng.random());
    let r = ED25519_BASEPOINT_POINT * s;
    // A small-order key with R = [s]B, and a small-order R with s = k a: either way
    // [s]B - [k]A - R has small order, which the factor 8 clears; only the parsing rules
    // refuse them.
    let small = EIGHT_TORSION[1];
    let key = SigningKey::from_bytes(&[4; 32]);
    let a = key.to_scalar();
    let public_key = key.verifying_key().to_bytes();
    let small_r = small.compress().to_bytes();
    let k = challenge(&small_r, &public_key, b"small R");
    for (public_key, message, signature, key_point, r_point) in [
        (
            small.compress().to_bytes(),
            &b"small key"[..],
            signature_of(&r.compress().to_bytes(), s.as_bytes()),
            small,
            r,
        ),
        (
            public_key,
            &b"small R"[..],
            signature_of(&small_r, (k * a).as_bytes()),
            ED25519_BASEPOINT_POINT * a,
            small,
        ),
    ] {
        let k = challenge(&signature[..32].try_into().unwrap(), &public_key, message);
        let s = Scalar::from_canonical_bytes(signature[32..].try_into().unwrap()).unwrap();
        assert!(
            (ED25519_BASEPOINT_POINT * s - key_point * k - r_point)
                .mul_by_cofactor()
                .is_identity()
        );
        let mut with_valid = batch.clone();
        with_valid.push(signed(&public_key, message, &signature));
        assert!(!batch_of(&with_valid));
    }
}

#[test]
fn batches_where_keys_sign_many_messages() {
    let mut rng = StdRng::seed_from_u64(10);
    let keys: Vec<SigningKey> = (0..3)
        .map(|_| SigningKey::from_bytes(&rng.random()))
        .collect();
    let batch: Vec<SignedMessage> = (0..CHUNK + 8)
        .map(|index| {
            let key = &keys[index % keys.len()];
            let message = random_message(&mut rng);
            let signature = key.sign(&message).to_bytes();
            signed(&key.verifying_key().to_bytes(), &message, &signature)
        })
        .collect();
    assert!(batch_of(&batch));
    // Two signatures of one key, exchanged between its messages.
    let mut swapped = batch.clone();
    swapped[0].signature = batch[3].signature;
    swapped[3].signature = batch[0].signature;
    assert!(!batch_of(&swapped));
    // One of a key's signatures made by another key under its name.
    let mut forged = batch.clone();
    forged[6].signature = keys[1].sign(&batch[6].message).to_bytes();
    assert!(!batch_of(&forged));
    // A key's two signatures tampered so that their errors would cancel with equal weights.
    let mut cancelling = batch.clone();
    let mut s0 =
        Scalar::from_canonical_bytes(batch[0].signature[32..].try_into().unwrap()).unwrap();
    let mut s3 =
        Scalar::from_canonical_bytes(batch[3].signature[32..].try_into().unwrap()).unwrap();
    s0 += Scalar::ONE;
    s3 -= Scalar::ONE;
    cancelling[0].signature[32..].copy_from_slice(s0.as_bytes());
    cancelling[3].signature[32..].copy_from_slice(s3.as_bytes());
    assert!(!batch_of(&cancelling));
}

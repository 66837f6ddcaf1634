//! [s]B - [k]A, the point a signature's R must be: both scalars in width-w non-adjacent form,
//! one shared chain of doublings.
//!
//! Variable time: a signature, its key and its message are all public. The widths trade the
//! additions each scalar needs (about 253/(w + 1)) against its table: the key's odd
//! multiples are built per verification (width 5, 8 multiples, about 150 operations), the
//! basepoint's are constants (width 8, 64 multiples, 6 KiB).

use curve25519_dalek::Scalar;

use crate::basepoint_table::BASEPOINT_ODD_MULTIPLES;
use crate::edwards::{Affine, Cached, Point};

/// The width of the key scalar's form.
pub(crate) const KEY_WIDTH: usize = 5;
/// The width of the basepoint scalar's form; [`BASEPOINT_ODD_MULTIPLES`] holds its 2^(w-2)
/// odd multiples.
pub(crate) const BASEPOINT_WIDTH: usize = 8;

/// The width-`width` non-adjacent form of a reduced scalar (below l < 2^253), little-endian:
/// every digit is zero or odd with |digit| < 2^(width - 1), any two nonzero digits are at
/// least `width` positions apart, and the digits times their powers of two sum to the scalar.
/// 256 positions leave room for the one a carry can add above the top bit.
pub(crate) fn non_adjacent_form(scalar: &[u8; 32], width: usize) -> [i8; 256] {
    let mut digits = [0i8; 256];
    nonzero_digits(scalar, width, |position, digit| digits[position] = digit);
    digits
}

/// Calls `found` with each nonzero digit of [`non_adjacent_form`] and its position, lowest
/// first, so that a caller with many scalars writes them where it needs them. Positions above
/// the one a carry can add are not visited: a 128-bit scalar costs half a full one.
pub(crate) fn nonzero_digits(scalar: &[u8; 32], width: usize, mut found: impl FnMut(usize, i8)) {
    // One word more than the scalar, so that a window can read across the top word.
    let mut words = [0u32; 9];
    for (word, chunk) in words.iter_mut().zip(scalar.chunks_exact(4)) {
        *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    let bit_length = words
        .iter()
        .rposition(|&word| word != 0)
        .map_or(0, |top| 32 * top + 32 - words[top].leading_zeros() as usize);
    let window = 1u32 << width;
    // The carry is a pending +1 at `position`, left by a negative digit below it.
    let mut carry = 0;
    let mut position = 0;
    while position <= bit_length.min(255) {
        let (index, shift) = (position / 32, position % 32);
        let mut bits = words[index] >> shift;
        if shift + width > 32 {
            bits |= words[index + 1] << (32 - shift);
        }
        let value = carry + (bits & (window - 1));
        if value & 1 == 0 {
            // Even (a carry into a 1 bit included): no digit here, the carry moves up.
            position += 1;
            continue;
        }
        // value is odd and below 2^width: take it, or value - 2^width and carry 2^width.
        let digit = if value < window / 2 {
            carry = 0;
            value as i32
        } else {
            carry = 1;
            value as i32 - window as i32
        };
        found(position, digit as i8);
        position += width;
    }
}

/// The index of odd `digit`'s multiple in a table of odd multiples.
pub(crate) fn multiple_index(digit: i8) -> usize {
    usize::from(digit.unsigned_abs() / 2)
}

/// [s]B - [k]A for reduced scalars s and k, A affine, projective.
pub(crate) fn basepoint_minus_key(s: &Scalar, k: &Scalar, key: &Affine) -> Point {
    let k_digits = non_adjacent_form(k.as_bytes(), KEY_WIDTH);
    let s_digits = non_adjacent_form(s.as_bytes(), BASEPOINT_WIDTH);
    let mut key_multiples = [Cached::IDENTITY; 1 << (KEY_WIDTH - 2)];
    key.odd_multiples(&mut key_multiples);

    // The sum is the (extended) identity until the first nonzero digit, completed after:
    // leading zero digits cost nothing.
    let mut sum = Point::identity();
    let mut started = false;
    for (&k_digit, &s_digit) in k_digits.iter().zip(&s_digits).rev() {
        if started {
            sum.completed_to_projective();
            sum.double();
        }
        if k_digit != 0 {
            if started {
                sum.completed_to_extended();
            }
            // -[k]A: a positive digit subtracts its multiple of A.
            sum.add_cached(&key_multiples[multiple_index(k_digit)], k_digit > 0);
            started = true;
        }
        if s_digit != 0 {
            if started {
                sum.completed_to_extended();
            }
            let multiple = &BASEPOINT_ODD_MULTIPLES[multiple_index(s_digit)];
            sum.add_affine(multiple, s_digit < 0);
            started = true;
        }
    }
    if started {
        sum.completed_to_projective();
    }
    sum
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    use std::string::String;
    use std::vec::Vec;

    use curve25519_dalek::EdwardsPoint;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use num_bigint::{BigInt, BigUint};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::edwards::{AffineHalf, decompress};
    use crate::field::Fe;

    fn value(bytes: &[u8; 32]) -> BigInt {
        BigUint::from_bytes_le(bytes).into()
    }

    fn scalars() -> Vec<Scalar> {
        let mut rng = StdRng::seed_from_u64(5);
        let mut scalars = vec![Scalar::ZERO, Scalar::ONE, -Scalar::ONE, Scalar::from(2u8)];
        scalars.extend((0..64).map(|_| Scalar::from_bytes_mod_order(rng.random())));
        scalars.extend((0..16).map(|i| -Scalar::from(i as u64)));
        // A batch's 128-bit weights, all ones and alternating.
        scalars.extend([u128::MAX, u128::MAX / 3, 1 << 127].map(Scalar::from));
        scalars
    }

    #[test]
    fn non_adjacent_forms_sum_to_their_scalar_within_their_bounds() {
        for scalar in scalars() {
            for width in [KEY_WIDTH, BASEPOINT_WIDTH, 2] {
                let digits = non_adjacent_form(scalar.as_bytes(), width);
                let mut sum = BigInt::from(0);
                let mut last_nonzero: Option<usize> = None;
                for (position, &digit) in digits.iter().enumerate() {
                    sum += BigInt::from(digit) << position;
                    if digit != 0 {
                        assert!(digit % 2 != 0 && i32::from(digit).abs() < 1 << (width - 1));
                        if let Some(last) = last_nonzero {
                            assert!(position - last >= width);
                        }
                        last_nonzero = Some(position);
                    }
                }
                assert_eq!(sum, value(scalar.as_bytes()), "{scalar:?} width {width}");
            }
        }
    }

    #[test]
    fn matches_dalek_for_prime_order_and_mixed_order_keys() {
        let mut rng = StdRng::seed_from_u64(6);
        let scalars = scalars();
        for (i, pair) in scalars.windows(2).enumerate() {
            let (s, k) = (pair[0], pair[1]);
            let base: EdwardsPoint =
                ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(rng.random());
            let key = base + EIGHT_TORSION[i % 8];
            let expected = s * ED25519_BASEPOINT_POINT - k * key;
            let affine = decompress(key.compress().as_bytes()).unwrap().point;
            let ours = basepoint_minus_key(&s, &k, &affine).compress();
            assert_eq!(ours, expected.compress().to_bytes(), "s {s:?} k {k:?}");
        }
    }

    /// The table's entries: (2j + 1)B from curve25519-dalek, decompressed here and halved.
    fn expected_basepoint_table() -> Vec<AffineHalf> {
        let half = Fe::TWO.invert();
        (0..BASEPOINT_ODD_MULTIPLES.len() as u64)
            .map(|j| {
                let point = Scalar::from(2 * j + 1) * ED25519_BASEPOINT_POINT;
                let Affine { x, y } = decompress(point.compress().as_bytes()).unwrap().point;
                let (mut y_plus_x, mut y_minus_x, mut xy_d) = (y, y, x);
                y_plus_x += &x;
                y_plus_x *= &half;
                y_minus_x -= &x;
                y_minus_x *= &half;
                xy_d *= &y;
                xy_d *= &Fe::D;
                AffineHalf {
                    y_plus_x,
                    y_minus_x,
                    xy_d,
                }
            })
            .collect()
    }

    fn render_basepoint_table(entries: &[AffineHalf]) -> String {
        let mut text = String::from(
            "//! The odd multiples B, 3B, ..., 127B of the Ed25519 basepoint, halved for\n\
             //! `Extended::add_affine`: ((y + x)/2, (y - x)/2, dxy), words little-endian.\n\
             //!\n\
             //! Generated, never edited: `GNOMON_ED25519_WRITE_TABLE=1 cargo test -p gnomon-ed25519\n\
             //! basepoint_table` rewrites it from curve25519-dalek's basepoint, and the same test\n\
             //! without the variable fails when it differs.\n\n\
             use crate::edwards::AffineHalf;\n\
             use crate::field::Fe;\n\n",
        );
        writeln!(text, "#[rustfmt::skip]").unwrap();
        writeln!(
            text,
            "pub(crate) const BASEPOINT_ODD_MULTIPLES: [AffineHalf; {}] = [",
            entries.len()
        )
        .unwrap();
        let words = |fe: &Fe| {
            let words: Vec<String> = fe.0.iter().map(|word| format!("0x{word:08x}")).collect();
            words.join(", ")
        };
        for entry in entries {
            writeln!(text, "    AffineHalf {{").unwrap();
            writeln!(text, "        y_plus_x: Fe([{}]),", words(&entry.y_plus_x)).unwrap();
            writeln!(
                text,
                "        y_minus_x: Fe([{}]),",
                words(&entry.y_minus_x)
            )
            .unwrap();
            writeln!(text, "        xy_d: Fe([{}]),", words(&entry.xy_d)).unwrap();
            writeln!(text, "    }},").unwrap();
        }
        writeln!(text, "];").unwrap();
        text
    }

    #[test]
    fn basepoint_table_is_the_basepoints_odd_multiples() {
        let expected = expected_basepoint_table();
        if std::env::var_os("GNOMON_ED25519_WRITE_TABLE").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/basepoint_table.rs");
            std::fs::write(path, render_basepoint_table(&expected)).unwrap();
        }
        assert!(
            BASEPOINT_ODD_MULTIPLES[..] == expected[..],
            "src/basepoint_table.rs is stale: regenerate it with GNOMON_ED25519_WRITE_TABLE=1"
        );
    }
}

//! Arithmetic modulo p = 2^255 - 19, as the `FP25519_*` syscalls define it: operands are any
//! 256-bit integers (8 little-endian words), results are canonical (below p).
//!
//! The prover's table proves each operation as an integer identity `lhs = q p + r` with
//! `r < p`; [`divide`] gives it that quotient, so the two cannot disagree on the semantics.

use gnomon_guest_abi::syscall;
use num_bigint::BigUint;

/// An operand: a 256-bit integer in little-endian words.
pub type Words = [u32; syscall::FP25519_WORDS as usize];

/// The three operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Mul,
    Add,
    Sub,
}

impl Op {
    /// The operation of a syscall number, if it is one of the three.
    pub fn from_syscall(number: u32) -> Option<Self> {
        match number {
            syscall::FP25519_MUL => Some(Self::Mul),
            syscall::FP25519_ADD => Some(Self::Add),
            syscall::FP25519_SUB => Some(Self::Sub),
            _ => None,
        }
    }
}

/// p = 2^255 - 19.
pub fn modulus() -> BigUint {
    (BigUint::from(1u8) << 255u32) - 19u32
}

/// What the operation reduces: `x y`, `x + y`, or `x + 3p - y` (3p exceeds every `y`, so the
/// difference is a non-negative integer with the right residue).
pub fn lhs(op: Op, x: &Words, y: &Words) -> BigUint {
    let (x, y) = (BigUint::from_slice(x), BigUint::from_slice(y));
    match op {
        Op::Mul => x * y,
        Op::Add => x + y,
        Op::Sub => x + modulus() * 3u32 - y,
    }
}

/// `(q, r)` with `lhs(op, x, y) = q p + r` and `r < p`.
pub fn divide(op: Op, x: &Words, y: &Words) -> (BigUint, Words) {
    let p = modulus();
    let lhs = lhs(op, x, y);
    (&lhs / &p, words(&(lhs % p)))
}

/// The result of the operation.
pub fn apply(op: Op, x: &Words, y: &Words) -> Words {
    divide(op, x, y).1
}

/// The 8 little-endian words of `value`, which must be below 2^256.
pub fn words(value: &BigUint) -> Words {
    let digits = value.to_u32_digits();
    assert!(digits.len() <= 8, "a 256-bit value");
    let mut words = [0; 8];
    words[..digits.len()].copy_from_slice(&digits);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(words: &Words) -> BigUint {
        BigUint::from_slice(words)
    }

    #[test]
    fn results_are_canonical_residues_for_extreme_operands() {
        let p = modulus();
        let max = [u32::MAX; 8];
        let p_words = words(&p);
        let cases = [[0; 8], [1, 0, 0, 0, 0, 0, 0, 0], p_words, max];
        for op in [Op::Mul, Op::Add, Op::Sub] {
            for x in &cases {
                for y in &cases {
                    let (q, r) = divide(op, x, y);
                    assert!(value(&r) < p);
                    assert_eq!(&q * &p + value(&r), lhs(op, x, y));
                    let expected = match op {
                        Op::Mul => value(x) * value(y) % &p,
                        Op::Add => (value(x) + value(y)) % &p,
                        Op::Sub => (value(x) % &p + &p - value(y) % &p) % &p,
                    };
                    assert_eq!(value(&r), expected, "{op:?}");
                }
            }
        }
    }
}

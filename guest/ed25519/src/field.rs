//! Curve25519's base field, p = 2^255 - 19, on the zkVM's `FP25519_*` semantics.
//!
//! An element is 8 little-endian words holding any integer below 2^256; every operation
//! reduces, so its result is canonical (below p). Only canonical elements may be compared
//! ([`Fe::is_zero`], `==`) or read for their parity: the outputs of operations and the
//! constants here are, an element straight from bytes may not be.
//!
//! Each operation updates its left operand in place, as the syscalls do, and each costs one
//! syscall in the guest: the curve code counts them, so it is written with these four
//! operations and nothing hidden behind operators that would allocate a result.

use core::ops::{AddAssign, MulAssign, SubAssign};

/// A field element (see the module documentation for which ones are canonical).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fe(pub(crate) [u32; 8]);

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; 8]);
    pub(crate) const ONE: Fe = Fe([1, 0, 0, 0, 0, 0, 0, 0]);
    pub(crate) const TWO: Fe = Fe([2, 0, 0, 0, 0, 0, 0, 0]);
    /// The curve constant d = -121665/121666.
    pub(crate) const D: Fe = Fe([
        0x135978a3, 0x75eb4dca, 0x4141d8ab, 0x00700a4d, 0x7779e898, 0x8cc74079, 0x2b6ffe73,
        0x52036cee,
    ]);
    /// 2d, the factor of T in the cached form of a point.
    pub(crate) const D2: Fe = Fe([
        0x26b2f159, 0xebd69b94, 0x8283b156, 0x00e0149a, 0xeef3d130, 0x198e80f2, 0x56dffce7,
        0x2406d9dc,
    ]);
    /// 2^((p-1)/4), a square root of -1.
    pub(crate) const SQRT_M1: Fe = Fe([
        0x4a0ea0b0, 0xc4ee1b27, 0xad2fe478, 0x2f431806, 0x3dfbd7a7, 0x2b4d0099, 0x4fc1df0b,
        0x2b832480,
    ]);

    /// The low 255 bits of `bytes` (little-endian), as compressed points encode y: the top
    /// bit is the sign of x, and a value in [p, 2^255) is kept as it is (not canonical).
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Fe {
        let mut words = [0u32; 8];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
            *word = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        words[7] &= 0x7fff_ffff;
        Fe(words)
    }

    /// The 32 little-endian bytes of a canonical element (bit 255 is clear).
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// Whether a canonical element is odd: Ed25519's "negative" x, the sign bit of an
    /// encoding.
    pub(crate) fn is_odd(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// Whether a canonical element is zero.
    pub(crate) fn is_zero(&self) -> bool {
        *self == Fe::ZERO
    }

    /// `self = self^2`.
    pub(crate) fn square(&mut self) {
        backend::square(&mut self.0);
    }

    /// `self = self^(2^k)`.
    fn square_times(&mut self, k: u32) {
        for _ in 0..k {
            self.square();
        }
    }

    /// `-self`.
    pub(crate) fn negated(&self) -> Fe {
        let mut negated = Fe::ZERO;
        negated -= self;
        negated
    }

    /// `self^(2^250 - 1)` and `self^11`, the common part of [`Fe::invert`] and
    /// [`Fe::pow_p58`]: 249 squarings and 10 multiplications.
    fn pow_2_250_minus_1(&self) -> (Fe, Fe) {
        // Each `pK` is self^(2^K - 1): blocks of ones built by shifting (squaring) one block
        // and multiplying in another.
        let mut x2 = *self;
        x2.square();
        let mut x9 = x2;
        x9.square_times(2);
        x9 *= self;
        let mut x11 = x9;
        x11 *= &x2;
        let mut p5 = x11;
        p5.square();
        p5 *= &x9; // 22 + 9 = 31
        let mut p10 = p5;
        p10.square_times(5);
        p10 *= &p5;
        let mut p20 = p10;
        p20.square_times(10);
        p20 *= &p10;
        let mut p40 = p20;
        p40.square_times(20);
        p40 *= &p20;
        let mut p50 = p40;
        p50.square_times(10);
        p50 *= &p10;
        let mut p100 = p50;
        p100.square_times(50);
        p100 *= &p50;
        let mut p200 = p100;
        p200.square_times(100);
        p200 *= &p100;
        let mut p250 = p200;
        p250.square_times(50);
        p250 *= &p50;
        (p250, x11)
    }

    /// `self^(p-2) = self^(2^255 - 21)`: the inverse of a nonzero element (zero stays zero).
    /// 254 squarings and 11 multiplications.
    pub(crate) fn invert(&self) -> Fe {
        let (mut power, x11) = self.pow_2_250_minus_1();
        power.square_times(5);
        power *= &x11; // (2^250 - 1) 2^5 + 11
        power
    }

    /// `self^((p-5)/8) = self^(2^252 - 3)`, the exponentiation of square roots modulo p
    /// (p = 5 mod 8). 251 squarings and 11 multiplications.
    pub(crate) fn pow_p58(&self) -> Fe {
        let (mut power, _) = self.pow_2_250_minus_1();
        power.square_times(2);
        power *= self; // (2^250 - 1) 4 + 1
        power
    }
}

impl MulAssign<&Fe> for Fe {
    fn mul_assign(&mut self, rhs: &Fe) {
        backend::mul(&mut self.0, &rhs.0);
    }
}

impl AddAssign<&Fe> for Fe {
    fn add_assign(&mut self, rhs: &Fe) {
        backend::add(&mut self.0, &rhs.0);
    }
}

impl SubAssign<&Fe> for Fe {
    fn sub_assign(&mut self, rhs: &Fe) {
        backend::sub(&mut self.0, &rhs.0);
    }
}

/// In the zkVM: the precompiles.
#[cfg(all(target_arch = "riscv32", target_os = "none"))]
mod backend {
    pub(super) use gnomon_guest::syscalls::{
        fp25519_add as add, fp25519_mul as mul, fp25519_square as square, fp25519_sub as sub,
    };
}

/// Elsewhere: the same operations on big integers, exactly as the syscalls define them (any
/// 256-bit operands, canonical results).
#[cfg(not(all(target_arch = "riscv32", target_os = "none")))]
mod backend {
    use num_bigint::BigUint;

    type Words = [u32; 8];

    fn modulus() -> BigUint {
        (BigUint::from(1u8) << 255u32) - 19u32
    }

    fn set(x: &mut Words, value: BigUint) {
        let digits = value.to_u32_digits();
        *x = [0; 8];
        x[..digits.len()].copy_from_slice(&digits);
    }

    pub(super) fn mul(x: &mut Words, y: &Words) {
        #[cfg(test)]
        super::counts::record(super::counts::Op::Mul);
        let product = BigUint::from_slice(x) * BigUint::from_slice(y);
        set(x, product % modulus());
    }

    pub(super) fn square(x: &mut Words) {
        #[cfg(test)]
        super::counts::record(super::counts::Op::Square);
        let x_value = BigUint::from_slice(x);
        set(x, &x_value * &x_value % modulus());
    }

    pub(super) fn add(x: &mut Words, y: &Words) {
        #[cfg(test)]
        super::counts::record(super::counts::Op::Add);
        let sum = BigUint::from_slice(x) + BigUint::from_slice(y);
        set(x, sum % modulus());
    }

    pub(super) fn sub(x: &mut Words, y: &Words) {
        #[cfg(test)]
        super::counts::record(super::counts::Op::Sub);
        let p = modulus();
        // x + (p - y mod p) is a non-negative integer congruent to x - y.
        let difference = BigUint::from_slice(x) + (&p - BigUint::from_slice(y) % &p);
        set(x, difference % p);
    }
}

/// Per-thread counts of the field operations, so that a test can say what one verification
/// costs in syscalls.
#[cfg(test)]
pub(crate) mod counts {
    use std::cell::Cell;

    #[derive(Clone, Copy, Debug)]
    pub(crate) enum Op {
        Mul,
        Square,
        Add,
        Sub,
    }

    /// Operations counted: multiplications, squarings, additions, subtractions.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub(crate) struct Counts {
        pub mul: u32,
        pub square: u32,
        pub add: u32,
        pub sub: u32,
    }

    impl Counts {
        pub(crate) fn total(&self) -> u32 {
            self.mul + self.square + self.add + self.sub
        }
    }

    std::thread_local! {
        static COUNTS: Cell<Counts> = Cell::new(Counts::default());
    }

    pub(super) fn record(op: Op) {
        COUNTS.with(|counts| {
            let mut current = counts.get();
            match op {
                Op::Mul => current.mul += 1,
                Op::Square => current.square += 1,
                Op::Add => current.add += 1,
                Op::Sub => current.sub += 1,
            }
            counts.set(current);
        });
    }

    /// The operations `f` performs on this thread.
    pub(crate) fn of<T>(f: impl FnOnce() -> T) -> (T, Counts) {
        COUNTS.with(|counts| counts.set(Counts::default()));
        let result = f();
        (result, COUNTS.with(Cell::get))
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;

    use super::*;

    fn value(x: &Fe) -> BigUint {
        BigUint::from_slice(&x.0)
    }

    fn p() -> BigUint {
        (BigUint::from(1u8) << 255u32) - 19u32
    }

    fn from_value(v: &BigUint) -> Fe {
        let mut words = [0u32; 8];
        let digits = v.to_u32_digits();
        words[..digits.len()].copy_from_slice(&digits);
        Fe(words)
    }

    #[test]
    fn constants_are_what_they_claim() {
        let p = p();
        let d = value(&Fe::D);
        // d * 121666 = -121665
        assert_eq!(d.clone() * 121666u32 % &p, &p - 121665u32);
        assert_eq!(value(&Fe::D2), d * 2u32 % &p);
        let i = value(&Fe::SQRT_M1);
        assert_eq!(&i * &i % &p, &p - 1u32);
        for constant in [Fe::D, Fe::D2, Fe::SQRT_M1] {
            assert!(value(&constant) < p);
        }
    }

    #[test]
    fn operations_reduce_any_256_bit_operands() {
        let p = p();
        let max = Fe([u32::MAX; 8]);
        let cases = [
            Fe::ZERO,
            Fe::ONE,
            from_value(&(&p - 1u32)),
            from_value(&p),
            max,
        ];
        for x in cases {
            for y in cases {
                let (vx, vy) = (value(&x), value(&y));
                let mut product = x;
                product *= &y;
                assert_eq!(value(&product), &vx * &vy % &p);
                let mut sum = x;
                sum += &y;
                assert_eq!(value(&sum), (&vx + &vy) % &p);
                let mut difference = x;
                difference -= &y;
                assert_eq!(value(&difference), (&vx + &p * 2u32 - &vy % &p) % &p);
            }
        }
    }

    #[test]
    fn exponentiations() {
        let p = p();
        let x = from_value(&(BigUint::from(0x1234_5678u32) << 200u32 | BigUint::from(99u8)));
        let vx = value(&x);
        assert_eq!(value(&x.invert()), vx.modpow(&(&p - 2u32), &p));
        assert_eq!(value(&x.pow_p58()), vx.modpow(&((&p - 5u32) / 8u32), &p));
        let mut one = x.invert();
        one *= &x;
        assert_eq!(one, Fe::ONE);
        let (_, counts) = counts::of(|| x.invert());
        assert_eq!((counts.square, counts.mul), (254, 11));
        let (_, counts) = counts::of(|| x.pow_p58());
        assert_eq!((counts.square, counts.mul), (251, 11));
    }

    #[test]
    fn bytes_round_trip_and_drop_the_sign_bit() {
        let mut bytes = [0xa5u8; 32];
        bytes[31] = 0x7f;
        assert_eq!(Fe::from_bytes(&bytes).to_bytes(), bytes);
        let mut signed = bytes;
        signed[31] |= 0x80;
        assert_eq!(Fe::from_bytes(&signed), Fe::from_bytes(&bytes));
    }
}

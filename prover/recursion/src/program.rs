//! Recursion programs: straight-line code over a write-once memory of extension-field cells.
//!
//! A program is fixed before anything runs: its instructions, the cell each one writes, how
//! often each cell is read, and which cells are public. Only the witness (the values a
//! verifier program is given, such as a child proof) changes from run to run. The tables prove
//! a run by matching every read of a cell with the one write of it on the `memory` bus, so a
//! program is built only through [`Builder`], which hands out a cell only once it is written.

use std::collections::BTreeMap;

use p3_field::{BasedVectorSpace, Field, PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::Permutation;

use gnomon_machine::config::{EF, F};

/// A memory cell. Every cell holds an element of the degree-4 extension; a base-field value is
/// one whose upper three coordinates are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub(crate) u32);

impl Address {
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn field(self) -> F {
        F::from_u32(self.0)
    }
}

/// A cell holding an extension-field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ext(Address);

/// A cell holding a base-field value: every reader that takes it as one checks that its upper
/// coordinates are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Felt(Address);

/// A cell the arithmetic instructions take and give: [`Ext`], or [`Felt`], whose sums,
/// differences and products stay in the base field. Only the [`Builder`] makes cells.
pub trait Cell: Copy + sealed::At {
    fn address(self) -> Address;
}

mod sealed {
    /// A cell at an address: for the builder, which writes the cell first.
    pub trait At {
        fn at(address: super::Address) -> Self;
    }
}

use sealed::At;

impl Cell for Ext {
    fn address(self) -> Address {
        self.0
    }
}

impl At for Ext {
    fn at(address: Address) -> Self {
        Self(address)
    }
}

impl Cell for Felt {
    fn address(self) -> Address {
        self.0
    }
}

impl At for Felt {
    fn at(address: Address) -> Self {
        Self(address)
    }
}

impl From<Felt> for Ext {
    fn from(felt: Felt) -> Self {
        Self(felt.0)
    }
}

/// The arithmetic of the ALU table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    /// Writes nothing; the run fails unless both operands are equal.
    AssertEq,
}

impl AluOp {
    fn apply(self, lhs: EF, rhs: EF) -> EF {
        match self {
            Self::Add => lhs + rhs,
            Self::Sub => lhs - rhs,
            Self::Mul => lhs * rhs,
            Self::AssertEq => EF::ZERO,
        }
    }
}

/// Width of the Poseidon2 permutation the programs call.
pub const POSEIDON2_WIDTH: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instruction {
    /// The next value of the witness; `base` ones must lie in the base field.
    Witness {
        out: Address,
        base: bool,
    },
    Constant {
        out: Address,
        value: EF,
    },
    /// A base-field value the run computes from another cell: advice the program must check.
    Hint {
        out: Address,
        hint: Hint,
    },
    Alu {
        op: AluOp,
        lhs: Address,
        rhs: Address,
        /// `None` for [`AluOp::AssertEq`], the only operation that writes nothing.
        out: Option<Address>,
    },
    /// Poseidon2 over BabyBear (width 16, Plonky3's default constants) of base-field cells.
    /// (Boxed: inline, its 32 addresses would make every instruction 132 bytes instead of 24,
    /// and a leaf program's 2.7 M instructions hundreds of megabytes.)
    Poseidon2 {
        input: Box<[Address; POSEIDON2_WIDTH]>,
        output: Box<[Address; POSEIDON2_WIDTH]>,
    },
}

/// What a hint cell holds. Nothing constrains it where it is written: the program that asks
/// for it checks it (a decomposition is recomposed, for example).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Bit `index` of the canonical value of a base-field cell.
    Bit { of: Address, index: u32 },
    /// Coordinate `index` of an extension-field cell.
    Coordinate { of: Address, index: u32 },
    /// Coordinate `index` of the inverse of an extension-field cell (zero for zero, which no
    /// check that the product is one accepts).
    InverseCoordinate { of: Address, index: u32 },
}

impl Hint {
    fn evaluate(self, values: &[EF]) -> F {
        match self {
            Self::Bit { of, index } => {
                F::from_bool(base(values[of.index()]).as_canonical_u32() >> index & 1 == 1)
            }
            Self::Coordinate { of, index } => coordinates(&values[of.index()])[index as usize],
            Self::InverseCoordinate { of, index } => {
                let inverse = values[of.index()].try_inverse().unwrap_or(EF::ZERO);
                coordinates(&inverse)[index as usize]
            }
        }
    }
}

/// A complete program: what the preprocessed tables commit to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    instructions: Vec<Instruction>,
    /// How often each cell is read, by address.
    reads: Vec<u32>,
    public: Vec<Address>,
}

impl Program {
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// How often `address` is read by the program.
    pub fn reads(&self, address: Address) -> u32 {
        self.reads[address.index()]
    }

    /// The base-field cells whose values are the proof's public values, in order.
    pub fn public(&self) -> &[Address] {
        &self.public
    }

    /// Runs the program on `witness`, returning every cell's value.
    pub fn run(&self, witness: &[EF]) -> Result<Memory, RunError> {
        self.run_overriding(witness, &BTreeMap::new())
    }

    /// Runs the program with the values of some witness or hint cells chosen by the caller
    /// instead: what a malicious prover can do, for tests of the checks a program makes.
    pub fn run_overriding(
        &self,
        witness: &[EF],
        overrides: &BTreeMap<Address, EF>,
    ) -> Result<Memory, RunError> {
        let mut values = vec![EF::ZERO; self.reads.len()];
        let mut witness = witness.iter();
        let permutation = gnomon_machine::config::permutation();
        for (index, instruction) in self.instructions.iter().enumerate() {
            match *instruction {
                Instruction::Witness { out, base } => {
                    let value = *witness.next().ok_or(RunError::WitnessTooShort)?;
                    if base && !is_base(value) {
                        return Err(RunError::NotBase { instruction: index });
                    }
                    values[out.index()] = value;
                }
                Instruction::Constant { out, value } => values[out.index()] = value,
                Instruction::Hint { out, hint } => {
                    values[out.index()] = EF::from(hint.evaluate(&values));
                }
                Instruction::Alu { op, lhs, rhs, out } => {
                    let (lhs, rhs) = (values[lhs.index()], values[rhs.index()]);
                    if op == AluOp::AssertEq && lhs != rhs {
                        return Err(RunError::AssertionFailed { instruction: index });
                    }
                    if let Some(out) = out {
                        values[out.index()] = op.apply(lhs, rhs);
                    }
                }
                Instruction::Poseidon2 {
                    ref input,
                    ref output,
                } => {
                    let mut state = input.map(|address| base(values[address.index()]));
                    permutation.permute_mut(&mut state);
                    for (address, value) in output.iter().zip(state) {
                        values[address.index()] = EF::from(value);
                    }
                }
            }
            if let Instruction::Witness { out, .. } | Instruction::Hint { out, .. } = *instruction
                && let Some(&value) = overrides.get(&out)
            {
                values[out.index()] = value;
            }
        }
        if witness.next().is_some() {
            return Err(RunError::WitnessTooLong);
        }
        Ok(Memory { values })
    }
}

fn is_base(value: EF) -> bool {
    coordinates(&value)[1..]
        .iter()
        .all(|coefficient| *coefficient == F::ZERO)
}

/// The base coordinate of a cell that holds a base-field value by construction.
fn base(value: EF) -> F {
    coordinates(&value)[0]
}

fn coordinates(value: &EF) -> &[F] {
    <EF as BasedVectorSpace<F>>::as_basis_coefficients_slice(value)
}

/// Why a program did not run to its end on a witness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the witness ran out before the program's last witness instruction")]
    WitnessTooShort,
    #[error("the witness has values left over after the program's last witness instruction")]
    WitnessTooLong,
    #[error(
        "witness instruction {instruction} takes a base-field value; the witness holds an extension element"
    )]
    NotBase { instruction: usize },
    #[error("instruction {instruction} asserts two unequal values equal")]
    AssertionFailed { instruction: usize },
}

/// The value of every cell after a run.
#[derive(Clone, Debug)]
pub struct Memory {
    values: Vec<EF>,
}

impl Memory {
    /// The coordinates of `address`'s value.
    pub(crate) fn coordinates(&self, address: Address) -> [F; 4] {
        coordinates(&self.values[address.index()])
            .try_into()
            .expect("the extension has degree 4")
    }
}

/// Writes a program one instruction at a time; every cell it returns has been written.
#[derive(Debug, Default)]
pub struct Builder {
    instructions: Vec<Instruction>,
    reads: Vec<u32>,
    public: Vec<Address>,
    /// Each constant is written once, by its coordinates.
    constants: BTreeMap<[u32; 4], Address>,
}

impl Builder {
    fn allocate<C: Cell>(&mut self) -> C {
        let address = Address(u32::try_from(self.reads.len()).expect("fewer than 2^32 cells"));
        self.reads.push(0);
        C::at(address)
    }

    fn read(&mut self, cell: impl Cell) -> Address {
        let address = cell.address();
        self.reads[address.index()] += 1;
        address
    }

    fn witness<C: Cell>(&mut self, base: bool) -> C {
        let out: C = self.allocate();
        self.instructions.push(Instruction::Witness {
            out: out.address(),
            base,
        });
        out
    }

    /// The next extension-field value of the witness.
    pub fn witness_ext(&mut self) -> Ext {
        self.witness(false)
    }

    /// The next base-field value of the witness.
    pub fn witness_felt(&mut self) -> Felt {
        self.witness(true)
    }

    fn constant<C: Cell>(&mut self, value: EF) -> C {
        let key: [u32; 4] = std::array::from_fn(|k| coordinates(&value)[k].as_canonical_u32());
        if let Some(&address) = self.constants.get(&key) {
            return C::at(address);
        }
        let out: C = self.allocate();
        self.instructions.push(Instruction::Constant {
            out: out.address(),
            value,
        });
        self.constants.insert(key, out.address());
        out
    }

    pub fn constant_ext(&mut self, value: EF) -> Ext {
        self.constant(value)
    }

    pub fn constant_felt(&mut self, value: F) -> Felt {
        self.constant(EF::from(value))
    }

    fn hint(&mut self, hint: Hint) -> Felt {
        let out: Felt = self.allocate();
        self.instructions.push(Instruction::Hint {
            out: out.address(),
            hint,
        });
        out
    }

    fn alu<C: Cell>(&mut self, op: AluOp, lhs: C, rhs: C) -> C {
        let (lhs, rhs) = (self.read(lhs), self.read(rhs));
        let out: C = self.allocate();
        self.instructions.push(Instruction::Alu {
            op,
            lhs,
            rhs,
            out: Some(out.address()),
        });
        out
    }

    pub fn add<C: Cell>(&mut self, lhs: C, rhs: C) -> C {
        self.alu(AluOp::Add, lhs, rhs)
    }

    pub fn sub<C: Cell>(&mut self, lhs: C, rhs: C) -> C {
        self.alu(AluOp::Sub, lhs, rhs)
    }

    pub fn mul<C: Cell>(&mut self, lhs: C, rhs: C) -> C {
        self.alu(AluOp::Mul, lhs, rhs)
    }

    /// A run succeeds, and a proof exists, only if `lhs` and `rhs` are equal.
    pub fn assert_eq<C: Cell>(&mut self, lhs: C, rhs: C) {
        let (lhs, rhs) = (self.read(lhs), self.read(rhs));
        self.instructions.push(Instruction::Alu {
            op: AluOp::AssertEq,
            lhs,
            rhs,
            out: None,
        });
    }

    pub fn poseidon2(&mut self, input: [Felt; POSEIDON2_WIDTH]) -> [Felt; POSEIDON2_WIDTH] {
        let input = input.map(|cell| self.read(cell));
        let output: [Felt; POSEIDON2_WIDTH] = std::array::from_fn(|_| self.allocate());
        self.instructions.push(Instruction::Poseidon2 {
            input: Box::new(input),
            output: Box::new(output.map(Cell::address)),
        });
        output
    }

    /// `value == 0`.
    pub fn assert_zero<C: Cell>(&mut self, value: C) {
        let zero = self.constant(EF::ZERO);
        self.assert_eq(value, zero);
    }

    /// `bit` is 0 or 1.
    pub fn assert_bool(&mut self, bit: Felt) {
        let square = self.mul(bit, bit);
        self.assert_eq(square, bit);
    }

    /// `when_one` if `bit` (0 or 1, as the caller has asserted) is one, else `when_zero`.
    pub fn select<C: Cell>(&mut self, bit: Felt, when_one: C, when_zero: C) -> C {
        let difference = self.sub(when_one, when_zero);
        let bit = C::at(bit.address());
        let offset = self.mul(bit, difference);
        self.add(when_zero, offset)
    }

    /// `(first, second)` if `bit` (0 or 1, as the caller has asserted) is zero, else
    /// `(second, first)`: one product serves both.
    pub fn swap_if<C: Cell>(&mut self, bit: Felt, first: C, second: C) -> (C, C) {
        let difference = self.sub(second, first);
        let offset = self.mul(C::at(bit.address()), difference);
        (self.add(first, offset), self.sub(second, offset))
    }

    /// The low `count` bits of `value`'s canonical representative, least significant first,
    /// each asserted boolean. All 31 bits are hinted and recomposed, and the decomposition is
    /// checked to be the canonical one (below the modulus `2^31 - 2^27 + 1`), so that `value + p`
    /// cannot pass for `value`.
    pub fn bits(&mut self, value: Felt, count: usize) -> Vec<Felt> {
        const BITS: u32 = 31;
        const LOW: u32 = 27;
        assert!(count <= BITS as usize, "a base-field value has 31 bits");
        let bits = self.hinted_bits(value, BITS);
        let low = self.weighted_sum(&bits[..LOW as usize], 0);
        let high = self.weighted_sum(&bits[LOW as usize..], LOW);
        let sum = self.add(low, high);
        self.assert_eq(sum, value);
        // At or above 2^31 - 2^27 (the top four bits set), only 2^31 - 2^27 itself is canonical.
        let mut top = bits[LOW as usize];
        for &bit in &bits[LOW as usize + 1..] {
            top = self.mul(top, bit);
        }
        let overflow = self.mul(top, low);
        self.assert_zero(overflow);
        bits[..count].to_vec()
    }

    /// Asserts that `value` is below `2^count` (`count` at most 30, so that no multiple of the
    /// modulus aliases a smaller value): its bits are hinted, asserted boolean and recomposed.
    pub fn assert_below_power_of_two(&mut self, value: Felt, count: u32) {
        assert!(count <= 30, "a range below the modulus");
        let bits = self.hinted_bits(value, count);
        let sum = self.weighted_sum(&bits, 0);
        self.assert_eq(sum, value);
    }

    /// The low `count` bits of `value`, hinted and each asserted boolean (not yet recomposed).
    fn hinted_bits(&mut self, value: Felt, count: u32) -> Vec<Felt> {
        (0..count)
            .map(|index| {
                let bit = self.hint(Hint::Bit {
                    of: value.address(),
                    index,
                });
                self.assert_bool(bit);
                bit
            })
            .collect()
    }

    /// `sum_i bits[i] * 2^(shift + i)`.
    fn weighted_sum(&mut self, bits: &[Felt], shift: u32) -> Felt {
        let mut sum = self.constant_felt(F::ZERO);
        for (index, &bit) in bits.iter().enumerate() {
            let weight = self.constant_felt(F::from_u32(1 << (shift + index as u32)));
            let term = self.mul(bit, weight);
            sum = self.add(sum, term);
        }
        sum
    }

    /// `sum_k coordinates[k] X^k`: the extension element with these coordinates, or (with
    /// extension-valued coordinates) the value at a point of a polynomial from the values of its
    /// four coordinate polynomials, as quotient chunks and permutation columns are opened.
    pub fn ext_from_coordinates<C: Into<Ext> + Copy>(&mut self, coordinates: [C; 4]) -> Ext {
        let mut sum = coordinates[0].into();
        for (index, &coordinate) in coordinates.iter().enumerate().skip(1) {
            let basis =
                self.constant_ext(EF::from_basis_coefficients_fn(|k| F::from_bool(k == index)));
            let term = self.mul(coordinate.into(), basis);
            sum = self.add(sum, term);
        }
        sum
    }

    /// Four hinted coordinates, `hint(index)` each, and the element they make.
    fn hinted_ext(&mut self, hint: impl Fn(u32) -> Hint) -> ([Felt; 4], Ext) {
        let coordinates = std::array::from_fn(|index| self.hint(hint(index as u32)));
        (coordinates, self.ext_from_coordinates(coordinates))
    }

    /// The coordinates of `value`: hinted, then joined and compared with it.
    pub fn coordinates(&mut self, value: Ext) -> [Felt; 4] {
        let of = value.address();
        let (coordinates, joined) = self.hinted_ext(|index| Hint::Coordinate { of, index });
        self.assert_eq(joined, value);
        coordinates
    }

    /// `1 / value`: hinted, and its product with `value` asserted to be one, which also proves
    /// `value` nonzero.
    pub fn inverse(&mut self, value: Ext) -> Ext {
        let of = value.address();
        let (_, inverse) = self.hinted_ext(|index| Hint::InverseCoordinate { of, index });
        let product = self.mul(value, inverse);
        let one = self.constant_ext(EF::ONE);
        self.assert_eq(product, one);
        inverse
    }

    /// `value^(2^log)`, by squaring.
    pub fn exp_power_of_two<C: Cell>(&mut self, value: C, log: usize) -> C {
        (0..log).fold(value, |power, _| self.mul(power, power))
    }

    /// Makes `value` the next public value of the proof.
    pub fn public(&mut self, value: Felt) {
        let address = self.read(value);
        self.public.push(address);
    }

    pub fn build(self) -> Program {
        Program {
            instructions: self.instructions,
            reads: self.reads,
            public: self.public,
        }
    }
}

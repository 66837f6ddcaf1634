//! Recursion programs: straight-line code over a write-once memory of extension-field cells.
//!
//! A program is fixed before anything runs: its instructions, the cell each one writes, how
//! often each cell is read, and which cells are public. Only the witness (the values a
//! verifier program is given, such as a child proof) changes from run to run. The tables prove
//! a run by matching every read of a cell with the one write of it on the `memory` bus, so a
//! program is built only through [`Builder`], which hands out a cell only once it is written.

use p3_field::{BasedVectorSpace, PrimeCharacteristicRing};
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
/// differences and products stay in the base field.
pub trait Cell: Copy {
    fn address(self) -> Address;
    #[doc(hidden)]
    fn at(address: Address) -> Self;
}

impl Cell for Ext {
    fn address(self) -> Address {
        self.0
    }
    fn at(address: Address) -> Self {
        Self(address)
    }
}

impl Cell for Felt {
    fn address(self) -> Address {
        self.0
    }
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
    Alu {
        op: AluOp,
        lhs: Address,
        rhs: Address,
        /// `None` for [`AluOp::AssertEq`], the only operation that writes nothing.
        out: Option<Address>,
    },
    /// Poseidon2 over BabyBear (width 16, Plonky3's default constants) of base-field cells.
    Poseidon2 {
        input: [Address; POSEIDON2_WIDTH],
        output: [Address; POSEIDON2_WIDTH],
    },
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
                Instruction::Alu { op, lhs, rhs, out } => {
                    let (lhs, rhs) = (values[lhs.index()], values[rhs.index()]);
                    if op == AluOp::AssertEq && lhs != rhs {
                        return Err(RunError::AssertionFailed { instruction: index });
                    }
                    if let Some(out) = out {
                        values[out.index()] = op.apply(lhs, rhs);
                    }
                }
                Instruction::Poseidon2 { input, output } => {
                    let mut state = input.map(|address| base(values[address.index()]));
                    permutation.permute_mut(&mut state);
                    for (address, value) in output.iter().zip(state) {
                        values[address.index()] = EF::from(value);
                    }
                }
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
    pub fn get(&self, address: Address) -> EF {
        self.values[address.index()]
    }

    pub fn felt(&self, felt: Felt) -> F {
        base(self.get(felt.address()))
    }

    pub fn ext(&self, ext: Ext) -> EF {
        self.get(ext.address())
    }

    /// The coordinates of `address`'s value.
    pub(crate) fn coordinates(&self, address: Address) -> [F; 4] {
        coordinates(&self.get(address))
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

    /// The next extension-field value of the witness.
    pub fn witness_ext(&mut self) -> Ext {
        let out: Ext = self.allocate();
        self.instructions.push(Instruction::Witness {
            out: out.address(),
            base: false,
        });
        out
    }

    /// The next base-field value of the witness.
    pub fn witness_felt(&mut self) -> Felt {
        let out: Felt = self.allocate();
        self.instructions.push(Instruction::Witness {
            out: out.address(),
            base: true,
        });
        out
    }

    pub fn constant_ext(&mut self, value: EF) -> Ext {
        let out: Ext = self.allocate();
        self.instructions.push(Instruction::Constant {
            out: out.address(),
            value,
        });
        out
    }

    pub fn constant_felt(&mut self, value: F) -> Felt {
        let out: Felt = self.allocate();
        self.instructions.push(Instruction::Constant {
            out: out.address(),
            value: EF::from(value),
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
            input,
            output: output.map(Cell::address),
        });
        output
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

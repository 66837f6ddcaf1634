//! The machine's side of `ecall`: HALT, READ, WRITE and the precompiles.

use gnomon_guest_abi::syscall;
use p3_baby_bear::BabyBear;
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::Permutation;

use crate::Halt;
use crate::commitment::poseidon2;
use crate::fp25519;
use crate::machine::Machine;
use crate::report::SyscallKind;
use crate::trace::{MemoryAccess, Step, SyscallRecord, Tracer};
use crate::trap::TrapCause;

impl Machine<'_> {
    /// Checks that a syscall's buffer of `words` words at `address` is aligned data memory.
    fn check_buffer(&self, name: &'static str, address: u32, words: u32) -> Result<(), TrapCause> {
        if self.memory.data_words(address, words) {
            Ok(())
        } else {
            Err(TrapCause::BadSyscallBuffer {
                syscall: name,
                address,
                words,
            })
        }
    }

    /// Executes the `ecall` at `pc`. Returns the halt if it was HALT. On a trap nothing has
    /// changed: every check comes before the first write.
    pub(crate) fn syscall<T: Tracer>(&mut self, tracer: &mut T) -> Result<Option<Halt>, TrapCause> {
        let number = self.registers[syscall::REG_SYSCALL];
        let args = [syscall::REG_A0, syscall::REG_A1, syscall::REG_A2].map(|r| self.registers[r]);
        let [a0, a1, a2] = args;
        let kind = SyscallKind::from_number(number).ok_or(TrapCause::UnknownSyscall { number })?;
        let mut accesses = Vec::new();
        let mut halt = None;

        // Reads a word the checks above have validated, recording the access.
        macro_rules! read {
            ($address:expr) => {{
                let address: u32 = $address;
                let admitted = self.pages.admit(address, &self.memory, tracer);
                debug_assert!(
                    admitted,
                    "the segment ends before a syscall that might not fit"
                );
                let value = self.memory.word(address);
                if T::ENABLED {
                    accesses.push(MemoryAccess {
                        address,
                        before: value,
                        after: value,
                    });
                }
                value
            }};
        }
        macro_rules! write {
            ($address:expr, $value:expr) => {{
                let (address, value): (u32, u32) = ($address, $value);
                let admitted = self.pages.admit(address, &self.memory, tracer);
                debug_assert!(
                    admitted,
                    "the segment ends before a syscall that might not fit"
                );
                let before = self.memory.word(address);
                self.memory.set_word(address, value);
                if T::ENABLED {
                    accesses.push(MemoryAccess {
                        address,
                        before,
                        after: value,
                    });
                }
            }};
        }

        match kind {
            SyscallKind::Halt => {
                self.check_buffer("HALT", a1, syscall::HALT_DIGEST_WORDS)?;
                let words: Vec<u32> = (0..syscall::HALT_DIGEST_WORDS)
                    .map(|i| read!(a1 + 4 * i))
                    .collect();
                let digest = |words: &[u32]| -> [u8; 32] {
                    let mut bytes = [0; 32];
                    for (chunk, word) in bytes.chunks_exact_mut(4).zip(words) {
                        chunk.copy_from_slice(&word.to_be_bytes());
                    }
                    bytes
                };
                halt = Some(Halt {
                    exit_code: a0,
                    input_digest: digest(&words[..8]),
                    output_digest: digest(&words[8..]),
                });
            }
            SyscallKind::Read => {
                if a2 > syscall::MAX_READ_WORDS {
                    return Err(TrapCause::ReadTooLarge { words: a2 });
                }
                self.check_buffer("READ", a1, a2)?;
                let (reader, stream) = self.io.reader(a0).ok_or(TrapCause::BadDescriptor {
                    syscall: "READ",
                    descriptor: a0,
                })?;
                let remaining_bytes = reader.remaining();
                let words = reader.take(a2).ok_or(TrapCause::ReadPastEnd {
                    stream,
                    requested_words: a2,
                    remaining_bytes,
                })?;
                for (i, value) in (0..).zip(words) {
                    write!(a1 + 4 * i, value);
                }
            }
            SyscallKind::Write => {
                // WRITE changes no machine state, so nothing about it can fail: bytes for an
                // unknown stream or from outside data memory are dropped.
                if self.memory.data_bytes(a1, a2) {
                    let bytes: Vec<u8> = self.memory.bytes(a1, a2).collect();
                    self.io.write(a0, bytes.into_iter())?;
                }
            }
            SyscallKind::Poseidon2Permute => {
                self.check_buffer("POSEIDON2_PERMUTE", a0, syscall::POSEIDON2_WIDTH)?;
                let addresses = (0..syscall::POSEIDON2_WIDTH).map(|i| a0 + 4 * i);
                for address in addresses.clone() {
                    let value = self.memory.word(address);
                    if value >= BabyBear::ORDER_U32 {
                        return Err(TrapCause::NonCanonicalPoseidon2Input { address, value });
                    }
                }
                let mut state = [BabyBear::ZERO; syscall::POSEIDON2_WIDTH as usize];
                for (element, address) in state.iter_mut().zip(addresses) {
                    *element = BabyBear::from_u32(read!(address));
                }
                poseidon2().permute_mut(&mut state);
                for (i, element) in (0..).zip(state) {
                    write!(a0 + 4 * i, element.as_canonical_u32());
                }
            }
            SyscallKind::Sha256Compress => {
                self.check_buffer("SHA256_COMPRESS", a0, syscall::SHA256_STATE_WORDS)?;
                self.check_buffer("SHA256_COMPRESS", a1, syscall::SHA256_BLOCK_WORDS)?;
                let mut state = [0u32; syscall::SHA256_STATE_WORDS as usize];
                for (i, word) in (0..).zip(&mut state) {
                    *word = read!(a0 + 4 * i);
                }
                let mut block = [0u8; 64];
                for (i, chunk) in (0..).zip(block.chunks_exact_mut(4)) {
                    chunk.copy_from_slice(&read!(a1 + 4 * i).to_be_bytes());
                }
                sha2::compress256(&mut state, &[block.into()]);
                for (i, word) in (0..).zip(state) {
                    write!(a0 + 4 * i, word);
                }
            }
            SyscallKind::Fp25519Mul | SyscallKind::Fp25519Add | SyscallKind::Fp25519Sub => {
                let op = fp25519::Op::from_syscall(number).expect("a field operation's number");
                let name = match op {
                    fp25519::Op::Mul => "FP25519_MUL",
                    fp25519::Op::Add => "FP25519_ADD",
                    fp25519::Op::Sub => "FP25519_SUB",
                };
                self.check_buffer(name, a0, syscall::FP25519_WORDS)?;
                self.check_buffer(name, a1, syscall::FP25519_WORDS)?;
                // y first, so that x's accesses see it even when the buffers are one; then
                // each word of x is read and overwritten in one access.
                let mut y = fp25519::Words::default();
                for (i, word) in (0..).zip(&mut y) {
                    *word = read!(a1 + 4 * i);
                }
                let x: fp25519::Words =
                    core::array::from_fn(|i| self.memory.word(a0 + 4 * i as u32));
                for (i, word) in (0..).zip(fp25519::apply(op, &x, &y)) {
                    write!(a0 + 4 * i, word);
                }
            }
        }

        let stats = &mut self.report.syscalls[kind as usize];
        stats.calls += 1;
        stats.cycles += u64::from(syscall::cycles(number, a2));
        tracer.step(Step {
            pc: self.pc,
            rs1: 0,
            rs2: 0,
            rd: 0,
            memory: None,
        });
        if T::ENABLED {
            tracer.syscall(SyscallRecord {
                step: 0,
                number,
                args,
                accesses,
            });
        }
        Ok(halt)
    }
}

//! The SHA-256 compression function (FIPS 180-4, 6.2.2 steps 1 to 4), provided on the `sha256`
//! bus as `(state in, block, state out)` with a multiplicity.
//!
//! # Layout
//!
//! A compression takes 17 rows: 16 round rows, each doing 4 of the 64 rounds, and the digest
//! row after them. Digest rows are shared: the one that closes a compression also holds the
//! initial working variables of the next, and the trace starts with a digest row that closes
//! nothing. So `n` compressions fill `17 n + 1` rows, then zero padding.
//!
//! - Working variables, as bits: slot `j` of round row `r` holds `a` and `e` after round
//!   `4 r + j`, slot `j` of a digest row the initial `a` and `e` of round `j - 3` (state words
//!   `3 - j` and `7 - j`). Round `t` needs `a`, `b`, `c` and `e`, `f`, `g` as bits and `d`, `h`
//!   as words: they are `a` and `e` after rounds `t - 1` to `t - 4`, all in the row before its
//!   result or in the same row, so every constraint spans two rows.
//! - Message schedule: round row `r` holds the bits of `W[4 r .. 4 r + 4]` (the block in rows
//!   0 to 3). `W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]` needs words from up to four
//!   rows back, carried forward in limbs: `w_3` is `W[t-7]`, and `intermed_4/8/12` are
//!   `W[i] + σ0(W[i+1])` computed where both words are bits and moved one row per step.
//! - The state in and the block are broadcast: the same columns hold them on every row from
//!   round row 0 to the digest row, where the output `state in + (a..h after round 63)` is
//!   computed and the tuple provided.
//!
//! The row's kind is a one-hot flag vector (digest, round row 0 .. 15); padding rows have none.
//!
//! # What is proven
//!
//! Every digest row that provides a tuple (multiplicity non-zero) is preceded by round rows 15
//! down to 0 and a digest row (the kind transitions force it, and no round row can be the first
//! row, so the run cannot wrap around the trace). Along those 17 rows every round's addition is
//! exact (bit-decomposed results, range-bounded carries, all sums far below p), the round
//! constants are selected by the row kind, the message words are the block (rows 0 to 3) and
//! the schedule's sums, and the broadcast state and block are the ones the rounds started from
//! and used. So the tuple's state out is the compression of its state in and block.
//!
//! The output limbs are `state in + final` per limb with boolean carries: the one canonical
//! choice of carries makes them the true output, any other makes a limb negative or above
//! 2^16. The requester range-checks them, which it must do anyway before writing them to
//! memory, so only the true output is ever requested.
//!
//! # Degree and slack
//!
//! The round and schedule equations have degree 3 (three-way XOR, majority) and so cannot be
//! gated by a row flag. They hold on every pair of rows instead: where the next row is not the
//! continuation of a compression, a slack absorbs them (the low carry bits of a digest row for
//! the rounds, `intermed_12` of rows outside round rows 3 to 14 for the schedule). A slack is
//! determined by its equation, and where it is not a slack it is constrained like any other
//! column. Padding rows have no round slack and every equation holds on zero rows, so padding
//! is all zero.
//!
//! # Cost
//!
//! [`SHA256_COMPRESS_WIDTH`] (536) columns, 17 rows per compression (about 9,100 cells), one
//! interaction per row (the provided tuple), no lookups, degree 3. Proving takes about 1.7 ms
//! per compression on two cores (481 compressions, 8,192 rows: 0.8 s).

use core::borrow::{Borrow, BorrowMut};
use std::collections::BTreeMap;

use gnomon_guest_abi::syscall;
use p3_air::{Air, AirBuilder, BaseAir, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing, PrimeField32};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use crate::bus::Buses;
use crate::chips::lookup::LookupCounts;
use crate::chips::{MAX_CONSTRAINT_DEGREE, MIN_HEIGHT, TraceGenerator};
use crate::columns::impl_columns;
use crate::config::F;
use crate::record::ExecutionRecord;

/// Rows per compression: 16 round rows and the digest row that closes it.
pub const ROWS_PER_COMPRESSION: usize = 17;
/// Rounds each round row does.
const ROUNDS_PER_ROW: usize = 4;
/// Row kinds: 0 the digest row, `1 + r` round row `r`.
const KINDS: usize = 17;

/// The round constants of FIPS 180-4, 4.2.2.
pub const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sha256CompressCols<T> {
    /// One-hot row kind: `kind[0]` a digest row, `kind[1 + r]` round row `r`; none on padding.
    pub kind: [T; KINDS],
    /// Digest rows: how often the compression they close is provided.
    pub multiplicity: T,
    /// Bits (low first) of `a` and `e` per slot (see the module doc).
    pub a: [[T; 32]; ROUNDS_PER_ROW],
    pub e: [[T; 32]; ROUNDS_PER_ROW],
    /// Round rows: bits of the message words of their rounds. Zero elsewhere.
    pub w: [[T; 32]; ROUNDS_PER_ROW],
    /// Per round and limb, the low bit of the carry of the sum giving `e`; in digest rows the
    /// slack of that equation.
    pub e_carry_low: [[T; 2]; ROUNDS_PER_ROW],
    /// Per round and limb, the two bits of the carry of the sum giving `a`, which is
    /// `bit0 + 2 bit1 - 4 bit0 bit1` (-1 to 2, as `a = e - d + Σ0(a) + Maj(a, b, c)` subtracts);
    /// in digest rows `bit0` is the slack and `bit1` is zero.
    pub a_carry: [[[T; 2]; 2]; ROUNDS_PER_ROW],
    /// Round rows: the high bits of the `e` carries (`[4 j + 2 limb ..][..2]`), then the message
    /// schedule carries (`[16 + 4 i + 2 limb ..][..2]`). Digest rows: the output limbs
    /// (`[2 word + limb]`), then their carries (`[16 + 2 word + limb]`).
    pub spare: [T; 32],
    /// `W[t - 7]` for the next row's words 0 to 2: words 1 to 3 of this row's predecessor.
    pub w_3: [[T; 2]; 3],
    /// `W[i] + σ0(W[i + 1])` for this row's predecessor's words `i` (unreduced limbs), and the
    /// same moved on by one and two rows.
    pub intermed_4: [[T; 2]; ROUNDS_PER_ROW],
    pub intermed_8: [[T; 2]; ROUNDS_PER_ROW],
    pub intermed_12: [[T; 2]; ROUNDS_PER_ROW],
    /// The compression's state in and block, from round row 0 to its digest row.
    pub state_in: [[T; 2]; 8],
    pub block: [[T; 2]; 16],
}

impl_columns!(Sha256CompressCols, SHA256_COMPRESS_WIDTH);

/// Where the parts of [`Sha256CompressCols::spare`] live.
mod spare {
    /// The two high bits of the carry of the `e` sum of round `round`, limb `limb`.
    pub const fn e_carry_high(round: usize, limb: usize) -> usize {
        4 * round + 2 * limb
    }

    /// The two bits of the carry of message word `word`, limb `limb`.
    pub const fn w_carry(word: usize, limb: usize) -> usize {
        16 + 4 * word + 2 * limb
    }

    /// Output word `word`, limb `limb`.
    pub const fn out(word: usize, limb: usize) -> usize {
        2 * word + limb
    }

    /// The carry out of output word `word`, limb `limb`.
    pub const fn out_carry(word: usize, limb: usize) -> usize {
        16 + 2 * word + limb
    }
}

/// One compression the table is asked for, and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sha256Request {
    pub state_in: [u32; 8],
    pub block: [u32; 16],
    pub multiplicity: u32,
}

/// The compressions the `SHA256_COMPRESS` syscalls of `record` ask for, each once: the state
/// is the first 8 words they read, the block the next 16.
pub fn requests(record: &ExecutionRecord) -> Vec<Sha256Request> {
    let mut counts: BTreeMap<([u32; 8], [u32; 16]), u32> = BTreeMap::new();
    for event in record
        .syscalls
        .iter()
        .filter(|event| event.number == syscall::SHA256_COMPRESS)
    {
        let state_in = core::array::from_fn(|i| event.words[i].value);
        let block = core::array::from_fn(|i| event.words[8 + i].value);
        *counts.entry((state_in, block)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((state_in, block), multiplicity)| Sha256Request {
            state_in,
            block,
            multiplicity,
        })
        .collect()
}

// The functions of FIPS 180-4 4.1.2, on bits (low first) as elements of any ring, so that the
// constraints and the trace generation evaluate the very same expressions.

/// The 16-bit limb of `bits`.
fn pack<E: PrimeCharacteristicRing>(bits: &[E]) -> E {
    bits.iter()
        .rev()
        .fold(E::ZERO, |acc, bit| acc.double() + bit.clone())
}

/// The two limbs of a word's bits.
fn limbs<E: PrimeCharacteristicRing>(bits: &[E; 32]) -> [E; 2] {
    [pack(&bits[..16]), pack(&bits[16..])]
}

fn xor<E: PrimeCharacteristicRing>(x: E, y: E) -> E {
    x.clone() + y.clone() - (x * y).double()
}

/// `rotr(x, r1) ^ rotr(x, r2) ^ rotr(x, r3)` (`shr(x, r3)` when `shift`).
fn sigma<E: PrimeCharacteristicRing>(
    x: &[E; 32],
    r1: usize,
    r2: usize,
    r3: usize,
    shift: bool,
) -> [E; 32] {
    core::array::from_fn(|i| {
        let two = xor(x[(i + r1) % 32].clone(), x[(i + r2) % 32].clone());
        if shift && i + r3 >= 32 {
            two
        } else {
            xor(two, x[(i + r3) % 32].clone())
        }
    })
}

fn big_sigma0<E: PrimeCharacteristicRing>(x: &[E; 32]) -> [E; 32] {
    sigma(x, 2, 13, 22, false)
}

fn big_sigma1<E: PrimeCharacteristicRing>(x: &[E; 32]) -> [E; 32] {
    sigma(x, 6, 11, 25, false)
}

fn small_sigma0<E: PrimeCharacteristicRing>(x: &[E; 32]) -> [E; 32] {
    sigma(x, 7, 18, 3, true)
}

fn small_sigma1<E: PrimeCharacteristicRing>(x: &[E; 32]) -> [E; 32] {
    sigma(x, 17, 19, 10, true)
}

/// `Maj(a, b, c)`: `a b + c (a ^ b)`, the two terms never both 1.
fn maj<E: PrimeCharacteristicRing>(a: &[E; 32], b: &[E; 32], c: &[E; 32]) -> [E; 32] {
    core::array::from_fn(|i| {
        a[i].clone() * b[i].clone() + c[i].clone() * xor(a[i].clone(), b[i].clone())
    })
}

/// `Ch(e, f, g)`: `e f + (1 - e) g`.
fn ch<E: PrimeCharacteristicRing>(e: &[E; 32], f: &[E; 32], g: &[E; 32]) -> [E; 32] {
    core::array::from_fn(|i| e[i].clone() * (f[i].clone() - g[i].clone()) + g[i].clone())
}

fn add_limbs<E: PrimeCharacteristicRing>(terms: &[[E; 2]]) -> [E; 2] {
    core::array::from_fn(|limb| terms.iter().map(|term| term[limb].clone()).sum())
}

fn limb_base<E: PrimeCharacteristicRing>() -> E {
    E::from_u32(1 << 16)
}

impl<E: PrimeCharacteristicRing> Sha256CompressCols<E> {
    fn is_digest(&self) -> E {
        self.kind[0].clone()
    }

    fn is_round(&self) -> E {
        self.kind[1..].iter().cloned().sum()
    }

    /// Round rows 4 to 15: those whose message words come from the schedule.
    fn is_schedule(&self) -> E {
        self.kind[5..].iter().cloned().sum()
    }

    fn is_padding(&self) -> E {
        E::ONE - self.is_digest() - self.is_round()
    }

    /// The value of the carry of the `e` sum of `round`, `limb`.
    fn e_carry(&self, round: usize, limb: usize) -> E {
        let high = spare::e_carry_high(round, limb);
        self.e_carry_low[round][limb].clone()
            + self.spare[high].clone().double()
            + self.spare[high + 1].clone() * E::from_u32(4)
    }

    /// The value of the carry of the `a` sum of `round`, `limb`: -1 to 2.
    fn a_carry(&self, round: usize, limb: usize) -> E {
        let [low, high] = self.a_carry[round][limb].clone();
        low.clone() + high.clone().double() - (low * high) * E::from_u32(4)
    }

    fn w_carry(&self, word: usize, limb: usize) -> E {
        let at = spare::w_carry(word, limb);
        self.spare[at].clone() + self.spare[at + 1].clone().double()
    }

    /// Digest rows: the output of the compression they close, as limbs.
    pub fn out(&self) -> [[E; 2]; 8] {
        core::array::from_fn(|word| {
            core::array::from_fn(|limb| self.spare[spare::out(word, limb)].clone())
        })
    }

    fn out_carry(&self, word: usize, limb: usize) -> E {
        self.spare[spare::out_carry(word, limb)].clone()
    }

    /// The bits of state word `word` among the slots: `a` after the row's last round is word 0
    /// (in a digest row: the state the next compression starts from), `e` word 4.
    fn state_word(&self, word: usize) -> &[E; 32] {
        if word < 4 {
            &self.a[3 - word]
        } else {
            &self.e[7 - word]
        }
    }
}

/// The sums of one round whose results `next` holds, without their carries.
struct RoundSums<E> {
    /// `e` and `a` the round produced, as limbs.
    new_e: [E; 2],
    new_a: [E; 2],
    /// `d + h + Σ1(e) + Ch(e, f, g) + K + W`, per limb.
    e_sum: [E; 2],
    /// `new e - d + Σ0(a) + Maj(a, b, c)`, per limb.
    a_sum: [E; 2],
}

/// The sums of round `j` of the row `next` (the round `4 r + j` of round row `r`).
fn round_sums<E: PrimeCharacteristicRing>(
    local: &Sha256CompressCols<E>,
    next: &Sha256CompressCols<E>,
    j: usize,
) -> RoundSums<E> {
    // Slots of both rows in order: `a` after rounds 4r - 4 .. 4r + 3 for next = round row r.
    let slot = |cols: &[&Sha256CompressCols<E>; 2], i: usize, a: bool| -> [E; 32] {
        let row = cols[i / ROUNDS_PER_ROW];
        if a {
            row.a[i % ROUNDS_PER_ROW].clone()
        } else {
            row.e[i % ROUNDS_PER_ROW].clone()
        }
    };
    let rows = [local, next];
    let [d, c, b, a, new_a] = [j, j + 1, j + 2, j + 3, j + 4].map(|i| slot(&rows, i, true));
    let [h, g, f, e, new_e] = [j, j + 1, j + 2, j + 3, j + 4].map(|i| slot(&rows, i, false));
    // K of round 4 r + j, selected by next's kind (zero unless next is a round row).
    let k: [E; 2] = core::array::from_fn(|limb| {
        (0..16)
            .map(|r| next.kind[1 + r].clone() * E::from_u32((K[4 * r + j] >> (16 * limb)) & 0xffff))
            .sum()
    });
    let new_e = limbs(&new_e);
    let new_a = limbs(&new_a);
    let d = limbs(&d);
    let e_sum = add_limbs(&[
        d.clone(),
        limbs(&h),
        limbs(&big_sigma1(&e)),
        limbs(&ch(&e, &f, &g)),
        k,
        limbs(&next.w[j]),
    ]);
    let a_sum = add_limbs(&[
        new_e.clone(),
        d.map(|limb| -limb),
        limbs(&big_sigma0(&a)),
        limbs(&maj(&a, &b, &c)),
    ]);
    RoundSums {
        new_e,
        new_a,
        e_sum,
        a_sum,
    }
}

/// `W[i] + σ0(W[i + 1])` over the words of `local` then `next`, unreduced.
fn intermed<E: PrimeCharacteristicRing>(
    local: &Sha256CompressCols<E>,
    next: &Sha256CompressCols<E>,
    i: usize,
) -> [E; 2] {
    let following = if i + 1 < ROUNDS_PER_ROW {
        &local.w[i + 1]
    } else {
        &next.w[0]
    };
    add_limbs(&[limbs(&local.w[i]), limbs(&small_sigma0(following))])
}

/// `σ1(W[t - 2]) + W[t - 7] + local.intermed_12[i]` for `W[t]`, next's word `i`, unreduced.
fn schedule_sum<E: PrimeCharacteristicRing>(
    local: &Sha256CompressCols<E>,
    next: &Sha256CompressCols<E>,
    i: usize,
) -> [E; 2] {
    let minus_2 = if i + 2 < ROUNDS_PER_ROW {
        &local.w[i + 2]
    } else {
        &next.w[i - 2]
    };
    let minus_7 = if i < 3 {
        local.w_3[i].clone()
    } else {
        limbs(&local.w[0])
    };
    add_limbs(&[
        limbs(&small_sigma1(minus_2)),
        minus_7,
        local.intermed_12[i].clone(),
    ])
}

#[derive(Clone, Debug, Default)]
pub struct Sha256CompressChip;

impl TraceGenerator for Sha256CompressChip {
    /// `ROWS_PER_COMPRESSION` a call, and one closing row.
    fn max_rows(&self, budget: super::SegmentBudget) -> u64 {
        ROWS_PER_COMPRESSION as u64 * budget.calls(syscall::SHA256_COMPRESS) + 1
    }

    fn generate_trace(&self, record: &ExecutionRecord, _: &mut LookupCounts) -> RowMajorMatrix<F> {
        Self::trace(&requests(record))
    }
}

/// The values of one compression, round by round.
struct Compression {
    request: Sha256Request,
    /// `a` and `e` after round `t - 4` at index `t` (the initial ones at 0 to 3).
    a: [u32; 68],
    e: [u32; 68],
    w: [u32; 64],
    out: [u32; 8],
}

impl Compression {
    fn new(request: Sha256Request) -> Self {
        let sigma = |x: u32, r1: u32, r2: u32, r3: u32, shift: bool| {
            x.rotate_right(r1)
                ^ x.rotate_right(r2)
                ^ if shift { x >> r3 } else { x.rotate_right(r3) }
        };
        let mut w = [0u32; 64];
        w[..16].copy_from_slice(&request.block);
        for t in 16..64 {
            w[t] = sigma(w[t - 2], 17, 19, 10, true)
                .wrapping_add(w[t - 7])
                .wrapping_add(sigma(w[t - 15], 7, 18, 3, true))
                .wrapping_add(w[t - 16]);
        }
        let (mut a, mut e) = ([0u32; 68], [0u32; 68]);
        for j in 0..4 {
            a[j] = request.state_in[3 - j];
            e[j] = request.state_in[7 - j];
        }
        for t in 0..64 {
            let (aa, bb, cc, dd) = (a[t + 3], a[t + 2], a[t + 1], a[t]);
            let (ee, ff, gg, hh) = (e[t + 3], e[t + 2], e[t + 1], e[t]);
            let t1 = hh
                .wrapping_add(sigma(ee, 6, 11, 25, false))
                .wrapping_add((ee & ff) ^ (!ee & gg))
                .wrapping_add(K[t])
                .wrapping_add(w[t]);
            let t2 = sigma(aa, 2, 13, 22, false).wrapping_add((aa & bb) ^ (aa & cc) ^ (bb & cc));
            e[t + 4] = dd.wrapping_add(t1);
            a[t + 4] = t1.wrapping_add(t2);
        }
        let out = core::array::from_fn(|word| {
            let last = if word < 4 { a[67 - word] } else { e[71 - word] };
            request.state_in[word].wrapping_add(last)
        });
        Self {
            request,
            a,
            e,
            w,
            out,
        }
    }
}

fn bits(value: u32) -> [F; 32] {
    core::array::from_fn(|i| F::from_u32((value >> i) & 1))
}

fn limb_values(value: u32) -> [F; 2] {
    [F::from_u32(value & 0xffff), F::from_u32(value >> 16)]
}

/// A carry the generator solved for, as the small integer it must be on a round row.
fn small(value: F) -> i64 {
    let value = value.as_canonical_u32();
    if value < 8 {
        i64::from(value)
    } else {
        i64::from(value) - i64::from(F::ORDER_U32)
    }
}

impl Sha256CompressChip {
    /// The trace of `requests`, in order (each compression's output is computed here).
    pub fn trace(requests: &[Sha256Request]) -> RowMajorMatrix<F> {
        let compressions: Vec<Compression> =
            requests.iter().copied().map(Compression::new).collect();
        let used = if compressions.is_empty() {
            0
        } else {
            ROWS_PER_COMPRESSION * compressions.len() + 1
        };
        let height = used.next_power_of_two().max(MIN_HEIGHT);
        let mut rows = vec![Sha256CompressCols::<F>::default(); height];

        // The values the rows are made of; everything else follows from them below.
        for (index, compression) in compressions.iter().enumerate() {
            let base = ROWS_PER_COMPRESSION * index;
            if index == 0 {
                let first = &mut rows[0];
                first.kind[0] = F::ONE;
                for j in 0..ROUNDS_PER_ROW {
                    first.a[j] = bits(compression.a[j]);
                    first.e[j] = bits(compression.e[j]);
                }
            }
            let state_in = compression.request.state_in.map(limb_values);
            let block = compression.request.block.map(limb_values);
            for r in 0..16 {
                let row = &mut rows[base + 1 + r];
                row.kind[1 + r] = F::ONE;
                for j in 0..ROUNDS_PER_ROW {
                    row.a[j] = bits(compression.a[4 * r + j + 4]);
                    row.e[j] = bits(compression.e[4 * r + j + 4]);
                    row.w[j] = bits(compression.w[4 * r + j]);
                }
                row.state_in = state_in;
                row.block = block;
            }
            let digest = &mut rows[base + ROWS_PER_COMPRESSION];
            digest.kind[0] = F::ONE;
            digest.multiplicity = F::from_u32(compression.request.multiplicity);
            digest.state_in = state_in;
            digest.block = block;
            for (word, &out) in compression.out.iter().enumerate() {
                let last = if word < 4 {
                    compression.a[67 - word]
                } else {
                    compression.e[71 - word]
                };
                let input = compression.request.state_in[word];
                let low = (input & 0xffff) + (last & 0xffff);
                let high = (input >> 16) + (last >> 16) + (low >> 16);
                for (limb, (value, sum)) in
                    limb_values(out).into_iter().zip([low, high]).enumerate()
                {
                    digest.spare[spare::out(word, limb)] = value;
                    digest.spare[spare::out_carry(word, limb)] = F::from_u32(sum >> 16);
                }
            }
            if let Some(following) = compressions.get(index + 1) {
                for j in 0..ROUNDS_PER_ROW {
                    digest.a[j] = bits(following.a[j]);
                    digest.e[j] = bits(following.e[j]);
                }
            }
        }

        // The schedule's carried limbs, from each row's predecessor (cyclically: the first
        // row follows the last).
        let previous = |row: usize| (row + height - 1) % height;
        for row in 0..height {
            let (local, next) = (rows[previous(row)], rows[row]);
            let cols = &mut rows[row];
            for i in 0..3 {
                cols.w_3[i] = limbs(&local.w[i + 1]);
            }
            for i in 0..ROUNDS_PER_ROW {
                cols.intermed_4[i] = intermed(&local, &next, i);
            }
        }
        for row in 0..height {
            let local = rows[previous(row)];
            let cols = &mut rows[row];
            let is_round = cols.is_round();
            cols.intermed_8 = local
                .intermed_4
                .map(|limbs| limbs.map(|limb| limb * is_round));
        }
        let in_schedule_chain = |cols: &Sha256CompressCols<F>| cols.kind[4..16].contains(&F::ONE);
        for row in 0..height {
            if in_schedule_chain(&rows[row]) {
                rows[row].intermed_12 = rows[previous(row)].intermed_8;
            }
        }
        let inverse_base = F::from_u32(1 << 16).inverse();
        // The schedule carries of round rows 4 to 15, then the slack of `intermed_12` before
        // every other row.
        for row in 0..height {
            let local = rows[previous(row)];
            if rows[row].is_schedule() != F::ONE {
                continue;
            }
            for i in 0..ROUNDS_PER_ROW {
                let sum = schedule_sum(&local, &rows[row], i);
                let new = limbs(&rows[row].w[i]);
                let mut carry_in = F::ZERO;
                for limb in 0..2 {
                    let carry = (sum[limb] + carry_in - new[limb]) * inverse_base;
                    let value = small(carry);
                    assert!(
                        (0..4).contains(&value),
                        "a message schedule carry is 0 to 3"
                    );
                    let at = spare::w_carry(i, limb);
                    rows[row].spare[at] = F::from_bool(value & 1 == 1);
                    rows[row].spare[at + 1] = F::from_bool(value & 2 == 2);
                    carry_in = carry;
                }
            }
        }
        for row in 0..height {
            let local = previous(row);
            if in_schedule_chain(&rows[local]) {
                continue;
            }
            for i in 0..ROUNDS_PER_ROW {
                // The equation with no intermed_12 yet: the slack is what it lacks.
                let sum = schedule_sum(&rows[local], &rows[row], i);
                let new = limbs(&rows[row].w[i]);
                let carries = [rows[row].w_carry(i, 0), rows[row].w_carry(i, 1)];
                rows[local].intermed_12[i] = [
                    new[0] + carries[0] * limb_base::<F>() - sum[0],
                    new[1] + carries[1] * limb_base::<F>() - carries[0] - sum[1],
                ];
            }
        }

        // The round carries (slacks on digest rows).
        for row in 0..height {
            let local = rows[previous(row)];
            let is_round = rows[row].is_round() == F::ONE;
            for j in 0..ROUNDS_PER_ROW {
                let sums = round_sums(&local, &rows[row], j);
                let mut e_carry_in = F::ZERO;
                let mut a_carry_in = F::ZERO;
                for limb in 0..2 {
                    let e_carry = (sums.e_sum[limb] + e_carry_in - sums.new_e[limb]) * inverse_base;
                    let a_carry = (sums.a_sum[limb] + a_carry_in - sums.new_a[limb]) * inverse_base;
                    let cols = &mut rows[row];
                    let high = spare::e_carry_high(j, limb);
                    if is_round {
                        let e_value = small(e_carry);
                        assert!((0..6).contains(&e_value), "an e carry is 0 to 5");
                        cols.e_carry_low[j][limb] = F::from_bool(e_value & 1 == 1);
                        cols.spare[high] = F::from_bool(e_value & 2 == 2);
                        cols.spare[high + 1] = F::from_bool(e_value & 4 == 4);
                        let [low, high] = match small(a_carry) {
                            0 => [0, 0],
                            1 => [1, 0],
                            2 => [0, 1],
                            -1 => [1, 1],
                            _ => panic!("an a carry is -1 to 2"),
                        };
                        cols.a_carry[j][limb] = [F::from_u32(low), F::from_u32(high)];
                    } else {
                        // Digest and padding rows: the low bits take the whole carry.
                        cols.e_carry_low[j][limb] = e_carry
                            - cols.spare[high].double()
                            - cols.spare[high + 1] * F::from_u32(4);
                        cols.a_carry[j][limb] = [a_carry, F::ZERO];
                    }
                    e_carry_in = e_carry;
                    a_carry_in = a_carry;
                }
            }
        }
        debug_assert!(
            rows[used.max(1)..].iter().all(|cols| {
                let carries = cols
                    .e_carry_low
                    .iter()
                    .flatten()
                    .chain(cols.a_carry.iter().flatten().flatten());
                carries
                    .chain(cols.intermed_12.iter().flatten())
                    .all(|value| *value == F::ZERO)
            }),
            "padding rows are zero"
        );

        let mut values = vec![F::ZERO; height * SHA256_COMPRESS_WIDTH];
        for (chunk, cols) in values.chunks_exact_mut(SHA256_COMPRESS_WIDTH).zip(&rows) {
            let target: &mut Sha256CompressCols<F> = chunk.borrow_mut();
            *target = *cols;
        }
        RowMajorMatrix::new(values, SHA256_COMPRESS_WIDTH)
    }
}

impl BaseAir<F> for Sha256CompressChip {
    fn width(&self) -> usize {
        SHA256_COMPRESS_WIDTH
    }

    fn max_constraint_degree(&self) -> Option<usize> {
        Some(MAX_CONSTRAINT_DEGREE)
    }
}

impl<AB: InteractionBuilder<F = F>> Air<AB> for Sha256CompressChip {
    fn eval(&self, builder: &mut AB) {
        let main = builder.main();
        let local: Vec<AB::Expr> = main.current_slice().iter().map(|&v| v.into()).collect();
        let next: Vec<AB::Expr> = main.next_slice().iter().map(|&v| v.into()).collect();
        let local: &Sha256CompressCols<AB::Expr> = local.as_slice().borrow();
        let next: &Sha256CompressCols<AB::Expr> = next.as_slice().borrow();
        eval_kinds(builder, local, next);
        eval_bits(builder, local);
        eval_rounds(builder, local, next);
        eval_schedule(builder, local, next);
        eval_broadcast(builder, local, next);
        eval_digest(builder, local, next);
    }
}

/// Row kinds: at most one flag, runs of digest row, round rows 0 to 15, digest row, and
/// padding only after the last digest row.
fn eval_kinds<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
    next: &Sha256CompressCols<AB::Expr>,
) {
    builder.assert_bools(local.kind.clone());
    let any: AB::Expr = local.kind.iter().cloned().sum();
    builder.assert_bool(any);
    // Round row r + 1 follows round row r and nothing else; round row 0 follows a digest row.
    // These hold cyclically, so no run of round rows can wrap around the trace.
    for r in 1..16 {
        builder.assert_eq(next.kind[r + 1].clone(), local.kind[r].clone());
    }
    builder.assert_zero(next.kind[1].clone() * (AB::Expr::ONE - local.is_digest()));
    // A digest row follows round row 15 and nothing else, except the first row.
    builder
        .when_transition()
        .assert_eq(next.is_digest(), local.kind[16].clone());
    builder.when_first_row().assert_zero(local.is_round());
}

/// Bits and carries are bits where they mean bits, slacks or digest values where they do not,
/// and zero on padding.
fn eval_bits<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
) {
    let is_round = local.is_round();
    let is_padding = local.is_padding();
    for bit in local.a.iter().chain(&local.e).flatten() {
        builder.assert_bool(bit.clone());
    }
    // Message bits on round rows, zero elsewhere: w (w - 1) = 0 or w^2 = 0.
    for bit in local.w.iter().flatten() {
        builder.assert_zero(bit.clone() * (bit.clone() - is_round.clone()));
    }
    for j in 0..ROUNDS_PER_ROW {
        for limb in 0..2 {
            for low in [&local.e_carry_low[j][limb], &local.a_carry[j][limb][0]] {
                builder.when(is_round.clone()).assert_bool(low.clone());
                builder.when(is_padding.clone()).assert_zero(low.clone());
            }
            let high = local.a_carry[j][limb][1].clone();
            builder.assert_zero(high.clone() * (high - is_round.clone()));
        }
    }
    // The e carries' high bits, or the output limbs of a digest row.
    for value in &local.spare[..16] {
        builder.when(is_round.clone()).assert_bool(value.clone());
        builder.when(is_padding.clone()).assert_zero(value.clone());
    }
    // The schedule carries (zero on round rows 0 to 3), or the output carries of a digest row.
    let bits_here = local.is_schedule() + local.is_digest();
    for value in &local.spare[16..] {
        builder.assert_zero(value.clone() * (value.clone() - bits_here.clone()));
    }
    builder
        .when_ne(local.is_digest(), AB::Expr::ONE)
        .assert_zero(local.multiplicity.clone());
}

/// The four rounds whose results `next` holds.
fn eval_rounds<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
    next: &Sha256CompressCols<AB::Expr>,
) {
    for j in 0..ROUNDS_PER_ROW {
        let sums = round_sums(local, next, j);
        let [e_low, e_high] = [next.e_carry(j, 0), next.e_carry(j, 1)];
        builder.assert_eq(
            sums.new_e[0].clone() + e_low.clone() * limb_base::<AB::Expr>(),
            sums.e_sum[0].clone(),
        );
        builder.assert_eq(
            sums.new_e[1].clone() + e_high * limb_base::<AB::Expr>(),
            sums.e_sum[1].clone() + e_low,
        );
        let [a_low, a_high] = [next.a_carry(j, 0), next.a_carry(j, 1)];
        builder.assert_eq(
            sums.new_a[0].clone() + a_low.clone() * limb_base::<AB::Expr>(),
            sums.a_sum[0].clone(),
        );
        builder.assert_eq(
            sums.new_a[1].clone() + a_high * limb_base::<AB::Expr>(),
            sums.a_sum[1].clone() + a_low,
        );
    }
}

/// The message schedule for the words `next` holds.
fn eval_schedule<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
    next: &Sha256CompressCols<AB::Expr>,
) {
    for i in 0..3 {
        builder.assert_eq_arrays(next.w_3[i].clone(), limbs(&local.w[i + 1]));
    }
    let next_is_round = next.is_round();
    // intermed_12 of round rows 3 to 14 feeds the schedule of rows 4 to 15; elsewhere it is
    // the schedule equation's slack.
    let chained: AB::Expr = next.kind[4..16].iter().cloned().sum();
    for i in 0..ROUNDS_PER_ROW {
        builder.assert_eq_arrays(next.intermed_4[i].clone(), intermed(local, next, i));
        for limb in 0..2 {
            builder.assert_eq(
                next.intermed_8[i][limb].clone(),
                next_is_round.clone() * local.intermed_4[i][limb].clone(),
            );
            builder.when(chained.clone()).assert_eq(
                next.intermed_12[i][limb].clone(),
                local.intermed_8[i][limb].clone(),
            );
        }
        let sum = schedule_sum(local, next, i);
        let new = limbs(&next.w[i]);
        let [low, high] = [next.w_carry(i, 0), next.w_carry(i, 1)];
        builder.assert_eq(
            new[0].clone() + low.clone() * limb_base::<AB::Expr>(),
            sum[0].clone(),
        );
        builder.assert_eq(
            new[1].clone() + high * limb_base::<AB::Expr>(),
            sum[1].clone() + low,
        );
    }
}

/// The state in and the block: constant from round row 0 to the digest row, the state the
/// rounds start from (round row 0), the message words of round rows 0 to 3, zero on padding.
fn eval_broadcast<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
    next: &Sha256CompressCols<AB::Expr>,
) {
    let local_is_round = local.is_round();
    let is_padding = local.is_padding();
    let broadcast = |cols: &Sha256CompressCols<AB::Expr>| -> Vec<AB::Expr> {
        cols.state_in
            .iter()
            .chain(&cols.block)
            .flatten()
            .cloned()
            .collect()
    };
    for (next_value, value) in broadcast(next).into_iter().zip(broadcast(local)) {
        builder
            .when(local_is_round.clone())
            .assert_eq(next_value, value.clone());
        builder.when(is_padding.clone()).assert_zero(value);
    }
    for (word, state_in) in next.state_in.iter().enumerate() {
        let initial = limbs(local.state_word(word));
        for (value, initial) in state_in.iter().zip(initial) {
            builder
                .when(next.kind[1].clone())
                .assert_eq(value.clone(), initial);
        }
    }
    for (i, bits) in local.w.iter().enumerate() {
        for (limb, word) in limbs(bits).into_iter().enumerate() {
            let mismatch: AB::Expr = (0..4)
                .map(|r| {
                    local.kind[1 + r].clone()
                        * (local.block[4 * r + i][limb].clone() - word.clone())
                })
                .sum();
            builder.assert_zero(mismatch);
        }
    }
}

/// The output (`state in + a..h after round 63`, per limb with boolean carries) on the digest
/// row after round row 15, and the tuple that row provides.
fn eval_digest<AB: InteractionBuilder<F = F>>(
    builder: &mut AB,
    local: &Sha256CompressCols<AB::Expr>,
    next: &Sha256CompressCols<AB::Expr>,
) {
    let out = next.out();
    for (word, out_word) in out.iter().enumerate() {
        let last = limbs(local.state_word(word));
        let [low_carry, high_carry] = [next.out_carry(word, 0), next.out_carry(word, 1)];
        let mut closing = builder.when(local.kind[16].clone());
        closing.assert_eq(
            out_word[0].clone() + low_carry.clone() * limb_base::<AB::Expr>(),
            local.state_in[word][0].clone() + last[0].clone(),
        );
        closing.assert_eq(
            out_word[1].clone() + high_carry * limb_base::<AB::Expr>(),
            local.state_in[word][1].clone() + last[1].clone() + low_carry,
        );
    }
    // The first row closes nothing.
    let mut first = builder.when_first_row();
    first.assert_zero(local.multiplicity.clone());
    for value in local
        .spare
        .iter()
        .chain(local.state_in.iter().flatten())
        .chain(local.block.iter().flatten())
    {
        first.assert_zero(value.clone());
    }
    builder.sha256(
        local.state_in.clone(),
        local.block.clone(),
        local.out(),
        Count::provided(-local.multiplicity.clone()),
    );
}

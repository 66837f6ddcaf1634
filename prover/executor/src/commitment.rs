//! What a proof commits to about memory: page hashes, the memory Merkle tree and the program
//! commitment.
//!
//! All hashing is Poseidon2 over BabyBear, width 16, with Plonky3's default round constants
//! (the permutation the `POSEIDON2_PERMUTE` precompile exposes), so that every value here can
//! be recomputed inside the machine's AIR tables.
//!
//! - A word enters a hash as two field elements, its low and high 16-bit halves.
//! - A page (256 words) hashes with an overwrite-mode sponge of rate 8 from the all-zero state:
//!   64 absorptions of 4 words each, one permutation after each, digest = the first 8 elements.
//!   (Plonky3's `PaddingFreeSponge<_, 16, 8, 8>`; pages have a fixed length, so no padding is
//!   needed.)
//! - Two digests compress into their parent as the first 8 elements of the permutation of
//!   their concatenation (`TruncatedPermutation<_, 2, 8, 16>`).
//! - The memory tree has the [`memory::PAGE_COUNT`] pages as leaves, page 0 leftmost. The
//!   register file is not in memory: segments carry it beside their memory roots.
//! - The program commitment absorbs, with the same sponge, a domain tag, [`ZKVM_VERSION`], the
//!   entry point and the end of the text segment (each as two 16-bit halves) and the root of
//!   the initial memory tree.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use gnomon_guest_abi::{ZKVM_VERSION, memory};
use p3_baby_bear::{BabyBear, Poseidon2BabyBear, default_babybear_poseidon2_16};
use p3_field::{PrimeCharacteristicRing, PrimeField32};
use p3_symmetric::{
    CryptographicHasher, PaddingFreeSponge, PseudoCompressionFunction, TruncatedPermutation,
};

/// Words in a page.
pub const PAGE_WORDS: usize = memory::PAGE_WORDS as usize;
/// Depth of the memory tree.
pub const DEPTH: usize = memory::MERKLE_DEPTH as usize;
/// Domain tag of the program commitment ("gnmn").
const PROGRAM_DOMAIN: u32 = 0x676e_6d6e;

/// The contents of one memory page.
pub type Page = [u32; PAGE_WORDS];
/// A Poseidon2 digest: eight BabyBear elements.
pub type Digest = [BabyBear; 8];

type Sponge = PaddingFreeSponge<Poseidon2BabyBear<16>, 16, 8, 8>;
type Compression = TruncatedPermutation<Poseidon2BabyBear<16>, 2, 8, 16>;

/// The Poseidon2 permutation every hash here and the precompile use.
pub fn poseidon2() -> &'static Poseidon2BabyBear<16> {
    static PERMUTATION: OnceLock<Poseidon2BabyBear<16>> = OnceLock::new();
    PERMUTATION.get_or_init(default_babybear_poseidon2_16)
}

fn sponge() -> &'static Sponge {
    static SPONGE: OnceLock<Sponge> = OnceLock::new();
    SPONGE.get_or_init(|| Sponge::new(poseidon2().clone()))
}

fn compression() -> &'static Compression {
    static COMPRESSION: OnceLock<Compression> = OnceLock::new();
    COMPRESSION.get_or_init(|| Compression::new(poseidon2().clone()))
}

/// A word as the two field elements hashes absorb: low half, then high half.
pub fn word_elements(word: u32) -> [BabyBear; 2] {
    [
        BabyBear::from_u32(word & 0xffff),
        BabyBear::from_u32(word >> 16),
    ]
}

/// Hash of a page.
pub fn hash_page(page: &Page) -> Digest {
    sponge().hash_iter(page.iter().flat_map(|&word| word_elements(word)))
}

/// Parent of two sibling nodes of the memory tree.
pub fn compress(left: Digest, right: Digest) -> Digest {
    compression().compress([left, right])
}

/// The memory Merkle tree over all pages, stored sparsely: only nodes that differ from the
/// hash of an all-zero subtree are kept.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    /// `zero[level]`: the node of an all-zero subtree with its leaves `level` levels below.
    zero: Vec<Digest>,
    /// `nodes[level][index]`; level 0 holds page hashes, level [`DEPTH`] the root.
    nodes: Vec<HashMap<u32, Digest>>,
}

impl Default for MemoryTree {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTree {
    /// The tree of all-zero memory.
    pub fn new() -> Self {
        static ZERO: OnceLock<Vec<Digest>> = OnceLock::new();
        let zero = ZERO
            .get_or_init(|| {
                let mut zero = vec![hash_page(&[0; PAGE_WORDS])];
                for level in 0..DEPTH {
                    zero.push(compress(zero[level], zero[level]));
                }
                zero
            })
            .clone();
        Self {
            zero,
            nodes: vec![HashMap::new(); DEPTH + 1],
        }
    }

    /// The tree of memory holding `pages` (page index, contents) and zeros elsewhere.
    pub fn from_pages<'a>(pages: impl IntoIterator<Item = (u32, &'a Page)>) -> Self {
        let mut tree = Self::new();
        for (index, page) in pages {
            tree.set_page(index, page);
        }
        tree
    }

    fn node(&self, level: usize, index: u32) -> Digest {
        self.nodes[level]
            .get(&index)
            .copied()
            .unwrap_or(self.zero[level])
    }

    fn set_node(&mut self, level: usize, index: u32, digest: Digest) {
        if digest == self.zero[level] {
            self.nodes[level].remove(&index);
        } else {
            self.nodes[level].insert(index, digest);
        }
    }

    /// Replaces page `index` and updates its path to the root.
    pub fn set_page(&mut self, index: u32, page: &Page) {
        assert!(index < memory::PAGE_COUNT, "page {index} is outside memory");
        let mut digest = hash_page(page);
        let mut position = index;
        self.set_node(0, position, digest);
        for level in 0..DEPTH {
            let sibling = self.node(level, position ^ 1);
            digest = if position & 1 == 0 {
                compress(digest, sibling)
            } else {
                compress(sibling, digest)
            };
            position >>= 1;
            self.set_node(level + 1, position, digest);
        }
    }

    pub fn root(&self) -> Digest {
        self.node(DEPTH, 0)
    }

    /// The nodes a proof needs besides `pages` (sorted, distinct page indices) to recompute the
    /// root: the siblings of the union of their paths that are not themselves on any of those
    /// paths, sorted by level, then index. They stay the same when only `pages` change.
    pub fn siblings_of(&self, pages: &[u32]) -> Vec<TreeNode> {
        let mut siblings = Vec::new();
        let mut level_nodes = pages.to_vec();
        for level in 0..DEPTH {
            for (position, &index) in level_nodes.iter().enumerate() {
                let sibling = index ^ 1;
                let on_path = if sibling < index {
                    position > 0 && level_nodes[position - 1] == sibling
                } else {
                    level_nodes.get(position + 1) == Some(&sibling)
                };
                if !on_path {
                    let digest = self.node(level, sibling);
                    siblings.push(TreeNode {
                        level: level as u32,
                        index: sibling,
                        digest,
                    });
                }
            }
            level_nodes = level_nodes.iter().map(|index| index >> 1).collect();
            level_nodes.dedup();
        }
        siblings
    }

    /// The siblings on the path from page `index` to the root, leaf level first.
    pub fn path(&self, index: u32) -> Vec<Digest> {
        (0..DEPTH)
            .map(|level| self.node(level, (index >> level) ^ 1))
            .collect()
    }
}

/// A node of the memory tree: `level` 0 holds page hashes, level [`DEPTH`] the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeNode {
    pub level: u32,
    pub index: u32,
    pub digest: Digest,
}

/// Whether `siblings` prove that `page` is page `index` of the tree with `root`.
pub fn verify_path(root: Digest, index: u32, page: &Page, siblings: &[Digest]) -> bool {
    if siblings.len() != DEPTH || index >= memory::PAGE_COUNT {
        return false;
    }
    let mut digest = hash_page(page);
    for (level, &sibling) in siblings.iter().enumerate() {
        digest = if (index >> level) & 1 == 0 {
            compress(digest, sibling)
        } else {
            compress(sibling, digest)
        };
    }
    digest == root
}

/// The identity of a guest program: what every proof of it is checked against.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProgramCommitment(pub Digest);

impl ProgramCommitment {
    /// Commitment to a program starting at `entry`, with text ending at `text_end`, whose
    /// initial memory has Merkle root `memory_root` (registers start at zero).
    pub fn new(entry: u32, text_end: u32, memory_root: Digest) -> Self {
        let header = [PROGRAM_DOMAIN, ZKVM_VERSION].map(BabyBear::from_u32);
        let elements = header
            .into_iter()
            .chain(word_elements(entry))
            .chain(word_elements(text_end))
            .chain(memory_root);
        Self(sponge().hash_iter(elements))
    }

    /// The eight elements as little-endian `u32`s: the 32-byte form used on chain and on disk.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        for (chunk, element) in bytes.chunks_exact_mut(4).zip(self.0) {
            chunk.copy_from_slice(&element.as_canonical_u32().to_le_bytes());
        }
        bytes
    }

    /// The inverse of [`Self::to_bytes`]; `None` if an element is not canonical.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        let mut digest = [BabyBear::ZERO; 8];
        for (element, chunk) in digest.iter_mut().zip(bytes.chunks_exact(4)) {
            let value = u32::from_le_bytes(chunk.try_into().expect("chunks of 4"));
            if value >= BabyBear::ORDER_U32 {
                return None;
            }
            *element = BabyBear::from_u32(value);
        }
        Some(Self(digest))
    }
}

impl fmt::Display for ProgramCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_bytes()
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for ProgramCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProgramCommitment({self})")
    }
}

/// Why a string is not a program commitment.
#[derive(Debug, thiserror::Error)]
#[error("a program commitment is 64 hex digits encoding 8 canonical BabyBear elements")]
pub struct ParseCommitmentError;

impl FromStr for ProgramCommitment {
    type Err = ParseCommitmentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(ParseCommitmentError);
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| ParseCommitmentError)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| ParseCommitmentError)?;
        }
        Self::from_bytes(&bytes).ok_or(ParseCommitmentError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_tree_matches_paths() {
        let mut page = [0u32; PAGE_WORDS];
        page[3] = 0xdead_beef;
        let tree = MemoryTree::from_pages([(5, &page), (memory::PAGE_COUNT - 1, &page)]);
        assert!(verify_path(tree.root(), 5, &page, &tree.path(5)));
        assert!(verify_path(tree.root(), 6, &[0; PAGE_WORDS], &tree.path(6)));
        assert!(!verify_path(tree.root(), 6, &page, &tree.path(6)));
        assert!(!verify_path(tree.root(), 4, &page, &tree.path(5)));
    }

    #[test]
    fn siblings_and_touched_pages_recompute_the_root() {
        let mut page = [0u32; PAGE_WORDS];
        page[7] = 0x1234_5678;
        let tree = MemoryTree::from_pages([(64, &page), (70, &page), (300_000, &page)]);
        let touched = [64u32, 65, 70];
        let siblings = tree.siblings_of(&touched);
        // Recompute the root from the touched pages and the siblings alone.
        let mut nodes: std::collections::BTreeMap<(u32, u32), Digest> = touched
            .iter()
            .map(|&index| {
                let contents = if index == 65 { [0; PAGE_WORDS] } else { page };
                ((0, index), hash_page(&contents))
            })
            .collect();
        nodes.extend(
            siblings
                .iter()
                .map(|node| ((node.level, node.index), node.digest)),
        );
        for level in 0..DEPTH as u32 {
            let parents: Vec<u32> = nodes
                .keys()
                .filter(|(l, _)| *l == level)
                .map(|(_, i)| i >> 1)
                .collect();
            for parent in parents {
                let left = nodes[&(level, 2 * parent)];
                let right = nodes[&(level, 2 * parent + 1)];
                nodes.insert((level + 1, parent), compress(left, right));
            }
        }
        assert_eq!(nodes[&(DEPTH as u32, 0)], tree.root());
        // 64 and 65 share a parent: neither is the other's missing sibling.
        assert!(
            !siblings
                .iter()
                .any(|node| node.level == 0 && node.index == 65)
        );
        assert!(
            siblings
                .iter()
                .any(|node| node.level == 0 && node.index == 71)
        );
    }

    #[test]
    fn zero_pages_leave_the_empty_root() {
        let mut tree = MemoryTree::new();
        let empty = tree.root();
        let mut page = [0u32; PAGE_WORDS];
        page[0] = 1;
        tree.set_page(9, &page);
        assert_ne!(tree.root(), empty);
        tree.set_page(9, &[0; PAGE_WORDS]);
        assert_eq!(tree.root(), empty);
        assert!(tree.nodes.iter().all(HashMap::is_empty));
    }

    #[test]
    fn commitment_round_trips_through_text() {
        let commitment = ProgramCommitment::new(0x1_0000, 0x1_0400, MemoryTree::new().root());
        let text = commitment.to_string();
        assert_eq!(text.parse::<ProgramCommitment>().unwrap(), commitment);
        assert!("00".parse::<ProgramCommitment>().is_err());
        assert!("ff".repeat(32).parse::<ProgramCommitment>().is_err());
        assert_ne!(
            ProgramCommitment::new(0x1_0004, 0x1_0400, MemoryTree::new().root()),
            commitment
        );
    }
}

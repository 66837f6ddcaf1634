//! The account tree: a sparse Merkle tree of depth [`TREE_DEPTH`] keyed by account id, whose
//! leaves are the hashes of the accounts' borsh encodings ([`leaf_digest`]) and whose empty
//! leaves are [`EMPTY_LEAF`]. With the hash of the global state it forms the state root
//! ([`state_root`]).
//!
//! Only nodes that differ from an empty subtree are stored. A [`MerkleProof`] (the siblings
//! from the leaf up) shows membership of one leaf under a root and, replayed with a new leaf,
//! gives the root after an update (what an escape hatch needs for one account). A
//! [`MultiProof`] does the same for many leaves at once, each node of the union of their
//! paths computed once: that is how a guest checks a batch's accounts against the prior
//! root and computes the new one without holding the tree. Account ids are dense from 0, so
//! the paths of a batch's accounts share most of their nodes (all those above the level of
//! the number of accounts), and a batch of `k` accounts among `n` costs about
//! `k * log2(n / k) + 32` nodes instead of `32 * k`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;

use crate::AccountId;
use crate::account::Account;
use crate::exchange::GlobalState;
use crate::hash::{
    Digest, GLOBAL_DOMAIN, LEAF_DOMAIN, Permutation, compress, hash_bytes, is_canonical,
};

/// Levels below the root: every `u32` account id has a leaf.
pub const TREE_DEPTH: usize = 32;
/// The leaf of an account id no account holds.
pub const EMPTY_LEAF: Digest = [0; 8];

/// The leaf of an account.
pub fn leaf_digest<P: Permutation + ?Sized>(permutation: &P, account: &Account) -> Digest {
    let mut bytes = Vec::new();
    // Serializing into a Vec cannot fail.
    let _ = account.serialize(&mut bytes);
    hash_bytes(permutation, LEAF_DOMAIN, &bytes)
}

/// The leaf of an optional account.
pub fn optional_leaf<P: Permutation + ?Sized>(
    permutation: &P,
    account: Option<&Account>,
) -> Digest {
    account.map_or(EMPTY_LEAF, |account| leaf_digest(permutation, account))
}

/// The state commitment: `compress(accounts root, hash of the global state's borsh bytes)`.
pub fn state_root<P: Permutation + ?Sized>(
    permutation: &P,
    accounts_root: &Digest,
    global: &GlobalState,
) -> Digest {
    let mut bytes = Vec::new();
    let _ = global.serialize(&mut bytes);
    compress(
        permutation,
        accounts_root,
        &hash_bytes(permutation, GLOBAL_DOMAIN, &bytes),
    )
}

/// The sparse Merkle tree of all accounts.
#[derive(Clone, Debug)]
pub struct AccountTree {
    /// `nodes[level]` maps a node's index within its level to its digest, for nodes that
    /// differ from an empty subtree; level 0 holds leaves.
    nodes: Vec<BTreeMap<u32, Digest>>,
    /// `empty[level]`: the root of an empty subtree of that height.
    empty: Vec<Digest>,
    root: Digest,
}

impl AccountTree {
    /// The empty tree.
    pub fn new<P: Permutation + ?Sized>(permutation: &P) -> Self {
        let mut empty = Vec::with_capacity(TREE_DEPTH + 1);
        let mut node = EMPTY_LEAF;
        empty.push(node);
        for _ in 0..TREE_DEPTH {
            node = compress(permutation, &node, &node);
            empty.push(node);
        }
        Self {
            nodes: alloc::vec![BTreeMap::new(); TREE_DEPTH],
            empty,
            root: node,
        }
    }

    /// The tree of these accounts.
    pub fn from_accounts<'a, P: Permutation + ?Sized>(
        permutation: &P,
        accounts: impl IntoIterator<Item = (AccountId, &'a Account)>,
    ) -> Self {
        let mut tree = Self::new(permutation);
        for (id, account) in accounts {
            tree.set(permutation, id, leaf_digest(permutation, account));
        }
        tree
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.root
    }

    fn node(&self, level: usize, index: u32) -> Digest {
        self.nodes
            .get(level)
            .and_then(|nodes| nodes.get(&index))
            .or_else(|| self.empty.get(level))
            .copied()
            .unwrap_or(EMPTY_LEAF)
    }

    /// Sets the leaf of account `id` and updates its path.
    pub fn set<P: Permutation + ?Sized>(&mut self, permutation: &P, id: AccountId, leaf: Digest) {
        let mut digest = leaf;
        let mut position = id;
        for level in 0..TREE_DEPTH {
            let empty = self.empty.get(level).copied().unwrap_or(EMPTY_LEAF);
            if let Some(nodes) = self.nodes.get_mut(level) {
                if digest == empty {
                    nodes.remove(&position);
                } else {
                    nodes.insert(position, digest);
                }
            }
            let sibling = self.node(level, position ^ 1);
            digest = if position & 1 == 0 {
                compress(permutation, &digest, &sibling)
            } else {
                compress(permutation, &sibling, &digest)
            };
            position >>= 1;
        }
        self.root = digest;
    }

    /// The leaf of account `id`.
    pub fn leaf(&self, id: AccountId) -> Digest {
        self.node(0, id)
    }

    /// The multiproof of the leaves of `ids` (ascending, distinct) under the current root.
    pub fn multiproof(&self, ids: &[AccountId]) -> MultiProof {
        let mut siblings = Vec::new();
        let mut positions = ids.to_vec();
        for level in 0..TREE_DEPTH {
            let mut parents = Vec::with_capacity(positions.len().div_ceil(2));
            let mut index = 0;
            while let Some(&position) = positions.get(index) {
                if position & 1 == 0 && positions.get(index + 1) == Some(&(position + 1)) {
                    index += 2;
                } else {
                    siblings.push(self.node(level, position ^ 1));
                    index += 1;
                }
                parents.push(position >> 1);
            }
            positions = parents;
        }
        MultiProof { siblings }
    }

    /// The proof of account `id`'s leaf under the current root.
    pub fn proof(&self, id: AccountId) -> MerkleProof {
        let siblings = (0..TREE_DEPTH)
            .map(|level| self.node(level, (id >> level) ^ 1))
            .collect();
        MerkleProof { siblings }
    }
}

/// The nodes beside the union of some leaves' paths, in the order [`MultiProof::update`]
/// consumes them: level by level from the leaves up, by index within a level, one for each
/// node of the union whose sibling is not itself in the union.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MultiProof {
    pub siblings: Vec<Digest>,
}

impl MultiProof {
    /// Update: checks the leaves' old values under `root` and returns the root with their new
    /// values. `leaves` are `(id, old leaf, new leaf)` by ascending id; with none, `root` is
    /// unchanged. A subtree whose leaves did not change is hashed once.
    pub fn update<P: Permutation + ?Sized>(
        &self,
        permutation: &P,
        root: &Digest,
        leaves: &[(AccountId, Digest, Digest)],
    ) -> Result<Digest, ProofError> {
        if leaves.windows(2).any(|pair| pair[0].0 >= pair[1].0) {
            return Err(ProofError::LeavesOutOfOrder);
        }
        if leaves.is_empty() {
            return if self.siblings.is_empty() {
                Ok(*root)
            } else {
                Err(ProofError::WrongLength)
            };
        }
        if !self.siblings.iter().all(is_canonical)
            || !leaves
                .iter()
                .all(|(_, old, new)| is_canonical(old) && is_canonical(new))
        {
            return Err(ProofError::NonCanonical);
        }
        let mut nodes: Vec<(u32, Digest, Digest)> = leaves.to_vec();
        let mut siblings = self.siblings.iter();
        for _ in 0..TREE_DEPTH {
            let mut parents = Vec::with_capacity(nodes.len().div_ceil(2));
            let mut index = 0;
            while let Some(&(position, old, new)) = nodes.get(index) {
                let pair = match nodes.get(index + 1) {
                    Some(&(next, next_old, next_new))
                        if position & 1 == 0 && next == position + 1 =>
                    {
                        index += 2;
                        [(old, new), (next_old, next_new)]
                    }
                    _ => {
                        index += 1;
                        let sibling = *siblings.next().ok_or(ProofError::WrongLength)?;
                        if position & 1 == 0 {
                            [(old, new), (sibling, sibling)]
                        } else {
                            [(sibling, sibling), (old, new)]
                        }
                    }
                };
                let [(left_old, left_new), (right_old, right_new)] = pair;
                let parent_old = compress(permutation, &left_old, &right_old);
                let parent_new = if left_old == left_new && right_old == right_new {
                    parent_old
                } else {
                    compress(permutation, &left_new, &right_new)
                };
                parents.push((position >> 1, parent_old, parent_new));
            }
            nodes = parents;
        }
        if siblings.next().is_some() {
            return Err(ProofError::WrongLength);
        }
        match nodes.as_slice() {
            [(_, old, new)] if old == root => Ok(*new),
            _ => Err(ProofError::RootMismatch),
        }
    }
}

/// The siblings of a leaf's path, leaf level first.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct MerkleProof {
    pub siblings: Vec<Digest>,
}

/// Why a proof was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// Not exactly [`TREE_DEPTH`] siblings.
    WrongLength,
    /// A sibling holds a non-canonical element.
    NonCanonical,
    /// The leaf is not under the expected root.
    RootMismatch,
    /// A multiproof's leaves are not by ascending, distinct id.
    LeavesOutOfOrder,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongLength => "proof has the wrong number of siblings",
            Self::NonCanonical => "proof holds a non-canonical field element",
            Self::RootMismatch => "leaf is not under the expected root",
            Self::LeavesOutOfOrder => "leaves out of order",
        })
    }
}

impl MerkleProof {
    /// The root of the tree holding `leaf` at `id` with these siblings.
    pub fn root<P: Permutation + ?Sized>(
        &self,
        permutation: &P,
        id: AccountId,
        leaf: &Digest,
    ) -> Result<Digest, ProofError> {
        if self.siblings.len() != TREE_DEPTH {
            return Err(ProofError::WrongLength);
        }
        if !is_canonical(leaf) || !self.siblings.iter().all(is_canonical) {
            return Err(ProofError::NonCanonical);
        }
        let mut digest = *leaf;
        for (level, sibling) in self.siblings.iter().enumerate() {
            digest = if (id >> level) & 1 == 0 {
                compress(permutation, &digest, sibling)
            } else {
                compress(permutation, sibling, &digest)
            };
        }
        Ok(digest)
    }

    /// Membership: whether `leaf` is account `id`'s leaf under `root`.
    pub fn verify<P: Permutation + ?Sized>(
        &self,
        permutation: &P,
        root: &Digest,
        id: AccountId,
        leaf: &Digest,
    ) -> bool {
        self.root(permutation, id, leaf)
            .is_ok_and(|computed| computed == *root)
    }

    /// Update: checks `old_leaf` under `root` and returns the root with `new_leaf` instead.
    pub fn update<P: Permutation + ?Sized>(
        &self,
        permutation: &P,
        root: &Digest,
        id: AccountId,
        old_leaf: &Digest,
        new_leaf: &Digest,
    ) -> Result<Digest, ProofError> {
        if self.root(permutation, id, old_leaf)? != *root {
            return Err(ProofError::RootMismatch);
        }
        self.root(permutation, id, new_leaf)
    }
}

#[cfg(all(test, feature = "native-poseidon2"))]
mod tests {
    use super::*;
    use crate::hash::NativePoseidon2;

    #[test]
    fn proofs_show_membership_and_updates() {
        let permutation = NativePoseidon2::default();
        let mut tree = AccountTree::new(&permutation);
        let empty_root = tree.root();
        let alice = Account::new([1; 32]);
        let mut bob = Account::new([2; 32]);
        tree.set(&permutation, 0, leaf_digest(&permutation, &alice));
        tree.set(&permutation, 5, leaf_digest(&permutation, &bob));
        let root = tree.root();
        assert_ne!(root, empty_root);

        let proof = tree.proof(5);
        let bob_leaf = leaf_digest(&permutation, &bob);
        assert!(proof.verify(&permutation, &root, 5, &bob_leaf));
        assert!(
            !proof.verify(&permutation, &root, 4, &bob_leaf),
            "wrong position"
        );
        assert!(
            tree.proof(9).verify(&permutation, &root, 9, &EMPTY_LEAF),
            "non-membership"
        );

        bob.collateral = 100;
        let new_leaf = leaf_digest(&permutation, &bob);
        let updated = proof
            .update(&permutation, &root, 5, &bob_leaf, &new_leaf)
            .unwrap();
        tree.set(&permutation, 5, new_leaf);
        assert_eq!(updated, tree.root());
        assert_eq!(
            proof.update(&permutation, &root, 5, &new_leaf, &bob_leaf),
            Err(ProofError::RootMismatch)
        );

        tree.set(&permutation, 5, EMPTY_LEAF);
        tree.set(&permutation, 0, EMPTY_LEAF);
        assert_eq!(tree.root(), empty_root, "emptied subtrees are forgotten");
        assert!(tree.nodes.iter().all(BTreeMap::is_empty));
    }

    #[test]
    fn multiproofs_update_many_leaves_at_once() {
        let permutation = NativePoseidon2::default();
        let mut tree = AccountTree::new(&permutation);
        let leaf = |seed: u32| [seed % crate::hash::BABY_BEAR_MODULUS; 8];
        for id in 0..40 {
            tree.set(&permutation, id, leaf(id + 1));
        }
        let root = tree.root();
        // Pairs of siblings, lone leaves, a new account past the end and one far away.
        let ids = [0, 1, 4, 7, 8, 21, 39, 40, 1 << 30];
        let proof = tree.multiproof(&ids);
        let leaves: Vec<_> = ids
            .iter()
            .map(|&id| (id, tree.leaf(id), leaf(id.wrapping_mul(7) + 3)))
            .collect();
        let updated = proof.update(&permutation, &root, &leaves).unwrap();
        for &(id, _, new) in &leaves {
            tree.set(&permutation, id, new);
        }
        assert_eq!(updated, tree.root());
        assert!(
            proof.siblings.len() < 32 * ids.len() / 2,
            "shared nodes are sent once"
        );

        let unchanged: Vec<_> = leaves.iter().map(|&(id, old, _)| (id, old, old)).collect();
        assert_eq!(proof.update(&permutation, &root, &unchanged), Ok(root));
        assert_eq!(
            proof.update(&permutation, &updated, &leaves),
            Err(ProofError::RootMismatch)
        );
        let mut reversed = leaves.clone();
        reversed.reverse();
        assert_eq!(
            proof.update(&permutation, &root, &reversed),
            Err(ProofError::LeavesOutOfOrder)
        );
        assert_eq!(
            proof.update(&permutation, &root, &leaves[1..]),
            Err(ProofError::WrongLength),
            "a proof for other leaves"
        );
        let mut short = proof.clone();
        short.siblings.pop();
        assert_eq!(
            short.update(&permutation, &root, &leaves),
            Err(ProofError::WrongLength)
        );
        let mut odd = proof.clone();
        odd.siblings[2][1] = crate::hash::BABY_BEAR_MODULUS;
        assert_eq!(
            odd.update(&permutation, &root, &leaves),
            Err(ProofError::NonCanonical)
        );
        assert_eq!(
            MultiProof::default().update(&permutation, &root, &[]),
            Ok(root)
        );
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let permutation = NativePoseidon2::default();
        let tree = AccountTree::new(&permutation);
        let mut proof = tree.proof(3);
        proof.siblings[4][0] = crate::hash::BABY_BEAR_MODULUS;
        assert_eq!(
            proof.root(&permutation, 3, &EMPTY_LEAF),
            Err(ProofError::NonCanonical)
        );
        proof.siblings.pop();
        assert_eq!(
            proof.root(&permutation, 3, &EMPTY_LEAF),
            Err(ProofError::WrongLength)
        );
    }
}

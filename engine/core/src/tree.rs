//! The account tree: a sparse Merkle tree of depth [`TREE_DEPTH`] keyed by account id, whose
//! leaves are the hashes of the accounts' borsh encodings ([`leaf_digest`]) and whose empty
//! leaves are [`EMPTY_LEAF`]. With the hash of the global state it forms the state root
//! ([`state_root`]).
//!
//! Only nodes that differ from an empty subtree are stored. A [`MerkleProof`] (the siblings
//! from the leaf up) shows membership of a leaf under a root and, replayed with a new leaf,
//! gives the root after an update: that is how a guest checks a batch's accounts against the
//! prior root and computes the new one without holding the tree.

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

    /// The proof of account `id`'s leaf under the current root.
    pub fn proof(&self, id: AccountId) -> MerkleProof {
        let siblings = (0..TREE_DEPTH)
            .map(|level| self.node(level, (id >> level) ^ 1))
            .collect();
        MerkleProof { siblings }
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
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongLength => "proof has the wrong number of siblings",
            Self::NonCanonical => "proof holds a non-canonical field element",
            Self::RootMismatch => "leaf is not under the expected root",
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

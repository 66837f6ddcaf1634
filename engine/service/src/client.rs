//! Client side of the API for the load generator, the tests and demos: signing actions with
//! the development keys and encoding them as the API takes them.

use gnomon_core::AccountId;
use gnomon_core::action::{Action, SignedAction};
use gnomon_sim::{public_key, sign};

/// Hex of the borsh encoding: an action as `POST /v1/actions` takes it.
pub fn encode(action: &SignedAction) -> String {
    hex::encode(borsh::to_vec(action).expect("encoding into a Vec cannot fail"))
}

/// A trader signing with the development key of `seed`, nonces counting up from 1.
#[derive(Clone, Debug)]
pub struct Trader {
    pub seed: u32,
    pub account: AccountId,
    pub nonce: u64,
}

impl Trader {
    pub fn new(seed: u32, account: AccountId) -> Self {
        Self {
            seed,
            account,
            nonce: 0,
        }
    }

    /// The owner key, as the faucet takes it.
    pub fn owner_hex(&self) -> String {
        hex::encode(public_key(self.seed))
    }

    /// `action` with the next nonce, signed and encoded.
    pub fn sign(&mut self, action: Action) -> String {
        self.nonce += 1;
        encode(&sign(self.seed, self.account, self.nonce, action))
    }
}

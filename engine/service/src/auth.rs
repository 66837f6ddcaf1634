//! Admission of trader actions before they reach the sequencer: decoding, signature checks
//! (done here, on the API's threads, so the sequencer's one thread never verifies) and rate
//! limits per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use borsh::BorshDeserialize;
use gnomon_core::action::{Ed25519Verifier, SignatureVerifier, SignedAction, action_message};

/// A trader action whose signature has been checked against the exchange's message format.
#[derive(Clone, Debug)]
pub struct Verified {
    action: SignedAction,
    message: Vec<u8>,
}

/// Why an action was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    #[error("the action is not a borsh-encoded SignedAction")]
    Malformed,
    #[error("the signature does not verify for the action's key")]
    BadSignature,
}

impl Verified {
    /// Decodes `bytes` (borsh `SignedAction`, nothing after it) and verifies its signature.
    pub fn decode(bytes: &[u8], exchange_id: &[u8; 32]) -> Result<Self, AdmissionError> {
        let action = SignedAction::try_from_slice(bytes).map_err(|_| AdmissionError::Malformed)?;
        Self::check(action, exchange_id)
    }

    /// Verifies `action`'s signature.
    pub fn check(action: SignedAction, exchange_id: &[u8; 32]) -> Result<Self, AdmissionError> {
        let message = action_message(exchange_id, action.account, action.nonce, &action.action);
        if !Ed25519Verifier.verify(&action.trader, &message, &action.signature) {
            return Err(AdmissionError::BadSignature);
        }
        Ok(Self { action, message })
    }

    pub fn action(&self) -> &SignedAction {
        &self.action
    }
}

/// The state machine asks for the one signature of the action it applies; this answers for
/// exactly that key, message and signature, which [`Verified::check`] verified.
impl SignatureVerifier for Verified {
    fn verify(&self, public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        *public_key == self.action.trader
            && *signature == self.action.signature
            && message == self.message.as_slice()
    }
}

/// Keys tracked before idle ones are forgotten.
const MAX_TRACKED_KEYS: usize = 100_000;

/// Token buckets per signing key: `burst` actions at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    /// Tokens left and when they were counted, per key.
    keys: HashMap<[u8; 32], (f64, Instant)>,
    pruned: Option<Instant>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(Buckets::default()),
        }
    }

    /// Takes `count` tokens from `key`'s bucket; false (and nothing taken) when it has fewer.
    pub fn admit(&self, key: &[u8; 32], count: usize, now: Instant) -> bool {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let Buckets { keys, pruned } = &mut *buckets;
        if keys.len() >= MAX_TRACKED_KEYS && !keys.contains_key(key) {
            // Keys are free to make: forget those whose buckets have refilled (they would
            // start full anyway), at most once a second; while the table stays full of busy
            // keys, new keys wait.
            if pruned.is_none_or(|pruned| now.saturating_duration_since(pruned).as_secs() >= 1) {
                *pruned = Some(now);
                let (per_second, burst) = (self.per_second, self.burst);
                keys.retain(|_, (tokens, last)| {
                    *tokens + now.saturating_duration_since(*last).as_secs_f64() * per_second
                        < burst
                });
            }
            if keys.len() >= MAX_TRACKED_KEYS {
                return false;
            }
        }
        let (tokens, last) = keys.entry(*key).or_insert((self.burst, now));
        let elapsed = now.saturating_duration_since(*last).as_secs_f64();
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *last = now;
        let wanted = count as f64;
        if *tokens < wanted {
            return false;
        }
        *tokens -= wanted;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use gnomon_core::action::Action;
    use gnomon_sim::{EXCHANGE_ID, sign};

    fn cancel_all() -> Action {
        Action::CancelAll { market: None }
    }

    #[test]
    fn only_the_verified_signature_is_vouched_for() {
        let signed = sign(7, 3, 1, cancel_all());
        let verified = Verified::decode(&borsh::to_vec(&signed).unwrap(), &EXCHANGE_ID).unwrap();
        let message = action_message(&EXCHANGE_ID, 3, 1, &cancel_all());
        assert!(verified.verify(&signed.trader, &message, &signed.signature));
        let other = action_message(&EXCHANGE_ID, 3, 2, &cancel_all());
        assert!(!verified.verify(&signed.trader, &other, &signed.signature));
        assert!(!verified.verify(&[9; 32], &message, &signed.signature));
    }

    #[test]
    fn tampered_or_malformed_actions_are_refused() {
        let mut signed = sign(7, 3, 1, cancel_all());
        let bytes = borsh::to_vec(&signed).unwrap();
        assert_eq!(
            Verified::decode(&bytes[..bytes.len() - 1], &EXCHANGE_ID).unwrap_err(),
            AdmissionError::Malformed
        );
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Verified::decode(&trailing, &EXCHANGE_ID).unwrap_err(),
            AdmissionError::Malformed
        );
        signed.nonce = 2;
        assert_eq!(
            Verified::check(signed, &EXCHANGE_ID).unwrap_err(),
            AdmissionError::BadSignature
        );
        assert_eq!(
            Verified::check(sign(7, 3, 1, cancel_all()), &[0; 32]).unwrap_err(),
            AdmissionError::BadSignature
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_are_refused_or_verified_never_a_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)
        ) {
            if let Ok(verified) = Verified::decode(&bytes, &EXCHANGE_ID) {
                proptest::prop_assert_eq!(borsh::to_vec(verified.action()).unwrap(), bytes);
            }
        }

        #[test]
        fn any_flipped_bit_of_a_signed_action_is_refused(bit in 0usize..(8 * 123)) {
            let mut bytes = borsh::to_vec(&sign(7, 3, 1, cancel_all())).unwrap();
            proptest::prop_assume!(bit / 8 < bytes.len());
            bytes[bit / 8] ^= 1 << (bit % 8);
            proptest::prop_assert!(Verified::decode(&bytes, &EXCHANGE_ID).is_err());
        }
    }

    #[test]
    fn idle_keys_are_forgotten_once_the_table_is_full() {
        let limiter = RateLimiter::new(10, 5);
        let start = Instant::now();
        for index in 0..MAX_TRACKED_KEYS as u32 {
            let mut key = [0; 32];
            key[..4].copy_from_slice(&index.to_le_bytes());
            assert!(limiter.admit(&key, 1, start));
        }
        // Full of busy keys: a new key waits.
        assert!(!limiter.admit(&[0xFE; 32], 1, start));
        assert!(limiter.admit(&[0xFF; 32], 5, start + Duration::from_secs(1)));
        assert_eq!(limiter.buckets.lock().unwrap().keys.len(), 1);
        assert!(!limiter.admit(&[0xFF; 32], 5, start + Duration::from_secs(1)));
    }

    #[test]
    fn buckets_refill_at_their_rate_and_never_beyond_the_burst() {
        let limiter = RateLimiter::new(10, 5);
        let start = Instant::now();
        assert!(limiter.admit(&[1; 32], 5, start));
        assert!(!limiter.admit(&[1; 32], 1, start));
        assert!(limiter.admit(&[2; 32], 1, start));
        assert!(limiter.admit(&[1; 32], 1, start + Duration::from_millis(100)));
        assert!(!limiter.admit(&[1; 32], 6, start + Duration::from_secs(60)));
    }
}

//! The rekey state machine (`sys/rekey/init|update|verify`) as plain data.
//!
//! Phases: collect shares of the *current* unseal (or recovery) key → the
//! caller checks the reconstructed key really opens the root key (that is
//! I/O, so it is the node's) and calls [`RekeyOperation::generate`] → a new
//! random key is split into new shares → either done, or, with
//! `require_verification`, shares of the *new* key are collected until they
//! prove the holders got them ([`RekeyOperation::verify_add`]). Only then
//! may the caller install the new key.

use std::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::config::null_as_default;
use crate::error::SealError;
use crate::progress::KeyCollector;
use crate::rng::{self, KEY_LEN};
use crate::shamir;

/// The body of `PUT sys/rekey/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyConfig {
    /// Number of new shares (n).
    pub secret_shares: u8,
    /// Shares needed to rebuild the new key (t).
    pub secret_threshold: u8,
    /// PGP keys to encrypt the new shares with; must be empty (unsupported).
    #[serde(default, deserialize_with = "null_as_default")]
    pub pgp_keys: Vec<String>,
    /// Keep a backup of PGP-encrypted shares; needs PGP, so must be false.
    #[serde(default)]
    pub backup: bool,
    /// Require holders of the new shares to prove them before switching.
    #[serde(default)]
    pub require_verification: bool,
}

impl RekeyConfig {
    /// Checks the request the way Vault's rekey init does.
    pub fn validate(&self) -> Result<(), SealError> {
        if !self.pgp_keys.is_empty() {
            return Err(SealError::PgpNotSupported);
        }
        if self.backup {
            return Err(SealError::InvalidRequest(
                "cannot request a backup of the new keys without providing PGP keys for encryption"
                    .to_owned(),
            ));
        }
        shamir::validate_params(self.secret_shares, self.secret_threshold)
    }
}

/// `GET sys/rekey/init` (and an unfinished `PUT sys/rekey/update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RekeyStatus {
    /// The operation's nonce.
    pub nonce: String,
    /// Whether an operation is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u8,
    /// New share count.
    pub n: u8,
    /// Current-key shares given so far.
    pub progress: u8,
    /// Current-key shares needed.
    pub required: u8,
    /// Always empty: PGP is not supported.
    pub pgp_fingerprints: Vec<String>,
    /// Whether a backup of PGP-encrypted shares was asked for (always false).
    pub backup: bool,
    /// Whether the new shares must be verified before the switch.
    pub verification_required: bool,
    /// Nonce of the verification phase; omitted until it starts.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

impl RekeyStatus {
    /// The status when no rekey is in progress.
    pub fn idle(required: u8) -> Self {
        Self {
            nonce: String::new(),
            started: false,
            t: 0,
            n: 0,
            progress: 0,
            required,
            pgp_fingerprints: Vec::new(),
            backup: false,
            verification_required: false,
            verification_nonce: String::new(),
        }
    }
}

/// The finished `PUT sys/rekey/update`: the new shares, hex and base64.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct RekeyUpdateResponse {
    /// The operation's nonce.
    pub nonce: String,
    /// Whether the operation finished.
    pub complete: bool,
    /// The new shares, hex.
    pub keys: Vec<String>,
    /// The new shares, standard base64.
    pub keys_base64: Vec<String>,
    /// Always empty: PGP is not supported.
    pub pgp_fingerprints: Vec<String>,
    /// Whether a backup of PGP-encrypted shares was asked for (always false).
    pub backup: bool,
    /// Whether the new shares must be verified before the switch.
    pub verification_required: bool,
    /// Nonce of the verification phase; omitted until it starts.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verification_nonce: String,
}

impl fmt::Debug for RekeyUpdateResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RekeyUpdateResponse")
            .field("nonce", &self.nonce)
            .field("complete", &self.complete)
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("verification_required", &self.verification_required)
            .field("verification_nonce", &self.verification_nonce)
            .finish_non_exhaustive()
    }
}

/// `GET sys/rekey/verify` (and an unfinished `PUT sys/rekey/verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RekeyVerificationStatus {
    /// The verification nonce.
    pub nonce: String,
    /// Whether an operation is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u8,
    /// New share count.
    pub n: u8,
    /// New-key shares given so far.
    pub progress: u8,
}

/// The finished `PUT sys/rekey/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RekeyVerifyResponse {
    /// The verification nonce.
    pub nonce: String,
    /// Whether the operation finished.
    pub complete: bool,
}

/// What [`RekeyOperation::generate`] made.
pub struct RekeyOutput {
    /// The rekey operation's nonce.
    pub nonce: String,
    /// The new shares (one share, the key itself, when `secret_shares` is 1).
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Whether a backup of PGP-encrypted shares was asked for (always false).
    pub backup: bool,
    /// Whether the new shares must be verified before the switch.
    pub verification_required: bool,
    /// Set when verification is required: the nonce for `sys/rekey/verify`.
    pub verification_nonce: Option<String>,
    /// The new unseal key, to install now. `None` while verification is
    /// pending: then [`RekeyOperation::verify_add`] hands it over.
    pub new_key: Option<Zeroizing<Vec<u8>>>,
}

impl RekeyOutput {
    /// The JSON body Vault returns for the completing `sys/rekey/update`.
    pub fn response(&self) -> RekeyUpdateResponse {
        let b64 = base64::engine::general_purpose::STANDARD;
        RekeyUpdateResponse {
            nonce: self.nonce.clone(),
            complete: true,
            keys: self.keys.iter().map(hex::encode).collect(),
            keys_base64: self.keys.iter().map(|k| b64.encode(k.as_slice())).collect(),
            pgp_fingerprints: Vec::new(),
            backup: self.backup,
            verification_required: self.verification_required,
            verification_nonce: self.verification_nonce.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Debug for RekeyOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RekeyOutput")
            .field("nonce", &self.nonce)
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .field("verification_required", &self.verification_required)
            .field("verification_nonce", &self.verification_nonce)
            .field("new_key", &self.new_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

enum Phase {
    /// Gathering shares of the current key.
    Collecting,
    /// The current key was just reconstructed; `generate` may run.
    Authorised,
    /// New shares are out; gathering them back to prove they work.
    Verifying {
        pending: Zeroizing<[u8; KEY_LEN]>,
        collector: KeyCollector,
    },
    /// Finished; the caller installs the new key and drops the operation.
    Complete { verification_nonce: Option<String> },
}

/// One rekey in progress.
pub struct RekeyOperation {
    config: RekeyConfig,
    collector: KeyCollector,
    phase: Phase,
}

impl RekeyOperation {
    /// Starts a rekey to `config`, authorised by `current_threshold` shares of
    /// the current key.
    pub fn new(config: RekeyConfig, current_threshold: u8) -> Result<Self, SealError> {
        config.validate()?;
        Ok(Self {
            config,
            collector: KeyCollector::new(current_threshold),
            phase: Phase::Collecting,
        })
    }

    /// The requested new configuration.
    pub fn config(&self) -> &RekeyConfig {
        &self.config
    }

    /// The operation's nonce, which every `sys/rekey/update` must carry.
    pub fn nonce(&self) -> &str {
        self.collector.nonce()
    }

    /// Refuses a nonce other than [`Self::nonce`].
    pub fn check_nonce(&self, nonce: &str) -> Result<(), SealError> {
        check(nonce, self.nonce())
    }

    /// The verification nonce, once new shares are out.
    pub fn verification_nonce(&self) -> Option<&str> {
        match &self.phase {
            Phase::Verifying { collector, .. } => Some(collector.nonce()),
            Phase::Complete { verification_nonce } => verification_nonce.as_deref(),
            _ => None,
        }
    }

    /// Refuses a nonce other than [`Self::verification_nonce`].
    pub fn check_verification_nonce(&self, nonce: &str) -> Result<(), SealError> {
        match self.verification_nonce() {
            Some(expected) => check(nonce, expected),
            None => Err(SealError::NotStarted),
        }
    }

    /// Whether the operation finished (the caller installs the new key).
    pub fn is_complete(&self) -> bool {
        matches!(self.phase, Phase::Complete { .. })
    }

    /// Adds a share of the current key. `Ok(Some(key))` is the reconstructed
    /// current key: the caller checks it opens the root key, then calls
    /// [`Self::generate`], or [`Self::reject_current_key`] if it does not.
    pub fn add(&mut self, part: Vec<u8>) -> Result<Option<Zeroizing<Vec<u8>>>, SealError> {
        match &self.phase {
            Phase::Collecting => {}
            // A new share after an unused reconstruction starts a new round:
            // `generate` is only reachable right after a completing `add`.
            Phase::Authorised => self.phase = Phase::Collecting,
            Phase::Verifying { collector, .. } => {
                return Err(SealError::InvalidRequest(format!(
                    "rekey operation already finished; verification must be performed; \
                     nonce for the verification operation is {:?}",
                    collector.nonce()
                )))
            }
            Phase::Complete { .. } => return Err(SealError::NotStarted),
        }
        let key = self.collector.add(part)?;
        if key.is_some() {
            self.phase = Phase::Authorised;
        }
        Ok(key)
    }

    /// The reconstructed current key did not open the root key: back to
    /// collecting shares (progress is already zero), same nonce.
    pub fn reject_current_key(&mut self) {
        if matches!(self.phase, Phase::Authorised) {
            self.phase = Phase::Collecting;
        }
    }

    /// Makes the new random key and its shares. Only valid right after
    /// [`Self::add`] returned the current key (and the caller checked it).
    pub fn generate(&mut self) -> Result<RekeyOutput, SealError> {
        if !matches!(self.phase, Phase::Authorised) {
            return Err(SealError::NotStarted);
        }
        let key = rng::random_key();
        let keys = shamir::split(
            key.as_slice(),
            self.config.secret_shares,
            self.config.secret_threshold,
        )?;
        let mut out = RekeyOutput {
            nonce: self.nonce().to_owned(),
            keys,
            backup: self.config.backup,
            verification_required: self.config.require_verification,
            verification_nonce: None,
            new_key: None,
        };
        if self.config.require_verification {
            let collector = KeyCollector::new(self.config.secret_threshold);
            out.verification_nonce = Some(collector.nonce().to_owned());
            self.phase = Phase::Verifying {
                pending: key,
                collector,
            };
        } else {
            out.new_key = Some(Zeroizing::new(key.to_vec()));
            self.phase = Phase::Complete {
                verification_nonce: None,
            };
        }
        Ok(out)
    }

    /// Adds a share of the new key during verification. `Ok(Some(key))`: the
    /// new shares rebuild the new key; install it. Wrong shares fail with
    /// [`SealError::VerificationFailed`] and, as in Vault, restart
    /// verification under a new verification nonce.
    pub fn verify_add(&mut self, part: Vec<u8>) -> Result<Option<Zeroizing<Vec<u8>>>, SealError> {
        let Phase::Verifying { pending, collector } = &mut self.phase else {
            return Err(SealError::NotStarted);
        };
        let before = collector.progress();
        let combined = match collector.add(part) {
            Ok(Some(combined)) => combined,
            Ok(None) => return Ok(None),
            Err(e) => {
                // Parts dropped by a failed combine: a new round, new nonce.
                if before > 0 && collector.progress() == 0 {
                    collector.reset();
                }
                return Err(e);
            }
        };
        if !bool::from(combined.as_slice().ct_eq(pending.as_slice())) {
            collector.reset();
            return Err(SealError::VerificationFailed);
        }
        let verification_nonce = Some(collector.nonce().to_owned());
        self.phase = Phase::Complete { verification_nonce };
        Ok(Some(combined))
    }

    /// `DELETE sys/rekey/verify`: forget verification progress, new nonce.
    pub fn verify_restart(&mut self) -> Result<(), SealError> {
        match &mut self.phase {
            Phase::Verifying { collector, .. } => {
                collector.reset();
                Ok(())
            }
            _ => Err(SealError::NotStarted),
        }
    }

    /// The body of `GET sys/rekey/init`.
    pub fn status(&self) -> RekeyStatus {
        RekeyStatus {
            nonce: self.nonce().to_owned(),
            started: true,
            t: self.config.secret_threshold,
            n: self.config.secret_shares,
            progress: self.collector.progress(),
            required: self.collector.threshold(),
            pgp_fingerprints: Vec::new(),
            backup: self.config.backup,
            verification_required: self.config.require_verification,
            verification_nonce: self.verification_nonce().unwrap_or_default().to_owned(),
        }
    }

    /// The body of `GET sys/rekey/verify`.
    pub fn verification_status(&self) -> RekeyVerificationStatus {
        let (nonce, started, progress) = match &self.phase {
            Phase::Verifying { collector, .. } => {
                (collector.nonce().to_owned(), true, collector.progress())
            }
            _ => (String::new(), false, 0),
        };
        RekeyVerificationStatus {
            nonce,
            started,
            t: self.config.secret_threshold,
            n: self.config.secret_shares,
            progress,
        }
    }
}

impl RekeyOperation {
    /// The body of the completing `PUT sys/rekey/verify`; `None` until
    /// verification succeeded.
    pub fn verify_response(&self) -> Option<RekeyVerifyResponse> {
        match &self.phase {
            Phase::Complete {
                verification_nonce: Some(nonce),
            } => Some(RekeyVerifyResponse {
                nonce: nonce.clone(),
                complete: true,
            }),
            _ => None,
        }
    }
}

impl fmt::Debug for RekeyOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.phase {
            Phase::Collecting => "collecting",
            Phase::Authorised => "authorised",
            Phase::Verifying { .. } => "verifying",
            Phase::Complete { .. } => "complete",
        };
        f.debug_struct("RekeyOperation")
            .field("config", &self.config)
            .field("collector", &self.collector)
            .field("phase", &phase)
            .finish()
    }
}

fn check(given: &str, expected: &str) -> Result<(), SealError> {
    if given == expected {
        Ok(())
    } else {
        Err(SealError::BadNonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> (Vec<u8>, Vec<Zeroizing<Vec<u8>>>) {
        let key = vec![7u8; KEY_LEN];
        let shares = shamir::split(&key, 3, 2).unwrap();
        (key, shares)
    }

    fn config(n: u8, t: u8, verify: bool) -> RekeyConfig {
        RekeyConfig {
            secret_shares: n,
            secret_threshold: t,
            pgp_keys: Vec::new(),
            backup: false,
            require_verification: verify,
        }
    }

    /// Feeds two current shares and checks the reconstructed key.
    fn authorise(op: &mut RekeyOperation) {
        let (key, shares) = current();
        assert_eq!(op.add(shares[0].to_vec()).unwrap(), None);
        assert_eq!(op.status().progress, 1);
        assert_eq!(*op.add(shares[2].to_vec()).unwrap().unwrap(), key);
    }

    #[test]
    fn rekey_without_verification() {
        let mut op = RekeyOperation::new(config(5, 3, false), 2).unwrap();
        assert!(matches!(op.generate(), Err(SealError::NotStarted)));
        authorise(&mut op);
        let out = op.generate().unwrap();
        assert!(op.is_complete());
        assert_eq!(out.keys.len(), 5);
        assert!(!out.verification_required);
        let new_key = out.new_key.clone().unwrap();
        assert_eq!(new_key.len(), KEY_LEN);
        let some: Vec<&[u8]> = out.keys[2..].iter().map(|k| k.as_slice()).collect();
        assert_eq!(shamir::combine(&some).unwrap(), new_key);
        let resp = out.response();
        assert!(resp.complete);
        assert_eq!(resp.keys.len(), 5);
        assert_eq!(resp.keys_base64.len(), 5);
        assert!(!format!("{out:?}").contains(&resp.keys[0]));
        assert!(op.generate().is_err());
    }

    #[test]
    fn rekey_with_verification() {
        let mut op = RekeyOperation::new(config(3, 2, true), 2).unwrap();
        authorise(&mut op);
        let out = op.generate().unwrap();
        assert!(out.new_key.is_none());
        let vnonce = out.verification_nonce.clone().unwrap();
        assert_ne!(vnonce, op.nonce());
        op.check_verification_nonce(&vnonce).unwrap();
        assert_eq!(
            op.check_verification_nonce(op.nonce()),
            Err(SealError::BadNonce)
        );
        assert!(op.status().verification_nonce == vnonce);
        // Old-key updates are refused once new shares are out.
        assert!(matches!(
            op.add(vec![1; 33]),
            Err(SealError::InvalidRequest(_))
        ));

        assert_eq!(op.verify_add(out.keys[1].to_vec()).unwrap(), None);
        assert_eq!(op.verification_status().progress, 1);
        let key = op.verify_add(out.keys[0].to_vec()).unwrap().unwrap();
        assert!(op.is_complete());
        let all: Vec<&[u8]> = out.keys.iter().map(|k| k.as_slice()).collect();
        assert_eq!(shamir::combine(&all).unwrap(), key);
        assert_eq!(op.verification_nonce(), Some(vnonce.as_str()));
        let resp = op.verify_response().unwrap();
        assert!(resp.complete);
        assert_eq!(resp.nonce, vnonce);
    }

    #[test]
    fn wrong_verification_share_fails_and_rotates_nonce() {
        let mut op = RekeyOperation::new(config(3, 2, true), 2).unwrap();
        authorise(&mut op);
        let out = op.generate().unwrap();
        let vnonce = out.verification_nonce.clone().unwrap();
        // Shares of the *old* key do not verify the new one.
        let (_, old) = current();
        op.verify_add(old[0].to_vec()).unwrap();
        assert_eq!(
            op.verify_add(old[1].to_vec()),
            Err(SealError::VerificationFailed)
        );
        assert!(!op.is_complete());
        assert_ne!(op.verification_nonce().unwrap(), vnonce);
        assert_eq!(op.verification_status().progress, 0);
        // The right shares still work afterwards.
        op.verify_add(out.keys[2].to_vec()).unwrap();
        assert!(op.verify_add(out.keys[1].to_vec()).unwrap().is_some());
    }

    #[test]
    fn verify_restart_clears_progress() {
        let mut op = RekeyOperation::new(config(3, 2, true), 2).unwrap();
        assert_eq!(op.verify_restart(), Err(SealError::NotStarted));
        authorise(&mut op);
        let out = op.generate().unwrap();
        op.verify_add(out.keys[0].to_vec()).unwrap();
        let before = op.verification_nonce().unwrap().to_owned();
        op.verify_restart().unwrap();
        assert_eq!(op.verification_status().progress, 0);
        assert_ne!(op.verification_nonce().unwrap(), before);
    }

    #[test]
    fn rejected_current_key_blocks_generate() {
        let mut op = RekeyOperation::new(config(1, 1, false), 2).unwrap();
        authorise(&mut op);
        op.reject_current_key();
        assert!(matches!(op.generate(), Err(SealError::NotStarted)));
        // A fresh share after an unused reconstruction also re-arms collection.
        authorise(&mut op);
        let (_, shares) = current();
        op.add(shares[1].to_vec()).unwrap();
        assert!(matches!(op.generate(), Err(SealError::NotStarted)));
    }

    #[test]
    fn single_share_rekey_returns_the_key() {
        let mut op = RekeyOperation::new(config(1, 1, false), 2).unwrap();
        authorise(&mut op);
        let out = op.generate().unwrap();
        assert_eq!(out.keys.len(), 1);
        assert_eq!(out.keys[0], out.new_key.unwrap());
    }

    #[test]
    fn config_is_validated() {
        let mut c = config(3, 2, false);
        c.pgp_keys = vec!["key".into()];
        assert_eq!(
            RekeyOperation::new(c, 2).unwrap_err(),
            SealError::PgpNotSupported
        );
        let mut c = config(3, 2, false);
        c.backup = true;
        assert!(RekeyOperation::new(c, 2).is_err());
        assert!(RekeyOperation::new(config(3, 1, false), 2).is_err());
        assert!(RekeyOperation::new(config(2, 3, false), 2).is_err());
    }

    #[test]
    fn nonce_and_status() {
        let op = RekeyOperation::new(config(5, 3, false), 2).unwrap();
        op.check_nonce(op.nonce()).unwrap();
        assert_eq!(op.check_nonce("other"), Err(SealError::BadNonce));
        let s = op.status();
        assert!(s.started);
        assert_eq!((s.t, s.n, s.required, s.progress), (3, 5, 2, 0));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["pgp_fingerprints"], serde_json::json!([]));
        assert!(json.get("verification_nonce").is_none());
        assert!(!RekeyStatus::idle(2).started);
    }

    #[test]
    fn config_parses_vault_json() {
        let c: RekeyConfig = serde_json::from_str(
            r#"{"secret_shares":5,"secret_threshold":3,"pgp_keys":null,"require_verification":true}"#,
        )
        .unwrap();
        assert_eq!(c, config(5, 3, true));
    }
}

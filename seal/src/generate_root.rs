//! Root token generation (`sys/generate-root/attempt|update`), Vault 1.16
//! style: the server makes a one-time pad (OTP), key-share holders reach the
//! threshold, the node mints a root token of the OTP's length, and the
//! client receives `base64_raw(token XOR otp)`; only the OTP holder can
//! decode it (`coffer operator generate-root -decode`).

use std::fmt;

use base64::Engine as _;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::progress::KeyCollector;
use crate::rng;

/// Vault's OTP length: `hvs.` plus 24 base62 characters.
pub const OTP_LENGTH: usize = 28;

/// `base64_raw(token XOR otp)`, as Vault's `roottoken.EncodeToken`.
/// Token and OTP must have the same length.
pub fn encode_token(token: &str, otp: &str) -> Result<String, SealError> {
    if token.is_empty() {
        return Err(SealError::Token("no token provided".to_owned()));
    }
    if otp.is_empty() {
        return Err(SealError::Token("no otp provided".to_owned()));
    }
    let xored = xor(otp.as_bytes(), token.as_bytes())
        .map_err(|e| SealError::Token(format!("xor of root token failed: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD_NO_PAD.encode(xored.as_slice()))
}

/// Inverse of [`encode_token`], as Vault's `roottoken.DecodeToken`
/// (trailing `=` padding is tolerated).
pub fn decode_token(encoded: &str, otp: &str) -> Result<String, SealError> {
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim().trim_end_matches('='))
        .map_err(|e| SealError::Token(format!("error decoding base64'd token: {e}")))?;
    let raw = Zeroizing::new(raw);
    let token = xor(&raw, otp.as_bytes())
        .map_err(|e| SealError::Token(format!("error xoring token: {e}")))?;
    String::from_utf8(token.to_vec())
        .map_err(|_| SealError::Token("decoded token is not valid UTF-8".to_owned()))
}

fn xor(a: &[u8], b: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    if a.len() != b.len() {
        return Err(format!(
            "length of byte slices is not equivalent: {} != {}",
            a.len(),
            b.len()
        ));
    }
    Ok(Zeroizing::new(
        a.iter().zip(b).map(|(x, y)| x ^ y).collect(),
    ))
}

/// The body of `sys/generate-root/attempt` and `.../update`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenerateRootStatus {
    /// The operation's nonce.
    pub nonce: String,
    /// Whether an operation is in progress.
    pub started: bool,
    /// Shares given so far.
    pub progress: u8,
    /// Shares needed (the current threshold).
    pub required: u8,
    /// Whether the operation finished.
    pub complete: bool,
    /// The new token XOR the OTP, base64 without padding; set when complete.
    pub encoded_token: String,
    /// Same as `encoded_token` (older clients read this name).
    pub encoded_root_token: String,
    /// Always empty: PGP is not supported.
    pub pgp_fingerprint: String,
    /// Only in the response that starts the attempt; empty otherwise.
    pub otp: String,
    /// Length of the OTP, and so of the token to be minted.
    pub otp_length: usize,
}

impl GenerateRootStatus {
    /// The status when no attempt is in progress.
    pub fn idle(required: u8) -> Self {
        Self {
            nonce: String::new(),
            started: false,
            progress: 0,
            required,
            complete: false,
            encoded_token: String::new(),
            encoded_root_token: String::new(),
            pgp_fingerprint: String::new(),
            otp: String::new(),
            otp_length: OTP_LENGTH,
        }
    }
}

enum Phase {
    Collecting,
    /// The key was just reconstructed; `finish` may run.
    Authorised,
    Complete {
        encoded_token: String,
    },
}

/// One root-token generation in progress.
pub struct GenerateRootAttempt {
    otp: Zeroizing<String>,
    collector: KeyCollector,
    phase: Phase,
}

impl GenerateRootAttempt {
    /// Starts an attempt with a fresh base62 OTP of `otp_len` characters
    /// (use [`OTP_LENGTH`]), authorised by `current_threshold` shares.
    pub fn start(otp_len: usize, current_threshold: u8) -> Result<Self, SealError> {
        if otp_len == 0 {
            return Err(SealError::InvalidRequest(
                "OTP string is wrong length".to_owned(),
            ));
        }
        Ok(Self::with_otp_unchecked(
            rng::random_base62(otp_len),
            current_threshold,
        ))
    }

    /// Starts an attempt with a client-supplied OTP (the legacy `otp`
    /// parameter), which must be `expected_len` characters long.
    pub fn with_otp(
        otp: String,
        expected_len: usize,
        current_threshold: u8,
    ) -> Result<Self, SealError> {
        if otp.is_empty() || otp.len() != expected_len {
            drop(Zeroizing::new(otp));
            return Err(SealError::InvalidRequest(
                "OTP string is wrong length".to_owned(),
            ));
        }
        Ok(Self::with_otp_unchecked(otp, current_threshold))
    }

    fn with_otp_unchecked(otp: String, current_threshold: u8) -> Self {
        Self {
            otp: Zeroizing::new(otp),
            collector: KeyCollector::new(current_threshold),
            phase: Phase::Collecting,
        }
    }

    /// The one-time pad, to return once in the response to the attempt.
    pub fn otp(&self) -> &str {
        &self.otp
    }

    /// The attempt's nonce.
    pub fn nonce(&self) -> &str {
        self.collector.nonce()
    }

    /// Refuses a nonce other than [`Self::nonce`].
    pub fn check_nonce(&self, nonce: &str) -> Result<(), SealError> {
        if nonce == self.nonce() {
            Ok(())
        } else {
            Err(SealError::BadNonce)
        }
    }

    /// Whether the token was minted and encoded.
    pub fn is_complete(&self) -> bool {
        matches!(self.phase, Phase::Complete { .. })
    }

    /// Adds a key share. `Ok(Some(key))` is the reconstructed key: the caller
    /// checks it opens the root key, mints a token of [`Self::otp`]'s length
    /// and calls [`Self::finish`], or calls [`Self::reject_key`].
    pub fn add(&mut self, part: Vec<u8>) -> Result<Option<Zeroizing<Vec<u8>>>, SealError> {
        match self.phase {
            Phase::Collecting => {}
            Phase::Authorised => self.phase = Phase::Collecting,
            Phase::Complete { .. } => return Err(SealError::NotStarted),
        }
        let key = self.collector.add(part)?;
        if key.is_some() {
            self.phase = Phase::Authorised;
        }
        Ok(key)
    }

    /// The reconstructed key did not open the root key: back to collecting.
    pub fn reject_key(&mut self) {
        if matches!(self.phase, Phase::Authorised) {
            self.phase = Phase::Collecting;
        }
    }

    /// Encodes the freshly minted `token` with the OTP and completes the
    /// attempt. Only valid right after [`Self::add`] returned the key.
    pub fn finish(&mut self, token: &str) -> Result<String, SealError> {
        if !matches!(self.phase, Phase::Authorised) {
            return Err(SealError::NotStarted);
        }
        let encoded_token = encode_token(token, &self.otp)?;
        self.phase = Phase::Complete {
            encoded_token: encoded_token.clone(),
        };
        Ok(encoded_token)
    }

    /// The status body (without the OTP; see [`Self::start_status`]).
    pub fn status(&self) -> GenerateRootStatus {
        let (progress, complete, encoded) = match &self.phase {
            Phase::Complete { encoded_token } => {
                (self.collector.threshold(), true, encoded_token.clone())
            }
            _ => (self.collector.progress(), false, String::new()),
        };
        GenerateRootStatus {
            nonce: self.nonce().to_owned(),
            started: true,
            progress,
            required: self.collector.threshold(),
            complete,
            encoded_token: encoded.clone(),
            encoded_root_token: encoded,
            pgp_fingerprint: String::new(),
            otp: String::new(),
            otp_length: self.otp.len(),
        }
    }

    /// The response to the request that started the attempt: carries the OTP.
    pub fn start_status(&self) -> GenerateRootStatus {
        GenerateRootStatus {
            otp: self.otp.to_string(),
            ..self.status()
        }
    }
}

impl fmt::Debug for GenerateRootAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenerateRootAttempt")
            .field("otp", &"<redacted>")
            .field("collector", &self.collector)
            .field("complete", &self.is_complete())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shamir;

    #[test]
    fn known_vector() {
        // 'h'^'x'=0x10 'v'^'y'=0x0f 's'^'z'=0x09 '.'^'x'=0x56
        // 'a'^'y'=0x18 'b'^'z'=0x18 'c'^'x'=0x1b → base64 without padding.
        assert_eq!(encode_token("hvs.abc", "xyzxyzx").unwrap(), "EA8JVhgYGw");
        assert_eq!(decode_token("EA8JVhgYGw", "xyzxyzx").unwrap(), "hvs.abc");
        assert_eq!(decode_token("EA8JVhgYGw==", "xyzxyzx").unwrap(), "hvs.abc");
    }

    #[test]
    fn roundtrip_with_generated_otp() {
        let otp = rng::random_base62(OTP_LENGTH);
        let token = format!("hvs.{}", rng::random_base62(24));
        let enc = encode_token(&token, &otp).unwrap();
        assert!(!enc.contains('='));
        assert_eq!(decode_token(&enc, &otp).unwrap(), token);
    }

    #[test]
    fn encoding_errors() {
        assert!(encode_token("", "x").is_err());
        assert!(encode_token("x", "").is_err());
        let e = encode_token("hvs.abc", "xyz").unwrap_err().to_string();
        assert!(
            e.contains("length of byte slices is not equivalent: 3 != 7"),
            "{e}"
        );
        assert!(decode_token("EA8JVhgYGw", "xyz").is_err());
        assert!(decode_token("not base64!", "xyzxyzx").is_err());
    }

    #[test]
    fn attempt_runs_to_completion() {
        let key = vec![9u8; 32];
        let shares = shamir::split(&key, 3, 2).unwrap();
        let mut a = GenerateRootAttempt::start(OTP_LENGTH, 2).unwrap();
        assert_eq!(a.otp().len(), OTP_LENGTH);
        assert!(a.otp().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(a.start_status().otp, a.otp());
        assert_eq!(a.status().otp, "");
        a.check_nonce(a.nonce()).unwrap();
        assert_eq!(a.check_nonce("x"), Err(SealError::BadNonce));
        assert!(a.finish("hvs.whatever").is_err());

        assert_eq!(a.add(shares[0].to_vec()).unwrap(), None);
        assert_eq!(a.add(shares[0].to_vec()), Err(SealError::Duplicate));
        assert_eq!(a.status().progress, 1);
        assert_eq!(*a.add(shares[1].to_vec()).unwrap().unwrap(), key);

        let token = format!("hvs.{}", rng::random_base62(24));
        let enc = a.finish(&token).unwrap();
        let s = a.status();
        assert!(s.complete);
        assert_eq!((s.progress, s.required), (2, 2));
        assert_eq!(s.encoded_token, enc);
        assert_eq!(s.encoded_root_token, enc);
        assert_eq!(decode_token(&enc, a.otp()).unwrap(), token);
        assert!(a.add(shares[2].to_vec()).is_err());
        assert!(!format!("{a:?}").contains(a.otp()));
    }

    #[test]
    fn rejected_key_blocks_finish() {
        let shares = shamir::split(&[9u8; 32], 3, 2).unwrap();
        let mut a = GenerateRootAttempt::start(OTP_LENGTH, 2).unwrap();
        a.add(shares[0].to_vec()).unwrap();
        a.add(shares[1].to_vec()).unwrap();
        a.reject_key();
        assert_eq!(
            a.finish("x".repeat(OTP_LENGTH).as_str()),
            Err(SealError::NotStarted)
        );
    }

    #[test]
    fn client_otp_must_have_the_expected_length() {
        assert!(GenerateRootAttempt::with_otp("abc".into(), OTP_LENGTH, 1).is_err());
        let otp = "a".repeat(OTP_LENGTH);
        let a = GenerateRootAttempt::with_otp(otp.clone(), OTP_LENGTH, 1).unwrap();
        assert_eq!(a.otp(), otp);
        assert!(GenerateRootAttempt::start(0, 1).is_err());
        assert!(!GenerateRootStatus::idle(3).started);
    }
}

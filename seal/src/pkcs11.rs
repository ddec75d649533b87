//! [`Pkcs11Seal`]: auto-unseal through a PKCS#11 HSM (SoftHSM2 in the tests). The root key is
//! encrypted inside the HSM with an AES key found by label (or id), or generated there when
//! `generate_key` is set; the key never leaves the token (sensitive, not extractable).
//! Mechanism: CKM_AES_GCM (12-byte random IV, 128-bit tag, the purpose as AAD).
//!
//! Blob: `version(1) | iv(12) | ciphertext+tag`.
//!
//! The PKCS#11 calls are short and blocking; they run inline. Built only outside simulation.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::seal::Seal;

const VERSION: u8 = 1;
const IV_LEN: usize = 12;
const AAD: &[u8] = b"coffer/root-key";

/// The `seal "pkcs11"` stanza.
#[derive(Clone, Default)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 library.
    pub lib: String,
    /// The slot number, or
    pub slot: Option<u64>,
    /// the label of the token to use.
    pub token_label: Option<String>,
    /// The user PIN. Never in Debug output.
    pub pin: String,
    /// Label of the AES key.
    pub key_label: Option<String>,
    /// Id of the AES key (hex), when not found by label.
    pub key_id: Option<String>,
    /// Create the key (AES-256, on the token) when it does not exist.
    pub generate_key: bool,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("lib", &self.lib)
            .field("slot", &self.slot)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .field("key_label", &self.key_label)
            .field("key_id", &self.key_id)
            .field("generate_key", &self.generate_key)
            .finish()
    }
}

/// The PKCS#11 seal; see the module docs.
pub struct Pkcs11Seal {
    ctx: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    label: Vec<u8>,
    id: Option<Vec<u8>>,
    generate_key: bool,
}

fn hsm(what: &str, e: impl std::fmt::Display) -> SealError {
    SealError::Backend(format!("pkcs11 {what}: {e}"))
}

impl Pkcs11Seal {
    /// Load the library and find the slot; the key is looked up at each use.
    pub fn new(cfg: &Pkcs11Config) -> Result<Pkcs11Seal, SealError> {
        if cfg.lib.is_empty() {
            return Err(SealError::InvalidRequest("pkcs11: lib is required".into()));
        }
        if cfg.key_label.is_none() && cfg.key_id.is_none() {
            return Err(SealError::InvalidRequest(
                "pkcs11: key_label or key_id is required".into(),
            ));
        }
        let ctx = Pkcs11::new(&cfg.lib).map_err(|e| hsm("loading the library", e))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(hsm("initialising", e)),
        }
        let slots = ctx
            .get_slots_with_token()
            .map_err(|e| hsm("listing slots", e))?;
        let slot = slots
            .into_iter()
            .find(|s| match (&cfg.slot, &cfg.token_label) {
                (Some(n), _) => s.id() == *n,
                (None, Some(label)) => ctx
                    .get_token_info(*s)
                    .is_ok_and(|t| t.label().trim() == label.trim()),
                (None, None) => true,
            })
            .ok_or_else(|| hsm("finding the slot", "no such slot or token"))?;
        let id = cfg
            .key_id
            .as_deref()
            .map(|h| hex::decode(h.trim_start_matches("0x")))
            .transpose()
            .map_err(|_| SealError::InvalidRequest("pkcs11: key_id must be hex".into()))?;
        Ok(Pkcs11Seal {
            ctx,
            slot,
            pin: AuthPin::from(cfg.pin.clone()),
            label: cfg.key_label.clone().unwrap_or_default().into_bytes(),
            id,
            generate_key: cfg.generate_key,
        })
    }

    fn session(&self) -> Result<Session, SealError> {
        let session = self
            .ctx
            .open_rw_session(self.slot)
            .map_err(|e| hsm("opening a session", e))?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => Err(hsm("logging in", e)),
        }
    }

    fn key(&self, session: &Session) -> Result<ObjectHandle, SealError> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
        ];
        if !self.label.is_empty() {
            template.push(Attribute::Label(self.label.clone()));
        }
        if let Some(id) = &self.id {
            template.push(Attribute::Id(id.clone()));
        }
        let found = session
            .find_objects(&template)
            .map_err(|e| hsm("finding the key", e))?;
        if let Some(key) = found.first() {
            return Ok(*key);
        }
        if !self.generate_key {
            return Err(hsm(
                "finding the key",
                "no such key (set generate_key to create it)",
            ));
        }
        template.extend([
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
        ]);
        session
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(|e| hsm("generating the key", e))
    }
}

#[async_trait::async_trait]
impl Seal for Pkcs11Seal {
    fn seal_type(&self) -> &'static str {
        "pkcs11"
    }

    fn is_recovery(&self) -> bool {
        true
    }

    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let session = self.session()?;
        let key = self.key(&session)?;
        let mut iv = [0u8; IV_LEN];
        crate::rng::fill(&mut iv);
        let mut params_iv = iv;
        let params = GcmParams::new(&mut params_iv, AAD, 128.into()).map_err(|e| hsm("gcm", e))?;
        let ciphertext = session
            .encrypt(&Mechanism::AesGcm(params), key, plaintext)
            .map_err(|e| hsm("encrypting", e))?;
        let mut blob = vec![VERSION];
        blob.extend_from_slice(&iv);
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if blob.len() <= 1 + IV_LEN + 16 || blob[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let mut iv = [0u8; IV_LEN];
        iv.copy_from_slice(&blob[1..1 + IV_LEN]);
        let session = self.session()?;
        let key = self.key(&session)?;
        let params = GcmParams::new(&mut iv, AAD, 128.into()).map_err(|e| hsm("gcm", e))?;
        match session.decrypt(&Mechanism::AesGcm(params), key, &blob[1 + IV_LEN..]) {
            Ok(plain) => Ok(Zeroizing::new(plain)),
            Err(CkError::Pkcs11(RvError::EncryptedDataInvalid, _))
            | Err(CkError::Pkcs11(RvError::EncryptedDataLenRange, _)) => Err(SealError::InvalidKey),
            Err(e) => Err(hsm("decrypting", e)),
        }
    }
}

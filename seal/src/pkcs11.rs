//! [`Pkcs11Seal`]: auto-unseal through a PKCS#11 HSM (SoftHSM2 in the tests). The root key is
//! encrypted inside the HSM with an AES key found by label (or id), or generated there when
//! `generate_key` is set; the key never leaves the token (sensitive, not extractable).
//! Mechanisms: CKM_AES_GCM (the default: 12-byte random IV, 128-bit tag, the purpose as AAD), or
//! CKM_RSA_PKCS_OAEP (SHA-1, MGF1-SHA-1) with an RSA-3072 key pair found or generated the same
//! way, whose private half never leaves the token.
//!
//! Blob: `1 | iv(12) | ciphertext+tag` (AES-GCM) or `2 | ciphertext` (RSA-OAEP).
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
const VERSION_RSA: u8 = 2;
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
    /// Create the key (AES-256, or an RSA-3072 pair, on the token) when it does not exist.
    pub generate_key: bool,
    /// CKM_RSA_PKCS_OAEP instead of CKM_AES_GCM.
    pub rsa_oaep: bool,
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
            .field("rsa_oaep", &self.rsa_oaep)
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
    rsa_oaep: bool,
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
            rsa_oaep: cfg.rsa_oaep,
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

    /// Label and id attributes of the key.
    fn naming(&self) -> Vec<Attribute> {
        let mut naming = Vec::new();
        if !self.label.is_empty() {
            naming.push(Attribute::Label(self.label.clone()));
        }
        if let Some(id) = &self.id {
            naming.push(Attribute::Id(id.clone()));
        }
        naming
    }

    /// The RSA key of `class` (public to encrypt, private to decrypt), the pair generated when
    /// absent and `generate_key` is set.
    fn rsa_key(&self, session: &Session, class: ObjectClass) -> Result<ObjectHandle, SealError> {
        let find = |class| {
            let mut template = vec![Attribute::Class(class), Attribute::KeyType(KeyType::RSA)];
            template.extend(self.naming());
            session
                .find_objects(&template)
                .map_err(|e| hsm("finding the key", e))
        };
        if let Some(key) = find(class)?.first() {
            return Ok(*key);
        }
        if !self.generate_key {
            return Err(hsm(
                "finding the key",
                "no such key (set generate_key to create it)",
            ));
        }
        let mut public = vec![
            Attribute::Token(true),
            Attribute::Encrypt(true),
            Attribute::ModulusBits(3072.into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        ];
        public.extend(self.naming());
        let mut private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(true),
        ];
        private.extend(self.naming());
        let (public, private) = session
            .generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private)
            .map_err(|e| hsm("generating the key pair", e))?;
        Ok(if class == ObjectClass::PUBLIC_KEY {
            public
        } else {
            private
        })
    }

    fn key(&self, session: &Session) -> Result<ObjectHandle, SealError> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
        ];
        template.extend(self.naming());
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

/// CKM_RSA_PKCS_OAEP with SHA-1 and MGF1-SHA-1: the one OAEP hash every token supports
/// (SoftHSM2 refuses others), and OAEP's security does not rest on SHA-1's collision resistance.
fn oaep() -> Mechanism<'static> {
    use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
    use cryptoki::mechanism::MechanismType;
    Mechanism::RsaPkcsOaep(PkcsOaepParams::new(
        MechanismType::SHA1,
        PkcsMgfType::MGF1_SHA1,
        PkcsOaepSource::empty(),
    ))
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
        if self.rsa_oaep {
            let key = self.rsa_key(&session, ObjectClass::PUBLIC_KEY)?;
            let ciphertext = session
                .encrypt(&oaep(), key, plaintext)
                .map_err(|e| hsm("encrypting", e))?;
            let mut blob = vec![VERSION_RSA];
            blob.extend_from_slice(&ciphertext);
            return Ok(blob);
        }
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
        if self.rsa_oaep {
            let Some((&VERSION_RSA, ciphertext)) = blob.split_first() else {
                return Err(SealError::Malformed);
            };
            let session = self.session()?;
            let key = self.rsa_key(&session, ObjectClass::PRIVATE_KEY)?;
            return match session.decrypt(&oaep(), key, ciphertext) {
                Ok(plain) => Ok(Zeroizing::new(plain)),
                Err(CkError::Pkcs11(RvError::EncryptedDataInvalid, _)) => {
                    Err(SealError::InvalidKey)
                }
                Err(e) => Err(hsm("decrypting", e)),
            };
        }
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

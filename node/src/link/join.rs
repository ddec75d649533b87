//! The join challenge. A node asking to join gets a `ChallengeBundle`: the cluster's seal
//! type and share counts (no PGP keys, nonce or backup flag), the root key wrapped by the unseal key, the keyring encrypted by the root key,
//! the cluster certificate as stored (encrypted by the keyring), and 32 random bytes encrypted by
//! the keyring. Only an operator who unseals the joining node with the cluster's own key shares
//! lets it open that chain, and so send the bytes back and open the cluster port with the
//! certificate; the active node compares the bytes (constant time) before it adds the node to
//! Raft. Nothing in the bundle is readable without the unseal key. The certificate travels here,
//! before the proof, because the active node replicates to the joiner while it handles the
//! answer; it is sealed under the same keyring the proof opens. The endpoint is unauthenticated:
//! `challenges.rs` bounds and expires what it keeps per request.

use super::tls::{self as cluster_tls, ClusterTls};
use coffer_barrier::{Barrier, MemPhysical, Physical, RootKey, KEYRING_PATH};
use coffer_seal::{Seal, SealConfig, ShamirSeal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The storage path whose AAD binds a challenge to the node it was issued for.
fn challenge_path(node_id: &str) -> String {
    format!("core/raft/join-challenge/{node_id}")
}

/// Why a join handshake failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JoinError {
    #[error("the unseal key does not open this cluster's root key")]
    WrongKey,
    #[error("malformed join challenge: {0}")]
    Malformed(String),
    #[error("challenge answer does not match")]
    BadAnswer,
    #[error("join failed: {0}")]
    Internal(String),
}

/// What the active node sends a joining node (base64 fields in JSON on the wire).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChallengeBundle {
    pub node_id: String,
    pub seal_config: SealConfig,
    /// `core/root-key`: the root key wrapped by the unseal key.
    pub wrapped_root_key: Vec<u8>,
    /// `core/keyring`: the keyring encrypted by the root key.
    pub keyring: Vec<u8>,
    /// `core/cluster/tls`: the cluster certificate encrypted by the keyring.
    pub cluster_tls: Vec<u8>,
    /// 32 random bytes encrypted by the keyring, AAD bound to `node_id`.
    pub challenge: Vec<u8>,
}

/// The plaintext the active node expects back; zeroized on drop.
pub struct Expected(Zeroizing<Vec<u8>>);

impl Expected {
    /// Whether `answer` is the challenge's plaintext (constant time).
    pub fn check(&self, answer: &[u8]) -> Result<(), JoinError> {
        if bool::from(self.0.as_slice().ct_eq(answer)) {
            Ok(())
        } else {
            Err(JoinError::BadAnswer)
        }
    }
}

/// Active side: issue a challenge for `node_id` from an unsealed barrier and the plain records.
pub async fn issue(
    barrier: &Barrier,
    node_id: &str,
    seal_config: SealConfig,
    wrapped_root_key: Vec<u8>,
) -> Result<(ChallengeBundle, Expected), JoinError> {
    let stored = |path: &'static str| async move {
        barrier
            .physical()
            .get(path)
            .await
            .map_err(|e| JoinError::Internal(e.to_string()))?
            .ok_or_else(|| JoinError::Internal(format!("{path} is not stored")))
    };
    let keyring = stored(KEYRING_PATH).await?;
    let cluster_tls = stored(cluster_tls::STORAGE_PATH).await?;
    let mut secret = Zeroizing::new(vec![0u8; 32]);
    getrandom::fill(&mut secret).map_err(|e| JoinError::Internal(e.to_string()))?;
    let challenge = barrier
        .encrypt(&challenge_path(node_id), &secret)
        .await
        .map_err(|e| JoinError::Internal(e.to_string()))?;
    // The joiner needs the seal type and share counts (to collect unseal keys); not the
    // operators' PGP keys, a rekey nonce or the backup flag.
    let seal_config = SealConfig {
        type_: seal_config.type_,
        secret_shares: seal_config.secret_shares,
        secret_threshold: seal_config.secret_threshold,
        stored_shares: seal_config.stored_shares,
        pgp_keys: Vec::new(),
        nonce: String::new(),
        backup: false,
    };
    let bundle = ChallengeBundle {
        node_id: node_id.to_string(),
        seal_config,
        wrapped_root_key,
        keyring,
        cluster_tls,
        challenge,
    };
    Ok((bundle, Expected(secret)))
}

/// What a joining node gets out of a challenge it could open.
pub struct Opened {
    /// The challenge's plaintext, to send back.
    pub answer: Zeroizing<Vec<u8>>,
    /// The certificate to open the cluster port with.
    pub cluster_tls: ClusterTls,
}

/// Joining side: with the unseal key rebuilt from the operator's shares, open the chain and
/// return the challenge's plaintext (the answer) and the cluster certificate.
pub async fn answer(bundle: &ChallengeBundle, unseal_key: &[u8]) -> Result<Opened, JoinError> {
    let seal = ShamirSeal::new(unseal_key).map_err(|_| JoinError::WrongKey)?;
    answer_with(bundle, &seal).await
}

/// Joining side with an auto seal (or any seal): open the chain with `seal` itself.
pub async fn answer_with(bundle: &ChallengeBundle, seal: &dyn Seal) -> Result<Opened, JoinError> {
    let root = seal
        .unwrap(&bundle.wrapped_root_key)
        .await
        .map_err(|_| JoinError::WrongKey)?;
    let root = RootKey::from_bytes(&root).map_err(|e| JoinError::Malformed(e.to_string()))?;
    // A throw-away barrier over just the keyring record opens the challenge.
    let scratch = Arc::new(MemPhysical::new());
    scratch
        .put(KEYRING_PATH, bundle.keyring.clone())
        .await
        .map_err(|e| JoinError::Internal(e.to_string()))?;
    let barrier = Barrier::new(scratch);
    barrier
        .unseal(&root)
        .await
        .map_err(|e| JoinError::Malformed(e.to_string()))?;
    let malformed = |e: coffer_barrier::BarrierError| JoinError::Malformed(e.to_string());
    let plain = barrier
        .decrypt(&challenge_path(&bundle.node_id), &bundle.challenge)
        .map_err(malformed)?;
    let tls = Zeroizing::new(
        barrier
            .decrypt(cluster_tls::STORAGE_PATH, &bundle.cluster_tls)
            .map_err(malformed)?,
    );
    barrier.seal();
    let cluster_tls =
        serde_json::from_slice(&tls).map_err(|e| JoinError::Malformed(e.to_string()))?;
    Ok(Opened {
        answer: Zeroizing::new(plain),
        cluster_tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn cluster() -> (Barrier, Vec<u8>, Zeroizing<[u8; 32]>) {
        let barrier = Barrier::new(Arc::new(MemPhysical::new()));
        let root = RootKey::generate();
        barrier.initialize(&root, 0).await.unwrap();
        barrier.unseal(&root).await.unwrap();
        let tls = serde_json::to_vec(&ClusterTls::generate("test").unwrap()).unwrap();
        barrier.put(cluster_tls::STORAGE_PATH, &tls).await.unwrap();
        let kek = coffer_seal::rng::random_key();
        let wrapped = ShamirSeal::new(&kek[..])
            .unwrap()
            .wrap(root.as_bytes())
            .await
            .unwrap();
        (barrier, wrapped, kek)
    }

    #[tokio::test]
    async fn the_right_unseal_key_answers_the_challenge() {
        let (barrier, wrapped, kek) = cluster().await;
        let (bundle, expected) = issue(&barrier, "node-2", SealConfig::shamir(1, 1), wrapped)
            .await
            .unwrap();
        let wire = serde_json::to_vec(&bundle).unwrap();
        let received: ChallengeBundle = serde_json::from_slice(&wire).unwrap();
        let opened = answer(&received, &kek[..]).await.unwrap();
        assert_eq!(expected.check(&opened.answer), Ok(()));
        let stored = barrier
            .get(cluster_tls::STORAGE_PATH)
            .await
            .unwrap()
            .unwrap();
        let stored: ClusterTls = serde_json::from_slice(&stored).unwrap();
        assert_eq!(opened.cluster_tls, stored);
    }

    #[tokio::test]
    async fn another_clusters_key_cannot_answer() {
        let (barrier, wrapped, _) = cluster().await;
        let (bundle, expected) = issue(&barrier, "node-2", SealConfig::shamir(1, 1), wrapped)
            .await
            .unwrap();
        let stranger = coffer_seal::rng::random_key();
        assert_eq!(
            answer(&bundle, &stranger[..]).await.err(),
            Some(JoinError::WrongKey)
        );
        assert_eq!(expected.check(&[0u8; 32]), Err(JoinError::BadAnswer));
    }

    #[tokio::test]
    async fn a_challenge_cannot_be_replayed_for_another_node() {
        let (barrier, wrapped, kek) = cluster().await;
        let (mut bundle, _) = issue(&barrier, "node-2", SealConfig::shamir(1, 1), wrapped)
            .await
            .unwrap();
        bundle.node_id = "node-3".into();
        assert!(matches!(
            answer(&bundle, &kek[..]).await,
            Err(JoinError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn the_bundle_carries_no_plaintext_key_material() {
        let (barrier, wrapped, kek) = cluster().await;
        let mut config = SealConfig::shamir(3, 2);
        config.pgp_keys = vec!["operator-pgp-key".into()];
        config.nonce = "rekey-nonce".into();
        let (bundle, _) = issue(&barrier, "node-2", config, wrapped).await.unwrap();
        let wire = serde_json::to_vec(&bundle).unwrap();
        assert!(!wire.windows(kek.len()).any(|w| w == &kek[..]));
        let text = String::from_utf8_lossy(&wire);
        assert!(!text.contains("operator-pgp-key"), "{text}");
        assert!(!text.contains("rekey-nonce"), "{text}");
        assert!(
            !text.contains("PRIVATE KEY"),
            "the certificate's key travels encrypted"
        );
    }
}

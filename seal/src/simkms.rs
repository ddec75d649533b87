//! The simulated KMS (built only under `--cfg madsim`): a service on its own simulated host that
//! wraps and unwraps with a key only it holds, reached over madsim's network, so latency, packet
//! loss, partitions and the KMS's own errors reach auto-unseal as they would reach AWS KMS.
//!
//! Wire format (one datagram each way, like a UDP exchange: a lost one is a timeout):
//! request `op(1) | request id(8, BE) | payload`, answer `status(1) | request id(8) | payload`,
//! where op is [`OP_ENCRYPT`] or [`OP_DECRYPT`] and status [`STATUS_OK`], [`STATUS_INVALID`]
//! (the ciphertext does not open) or [`STATUS_UNAVAILABLE`] (the KMS refuses for now; the payload
//! is its message).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use madsim::net::Endpoint;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::rng::{self, KEY_LEN};
use crate::seal::{Seal, ShamirSeal};

const OP_ENCRYPT: u8 = 1;
const OP_DECRYPT: u8 = 2;
const STATUS_OK: u8 = 0;
const STATUS_INVALID: u8 = 1;
const STATUS_UNAVAILABLE: u8 = 2;
/// The tag requests travel under; answers come back under [`ANSWER_TAG`].
const REQUEST_TAG: u64 = 0x4b4d_5331;
const ANSWER_TAG: u64 = 0x4b4d_5332;
const MAX_MESSAGE: usize = 64 * 1024;
/// How long the client waits for one answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Switches a test flips to make the KMS misbehave; shared by the server and the simulator.
#[derive(Debug, Default)]
pub struct SimKmsFaults {
    /// Every request is refused with an error (the KMS is up but failing).
    pub failing: AtomicBool,
    /// Extra time the KMS takes before it answers, in milliseconds.
    pub delay_ms: AtomicU64,
    /// Requests answered so far (successes and refusals).
    pub answered: AtomicU64,
}

/// The KMS service. Its key lives in this value, which the simulator keeps outside the KMS
/// host's tasks, so a restarted KMS host still opens what it wrapped before.
pub struct SimKmsServer {
    key: ShamirSeal,
    faults: Arc<SimKmsFaults>,
}

impl SimKmsServer {
    /// A KMS with a fresh random key.
    pub fn new(faults: Arc<SimKmsFaults>) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng::fill(key.as_mut_slice());
        SimKmsServer {
            key: ShamirSeal::new(key.as_slice()).expect("a 32-byte key"),
            faults,
        }
    }

    /// Serve on `addr` (on the calling simulated host) until the host dies.
    pub async fn serve(self: Arc<Self>, addr: SocketAddr) -> std::io::Result<()> {
        let endpoint = Arc::new(Endpoint::bind(addr).await?);
        let mut buf = vec![0u8; MAX_MESSAGE];
        loop {
            let (len, from) = endpoint.recv_from(REQUEST_TAG, &mut buf).await?;
            let request = buf[..len].to_vec();
            let server = self.clone();
            let endpoint = endpoint.clone();
            madsim::task::spawn(async move {
                if let Some(answer) = server.answer(&request).await {
                    let _ = endpoint.send_to(from, ANSWER_TAG, &answer).await;
                }
            });
        }
    }

    async fn answer(&self, request: &[u8]) -> Option<Vec<u8>> {
        if request.len() < 9 {
            return None;
        }
        let (op, id, payload) = (request[0], &request[1..9], &request[9..]);
        let delay = self.faults.delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            madsim::time::sleep(Duration::from_millis(delay)).await;
        }
        self.faults.answered.fetch_add(1, Ordering::Relaxed);
        let (status, body) = if self.faults.failing.load(Ordering::Relaxed) {
            (
                STATUS_UNAVAILABLE,
                b"KMSInternalException: the simulated KMS is failing".to_vec(),
            )
        } else {
            match op {
                OP_ENCRYPT => match self.key.wrap(payload).await {
                    Ok(ct) => (STATUS_OK, ct),
                    Err(_) => (STATUS_UNAVAILABLE, b"encryption failed".to_vec()),
                },
                OP_DECRYPT => match self.key.unwrap(payload).await {
                    Ok(pt) => (STATUS_OK, pt.to_vec()),
                    Err(_) => (STATUS_INVALID, Vec::new()),
                },
                _ => return None,
            }
        };
        let mut answer = Vec::with_capacity(9 + body.len());
        answer.push(status);
        answer.extend_from_slice(id);
        answer.extend_from_slice(&body);
        Some(answer)
    }
}

/// The seal that asks the simulated KMS at `address` to wrap and unwrap the root key.
#[derive(Debug, Clone)]
pub struct SimKmsSeal {
    address: SocketAddr,
}

impl SimKmsSeal {
    /// A seal using the KMS at `address`.
    pub fn new(address: SocketAddr) -> Self {
        SimKmsSeal { address }
    }

    async fn call(&self, op: u8, payload: &[u8]) -> Result<Vec<u8>, SealError> {
        let unavailable =
            |why: String| SealError::Backend(format!("simkms {}: {why}", self.address));
        let endpoint = Endpoint::bind("0.0.0.0:0")
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let mut id = [0u8; 8];
        rng::fill(&mut id);
        let mut request = Vec::with_capacity(9 + payload.len());
        request.push(op);
        request.extend_from_slice(&id);
        request.extend_from_slice(payload);
        let exchange = async {
            endpoint
                .send_to(self.address, REQUEST_TAG, &request)
                .await?;
            let mut buf = vec![0u8; MAX_MESSAGE];
            loop {
                let (len, _) = endpoint.recv_from(ANSWER_TAG, &mut buf).await?;
                if len >= 9 && buf[1..9] == id {
                    return Ok::<Vec<u8>, std::io::Error>(buf[..len].to_vec());
                }
            }
        };
        let answer = madsim::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| unavailable("no answer in time".into()))?
            .map_err(|e| unavailable(e.to_string()))?;
        match answer[0] {
            STATUS_OK => Ok(answer[9..].to_vec()),
            STATUS_INVALID => Err(SealError::InvalidKey),
            _ => Err(unavailable(
                String::from_utf8_lossy(&answer[9..]).into_owned(),
            )),
        }
    }
}

#[async_trait::async_trait]
impl Seal for SimKmsSeal {
    fn seal_type(&self) -> &'static str {
        "simkms"
    }

    fn is_recovery(&self) -> bool {
        true
    }

    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        self.call(OP_ENCRYPT, plaintext).await
    }

    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.call(OP_DECRYPT, ciphertext).await.map(Zeroizing::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    const KMS: &str = "10.9.0.1:9000";

    fn start_kms(faults: Arc<SimKmsFaults>) -> madsim::runtime::NodeHandle {
        let server = Arc::new(SimKmsServer::new(faults));
        madsim::runtime::Handle::current()
            .create_node()
            .name("kms")
            .ip(IpAddr::from([10, 9, 0, 1]))
            .init(move || server.clone().serve(KMS.parse().unwrap()))
            .build()
    }

    fn client_host() -> madsim::runtime::NodeHandle {
        madsim::runtime::Handle::current()
            .create_node()
            .name("client")
            .ip(IpAddr::from([10, 9, 0, 2]))
            .build()
    }

    #[madsim::test]
    async fn wraps_over_the_network_and_fails_as_told() {
        let faults = Arc::new(SimKmsFaults::default());
        let kms = start_kms(faults.clone());
        let client = client_host();
        let seal = SimKmsSeal::new(KMS.parse().unwrap());
        let s = seal.clone();
        client
            .spawn(async move { crate::seal::seal_conformance_suite(&s).await })
            .await
            .unwrap();

        let s = seal.clone();
        let wrapped = client
            .spawn(async move { s.wrap(b"root key").await.unwrap() })
            .await
            .unwrap();
        faults.failing.store(true, Ordering::Relaxed);
        let (s, w) = (seal.clone(), wrapped.clone());
        let err = client
            .spawn(async move { s.unwrap(&w).await.unwrap_err() })
            .await
            .unwrap();
        assert!(matches!(err, SealError::Backend(_)), "{err:?}");
        faults.failing.store(false, Ordering::Relaxed);

        // Cut off: a timeout, reported as the backend being unavailable; healed: it opens.
        madsim::net::NetSim::current().clog_node(kms.id());
        let (s, w) = (seal.clone(), wrapped.clone());
        let err = client
            .spawn(async move { s.unwrap(&w).await.unwrap_err() })
            .await
            .unwrap();
        assert!(matches!(err, SealError::Backend(_)), "{err:?}");
        madsim::net::NetSim::current().unclog_node(kms.id());
        let (s, w) = (seal.clone(), wrapped.clone());
        let opened = client
            .spawn(async move { s.unwrap(&w).await.unwrap() })
            .await
            .unwrap();
        assert_eq!(opened.as_slice(), b"root key");

        // A tampered blob is an invalid key, not an outage.
        let mut bad = wrapped;
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let s = seal.clone();
        let err = client
            .spawn(async move { s.unwrap(&bad).await.unwrap_err() })
            .await
            .unwrap();
        assert_eq!(err, SealError::InvalidKey);
    }
}

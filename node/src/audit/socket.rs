//! The `socket` audit device: each line, newline-terminated, to a TCP (or unix stream) peer, or
//! one UDP datagram per line. Dialled on first use and kept; a failed write drops the connection
//! and is tried once more on a fresh one (the peer may have restarted), as Vault's does.

use super::AuditError;
use parking_lot::Mutex;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// The transport, as Vault's `socket_type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tcp,
    Udp,
    #[cfg(unix)]
    Unix,
}

enum Conn {
    Tcp(TcpStream),
    Udp(UdpSocket),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

pub struct SocketDevice {
    address: String,
    kind: Kind,
    timeout: Duration,
    conn: Mutex<Option<Conn>>,
}

impl SocketDevice {
    pub fn new(address: &str, socket_type: &str, write_timeout: &str) -> Result<Self, AuditError> {
        if address.is_empty() {
            return Err(AuditError::Option("address is required".into()));
        }
        let kind = match socket_type {
            "tcp" => Kind::Tcp,
            "udp" => Kind::Udp,
            #[cfg(unix)]
            "unix" => Kind::Unix,
            other => {
                return Err(AuditError::Option(format!(
                    "unsupported socket_type {other:?}"
                )))
            }
        };
        let secs = crate::duration::parse_secs(write_timeout)
            .map_err(|e| AuditError::Option(format!("invalid write_timeout: {e}")))?;
        Ok(SocketDevice {
            address: address.to_string(),
            kind,
            timeout: Duration::from_secs(secs.max(1)),
            conn: Mutex::new(None),
        })
    }

    fn error(&self, e: std::io::Error) -> AuditError {
        AuditError::Device {
            path: self.address.clone(),
            reason: e.to_string(),
        }
    }

    fn dial(&self) -> std::io::Result<Conn> {
        let resolve = || {
            self.address.to_socket_addrs()?.next().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, "address resolves to nothing")
            })
        };
        Ok(match self.kind {
            Kind::Tcp => {
                let stream = TcpStream::connect_timeout(&resolve()?, self.timeout)?;
                stream.set_write_timeout(Some(self.timeout))?;
                Conn::Tcp(stream)
            }
            Kind::Udp => {
                let peer = resolve()?;
                let local = if peer.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let socket = UdpSocket::bind(local)?;
                socket.connect(peer)?;
                socket.set_write_timeout(Some(self.timeout))?;
                Conn::Udp(socket)
            }
            #[cfg(unix)]
            Kind::Unix => {
                let stream = std::os::unix::net::UnixStream::connect(&self.address)?;
                stream.set_write_timeout(Some(self.timeout))?;
                Conn::Unix(stream)
            }
        })
    }

    fn send(conn: &mut Conn, bytes: &[u8]) -> std::io::Result<()> {
        match conn {
            Conn::Tcp(s) => s.write_all(bytes).and_then(|()| s.flush()),
            Conn::Udp(s) => s.send(bytes).map(|_| ()),
            #[cfg(unix)]
            Conn::Unix(s) => s.write_all(bytes).and_then(|()| s.flush()),
        }
    }

    /// Send one line; on failure redial once.
    pub fn append(&self, line: &str) -> Result<(), AuditError> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let mut guard = self.conn.lock();
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.dial().map_err(|e| self.error(e))?);
            }
            let Some(conn) = guard.as_mut() else {
                continue;
            };
            match Self::send(conn, &bytes) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    *guard = None;
                    if attempt == 1 {
                        return Err(self.error(e));
                    }
                }
            }
        }
        Err(AuditError::Device {
            path: self.address.clone(),
            reason: "not sent".into(),
        })
    }
}

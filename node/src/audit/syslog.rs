//! The `syslog` audit device: each line as one datagram to the local syslog socket, framed as
//! Go's `log/syslog` frames local messages (Vault's device uses it): `<PRI>Mmm dd hh:mm:ss
//! tag[pid]: line`, PRI being the facility's code times 8 plus 6 (informational). Vault's
//! options are `facility` (default `AUTH`) and `tag` (default `vault`); Coffer adds `socket_path`
//! (default `/dev/log`) so a device can write to another syslog daemon's socket.

use super::AuditError;

/// Where the local syslog daemon listens.
pub const DEFAULT_SOCKET: &str = "/dev/log";

/// Syslog facility codes (RFC 5424 table 1), by the names Vault accepts.
const FACILITIES: &[(&str, u8)] = &[
    ("KERN", 0),
    ("USER", 1),
    ("MAIL", 2),
    ("DAEMON", 3),
    ("AUTH", 4),
    ("SYSLOG", 5),
    ("LPR", 6),
    ("NEWS", 7),
    ("UUCP", 8),
    ("CRON", 9),
    ("AUTHPRIV", 10),
    ("FTP", 11),
    ("LOCAL0", 16),
    ("LOCAL1", 17),
    ("LOCAL2", 18),
    ("LOCAL3", 19),
    ("LOCAL4", 20),
    ("LOCAL5", 21),
    ("LOCAL6", 22),
    ("LOCAL7", 23),
];

/// Informational, the severity Vault logs audit lines at.
const SEVERITY_INFO: u8 = 6;

pub struct SyslogDevice {
    priority: u8,
    tag: String,
    #[cfg_attr(not(unix), allow(dead_code))]
    socket_path: String,
}

impl SyslogDevice {
    pub fn new(facility: &str, tag: &str, socket_path: &str) -> Result<Self, AuditError> {
        let code = FACILITIES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(facility))
            .map(|(_, code)| *code)
            .ok_or_else(|| AuditError::Option(format!("invalid syslog facility {facility:?}")))?;
        Ok(SyslogDevice {
            priority: code * 8 + SEVERITY_INFO,
            tag: tag.to_string(),
            socket_path: socket_path.to_string(),
        })
    }

    /// The datagram for `line`.
    pub fn frame(&self, line: &str) -> String {
        let stamp = time::OffsetDateTime::from(crate::clock::now())
            .format(time::macros::format_description!(
                "[month repr:short] [day padding:space] [hour]:[minute]:[second]"
            ))
            .unwrap_or_default();
        format!(
            "<{}>{stamp} {}[{}]: {line}\n",
            self.priority,
            self.tag,
            std::process::id()
        )
    }

    /// Send one line (waiting at most two seconds). A fresh unbound datagram socket each
    /// time: a datagram is the whole message, and the daemon may be restarted between lines.
    #[cfg(unix)]
    pub fn append(&self, line: &str) -> Result<(), AuditError> {
        let error = |e: std::io::Error| AuditError::Device {
            path: self.socket_path.clone(),
            reason: e.to_string(),
        };
        let socket = std::os::unix::net::UnixDatagram::unbound().map_err(error)?;
        // A daemon that stops reading fills its buffer: the line fails instead of hanging.
        socket
            .set_write_timeout(Some(std::time::Duration::from_secs(2)))
            .map_err(error)?;
        socket
            .send_to(self.frame(line).as_bytes(), &self.socket_path)
            .map_err(error)?;
        Ok(())
    }

    #[cfg(not(unix))]
    pub fn append(&self, _line: &str) -> Result<(), AuditError> {
        Err(AuditError::Option("syslog needs a unix host".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_as_go_log_syslog_does_locally() {
        let device = SyslogDevice::new("local0", "coffer-audit", DEFAULT_SOCKET).unwrap();
        let framed = device.frame("{\"type\":\"request\"}");
        assert!(framed.starts_with("<134>"), "{framed}");
        let pid = std::process::id();
        assert!(framed.ends_with(&format!(" coffer-audit[{pid}]: {{\"type\":\"request\"}}\n")));
        assert_eq!(
            SyslogDevice::new("AUTH", "vault", "x").unwrap().priority,
            38
        );
        assert!(SyslogDevice::new("nope", "vault", "x").is_err());
    }
}

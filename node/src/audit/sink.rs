//! Where a device's lines go: Vault's three device types (`file`, `socket`, `syslog`), with the
//! file device's two special paths (`stdout`: the process's standard output; `discard`: nowhere).

use super::device::FileDevice;
use super::socket::SocketDevice;
use super::syslog::SyslogDevice;
use super::table::AuditDeviceEntry;
use super::AuditError;
use std::io::Write;

/// One opened device.
pub enum Sink {
    File(FileDevice),
    Stdout,
    Discard,
    Socket(SocketDevice),
    Syslog(SyslogDevice),
    /// A device whose options no longer make sense (checked when enabled, so only a table
    /// written by another version holds one): every line fails, so it never counts as logged.
    Broken(String),
}

impl Sink {
    /// The sink `entry` describes (nothing is opened or dialled yet: the first line does it).
    pub fn for_entry(entry: &AuditDeviceEntry) -> Result<Sink, AuditError> {
        let option = |name: &str| entry.options.get(name).map(String::as_str);
        match entry.kind.as_str() {
            "file" => Ok(match entry.file_path().to_str() {
                Some("stdout") => Sink::Stdout,
                Some("discard") => Sink::Discard,
                _ => Sink::File(FileDevice::new(entry.file_path())),
            }),
            "socket" => SocketDevice::new(
                option("address").unwrap_or_default(),
                option("socket_type").unwrap_or("tcp"),
                option("write_timeout").unwrap_or("2s"),
            )
            .map(Sink::Socket),
            "syslog" => SyslogDevice::new(
                option("facility").unwrap_or("AUTH"),
                option("tag").unwrap_or("vault"),
                option("socket_path").unwrap_or(super::syslog::DEFAULT_SOCKET),
            )
            .map(Sink::Syslog),
            other => Err(AuditError::UnknownType(other.to_string())),
        }
    }

    /// `for_entry`, or a `Broken` sink that fails every line.
    pub fn open(entry: &AuditDeviceEntry) -> Sink {
        Sink::for_entry(entry).unwrap_or_else(|e| Sink::Broken(e.to_string()))
    }

    /// Write one line (each device adds its own framing: a newline, or a syslog header).
    pub fn append(&self, line: &str) -> Result<(), AuditError> {
        match self {
            Sink::File(file) => file.append(line),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}")
                    .and_then(|()| out.flush())
                    .map_err(|e| AuditError::Device {
                        path: "stdout".into(),
                        reason: e.to_string(),
                    })
            }
            Sink::Discard => Ok(()),
            Sink::Socket(socket) => socket.append(line),
            Sink::Syslog(syslog) => syslog.append(line),
            Sink::Broken(reason) => Err(AuditError::Option(reason.clone())),
        }
    }

    /// Check the device can take lines, when it is enabled: Vault refuses a file it cannot
    /// open. A socket or syslog peer may come and go, so only their options are checked.
    pub fn check(&self) -> Result<(), AuditError> {
        match self {
            Sink::File(file) => file.check(),
            _ => Ok(()),
        }
    }
}

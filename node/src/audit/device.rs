//! The `file` audit device: JSON lines appended to a file on this node's disk.

use super::AuditError;
use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// One file, opened on first use and kept open. Before each write the path is checked to still
/// name the open file (same device and inode); if it was moved, removed or replaced, the path is
/// reopened, so log rotation works and a path that cannot be written fails the write instead of
/// feeding an unlinked file.
pub struct FileDevice {
    path: PathBuf,
    file: Mutex<Option<OpenFile>>,
}

/// The open file and which file it is, read once at open: checking that the path still names
/// it then costs one `stat` of the path per line.
struct OpenFile {
    file: File,
    identity: Option<Identity>,
}

/// Device and inode.
type Identity = (u64, u64);

impl FileDevice {
    pub fn new(path: PathBuf) -> FileDevice {
        FileDevice {
            path,
            file: Mutex::new(None),
        }
    }

    fn open(&self) -> Result<OpenFile, AuditError> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&self.path).map_err(|e| self.error(e))?;
        let identity = file.metadata().ok().as_ref().and_then(identity);
        Ok(OpenFile { file, identity })
    }

    fn error(&self, e: std::io::Error) -> AuditError {
        AuditError::Device {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        }
    }

    /// Append one line (a newline is added).
    pub fn append(&self, line: &str) -> Result<(), AuditError> {
        let mut guard = self.file.lock();
        if guard.as_ref().is_some_and(|f| !self.still_names(f)) {
            *guard = None;
        }
        if guard.is_none() {
            *guard = Some(self.open()?);
        }
        let file = &mut guard.as_mut().expect("opened above").file;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let written = file.write_all(&bytes).and_then(|()| file.flush());
        if let Err(e) = written {
            *guard = None;
            return Err(self.error(e));
        }
        Ok(())
    }

    fn still_names(&self, open: &OpenFile) -> bool {
        let at_path = std::fs::metadata(&self.path).ok();
        match (at_path.as_ref().and_then(identity), open.identity) {
            (Some(at_path), Some(open)) => at_path == open,
            _ => cfg!(not(unix)) && at_path.is_some(),
        }
    }

    /// Check the file can be opened for appending (when the device is enabled).
    pub fn check(&self) -> Result<(), AuditError> {
        self.open().map(|_| ())
    }
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// No inode to compare: the path existing is all that is checked.
#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<Identity> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_lines_land_whole_and_rotation_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let device = FileDevice::new(path.clone());
        std::thread::scope(|s| {
            for t in 0..4 {
                let device = &device;
                s.spawn(move || {
                    for i in 0..50 {
                        device.append(&format!("{{\"n\":{}}}", t * 50 + i)).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let mut seen: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..200).collect::<Vec<_>>());

        // Rotated away: the next line goes to a new file at the path.
        std::fs::rename(&path, dir.path().join("audit.log.1")).unwrap();
        device.append("after").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");

        // The path cannot be a file any more: the append fails instead of feeding the old one.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        assert!(device.append("lost").is_err());
    }
}

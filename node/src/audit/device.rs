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
    file: Mutex<Option<File>>,
}

impl FileDevice {
    pub fn new(path: PathBuf) -> FileDevice {
        FileDevice {
            path,
            file: Mutex::new(None),
        }
    }

    fn open(&self) -> Result<File, AuditError> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(&self.path).map_err(|e| self.error(e))
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
        let file = guard.as_mut().expect("opened above");
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

    #[cfg(unix)]
    fn still_names(&self, file: &File) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(&self.path), file.metadata()) {
            (Ok(at_path), Ok(open)) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn still_names(&self, _file: &File) -> bool {
        self.path.exists()
    }

    /// Check the file can be opened for appending (when the device is enabled).
    pub fn check(&self) -> Result<(), AuditError> {
        self.open().map(|_| ())
    }
}

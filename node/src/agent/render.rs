//! Writing what the agent produces: a rendered template or a token, atomically (a temp file in
//! the destination's directory, its mode set, then renamed over the destination), so a reader
//! never sees half a file; a template's `command` runs after its file changed.

use super::error::AgentError;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Write `content` to `path` with `mode` unless it already holds exactly that; whether it
/// changed.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> Result<bool, AgentError> {
    let err = |source| AgentError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(current) = std::fs::read(path) {
        let same_mode =
            std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o7777 == mode);
        if current == content && same_mode {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(err)?;
    let written = file
        .write_all(content)
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode)))
        .and_then(|_| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(err(e));
    }
    Ok(true)
}

/// Run a template's `command` through `/bin/sh -c`; its exit status must be 0.
pub async fn run_command(name: &str, command: &str) -> Result<(), AgentError> {
    let fail = |message: String| AgentError::Command {
        name: name.to_string(),
        command: command.to_string(),
        message,
    };
    let line = command.to_string();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(line)
            .status()
    })
    .await
    .map_err(|e| fail(e.to_string()))?
    .map_err(|e| fail(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("exited with {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files_with_their_mode_and_report_change() {
        let dir = std::env::temp_dir().join(format!("coffer-agent-render-{}", std::process::id()));
        let path = dir.join("sub").join("out.txt");
        assert!(write_atomic(&path, b"one", 0o640).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert!(!write_atomic(&path, b"one", 0o640).unwrap());
        assert!(write_atomic(&path, b"one", 0o600).unwrap());
        assert!(write_atomic(&path, b"two", 0o600).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

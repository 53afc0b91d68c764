//! Where audit lines go (disabled, standard output, a file, a library user's writer) and how
//! one is appended: one `write_all` per line, a torn line kept apart from the next, and a file
//! deleted or replaced under the shim opened again at its path. [`AuditLog`](super::AuditLog)
//! holds this behind its mutex and runs [`Inner::append`] off the async workers.

use super::{AuditError, TARGET};
use crate::config::{self, AuditFailure};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where lines go.
pub(super) enum Out {
    Disabled,
    Stdout,
    File {
        path: PathBuf,
        file: File,
    },
    /// Any writer a library user gives ([`AuditLog::to_writer`](super::AuditLog::to_writer)).
    Writer(Box<dyn Write + Send>),
}

pub(super) struct Inner {
    pub(super) out: Out,
    /// Permissions a newly created file gets (`audit.file_mode`).
    pub(super) mode: u32,
    pub(super) fsync: bool,
    pub(super) policy: AuditFailure,
    /// A previous write failed part-way: the next line starts with '\n' so the partial line
    /// stays one corrupt line and does not swallow a good one.
    pub(super) torn: bool,
}

impl Inner {
    /// Lines to `out` with the defaults of a file (mode, no fsync).
    pub(super) fn unconfigured(out: Out, policy: AuditFailure) -> Inner {
        Inner {
            out,
            mode: config::DEFAULT_AUDIT_FILE_MODE,
            fsync: false,
            policy,
            torn: false,
        }
    }

    pub(super) fn append(&mut self, line: &[u8]) -> Result<(), AuditError> {
        self.reopen_if_replaced();
        let fsync = self.fsync;
        let torn = self.torn;
        let result = match &mut self.out {
            Out::Disabled => return Ok(()),
            Out::Stdout => {
                let mut out = io::stdout().lock();
                write_line(&mut out, line, torn).and_then(|()| out.flush())
            }
            Out::Writer(w) => write_line(w, line, torn).and_then(|()| w.flush()),
            Out::File { file, .. } => write_line(file, line, torn).and_then(|()| {
                // `File` is unbuffered: the bytes are in the kernel once write_all returns.
                if fsync {
                    file.sync_data()
                } else {
                    Ok(())
                }
            }),
        };
        self.torn = result.is_err();
        result.map_err(|source| AuditError::Write {
            path: self.path(),
            source,
        })
    }

    /// A file deleted or replaced under the shim (without the reopen signal) would take every
    /// later record into an inode nobody can read: then the path is opened again (created if
    /// missing), with a WARN ([`same_file`]). On failure the old file stays.
    fn reopen_if_replaced(&mut self) {
        let Out::File { path, file } = &self.out else {
            return;
        };
        if same_file(path, file) {
            return;
        }
        let path = path.clone();
        match open_out(Some(&path), self.mode) {
            Ok(out) => {
                self.out = out;
                self.torn = false;
                tracing::warn!(target: TARGET, path = %path.display(), "the audit file was deleted or replaced; reopened at its path");
            }
            Err(e) => {
                tracing::error!(target: TARGET, error = %e, cause = %e.source_text(), "the audit file was deleted or replaced and cannot be reopened");
            }
        }
    }

    fn path(&self) -> PathBuf {
        match &self.out {
            Out::File { path, .. } => path.clone(),
            _ => PathBuf::from("-"),
        }
    }
}

fn write_line(w: &mut impl Write, line: &[u8], torn: bool) -> io::Result<()> {
    if torn {
        // One write for both, so the terminator and the line cannot be separated.
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.push(b'\n');
        buf.extend_from_slice(line);
        w.write_all(&buf)
    } else {
        w.write_all(line)
    }
}

/// Whether the open `file` is still the one to write to: not when it was deleted (no link
/// left) nor when `path` now names another file (replaced). A file renamed away with nothing at
/// `path` yet is kept: that is a rotation in progress (logrotate creates the new file, then
/// signals), and writing on to the moved file until then loses nothing.
#[cfg(unix)]
fn same_file(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(open) = file.metadata() else {
        // The open file cannot be read back: nothing to compare, keep it.
        return true;
    };
    if open.nlink() == 0 {
        return false;
    }
    match std::fs::metadata(path) {
        Ok(at_path) => at_path.dev() == open.dev() && at_path.ino() == open.ino(),
        Err(_) => true,
    }
}

#[cfg(not(unix))]
fn same_file(_path: &Path, _file: &File) -> bool {
    true
}

/// Opens the log for appending. A file the shim creates gets `mode` (default 0600: records
/// name users, addresses and tools); an existing file keeps its own permissions.
pub(super) fn open_out(path: Option<&Path>, mode: u32) -> Result<Out, AuditError> {
    match path {
        None => Ok(Out::Disabled),
        Some(p) if p.as_os_str() == "-" => Ok(Out::Stdout),
        Some(p) => {
            let mut options = OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
            #[cfg(not(unix))]
            let _ = mode;
            let file = options.open(p).map_err(|source| AuditError::Open {
                path: p.to_owned(),
                source,
            })?;
            Ok(Out::File {
                path: p.to_owned(),
                file,
            })
        }
    }
}

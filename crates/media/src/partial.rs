//! A file that appears under its name only once it is complete: written to a temporary file
//! in the destination's directory, then flushed, synced and renamed into place. Dropped
//! without [`PartialFile::commit`], the temporary file is deleted.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::MediaError;

/// A buffered writer to a temporary file that becomes `path` on commit.
pub(crate) struct PartialFile {
    path: PathBuf,
    file: BufWriter<NamedTempFile>,
}

impl PartialFile {
    /// Starts writing what will become `path`, creating its directory if needed.
    pub(crate) fn create(path: &Path) -> Result<Self, MediaError> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(MediaError::io(path))?;
        let file = NamedTempFile::new_in(dir).map_err(MediaError::io(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
        })
    }

    /// Flushes, syncs and renames the file into place.
    pub(crate) fn commit(self) -> Result<(), MediaError> {
        let io = MediaError::io(&self.path);
        let file = self.file.into_inner().map_err(|err| io(err.into_error()))?;
        // Temporary files are private (0600); a movie is the user's, readable as any file.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let permissions = std::fs::Permissions::from_mode(0o644);
            file.as_file()
                .set_permissions(permissions)
                .map_err(MediaError::io(&self.path))?;
        }
        file.as_file()
            .sync_all()
            .map_err(MediaError::io(&self.path))?;
        file.persist(&self.path)
            .map_err(|err| MediaError::io(&self.path)(err.error))?;
        Ok(())
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

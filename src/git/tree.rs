//! Reads the tree of one commit out of Git (`ls-tree` + one `cat-file --batch`): finds the
//! repository holding a spec root, resolves a revision to a commit, and extracts the files under
//! the root's prefix into a temporary folder that lives as long as the `Checkout`. `plan` reads
//! both sides of a change this way, and the reconciler a last good commit without a snapshot.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Git repository holding a spec root, and where the root sits inside it.
#[derive(Debug)]
pub struct Repository {
    pub top: PathBuf,
    /// The root's path inside the repository, `/`-separated, ending in `/` (empty at the top).
    pub prefix: String,
}

/// A revision resolved to its commit.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The revision as the user wrote it.
    pub revision: String,
    pub id: String,
}

impl Commit {
    pub fn short(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }
}

/// Why a revision could not be read.
#[derive(Debug)]
pub enum TreeError {
    /// `git` itself could not be started.
    NoGit(std::io::Error),
    NotARepository {
        root: PathBuf,
        message: String,
    },
    UnknownRevision {
        revision: String,
        top: PathBuf,
    },
    /// The spec root did not exist in that commit.
    MissingRoot {
        commit: Commit,
        prefix: String,
    },
    Git {
        what: String,
        message: String,
    },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::NoGit(e) => write!(
                f,
                "cannot run `git` ({e}); hromada reads revisions of the spec with the git CLI"
            ),
            TreeError::NotARepository { root, message } => write!(
                f,
                "{} is not inside a git repository ({message}), so no revision of the spec root can be read from Git",
                root.display()
            ),
            TreeError::UnknownRevision { revision, top } => write!(
                f,
                "unknown revision `{revision}` in the repository at {}; pass a commit, branch or tag (see `git log`)",
                top.display()
            ),
            TreeError::MissingRoot { commit, prefix } => write!(
                f,
                "the spec root `{}` does not exist at revision `{}` ({})",
                prefix.trim_end_matches('/'),
                commit.revision,
                commit.short()
            ),
            TreeError::Git { what, message } => write!(f, "git failed to {what}: {message}"),
            TreeError::Io { path, error } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for TreeError {}

fn output(command: &mut Command) -> Result<(bool, String, String), TreeError> {
    let out = command.output().map_err(TreeError::NoGit)?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    ))
}

impl Repository {
    /// The repository holding `root`.
    pub fn discover(root: &Path) -> Result<Repository, TreeError> {
        if !root.is_dir() {
            return Err(TreeError::NotARepository {
                root: root.to_path_buf(),
                message: "no such folder".into(),
            });
        }
        let (ok, stdout, stderr) =
            output(super::at(root).args(["rev-parse", "--show-toplevel", "--show-prefix"]))?;
        if !ok {
            return Err(TreeError::NotARepository {
                root: root.to_path_buf(),
                message: stderr,
            });
        }
        let mut lines = stdout.lines();
        let top = lines.next().unwrap_or_default();
        let prefix = lines.next().unwrap_or_default();
        if top.is_empty() {
            return Err(TreeError::NotARepository {
                root: root.to_path_buf(),
                message: "the folder has no working tree (a bare repository?)".into(),
            });
        }
        Ok(Repository {
            top: PathBuf::from(top),
            prefix: prefix.to_string(),
        })
    }

    /// Resolves `revision` to the commit it names.
    pub fn resolve(&self, revision: &str) -> Result<Commit, TreeError> {
        let (ok, stdout, _) = output(super::at(&self.top).args([
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{revision}^{{commit}}"),
        ]))?;
        let id = stdout.trim();
        if !ok || id.is_empty() {
            return Err(TreeError::UnknownRevision {
                revision: revision.to_string(),
                top: self.top.clone(),
            });
        }
        Ok(Commit {
            revision: revision.to_string(),
            id: id.to_string(),
        })
    }

    /// Writes the files under the spec root as of `commit` into a fresh temporary folder.
    pub fn checkout(&self, commit: &Commit) -> Result<Checkout, TreeError> {
        let entries = self.list(commit)?;
        if entries.is_empty() {
            return Err(TreeError::MissingRoot {
                commit: commit.clone(),
                prefix: self.prefix.clone(),
            });
        }
        let checkout = Checkout::create()?;
        self.write_blobs(&entries, checkout.path())?;
        Ok(checkout)
    }

    /// The blobs (and symbolic links) under the prefix: mode, object id, path below the prefix.
    fn list(&self, commit: &Commit) -> Result<Vec<Entry>, TreeError> {
        let mut command = super::at(&self.top);
        command.args(["ls-tree", "-r", "-z", &commit.id]);
        if !self.prefix.is_empty() {
            command.args(["--", &self.prefix]);
        }
        let (ok, stdout, stderr) = output(&mut command)?;
        if !ok {
            return Err(TreeError::Git {
                what: format!("list the files of {}", commit.revision),
                message: stderr,
            });
        }
        let mut entries = Vec::new();
        for record in stdout.split('\0').filter(|r| !r.is_empty()) {
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            let mut meta = meta.split(' ');
            let (Some(mode), Some("blob"), Some(oid)) = (meta.next(), meta.next(), meta.next())
            else {
                continue;
            };
            let Some(rel) = path.strip_prefix(&self.prefix) else {
                continue;
            };
            entries.push(Entry {
                link: mode == "120000",
                oid: oid.to_string(),
                rel: rel.to_string(),
            });
        }
        Ok(entries)
    }

    /// Reads every blob through one `git cat-file --batch` and writes it below `dir`.
    fn write_blobs(&self, entries: &[Entry], dir: &Path) -> Result<(), TreeError> {
        let mut child = super::at(&self.top)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(TreeError::NoGit)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let request: String = entries.iter().map(|e| format!("{}\n", e.oid)).collect();
        let feeder = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let batch_error = |message: String| TreeError::Git {
            what: "read the files of the revision".into(),
            message,
        };
        for entry in entries {
            let mut header = String::new();
            stdout
                .read_line(&mut header)
                .map_err(|e| batch_error(e.to_string()))?;
            let size: usize = header
                .trim_end()
                .rsplit(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| batch_error(format!("unexpected reply `{}`", header.trim_end())))?;
            let mut content = vec![0; size + 1];
            stdout
                .read_exact(&mut content)
                .map_err(|e| batch_error(e.to_string()))?;
            content.pop();
            write_entry(dir, entry, &content)?;
        }
        drop(stdout);
        let _ = feeder.join();
        let _ = child.wait();
        Ok(())
    }
}

struct Entry {
    link: bool,
    oid: String,
    rel: String,
}

fn write_entry(dir: &Path, entry: &Entry, content: &[u8]) -> Result<(), TreeError> {
    let target = dir.join(&entry.rel);
    let io = |error| TreeError::Io {
        path: target.clone(),
        error,
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    if entry.link {
        #[cfg(unix)]
        {
            let link = String::from_utf8_lossy(content).into_owned();
            return std::os::unix::fs::symlink(link, &target).map_err(io);
        }
    }
    std::fs::write(&target, content).map_err(io)
}

/// A temporary folder holding one revision's files; removed when dropped.
#[derive(Debug)]
pub struct Checkout {
    path: PathBuf,
}

impl Checkout {
    fn create() -> Result<Checkout, TreeError> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut attempt = 0u32;
        loop {
            let path = base.join(format!(
                "hromada-revision-{}-{stamp}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Checkout { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1
                }
                Err(error) => return Err(TreeError::Io { path, error }),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

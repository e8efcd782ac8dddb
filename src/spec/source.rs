//! The text of a spec tree: every `.kdl` file under `spec/` and `policies/` of a root folder,
//! read once, with the helpers that turn byte offsets into lines and columns. Paths are kept
//! relative to the root, with `/` separators, so that diagnostics read the same on every machine.

use std::path::{Path, PathBuf};

use super::diagnostics::{Diagnostic, Pos, Range, Span};

pub type FileId = usize;

/// The folders of a spec root that hold KDL files.
pub const SPEC_FOLDERS: [&str; 2] = ["spec", "policies"];

#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the spec root, `/`-separated.
    pub path: String,
    pub text: String,
    /// False for a file that is not UTF-8: `text` then holds it with every invalid sequence
    /// replaced by U+FFFD (so that the H0002 diagnostic can point at the first one), and it is
    /// not parsed.
    pub readable: bool,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: String, text: String) -> Self {
        let line_starts = std::iter::once(0).chain(line_breaks(&text)).collect();
        SourceFile {
            path,
            text,
            readable: true,
            line_starts,
        }
    }

    /// The position of a byte offset; an offset inside a character (or past the end) counts as
    /// the start of that character (or the end), so a span from any source never panics here.
    pub fn pos(&self, byte: usize) -> Pos {
        let byte = self.text.floor_char_boundary(byte.min(self.text.len()));
        let line = self.line_starts.partition_point(|&s| s <= byte) - 1;
        let start = self.line_starts[line];
        let prefix = &self.text[start..byte];
        let column = prefix
            .strip_prefix('\u{feff}')
            .unwrap_or(prefix)
            .chars()
            .count()
            + 1;
        Pos {
            line: line + 1,
            column,
            byte,
        }
    }

    /// The number of lines (a final line break starts one more, empty line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of one 1-based line, with its line break.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let at = |l: usize| self.line_starts.get(l).copied().unwrap_or(self.text.len());
        at(line.wrapping_sub(1))..at(line)
    }

    /// `span` moved onto character boundaries inside the text: an offset within a character
    /// widens to the whole character, one past the end shrinks to the end.
    pub fn clamp(&self, offset: usize, len: usize) -> (usize, usize) {
        let start = self.text.floor_char_boundary(offset.min(self.text.len()));
        let end = self
            .text
            .ceil_char_boundary(offset.saturating_add(len).min(self.text.len()));
        (start, end.max(start) - start)
    }

    /// The text of one 1-based line, without its line break.
    pub fn line(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end]
            .trim_end_matches(['\n', '\r', '\u{85}', '\u{c}', '\u{2028}', '\u{2029}'])
    }
}

/// Offsets just after each line break, as KDL counts them: CRLF, CR, LF, NEL, FF, LS and PS.
fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some((i, c)) = chars.next() {
            match c {
                '\r' if chars.peek().is_some_and(|(_, n)| *n == '\n') => {
                    chars.next();
                    return Some(i + 2);
                }
                '\r' | '\n' | '\u{85}' | '\u{c}' | '\u{2028}' | '\u{2029}' => {
                    return Some(i + c.len_utf8());
                }
                _ => {}
            }
        }
        None
    })
}

/// A file that is not UTF-8, kept (unparsed) so that its H0002 can point at the first bad byte.
fn not_utf8(id: FileId, path: String, e: std::string::FromUtf8Error) -> (SourceFile, Diagnostic) {
    let at = e.utf8_error().valid_up_to();
    let bad = e.as_bytes()[at..]
        .iter()
        .take(
            e.utf8_error()
                .error_len()
                .unwrap_or(e.as_bytes().len() - at),
        )
        .map(|b| format!("0x{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ");
    let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
    let mut file = SourceFile::new(path, text);
    file.readable = false;
    let problem = Diagnostic::error("H0002", format!("{} is not UTF-8 text", file.path))
        .at(Some(Span {
            file: id,
            offset: at,
            len: '\u{fffd}'.len_utf8(),
        }))
        .detail(format!(
            "byte {at} ({bad}) is not valid UTF-8; the file was not read further"
        ))
        .help("save the file as UTF-8 (KDL files are UTF-8 text)");
    (file, problem)
}

/// All KDL files of one spec tree, plus the root they came from (for referenced files such as
/// certificates and OpenAPI documents). The set remembers every referenced path it resolved, so
/// that a revision can be snapshotted and hashed with exactly the files it depends on.
#[derive(Debug, Default)]
pub struct SourceSet {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    referenced: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl SourceSet {
    /// Reads every `.kdl` file under the root's `spec/` and `policies/`, in path order.
    /// Files that cannot be read become diagnostics rather than aborting the run.
    pub fn read(root: &Path) -> (SourceSet, Vec<Diagnostic>) {
        let mut set = SourceSet {
            root: root.to_path_buf(),
            ..SourceSet::default()
        };
        let mut problems = Vec::new();
        let mut paths = Vec::new();
        for folder in SPEC_FOLDERS {
            let dir = root.join(folder);
            if !dir.is_dir() {
                continue;
            }
            for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
                match entry {
                    Ok(e)
                        if e.file_type().is_file()
                            && e.path().extension() == Some("kdl".as_ref()) =>
                    {
                        paths.push(e.into_path())
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(
                        Diagnostic::error(
                            "H0002",
                            format!("cannot read the spec folder {}", dir.display()),
                        )
                        .detail(e.to_string()),
                    ),
                }
            }
        }
        for path in paths {
            let rel = relative(root, &path);
            match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => set.files.push(SourceFile::new(rel, text)),
                    Err(e) => {
                        let (file, problem) = not_utf8(set.files.len(), rel, e);
                        set.files.push(file);
                        problems.push(problem);
                    }
                },
                Err(e) => problems.push(
                    Diagnostic::error("H0002", format!("cannot read {rel}"))
                        .detail(e.to_string())
                        .help("check the file's permissions"),
                ),
            }
        }
        if set.files.is_empty() && problems.is_empty() {
            problems.push(
                Diagnostic::error("H0003", format!("no spec files under {}", root.display()))
                    .detail(
                        "a spec root is a folder holding `spec/` and `policies/` with `.kdl` files",
                    )
                    .help(
                        "pass the folder that contains `spec/`, for example `hromada validate .`",
                    ),
            );
        }
        (set, problems)
    }

    /// A spec tree held in memory, for tests and generated cities.
    pub fn from_files(root: PathBuf, files: Vec<(String, String)>) -> SourceSet {
        SourceSet {
            root,
            files: files
                .into_iter()
                .map(|(p, t)| SourceFile::new(p, t))
                .collect(),
            ..SourceSet::default()
        }
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn range(&self, span: Span) -> Range {
        let file = self.file(span.file);
        Range {
            filename: file.path.clone(),
            start: file.pos(span.offset),
            end: file.pos(span.offset + span.len),
        }
    }

    /// Resolves a path written in the spec (relative to the spec root) to a file on disk.
    pub fn resolve(&self, spec_path: &str) -> Result<PathBuf, OutsideRoot> {
        let path = inside_root(&self.root, spec_path)?;
        self.referenced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                Path::new(spec_path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .filter(|c| c != ".")
                    .collect::<Vec<_>>()
                    .join("/"),
            );
        Ok(path)
    }

    /// The paths (relative to the root, `/`-separated) of every file outside the KDL sources
    /// that the checks resolved so far: certificates, OpenAPI documents.
    pub fn referenced(&self) -> Vec<String> {
        self.referenced
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// A path in the spec that leaves the spec root (absolute, or climbing out with `..`). A spec
/// may only name files it versions itself: anything else would let a pull request make CI read
/// arbitrary files of the machine it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutsideRoot;

impl std::fmt::Display for OutsideRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("must be a path relative to the spec root, without `..`")
    }
}

/// `root` joined with a path written in the spec, refused when the path leaves the root.
pub fn inside_root(root: &Path, spec_path: &str) -> Result<PathBuf, OutsideRoot> {
    let rel = Path::new(spec_path);
    let leaves = rel.is_absolute()
        || spec_path.starts_with(['/', '\\'])
        || rel.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if leaves || spec_path.is_empty() {
        Err(OutsideRoot)
    } else {
        Ok(root.join(rel))
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_break_as_kdl_says_and_columns_count_characters() {
        let f = SourceFile::new("a.kdl".into(), "\u{feff}a 1\r\nб 2\rc 3\u{2028}d\n".into());
        assert_eq!(f.pos(3).line, 1);
        assert_eq!(f.pos(3).column, 1, "the BOM is not a column");
        assert_eq!(f.pos(4).column, 2);
        let b = f.text.find('б').unwrap();
        assert_eq!((f.pos(b + 3).line, f.pos(b + 3).column), (2, 3));
        let c = f.text.find('c').unwrap();
        assert_eq!((f.pos(c).line, f.pos(c).column), (3, 1));
        let d = f.text.find('d').unwrap();
        assert_eq!((f.pos(d).line, f.pos(d).column), (4, 1));
        assert_eq!(f.line(2), "б 2");
    }
}

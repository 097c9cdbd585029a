//! The `.esrec` recording format: a short text header naming where the bytes came from, then
//! the raw byte chunks exactly as they arrived, each with its arrival time, so bursts and
//! USB chunking replay faithfully.
//!
//! ```text
//! esbench-recording 1\n            magic and format version
//! origin: <free text>\n            required: where the bytes came from
//! <key>: <value>\n ...             optional (port, baud, recorded_unix, tool, note, ...)
//! \n                               a blank line ends the header
//! chunk*:  u64 LE at_ns | u32 LE len | len bytes     at_ns: since recording start,
//!                                                    never decreasing; len < 0xFFFF_FFFF
//! end:     u64 LE end_ns | u32 LE 0xFFFF_FFFF        exactly once, last thing in the file
//! ```
//!
//! The end marker is what tells a complete file from one cut short at a chunk boundary.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) const MAGIC: &str = "esbench-recording";
pub(crate) const VERSION: u32 = 1;
const END_MARK: u32 = u32::MAX;
const MAX_CHUNK: u32 = 1 << 20;
const MAX_HEADER: usize = 64 * 1024;

/// A recording that is not usable, with the byte offset where reading failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingError {
    pub file: String,
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for RecordingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: byte offset {}: {}",
            self.file, self.offset, self.message
        )
    }
}

impl std::error::Error for RecordingError {}

/// Header lines, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub fields: Vec<(String, String)>,
}

impl Header {
    pub(crate) fn new(origin: &str) -> Self {
        Header {
            fields: vec![("origin".into(), one_line(origin))],
        }
    }

    pub(crate) fn with(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.fields.push((key.into(), one_line(&value.to_string())));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn origin(&self) -> &str {
        self.get("origin").unwrap_or("")
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A whole recording in memory (a minute of stream is about 150 KB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub header: Header,
    /// `(at_ns, bytes)` in arrival order.
    pub chunks: Vec<(u64, Vec<u8>)>,
    /// Time the recording ended (≥ the last chunk's time).
    pub end_ns: u64,
}

impl Recording {
    /// Reads and parses a recording file. Only a regular file of at most [`MAX_FILE`] bytes
    /// is read, opened without blocking (a FIFO must not hang the caller in `open`), and its
    /// first line is checked before the rest is read, so `/dev/zero` or a stray text file is
    /// refused at once instead of filling memory.
    pub fn read(path: &Path) -> anyhow::Result<Recording> {
        let bytes = read_capped(path)?;
        Ok(Self::parse(&bytes, &path.display().to_string())?)
    }

    /// Parses a whole file; `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Recording, RecordingError> {
        let err = |offset: usize, message: String| RecordingError {
            file: file.to_string(),
            offset,
            message,
        };
        let (header, mut pos) = parse_header(bytes).map_err(|(o, m)| err(o, m))?;
        let mut chunks = Vec::new();
        let mut last = 0u64;
        loop {
            let rest = &bytes[pos..];
            if rest.is_empty() {
                return Err(err(
                    pos,
                    format!(
                        "truncated: the file ends after {} chunks without its end marker",
                        chunks.len()
                    ),
                ));
            }
            if rest.len() < 12 {
                return Err(err(
                    pos,
                    format!("truncated chunk header: need 12 bytes, {} left", rest.len()),
                ));
            }
            let at = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes"));
            if at < last {
                return Err(err(
                    pos,
                    format!("time goes backwards: {at} ns after {last} ns"),
                ));
            }
            last = at;
            if len == END_MARK {
                let after = pos + 12;
                if after != bytes.len() {
                    return Err(err(
                        after,
                        format!(
                            "{} unexpected bytes after the end marker",
                            bytes.len() - after
                        ),
                    ));
                }
                return Ok(Recording {
                    header,
                    chunks,
                    end_ns: at,
                });
            }
            if len > MAX_CHUNK {
                return Err(err(
                    pos + 8,
                    format!("chunk length {len} is larger than the {MAX_CHUNK}-byte limit"),
                ));
            }
            let body = &rest[12..];
            if body.len() < len as usize {
                return Err(err(
                    pos + 12,
                    format!(
                        "truncated chunk: header says {len} bytes, {} left",
                        body.len()
                    ),
                ));
            }
            chunks.push((at, body[..len as usize].to_vec()));
            pos += 12 + len as usize;
        }
    }

    /// Total stream bytes.
    pub fn byte_count(&self) -> usize {
        self.chunks.iter().map(|(_, b)| b.len()).sum()
    }
}

/// The largest recording file read (a minute of stream is about 150 KB, so this is hours).
pub const MAX_FILE: u64 = 256 << 20;

fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let shown = path.display();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot read recording {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| anyhow::anyhow!("cannot read recording {shown}: {e}"))?;
    anyhow::ensure!(
        meta.is_file(),
        "recording {shown} is not a regular file (a recording is a file made by `esbench record`)"
    );
    anyhow::ensure!(
        meta.len() <= MAX_FILE,
        "recording {shown} is {} bytes, larger than the {MAX_FILE}-byte limit",
        meta.len()
    );
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The magic line first: a file of another kind is refused before it is read whole.
    let magic_len = MAGIC.len() as u64 + 1;
    (&file)
        .take(magic_len)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read recording {shown}: {e}"))?;
    if !bytes.starts_with(MAGIC.as_bytes()) || bytes.len() < magic_len as usize {
        // `parse` words the error (not a recording / truncated) with its offset.
        return Ok(bytes);
    }
    // `take` keeps the cap even if the file grows while it is read.
    (&file)
        .take(MAX_FILE + 1 - magic_len)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot read recording {shown}: {e}"))?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_FILE,
        "recording {shown} grew past the {MAX_FILE}-byte limit while it was read"
    );
    Ok(bytes)
}

fn parse_header(bytes: &[u8]) -> Result<(Header, usize), (usize, String)> {
    let mut pos = 0;
    let mut header = Header::default();
    let mut first = true;
    loop {
        let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') else {
            return Err((
                pos,
                if first {
                    "not an esbench recording (no header line)".into()
                } else {
                    "truncated header: no blank line ends it".into()
                },
            ));
        };
        if pos + nl > MAX_HEADER {
            return Err((pos, format!("header longer than {MAX_HEADER} bytes")));
        }
        let line = std::str::from_utf8(&bytes[pos..pos + nl]).map_err(|e| {
            (
                pos + e.valid_up_to(),
                "header is not UTF-8 text".to_string(),
            )
        })?;
        let line_start = pos;
        pos += nl + 1;
        if first {
            first = false;
            let version = line
                .strip_prefix(MAGIC)
                .and_then(|v| v.strip_prefix(' '))
                .ok_or((
                    0,
                    format!("not an esbench recording (expected \"{MAGIC} {VERSION}\")"),
                ))?;
            if version.trim() != VERSION.to_string() {
                return Err((
                    MAGIC.len() + 1,
                    format!(
                        "unsupported recording version {version:?} (this esbench reads {VERSION})"
                    ),
                ));
            }
            continue;
        }
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').ok_or((
            line_start,
            format!("header line {line:?} is not `key: value`"),
        ))?;
        header
            .fields
            .push((k.trim().to_string(), v.trim().to_string()));
    }
    if header.get("origin").is_none_or(|o| o.is_empty()) {
        return Err((pos, "header has no `origin:` line".into()));
    }
    Ok((header, pos))
}

/// Writes a recording as chunks arrive, into a temporary file that only becomes `path`
/// when `finish` writes the end marker (so an interrupted capture never looks complete).
pub(crate) struct RecordingWriter {
    file: std::io::BufWriter<std::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    last_ns: u64,
    finished: bool,
    pub chunks: u64,
    pub bytes: u64,
}

impl RecordingWriter {
    pub(crate) fn create(path: &Path, header: &Header) -> anyhow::Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.partial.{}", std::process::id()));
        let f = std::fs::File::create(&tmp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tmp.display()))?;
        let mut file = std::io::BufWriter::new(f);
        writeln!(file, "{MAGIC} {VERSION}")?;
        for (k, v) in &header.fields {
            writeln!(file, "{}: {}", k.replace(':', "_"), one_line(v))?;
        }
        writeln!(file)?;
        Ok(RecordingWriter {
            file,
            tmp,
            path: path.to_path_buf(),
            last_ns: 0,
            finished: false,
            chunks: 0,
            bytes: 0,
        })
    }

    /// Appends one chunk; times before the previous chunk's are raised to it.
    pub(crate) fn chunk(&mut self, at_ns: u64, bytes: &[u8]) -> anyhow::Result<()> {
        for part in bytes.chunks(MAX_CHUNK as usize) {
            self.last_ns = self.last_ns.max(at_ns);
            self.file.write_all(&self.last_ns.to_le_bytes())?;
            self.file.write_all(&(part.len() as u32).to_le_bytes())?;
            self.file.write_all(part)?;
            self.chunks += 1;
            self.bytes += part.len() as u64;
        }
        Ok(())
    }

    /// Writes the end marker and moves the file into place.
    pub(crate) fn finish(mut self, end_ns: u64) -> anyhow::Result<PathBuf> {
        let end = end_ns.max(self.last_ns);
        self.file.write_all(&end.to_le_bytes())?;
        self.file.write_all(&END_MARK.to_le_bytes())?;
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        self.finished = true;
        Ok(self.path.clone())
    }
}

impl Drop for RecordingWriter {
    fn drop(&mut self) {
        // Without `finish` (an error or an abort), leave no partial file behind.
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Recording) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.esrec");
        let header = Header::new("synthetic test\nsecond line").with("baud", 57600);
        let mut w = RecordingWriter::create(&path, &header).unwrap();
        w.chunk(10, b"ESP,1,1").unwrap();
        w.chunk(5, b",2\r\n").unwrap();
        w.chunk(1_000, b"").unwrap();
        w.finish(2_000).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let rec = Recording::read(&path).unwrap();
        (bytes, rec)
    }

    #[test]
    fn round_trip() {
        let (bytes, rec) = sample();
        assert!(bytes.starts_with(
            b"esbench-recording 1\norigin: synthetic test second line\nbaud: 57600\n\n"
        ));
        assert_eq!(rec.header.origin(), "synthetic test second line");
        assert_eq!(rec.header.get("baud"), Some("57600"));
        assert_eq!(
            rec.chunks,
            vec![(10, b"ESP,1,1".to_vec()), (10, b",2\r\n".to_vec()),]
        );
        assert_eq!(rec.end_ns, 2_000);
    }

    fn error_of(bytes: &[u8]) -> RecordingError {
        Recording::parse(bytes, "x.esrec").unwrap_err()
    }

    #[test]
    fn every_truncation_is_an_error_naming_an_offset_inside_the_file() {
        let (bytes, _) = sample();
        for cut in 0..bytes.len() {
            let e = error_of(&bytes[..cut]);
            assert!(e.offset <= cut, "cut {cut}: {e}");
            assert!(e.to_string().starts_with("x.esrec: byte offset "), "{e}");
        }
    }

    #[test]
    fn specific_errors() {
        let (bytes, _) = sample();
        let body = bytes.iter().position(|&b| b == b'\n').unwrap();
        let header_end = bytes.windows(2).position(|w| w == b"\n\n").unwrap() + 2;

        assert!(error_of(b"hello\n")
            .message
            .contains("not an esbench recording"));
        let e = error_of(b"esbench-recording 2\norigin: x\n\n");
        assert!(e.message.contains("unsupported recording version"), "{e}");
        let e = error_of(b"esbench-recording 1\nno colon here\n\n");
        assert_eq!(e.offset, 20);
        let e = error_of(b"esbench-recording 1\nport: x\n\n");
        assert!(e.message.contains("origin"), "{e}");
        let e = error_of(b"esbench-recording 1\norigin: \xff\n\n");
        assert!(e.message.contains("UTF-8"), "{e}");
        assert!(body > 0);

        // Time going backwards.
        let mut bad = bytes.clone();
        bad[header_end + 12 + 7..header_end + 12 + 7 + 8].copy_from_slice(&1u64.to_le_bytes());
        let e = error_of(&bad);
        assert_eq!(e.offset, header_end + 12 + 7);
        assert!(e.message.contains("backwards"), "{e}");

        // An absurd length.
        let mut bad = bytes.clone();
        bad[header_end + 8..header_end + 12].copy_from_slice(&(50u32 << 20).to_le_bytes());
        let e = error_of(&bad);
        assert_eq!(e.offset, header_end + 8);

        // Junk after the end marker.
        let mut bad = bytes.clone();
        bad.extend_from_slice(b"zz");
        let e = error_of(&bad);
        assert_eq!(e.offset, bytes.len());
        assert!(e.message.contains("after the end marker"), "{e}");
    }

    #[test]
    fn abandoned_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.esrec");
        let mut w = RecordingWriter::create(&path, &Header::new("x")).unwrap();
        w.chunk(1, b"abc").unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}

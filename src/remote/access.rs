//! What the agent lets a driver do: the token every request must carry, and the directories
//! and serial ports it may name. Nothing here starts anything; it only says yes or no, and
//! why not.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use subtle::ConstantTimeEq;

/// Reads a token file: its first line, trimmed. An empty or unreadable file is an error that
/// names it (a run with an empty token would accept anyone).
pub fn read_token_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_string();
    if token.is_empty() {
        bail!(
            "the token file {} is empty: put a secret on its first line \
             (e.g. `head -c 24 /dev/urandom | base64 > {}`)",
            path.display(),
            path.display()
        );
    }
    let bits = token_bits(&token);
    if bits < MIN_TOKEN_BITS {
        bail!(
            "the token file {} holds a guessable token (about {bits:.0} bits; at least \
             {MIN_TOKEN_BITS:.0}, i.e. 16 random bytes, are needed): make one with \
             `head -c 24 /dev/urandom | base64 > {}`",
            path.display(),
            path.display()
        );
    }
    Ok(token)
}

/// The least entropy a token must have: 16 random bytes.
pub const MIN_TOKEN_BITS: f64 = 128.0;

/// A generous estimate of a token's entropy in bits, as if each character were drawn at
/// random from the smallest usual alphabet holding all of them (digits, hex, one-case
/// alphanumerics, alphanumerics, base64, printable ASCII); a token of fewer than 8 distinct
/// characters counts only those (so `aaaa…` or `abab…` are weak however long). Base64
/// padding counts for nothing.
pub fn token_bits(token: &str) -> f64 {
    let t = token.trim_end_matches('=');
    let all = |f: fn(char) -> bool| t.chars().all(f);
    let alphabet: f64 = if all(|c| c.is_ascii_digit()) {
        10.0
    } else if all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        || all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
    {
        16.0
    } else if all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        || all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        36.0
    } else if all(|c| c.is_ascii_alphanumeric()) {
        62.0
    } else if all(|c| c.is_ascii_alphanumeric() || "+/".contains(c))
        || all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        64.0
    } else {
        95.0
    };
    let distinct = t.chars().collect::<std::collections::BTreeSet<_>>().len();
    // 32 random hex digits use fewer than 8 distinct ones with a chance below 1e-12.
    let counted = if distinct < 8 {
        distinct
    } else {
        t.chars().count()
    };
    counted as f64 * alphabet.log2()
}

/// True when `given` is the token, compared in constant time (a wrong guess takes as long
/// whichever byte is wrong, so timing leaks nothing but the length).
pub fn token_matches(expected: &str, given: &str) -> bool {
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// The agent's directories and serial ports, canonicalised once at start.
#[derive(Clone, Debug)]
pub struct AllowList {
    dirs: Vec<PathBuf>,
    serials: Vec<PathBuf>,
}

impl AllowList {
    /// Fails (naming it) on a directory or port that does not exist.
    pub fn new(dirs: &[PathBuf], serials: &[PathBuf]) -> Result<AllowList> {
        let canon = |p: &PathBuf, what: &str| {
            p.canonicalize()
                .with_context(|| format!("{what} {} does not exist", p.display()))
        };
        Ok(AllowList {
            dirs: dirs
                .iter()
                .map(|d| canon(d, "--dir"))
                .collect::<Result<_>>()?,
            serials: serials
                .iter()
                .map(|s| canon(s, "--serial"))
                .collect::<Result<_>>()?,
        })
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    pub fn serials(&self) -> &[PathBuf] {
        &self.serials
    }

    fn inside_dirs(&self, p: &Path) -> bool {
        self.dirs.iter().any(|d| p.starts_with(d))
    }

    /// A directory the driver names for scratch files: it must lie inside a `--dir` (it may
    /// not exist yet; `..` is refused outright so nothing can climb out after the check).
    pub fn out_dir(&self, p: &Path) -> Result<PathBuf> {
        if !p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
            bail!(
                "refused: out_dir {} must be an absolute path without `..`",
                p.display()
            );
        }
        // The deepest part that exists, resolved (symlinks included), plus the rest.
        let mut existing = p.to_path_buf();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name.to_os_string());
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut resolved = existing
            .canonicalize()
            .with_context(|| format!("refused: cannot resolve {}", p.display()))?;
        for part in rest.into_iter().rev() {
            resolved.push(part);
        }
        if !self.inside_dirs(&resolved) {
            bail!(
                "refused: out_dir {} is outside the agent's directories ({})",
                p.display(),
                self.describe_dirs()
            );
        }
        Ok(resolved)
    }

    /// A serial port the driver names: one of the agent's `--serial` ports, or a device
    /// inside a `--dir`.
    pub fn serial(&self, p: &Path) -> Result<PathBuf> {
        let resolved = p.canonicalize().map_err(|_| {
            anyhow::anyhow!(
                "refused: serial port {} does not exist on the agent",
                p.display()
            )
        })?;
        if self.serials.contains(&resolved) || self.inside_dirs(&resolved) {
            return Ok(resolved);
        }
        bail!(
            "refused: serial port {} is not one the agent was given (--serial: {}; \
             directories: {})",
            p.display(),
            if self.serials.is_empty() {
                "none".to_string()
            } else {
                self.serials
                    .iter()
                    .map(|s| s.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            self.describe_dirs()
        )
    }

    /// A file a scenario refers to (a replay's recording): relative paths are taken against
    /// each directory in turn; it must exist and lie inside one.
    pub fn input_file(&self, p: &Path) -> Result<PathBuf> {
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_path_buf()]
        } else {
            self.dirs.iter().map(|d| d.join(p)).collect()
        };
        for c in candidates {
            if let Ok(r) = c.canonicalize() {
                if self.inside_dirs(&r) {
                    return Ok(r);
                }
            }
        }
        bail!(
            "refused: {} is not a file inside the agent's directories ({}); copy it there",
            p.display(),
            self.describe_dirs()
        )
    }

    fn describe_dirs(&self) -> String {
        self.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("s3cret", "s3cret"));
        assert!(!token_matches("s3cret", "s3cre"));
        assert!(!token_matches("s3cret", "s3cret!"));
        assert!(!token_matches("s3cret", ""));
        assert!(!token_matches("s3cret", "S3cret"));
    }

    #[test]
    fn token_files_must_hold_a_token() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("t");
        std::fs::write(&f, "  nX3kP9qL2mW8vR4tY7zB1c \nignored\n").unwrap();
        assert_eq!(read_token_file(&f).unwrap(), "nX3kP9qL2mW8vR4tY7zB1c");
        std::fs::write(&f, "abc\n").unwrap();
        let e = read_token_file(&f).unwrap_err().to_string();
        assert!(e.contains("guessable") && e.contains("128"), "{e}");
        std::fs::write(&f, "\n").unwrap();
        let e = read_token_file(&f).unwrap_err().to_string();
        assert!(
            e.contains("is empty") && e.contains(&f.display().to_string()),
            "{e}"
        );
        assert!(read_token_file(&d.path().join("none")).is_err());
    }

    #[test]
    fn weak_tokens_are_told_from_random_ones() {
        // What the docs suggest: 24 random bytes in base64, or 16 in hex.
        assert!(token_bits("q1Wz0bO6Yk3jv2nHfX9s8L4pR7mT5cAe") >= MIN_TOKEN_BITS);
        assert!(token_bits("5f3a9c2e7b1d4068a2c4e6f8091b3d5e") >= MIN_TOKEN_BITS);
        for weak in [
            "x",
            "remote-test-token",
            "password1234567890",
            &"a".repeat(200),
            &"ab".repeat(40),
            "0123456789012345678901234567890", // 31 digits: 103 bits
        ] {
            assert!(token_bits(weak) < MIN_TOKEN_BITS, "{weak}");
        }
    }

    #[test]
    fn paths_outside_the_directories_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let allow = AllowList::new(&[d.path().to_path_buf()], &[]).unwrap();
        let inside = d.path().join("runs/1");
        assert!(allow
            .out_dir(&inside)
            .unwrap()
            .starts_with(d.path().canonicalize().unwrap()));
        for bad in [
            other.path().join("x"),
            d.path().join("../escape"),
            PathBuf::from("relative/x"),
            PathBuf::from("/"),
        ] {
            let e = allow.out_dir(&bad).unwrap_err().to_string();
            assert!(e.starts_with("refused:"), "{bad:?}: {e}");
        }
        // A symlink inside pointing outside is resolved and refused.
        std::os::unix::fs::symlink(other.path(), d.path().join("link")).unwrap();
        assert!(allow.out_dir(&d.path().join("link/x")).is_err());
        let e = allow
            .serial(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not one the agent was given"), "{e}");
        let allow = AllowList::new(&[d.path().to_path_buf()], &[PathBuf::from("/dev/null")]);
        assert!(allow.unwrap().serial(Path::new("/dev/null")).is_ok());
    }
}

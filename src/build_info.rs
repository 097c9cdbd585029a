//! What this binary was built from, captured at build time by `build.rs` (never by asking
//! git at run time, which would name whatever the checkout holds now): the commit, whether
//! the tree had uncommitted changes, and the enabled Cargo features.

use serde::{Deserialize, Serialize};

/// The build's identity as results.json records it (`build`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Build {
    /// The git commit the binary was built from; None from a tree without git.
    #[serde(default)]
    pub commit: Option<String>,
    /// True when the tree had uncommitted changes to tracked files: the commit then does
    /// not identify the code that ran.
    #[serde(default)]
    pub dirty: bool,
    /// The enabled Cargo features (`async-std-model`, …).
    #[serde(default)]
    pub features: Vec<String>,
}

/// `esbench --version`'s text: `0.1.0 (commit 1a2b3c4d5e, dirty; features: async-std-model)`.
pub const VERSION: &str = env!("ESBENCH_BUILD_VERSION");

/// The commit this binary was built from, if known.
pub fn commit() -> Option<String> {
    Some(env!("ESBENCH_BUILD_COMMIT").to_string()).filter(|c| !c.is_empty())
}

/// True when the build's tree had uncommitted changes.
pub fn dirty() -> bool {
    env!("ESBENCH_BUILD_DIRTY") == "true"
}

/// This binary's build.
pub fn this() -> Build {
    Build {
        commit: commit(),
        dirty: dirty(),
        features: env!("ESBENCH_BUILD_FEATURES")
            .split(',')
            .filter(|f| !f.is_empty())
            .map(String::from)
            .collect(),
    }
}

/// A commit as the history stores it: `-dirty` appended for a dirty build (as `git describe
/// --dirty` does), so the history's listing and trend page show it.
pub fn history_commit(commit: Option<&str>, dirty: bool) -> Option<String> {
    commit.map(|c| {
        if dirty {
            format!("{c}-dirty")
        } else {
            c.to_string()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_is_known_and_the_version_says_it() {
        let b = this();
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")), "{VERSION}");
        assert!(VERSION.contains("commit "), "{VERSION}");
        if let Some(c) = &b.commit {
            assert!(
                c.len() >= 7 && c.chars().all(|c| c.is_ascii_hexdigit()),
                "{c}"
            );
            assert!(VERSION.contains(&c[..10]), "{VERSION}");
        }
        assert_eq!(VERSION.contains(", dirty"), b.dirty);
        #[cfg(feature = "async-std-model")]
        assert!(b.features.iter().any(|f| f == "async-std-model"), "{b:?}");
        assert_eq!(
            history_commit(Some("abc"), true).as_deref(),
            Some("abc-dirty")
        );
        assert_eq!(history_commit(Some("abc"), false).as_deref(), Some("abc"));
    }
}

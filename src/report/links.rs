//! Links from a report page to files written elsewhere in the run (flamegraphs).
//!
//! Profiles record absolute directories; a report that links them absolutely breaks as soon
//! as the run directory is moved, copied to a CI artefact or served over HTTP. Links are
//! therefore written relative to the report's own directory.

use std::path::{Component, Path, PathBuf};

use crate::render::format::escape_with;

/// `target` as a URL path relative to directory `from` (both made absolute against the
/// current directory first). Falls back to the absolute path when no relative path exists
/// (e.g. different Windows drives, or a path that cannot be made absolute).
pub fn relative_href(from: &Path, target: &Path) -> String {
    let (Ok(from), Ok(target)) = (std::path::absolute(from), std::path::absolute(target)) else {
        return to_url(target);
    };
    let from = normalise(&from);
    let target = normalise(&target);
    let f: Vec<Component> = from.components().collect();
    let t: Vec<Component> = target.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return to_url(&target);
    }
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c.as_os_str());
    }
    to_url(&rel)
}

/// Removes `.` and resolves `..` lexically (no symlinks followed: the report only needs a
/// path the browser can walk).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A path as an href: `/` separators, and the characters that would end or confuse an
/// attribute value or a URL percent-encoded.
fn to_url(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    escape_with(&s, |c| match c {
        ' ' => Some("%20"),
        '"' => Some("%22"),
        '#' => Some("%23"),
        '%' => Some("%25"),
        '?' => Some("%3F"),
        '<' => Some("%3C"),
        '>' => Some("%3E"),
        '\'' => Some("%27"),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::relative_href;
    use std::path::Path;

    #[test]
    fn links_are_relative_to_the_report() {
        for (from, target, href, why) in [
            (
                "/r/20261122-1/",
                "/r/20261122-1/profile/flame-tokio.svg",
                "profile/flame-tokio.svg",
                "a file below the report is linked downwards",
            ),
            (
                "/r/cmp",
                "/r/run1/profile/flame a.svg",
                "../run1/profile/flame%20a.svg",
                "a file beside the report is linked through the parent, spaces encoded",
            ),
            (
                "reports/x/./",
                "reports/x/../y/f.svg",
                "../y/f.svg",
                "relative inputs are resolved against the current directory",
            ),
            (
                "/r",
                "/r/a#b?c%d'e\"f<g>.svg",
                "a%23b%3Fc%25d%27e%22f%3Cg%3E.svg",
                "what would end an attribute or a URL is percent-encoded",
            ),
        ] {
            assert_eq!(
                relative_href(Path::new(from), Path::new(target)),
                href,
                "{why}"
            );
        }
    }
}

//! Links from a report page to files written elsewhere in the run (flamegraphs).
//!
//! Profiles record absolute directories; a report that links them absolutely breaks as soon
//! as the run directory is moved, copied to a CI artefact or served over HTTP. Links are
//! therefore written relative to the report's own directory.

use std::path::{Component, Path, PathBuf};

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
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            ' ' => out.push_str("%20"),
            '"' => out.push_str("%22"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\'' => out.push_str("%27"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::relative_href;
    use std::path::Path;

    #[test]
    fn file_below_the_report_is_linked_downwards() {
        let h = relative_href(
            Path::new("/r/20261122-1/"),
            Path::new("/r/20261122-1/profile/flame-tokio.svg"),
        );
        assert_eq!(h, "profile/flame-tokio.svg");
    }

    #[test]
    fn file_beside_the_report_is_linked_through_parent() {
        let h = relative_href(
            Path::new("/r/cmp"),
            Path::new("/r/run1/profile/flame a.svg"),
        );
        assert_eq!(h, "../run1/profile/flame%20a.svg");
    }

    #[test]
    fn relative_inputs_are_resolved_against_the_current_directory() {
        let h = relative_href(Path::new("reports/x/./"), Path::new("reports/x/../y/f.svg"));
        assert_eq!(h, "../y/f.svg");
    }
}

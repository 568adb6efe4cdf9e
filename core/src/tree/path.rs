//! ZooKeeper path rules (`PathUtils.validatePath`) and parent/child helpers.
//!
//! Paths are absolute and `/`-separated; the root is `/`. Validation follows the Java rules
//! on UTF-16 code units: any character outside the Basic Multilingual Plane is rejected
//! because Java sees it as a surrogate pair.

use alloc::string::String;

use crate::client::ErrorCode;

/// The root path.
pub(crate) const ROOT: &str = "/";
/// The node that holds the membership (ZooKeeper's `ZooDefs.CONFIG_NODE`).
pub(crate) const CONFIG: &str = "/zookeeper/config";

/// Validates `path`; BADARGUMENTS when it breaks a `PathUtils.validatePath` rule.
pub(crate) fn validate_path(path: &str) -> Result<(), ErrorCode> {
    validate(path, false)
}

/// Validates the path of a create: for a sequential create the path is checked as if the
/// suffix were already appended (`validatePath(path + "1")`), so `/q/` is fine.
pub(crate) fn validate_create_path(path: &str, sequential: bool) -> Result<(), ErrorCode> {
    validate(path, sequential)
}

fn invalid_char(c: char) -> bool {
    let c = c as u32;
    c == 0
        || (0x01..=0x1f).contains(&c)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || c >= 0xfff0
}

fn validate(path: &str, suffixed: bool) -> Result<(), ErrorCode> {
    let bad = Err(ErrorCode::BadArguments);
    let Some(rest) = path.strip_prefix('/') else {
        return bad;
    };
    if rest.is_empty() {
        // The root, or `/` + suffix.
        return Ok(());
    }
    let mut components = rest.split('/').peekable();
    while let Some(name) = components.next() {
        let last = components.peek().is_none();
        // Only the last component gets the (virtual) digit suffix.
        let with_suffix = last && suffixed;
        if name.is_empty() && !with_suffix {
            return bad;
        }
        if !with_suffix && (name == "." || name == "..") {
            return bad;
        }
        if name.chars().any(invalid_char) {
            return bad;
        }
    }
    Ok(())
}

/// The parent of a valid path: `None` for the root, `/` for a top-level node.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path == ROOT {
        return None;
    }
    let slash = path.rfind('/')?;
    Some(if slash == 0 { ROOT } else { &path[..slash] })
}

/// Whether `path` is one of the system nodes that can never be deleted (`DataTree.isSpecialPath`).
pub(crate) fn is_special(path: &str) -> bool {
    matches!(
        path,
        "/" | "/zookeeper" | "/zookeeper/quota" | "/zookeeper/config"
    )
}

/// The sequence suffix `%010d` of a stored cversion (negative after the i32 wrap).
pub(crate) fn sequence_suffix(cversion: i32) -> String {
    alloc::format!("{cversion:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_follows_path_utils() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/...",
            "/a/..b",
            "/.a",
            "/zookeeper",
            "/é",
            "/a b",
        ] {
            assert_eq!(validate_path(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "",
            "a",
            "a/b",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/a\0b",
            "/a\u{1}",
            "/\u{7f}",
            "/\u{9f}",
            "/\u{e000}",
            "/\u{f8ff}",
            "/\u{fff0}",
            "/\u{1F600}",
            "/a/./b",
            "/\u{fffd}",
        ] {
            assert_eq!(validate_path(bad), Err(ErrorCode::BadArguments), "{bad:?}");
        }
    }

    #[test]
    fn sequential_paths_are_validated_with_the_suffix() {
        assert_eq!(validate_create_path("/q/", true), Ok(()));
        assert_eq!(
            validate_create_path("/q/", false),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(validate_create_path("/", true), Ok(()));
        assert_eq!(validate_create_path("/a/.", true), Ok(()));
        assert_eq!(
            validate_create_path("/a//", true),
            Err(ErrorCode::BadArguments)
        );
        assert_eq!(
            validate_create_path("/a/\0", true),
            Err(ErrorCode::BadArguments)
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(sequence_suffix(3), "0000000003");
        assert_eq!(sequence_suffix(i32::MAX), "2147483647");
        assert_eq!(sequence_suffix(i32::MIN), "-2147483648");
        assert_eq!(sequence_suffix(-5), "-000000005");
        assert!(is_special("/zookeeper") && !is_special("/zk"));
    }
}

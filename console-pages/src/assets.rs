//! The console's static files, embedded in the binary and served at content-hashed paths.
//!
//! A path carries the first 16 hex digits of the file's SHA-256, so a response can be cached for
//! a year ([`CACHE_CONTROL`]): a changed file gets a new path, and the pages link the new one.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use crate::paths::ASSETS_PREFIX;

/// htmx 2.0.11 from the npm package `htmx.org` (0BSD), unmodified; see `assets/README.md`.
const HTMX: &[u8] = include_bytes!("../assets/htmx-2.0.11.min.js");
/// SHA-256 of the vendored `dist/htmx.min.js`: a test holds the committed file to it.
pub const HTMX_SHA256: &str = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717";
const STYLESHEET: &[u8] = include_bytes!("../assets/console.css");
const FAVICON: &[u8] = include_bytes!("../assets/favicon.svg");

/// Cache headers for a hashed path: the bytes behind it never change.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The URL path the pages link, e.g. `/assets/htmx-2.0.11.0123456789abcdef.min.js`.
    pub path: String,
    /// The `Content-Type` to answer with.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
    /// A strong `ETag` (quoted), the full SHA-256 of the body.
    pub etag: String,
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
        let digest = hex::encode(Sha256::digest(body));
        Asset {
            path: format!("{ASSETS_PREFIX}{stem}.{}.{ext}", &digest[..16]),
            content_type,
            body,
            etag: format!("\"{digest}\""),
        }
    }

    /// The response headers for this file: type, long-lived caching, ETag, and `nosniff`.
    pub fn headers(&self) -> [(&'static str, &str); 4] {
        [
            ("content-type", self.content_type),
            ("cache-control", CACHE_CONTROL),
            ("etag", &self.etag),
            ("x-content-type-options", "nosniff"),
        ]
    }
}

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        Asset::new(
            "htmx-2.0.11",
            "min.js",
            "text/javascript; charset=utf-8",
            HTMX,
        ),
        Asset::new("console", "css", "text/css; charset=utf-8", STYLESHEET),
        Asset::new("favicon", "svg", "image/svg+xml", FAVICON),
    ]
});

/// htmx, for the live numbers.
pub fn htmx() -> &'static Asset {
    &ASSETS[0]
}

/// The console's stylesheet.
pub fn stylesheet() -> &'static Asset {
    &ASSETS[1]
}

/// The tab icon (linked from every page, so browsers do not ask for `/favicon.ico`).
pub fn favicon() -> &'static Asset {
    &ASSETS[2]
}

/// The asset served at `path` (the whole request path), if any. An old hash is not found: a
/// page that links it is older than the binary, and a reload fixes it.
pub fn lookup(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_htmx_is_the_pinned_one() {
        assert_eq!(hex::encode(Sha256::digest(HTMX)), HTMX_SHA256);
    }

    #[test]
    fn paths_carry_the_content_hash_and_are_found() {
        let h = htmx();
        assert!(
            h.path.starts_with("/assets/htmx-2.0.11.d6fdc75f204e6bde"),
            "{}",
            h.path
        );
        assert!(std::ptr::eq(lookup(&h.path).unwrap(), h));
        assert!(lookup(&stylesheet().path).is_some());
        assert!(lookup("/assets/htmx-2.0.11.min.js").is_none());
        assert!(lookup("/assets/../Cargo.toml").is_none());
    }

    #[test]
    fn headers_cache_for_a_year_and_forbid_sniffing() {
        let headers = stylesheet().headers();
        assert!(headers.contains(&("cache-control", "public, max-age=31536000, immutable")));
        assert!(headers.contains(&("x-content-type-options", "nosniff")));
        assert!(headers.contains(&("content-type", "text/css; charset=utf-8")));
    }
}

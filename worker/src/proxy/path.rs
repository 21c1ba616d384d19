//! The proxy's paths, bounded before anything else reads them: `/bot<token>/<method>` and
//! `/file/bot<token>/<path>`; anything else is not served. [`redacted`] is the only form of a
//! path that may reach a log line.

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// A Bot API call.
    Call { token: &'a str, method: &'a str },
    /// A file download (the path `getFile` answered with).
    File { token: &'a str, path: &'a str },
}

/// Longest token taken (Telegram's are about 46 bytes: `<bot id>:<35 characters>`).
const MAX_TOKEN: usize = 128;
/// Longest file path taken (Telegram's look like `photos/file_12.jpg`).
const MAX_FILE_PATH: usize = 512;

/// The route of `path`, or `None` when the proxy does not serve it (a 404).
pub fn route(path: &str) -> Option<Route<'_>> {
    if let Some(rest) = path.strip_prefix("/file/bot") {
        let (token, file) = rest.split_once('/')?;
        return (valid_token(token) && valid_file_path(file))
            .then_some(Route::File { token, path: file });
    }
    let rest = path.strip_prefix("/bot")?;
    let (token, method) = rest.split_once('/')?;
    (valid_token(token) && sluice_botapi::methods::valid_name(method))
        .then_some(Route::Call { token, method })
}

/// `path` with any token in it replaced: `/bot<redacted>/sendMessage`.
pub fn redacted(path: &str) -> String {
    let (head, rest) = if let Some(rest) = path.strip_prefix("/file/bot") {
        ("/file/bot", rest)
    } else if let Some(rest) = path.strip_prefix("/bot") {
        ("/bot", rest)
    } else {
        return path.chars().take(64).collect();
    };
    let tail = rest.split_once('/').map_or("", |(_, tail)| tail);
    let tail: String = tail.chars().take(64).collect();
    format!("{head}<redacted>/{tail}")
}

fn valid_token(token: &str) -> bool {
    (1..=MAX_TOKEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'))
}

/// Letters, digits and `_ . / -`, no `..` (the path is put after Telegram's base URL).
fn valid_file_path(path: &str) -> bool {
    (1..=MAX_FILE_PATH).contains(&path.len())
        && !path.starts_with('/')
        && !path
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "123456:AAE_abcdefghijklmnopqrstuvwxyz-0123";

    #[test]
    fn calls_and_files_are_served_and_nothing_else() {
        assert_eq!(
            route(&format!("/bot{TOKEN}/sendMessage")),
            Some(Route::Call {
                token: TOKEN,
                method: "sendMessage"
            })
        );
        assert_eq!(
            route(&format!("/file/bot{TOKEN}/photos/file_1.jpg")),
            Some(Route::File {
                token: TOKEN,
                path: "photos/file_1.jpg"
            })
        );
        for bad in [
            "/".to_owned(),
            "/metrics".to_owned(),
            format!("/bot{TOKEN}"),
            format!("/bot{TOKEN}/"),
            format!("/bot{TOKEN}/send_Message"),
            format!("/bot{TOKEN}/sendMessage/x"),
            format!("/bot{TOKEN}/{}", "a".repeat(65)),
            format!("/bot{}/getMe", "1".repeat(129)),
            "/bot/getMe".to_owned(),
            "/bot12%3A34/getMe".to_owned(),
            format!("/file/bot{TOKEN}/../secret"),
            format!("/file/bot{TOKEN}//etc/passwd"),
            format!("/file/bot{TOKEN}/a/./b"),
        ] {
            assert_eq!(route(&bad), None, "{bad}");
        }
    }

    #[test]
    fn redaction_keeps_no_token() {
        assert_eq!(
            redacted(&format!("/bot{TOKEN}/sendMessage")),
            "/bot<redacted>/sendMessage"
        );
        assert_eq!(
            redacted(&format!("/file/bot{TOKEN}/photos/a.jpg")),
            "/file/bot<redacted>/photos/a.jpg"
        );
        assert!(!redacted(&format!("/bot{TOKEN}")).contains("123456"));
    }
}

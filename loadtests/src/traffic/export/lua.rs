//! The wrk fixture: the model's mixed updates as a Lua table the benches' `update.lua` loads.

use super::{Entry, header};

/// `return { {kind = "...", lane = "...", rest = [=[...]=]}, ... }`, one update a line.
pub(super) fn table(entries: &[Entry]) -> String {
    let mut out = format!(
        "-- {}\n-- The model's mixed traffic (see loadtests/src/traffic/export.rs): a body is\n\
         -- '{{\"update_id\":' .. id .. rest, for any fresh id.\nreturn {{\n",
        header()
    );
    for e in entries {
        out.push_str(&format!(
            "{{ kind = \"{}\", lane = \"{}\", rest = {} }},\n",
            e.kind.name(),
            e.lane,
            long_string(&e.rest)
        ));
    }
    out.push_str("}\n");
    out
}

/// `text` as a Lua long string, `[==[...]==]` with as many `=` as it takes for the closing
/// bracket not to occur inside (Lua reads such a string verbatim: no escapes to get wrong).
fn long_string(text: &str) -> String {
    let level = (0..)
        .find(|n| {
            let close = format!("]{}]", "=".repeat(*n));
            !text.contains(&close) && !format!("{text}]").contains(&close)
        })
        .expect("some level is free");
    let eq = "=".repeat(level);
    format!("[{eq}[{text}]{eq}]")
}

#[cfg(test)]
mod tests {
    use super::long_string;

    #[test]
    fn long_strings_never_close_early() {
        assert_eq!(long_string("{}"), "[[{}]]");
        assert_eq!(long_string("[[1]]"), "[=[[[1]]]=]");
        assert_eq!(long_string("a]=]b]]"), "[==[a]=]b]]]==]");
        // A text ending in "]" would read as "]]" against the closing bracket.
        assert_eq!(long_string("x]"), "[=[x]]=]");
    }
}

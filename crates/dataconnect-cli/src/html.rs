//! HTML escaping for the pages `dataconnect serve` writes.
//!
//! The production web application has its own escaper rather than the
//! sandbox's: the emulator is a test tool, and a security function of the
//! production path must not live in it (nothing `serve` runs imports
//! `dataconnect_sandbox`). The rule is the usual one for text placed in
//! element content or in a quoted attribute value: the five characters
//! that can end either are written as character references.

/// Escapes `text` for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

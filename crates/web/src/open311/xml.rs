//! A small XML writer: a UTF-8 declaration, elements with escaped text, nothing
//! else (Open311 uses neither attributes nor namespaces). Element names come from
//! this module's callers and are fixed ASCII identifiers.

use std::fmt::Write as _;

/// The declaration every Open311 XML document starts with.
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="utf-8"?>"#;

/// Builds one document, element by element.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    open: Vec<&'static str>,
}

impl Writer {
    /// A document with its declaration written.
    pub fn new() -> Writer {
        let mut out = String::with_capacity(1024);
        out.push_str(DECLARATION);
        out.push('\n');
        Writer {
            out,
            open: Vec::new(),
        }
    }

    /// `<name>`; close it with [`Writer::end`].
    pub fn start(&mut self, name: &'static str) {
        let _ = write!(self.out, "<{name}>");
        self.open.push(name);
    }

    /// Closes the innermost open element.
    pub fn end(&mut self) {
        if let Some(name) = self.open.pop() {
            let _ = write!(self.out, "</{name}>");
        }
    }

    /// `<name>text</name>`, the text escaped; `<name/>` when empty.
    pub fn text(&mut self, name: &'static str, text: &str) {
        if text.is_empty() {
            let _ = write!(self.out, "<{name}/>");
        } else {
            let _ = write!(self.out, "<{name}>");
            escape_into(&mut self.out, text);
            let _ = write!(self.out, "</{name}>");
        }
    }

    /// The finished document (any element still open is closed).
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.end();
        }
        self.out.push('\n');
        self.out
    }
}

/// Text as XML character data: markup characters escaped, characters XML 1.0
/// does not allow dropped, carriage returns kept as a reference.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    escape_into(&mut s, text);
    s
}

fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => {}
        }
    }
}

/// Characters XML 1.0 allows in a document.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r')
        || ('\u{20}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || c >= '\u{10000}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_illegal_characters() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        assert_eq!(escape("路灯\u{0}不亮\u{1b}\r\n"), "路灯不亮&#13;\n");
        assert_eq!(escape("\u{FFFE}\u{FFFF}ok\u{1F600}"), "ok\u{1F600}");
    }

    #[test]
    fn writes_nested_elements() {
        let mut w = Writer::new();
        w.start("errors");
        w.start("error");
        w.text("code", "400");
        w.text("description", "description：<b>");
        w.text("empty", "");
        w.end();
        let doc = w.finish();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>400</code>\
             <description>description：&lt;b&gt;</description><empty/></error></errors>\n"
        );
    }
}

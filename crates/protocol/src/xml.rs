//! XML output shared by the query and ec2 protocols: a thin layer over quick-xml's
//! writer that escapes all text, plus the walk that renders a canonical value by its
//! shape (lists as `<member>`/`<item>` or flattened, maps as `<entry><key/><value/>`,
//! ISO 8601 timestamps, lowercase booleans).

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

use crate::model::{Member, ServiceModel, Shape, ShapeKind, TimestampFormat};
use crate::value::scalar_to_string;

/// An XML document being written into memory. Writing to a `Vec` cannot fail, so the
/// methods return nothing.
pub(crate) struct XmlOut {
    w: Writer<Vec<u8>>,
}

/// Escape text for XML 1.0: markup characters as entities, `\r` as a character
/// reference (so parsers do not normalise it away), and characters XML 1.0 cannot
/// carry at all replaced by U+FFFD.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    let esc = quick_xml::escape::escape(s);
    if !esc.contains(|c: char| c == '\r' || bad(c)) {
        return esc;
    }
    let mut out = String::with_capacity(esc.len() + 8);
    for c in esc.chars() {
        match c {
            '\r' => out.push_str("&#13;"),
            c if bad(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out.into()
}

impl XmlOut {
    pub fn new() -> Self {
        let mut w = Writer::new(Vec::with_capacity(512));
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        XmlOut { w }
    }

    pub fn start(&mut self, name: &str, xmlns: Option<&str>) {
        let mut s = BytesStart::new(name);
        if let Some(ns) = xmlns {
            s.push_attribute(("xmlns", ns));
        }
        let _ = self.w.write_event(Event::Start(s));
    }

    pub fn end(&mut self, name: &str) {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
    }

    pub fn text(&mut self, text: &str) {
        let _ = self
            .w
            .write_event(Event::Text(BytesText::from_escaped(escape(text))));
    }

    /// `<name>text</name>`.
    pub fn element(&mut self, name: &str, text: &str) {
        self.start(name, None);
        self.text(text);
        self.end(name);
    }

    pub fn finish(self) -> Vec<u8> {
        self.w.into_inner()
    }

    /// Render the members of a structure value (the caller wrote the enclosing element).
    pub fn members(&mut self, model: &ServiceModel, shape: &Shape, v: &Value) {
        let Value::Object(obj) = v else { return };
        for m in &shape.members {
            match obj.get(&m.name) {
                None | Some(Value::Null) => {}
                Some(child) => self.member(model, m, child),
            }
        }
    }

    /// One member; its element name follows botocore's `_member_key_name`.
    fn member(&mut self, model: &ServiceModel, m: &Member, v: &Value) {
        let shape = model.shape(m.shape);
        match shape.kind {
            ShapeKind::List if m.flattened => {
                let Some(item) = &shape.member else { return };
                let name = item.location_name.as_deref().unwrap_or(m.wire_name());
                for e in v.as_array().into_iter().flatten() {
                    self.value(model, name, item, e);
                }
            }
            ShapeKind::Map if m.flattened => self.map_entries(model, m.wire_name(), shape, v),
            _ => self.value(model, m.wire_name(), m, v),
        }
    }

    /// `<name>...</name>` for any value.
    fn value(&mut self, model: &ServiceModel, name: &str, m: &Member, v: &Value) {
        let shape = model.shape(m.shape);
        match shape.kind {
            ShapeKind::Structure => {
                self.start(name, m.xml_namespace.as_deref());
                self.members(model, shape, v);
                self.end(name);
            }
            ShapeKind::List => {
                self.start(name, None);
                if let Some(item) = &shape.member {
                    let item_name = item.location_name.as_deref().unwrap_or("member");
                    for e in v.as_array().into_iter().flatten() {
                        self.value(model, item_name, item, e);
                    }
                }
                self.end(name);
            }
            ShapeKind::Map => {
                self.start(name, None);
                self.map_entries(model, "entry", shape, v);
                self.end(name);
            }
            _ => {
                if let Some(text) = scalar_to_string(shape, Some(m), v, TimestampFormat::Iso8601) {
                    self.element(name, &text);
                }
            }
        }
    }

    fn map_entries(&mut self, model: &ServiceModel, entry: &str, shape: &Shape, v: &Value) {
        let (Some(k), Some(val)) = (&shape.key, &shape.value) else {
            return;
        };
        let Value::Object(obj) = v else { return };
        let kname = k.location_name.as_deref().unwrap_or("key");
        let vname = val.location_name.as_deref().unwrap_or("value");
        for (key, value) in obj {
            self.start(entry, None);
            self.element(kname, key);
            self.value(model, vname, val, value);
            self.end(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_untrusted_text() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\r\ny\u{1}"), "x&#13;\ny\u{fffd}");
    }
}

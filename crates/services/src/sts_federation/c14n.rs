//! Exclusive XML Canonicalization 1.0, without comments
//! (`http://www.w3.org/2001/10/xml-exc-c14n#`), of one element's subtree as
//! roxmltree parsed it: what XML-DSig hashes and signs in SAML messages.
//!
//! Covered: namespace declarations rendered where visibly used (the element's and its
//! attributes' prefixes, plus an `InclusiveNamespaces` prefix list) and not already
//! rendered by an output ancestor with the same URI; namespace declarations sorted by
//! prefix, attributes by namespace URI then local name; text and attribute escaping;
//! comments dropped; processing instructions kept; empty elements written as start and
//! end tags; one element (the enveloped signature) left out.
//!
//! The input is parsed by roxmltree, which refuses DTDs (so no entity tricks), expands
//! character and entity references, normalizes attribute values and line ends, as
//! canonicalization expects of its input. Prefixes are read from the source text,
//! since roxmltree keeps expanded names only.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::{Node, NodeId, NodeType};

/// The exclusive canonical form of `node`'s subtree, without the element `exclude`
/// (and its subtree); `inclusive` lists prefixes (`#default` for the default
/// namespace) treated as visibly used wherever in scope.
pub(crate) fn exclusive(
    node: Node<'_, '_>,
    exclude: Option<NodeId>,
    inclusive: &[String],
) -> String {
    let mut out = String::new();
    walk(node, exclude, inclusive, &BTreeMap::new(), &mut out);
    out
}

/// The qualified name of an element, as written in its start tag.
fn element_qname<'i>(node: Node<'_, 'i>) -> &'i str {
    let input = node.document().input_text();
    let rest = input.get(node.range().start + 1..).unwrap_or("");
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

fn walk(
    node: Node<'_, '_>,
    exclude: Option<NodeId>,
    inclusive: &[String],
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    match node.node_type() {
        NodeType::Root => {
            for child in node.children() {
                walk(child, exclude, inclusive, rendered, out);
            }
        }
        NodeType::Element => {
            if Some(node.id()) == exclude {
                return;
            }
            let input = node.document().input_text();
            let qname = element_qname(node);
            let mut used: BTreeSet<&str> = BTreeSet::new();
            used.insert(prefix_of(qname));
            let attributes: Vec<_> = node.attributes().collect();
            for a in &attributes {
                let p = prefix_of(input.get(a.range_qname()).unwrap_or(""));
                if !p.is_empty() {
                    used.insert(p);
                }
            }
            for p in inclusive {
                let p = if p == "#default" { "" } else { p.as_str() };
                let in_scope = if p.is_empty() {
                    node.default_namespace().is_some()
                } else {
                    node.lookup_namespace_uri(Some(p)).is_some()
                };
                if in_scope {
                    used.insert(p);
                }
            }
            used.remove("xml");
            let mut scope = rendered.clone();
            let mut declarations: Vec<(&str, String)> = Vec::new();
            for p in used {
                let uri = if p.is_empty() {
                    node.default_namespace().unwrap_or("")
                } else {
                    node.lookup_namespace_uri(Some(p)).unwrap_or("")
                };
                let before = rendered.get(p).map(String::as_str);
                let render = if p.is_empty() && uri.is_empty() {
                    before.is_some_and(|u| !u.is_empty())
                } else {
                    before != Some(uri)
                };
                if render {
                    declarations.push((p, uri.to_owned()));
                    scope.insert(p.to_owned(), uri.to_owned());
                }
            }
            out.push('<');
            out.push_str(qname);
            for (p, uri) in &declarations {
                if p.is_empty() {
                    out.push_str(" xmlns=\"");
                } else {
                    out.push_str(" xmlns:");
                    out.push_str(p);
                    out.push_str("=\"");
                }
                escape_attribute(uri, out);
                out.push('"');
            }
            let mut sorted: Vec<_> = attributes
                .iter()
                .map(|a| {
                    let key = (a.namespace().unwrap_or(""), a.name());
                    (key, input.get(a.range_qname()).unwrap_or(""), a.value())
                })
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, name, value) in sorted {
                out.push(' ');
                out.push_str(name);
                out.push_str("=\"");
                escape_attribute(value, out);
                out.push('"');
            }
            out.push('>');
            for child in node.children() {
                walk(child, exclude, inclusive, &scope, out);
            }
            out.push_str("</");
            out.push_str(qname);
            out.push('>');
        }
        NodeType::Text => escape_text(node.text().unwrap_or(""), out),
        NodeType::PI => {
            if let Some(pi) = node.pi() {
                out.push_str("<?");
                out.push_str(pi.target);
                if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                    out.push(' ');
                    out.push_str(value);
                }
                out.push_str("?>");
            }
        }
        NodeType::Comment => {}
    }
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, element: &str) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let node = doc
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == element)
            .unwrap();
        exclusive(node, None, &[])
    }

    #[test]
    fn only_visibly_used_namespaces_are_rendered_sorted() {
        let xml = r#"<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:z="urn:z"><b:child z:k="1" c="2"  a="3"/></a:root>"#;
        assert_eq!(
            c14n(xml, "child"),
            r#"<b:child xmlns:b="urn:b" xmlns:z="urn:z" a="3" c="2" z:k="1"></b:child>"#
        );
        assert_eq!(
            c14n(xml, "root"),
            r#"<a:root xmlns:a="urn:a"><b:child xmlns:b="urn:b" xmlns:z="urn:z" a="3" c="2" z:k="1"></b:child></a:root>"#
        );
    }

    #[test]
    fn ancestors_declarations_are_not_repeated_and_text_is_escaped() {
        let xml = "<r xmlns=\"urn:d\"><!-- gone --><s>a &amp; b &lt; c &gt; d&#xD;</s><t xmlns=\"\"/></r>";
        assert_eq!(
            c14n(xml, "r"),
            "<r xmlns=\"urn:d\"><s>a &amp; b &lt; c &gt; d&#xD;</s><t xmlns=\"\"></t></r>"
        );
    }

    #[test]
    fn attribute_values_are_escaped() {
        let xml = "<r v=\"a&quot;b&#9;c&lt;\"/>";
        assert_eq!(c14n(xml, "r"), "<r v=\"a&quot;b&#x9;c&lt;\"></r>");
    }

    #[test]
    fn the_excluded_element_is_left_out_and_inclusive_prefixes_kept() {
        let xml = r#"<p:r xmlns:p="urn:p" xmlns:q="urn:q"><p:keep/><p:sig/></p:r>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let root = doc.root_element();
        let sig = root.last_element_child().unwrap();
        assert_eq!(
            exclusive(root, Some(sig.id()), &["q".to_owned()]),
            r#"<p:r xmlns:p="urn:p" xmlns:q="urn:q"><p:keep></p:keep></p:r>"#
        );
    }
}

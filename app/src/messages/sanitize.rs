//! Turning outside HTML into HTML that is safe to render in the workspace.
//!
//! ammonia's allow-list removes scripts, event handlers, `javascript:` and
//! other dangerous URLs and styles. On top of it, images may only point at
//! attachments (`cid:`): a remote image in a customer's email would tell the
//! sender when and where an agent read it.

use std::collections::HashSet;

fn builder() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img"
                && attribute == "src"
                && !value.trim_start().to_ascii_lowercase().starts_with("cid:")
            {
                None
            } else {
                Some(value.into())
            }
        });
    b
}

/// Sanitises HTML from outside (email bodies, API input).
pub fn sanitize_html(html: &str) -> String {
    builder().clean(html).to_string()
}

/// Escapes plain text and keeps its line breaks and paragraphs.
pub fn text_to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    escaped
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", p.trim_matches('\n').replace('\n', "<br>")))
        .collect()
}

/// The text of an HTML fragment, for previews, search and notifications.
pub fn html_to_text(html: &str) -> String {
    // Block ends become line breaks before the tags are dropped.
    let spaced = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "</p>\n\n")
        .replace("</div>", "</div>\n")
        .replace("</li>", "</li>\n");
    let stripped = ammonia::Builder::empty().clean(&spaced).to_string();
    let text = stripped
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_js_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p><a href="javascript:alert(1)">x</a><iframe src="//evil"></iframe><svg onload=alert(1)></svg>"#;
        let clean = sanitize_html(dirty);
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(!clean.contains("iframe"), "{clean}");
        assert!(!clean.contains("onload"), "{clean}");
        assert!(clean.contains("Hi"));
    }

    #[test]
    fn remote_images_are_blocked_but_attachments_kept() {
        let clean =
            sanitize_html(r#"<img src="https://tracker.example/p.gif"><img src="cid:logo@x">"#);
        assert!(!clean.contains("tracker"), "{clean}");
        assert!(clean.contains("cid:logo@x"), "{clean}");
    }

    #[test]
    fn links_are_kept_with_safe_rel() {
        let clean = sanitize_html(r#"<a href="https://example.com">site</a>"#);
        assert!(clean.contains(r#"href="https://example.com""#));
        assert!(clean.contains("noopener"));
    }

    #[test]
    fn text_is_escaped_with_paragraphs() {
        assert_eq!(
            text_to_html("a < b\nc\n\nd"),
            "<p>a &lt; b<br>c</p><p>d</p>"
        );
        assert_eq!(
            text_to_html("<script>x</script>"),
            "<p>&lt;script&gt;x&lt;/script&gt;</p>"
        );
    }

    #[test]
    fn html_becomes_text() {
        assert_eq!(
            html_to_text("<p>Hello &amp; <b>bye</b></p><p>2 &lt; 3</p>"),
            "Hello & bye\n\n2 < 3"
        );
        assert_eq!(html_to_text("<script>alert(1)</script>ok"), "ok");
    }
}

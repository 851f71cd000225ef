//! An email's body as the thread shows it: sanitised, with the quoted
//! history and signature cut off into a collapsed part, inline images
//! pointing at their attachments, and remote images held back.
//!
//! A remote image is how a sender learns when and where an email was read,
//! so its URL is kept in `data-remote-src` (which browsers do not load) and
//! the workspace swaps it into `src` only when the agent asks.

use crate::messages::sanitize::text_to_html;
use std::collections::{HashMap, HashSet};

/// The body split for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailBody {
    pub html: String,
    /// Quoted history and signature, shown collapsed. `None` when the
    /// message has none.
    pub quoted_html: Option<String>,
    pub remote_images: bool,
}

fn email_builder() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid"]))
        // No relative URLs: an email must not point at our own API.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            let v = value.trim_start().to_ascii_lowercase();
            if element == "img"
                && attribute == "src"
                && !(v.starts_with("cid:") || v.starts_with("https:") || v.starts_with("http:"))
            {
                None
            } else {
                Some(value.into())
            }
        });
    b
}

/// Where the quoted history begins in a reply's HTML, as the common mail
/// clients mark it (Gmail, Apple Mail and Thunderbird, Outlook).
fn html_quote_start(html: &str) -> Option<usize> {
    let lower = html.to_ascii_lowercase();
    [
        "<div class=\"gmail_quote",
        "<blockquote type=\"cite\"",
        "<div class=\"moz-cite-prefix\"",
        "<div id=\"divrplyfwdmsg\"",
        "<div id=\"appendonsend\"",
        "<hr id=\"stopspelling\"",
        "-----original message-----",
    ]
    .iter()
    .filter_map(|marker| lower.find(marker))
    .min()
}

/// Where the quote or signature begins in a plain-text reply: a
/// "On ... wrote:" line, the first run of `>` lines, or the `-- ` signature
/// separator.
fn text_quote_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        let t = trimmed.trim();
        let is_attribution = t.starts_with("On ") && t.ends_with("wrote:");
        if is_attribution
            || t.starts_with('>')
            || trimmed == "-- "
            || t == "-----Original Message-----"
        {
            return (offset > 0).then_some(offset);
        }
        offset += line.len();
    }
    None
}

/// Sanitises `html` and holds back its remote images. `cid:` images stay
/// as they are until [`EmailBody::link_inline_images`].
fn clean(html: &str) -> (String, bool) {
    let mut out = email_builder().clean(html).to_string();
    let remote = out.contains(" src=\"http");
    if remote {
        out = out.replace(" src=\"http", " data-remote-src=\"http");
    }
    (out, remote)
}

/// Builds the displayed body from the HTML part, or from the text part when
/// there is no HTML.
///
/// Inline images still point at `cid:` here: their attachments get the ids
/// their URLs need only once stored, in the write transaction, while
/// sanitising is the costliest step of an email and is done before it
/// (every other writer would wait for it).
pub fn render(html: Option<&str>, text: Option<&str>) -> EmailBody {
    match (html, text) {
        (Some(html), _) => {
            let (main, quoted) = match html_quote_start(html) {
                Some(at) if at > 0 => (&html[..at], Some(&html[at..])),
                _ => (html, None),
            };
            let (main_html, r1) = clean(main);
            let (quoted_html, r2) = match quoted {
                Some(q) => {
                    let (q, r) = clean(q);
                    (Some(q).filter(|q| !q.trim().is_empty()), r)
                }
                None => (None, false),
            };
            EmailBody {
                html: main_html,
                quoted_html,
                remote_images: r1 || r2,
            }
        }
        (None, Some(text)) => {
            let (main, quoted) = match text_quote_start(text) {
                Some(at) => (&text[..at], Some(&text[at..])),
                None => (text, None),
            };
            EmailBody {
                html: text_to_html(main.trim()),
                quoted_html: quoted
                    .map(|q| text_to_html(q.trim()))
                    .filter(|q| !q.is_empty()),
                remote_images: false,
            }
        }
        (None, None) => EmailBody {
            html: String::new(),
            quoted_html: None,
            remote_images: false,
        },
    }
}

impl EmailBody {
    /// Points the sanitised body's `cid:` images at their stored
    /// attachments (`cid_urls`: Content-ID to URL). Only the exact `src`
    /// attribute the sanitiser wrote is rewritten, so text that merely
    /// mentions a `cid:` stays as it is.
    pub fn link_inline_images(&mut self, cid_urls: &HashMap<String, String>) {
        for (cid, url) in cid_urls {
            let from = format!("src=\"cid:{cid}\"");
            let to = format!("src=\"{url}\"");
            self.html = self.html.replace(&from, &to);
            if let Some(quoted) = &mut self.quoted_html {
                *quoted = quoted.replace(&from, &to);
            }
        }
    }
}

/// The plain text of a reply without its quote: what previews, search and
/// the text column store.
pub fn main_text(text: &str) -> &str {
    match text_quote_start(text) {
        Some(at) => text[..at].trim(),
        None => text.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_quote_is_cut_off_and_sanitised() {
        let body = render(
            Some(
                r#"<div>Thanks!<script>x()</script></div><div class="gmail_quote">On Mon, Ana wrote:<blockquote>old</blockquote></div>"#,
            ),
            None,
        );
        assert_eq!(body.html, "<div>Thanks!</div>");
        assert!(body.quoted_html.unwrap().contains("old"));
    }

    #[test]
    fn text_quotes_and_signatures_are_cut_off() {
        let body = render(
            None,
            Some("Still broken.\n\nOn Tue, 3 Nov 2026, Support wrote:\n> Try again\n"),
        );
        assert_eq!(body.html, "<p>Still broken.</p>");
        assert!(body.quoted_html.unwrap().contains("Try again"));
        assert_eq!(main_text("Hi\n-- \nBob\n"), "Hi");
        assert_eq!(main_text("> quote only"), "> quote only");
    }

    #[test]
    fn remote_images_are_held_back_and_inline_ones_rewritten() {
        let mut cids = HashMap::new();
        cids.insert("logo@x".to_string(), "/api/v1/attachments/7".to_string());
        let mut body = render(
            Some(
                r#"<p><img src="https://tracker.example/p.gif"><img src="cid:logo@x"><img src="/api/v1/session"><img src="javascript:alert(1)"></p><div class="gmail_quote"><img src="cid:logo@x"></div>"#,
            ),
            None,
        );
        assert!(body.html.contains(r#"src="cid:logo@x""#), "{}", body.html);
        body.link_inline_images(&cids);
        assert!(body.remote_images);
        assert!(
            body.html
                .contains(r#"data-remote-src="https://tracker.example/p.gif""#),
            "{}",
            body.html
        );
        assert!(!body.html.contains(r#" src="https"#), "{}", body.html);
        assert!(
            body.html.contains(r#"src="/api/v1/attachments/7""#),
            "{}",
            body.html
        );
        assert!(
            body.quoted_html
                .as_deref()
                .is_some_and(|q| q.contains(r#"src="/api/v1/attachments/7""#)),
            "{:?}",
            body.quoted_html
        );
        assert!(!body.html.contains("/api/v1/session"), "{}", body.html);
        assert!(!body.html.contains("javascript"), "{}", body.html);
    }

    #[test]
    fn a_smuggled_data_remote_src_attribute_is_dropped() {
        let body = render(Some(r#"<img data-remote-src="javascript:x">"#), None);
        assert!(!body.html.contains("javascript"), "{}", body.html);
    }
}

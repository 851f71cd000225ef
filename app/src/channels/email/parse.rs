//! Raw RFC 5322 bytes to the facts ingest needs, with mail-parser.
//!
//! mail-parser decodes MIME structure, transfer encodings, charsets and
//! encoded words; this module only picks out what a help desk uses and
//! recognises the messages that must not become tickets (auto-replies,
//! delivery status notifications).

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};

/// One attachment or inline image.
#[derive(Debug, Clone)]
pub struct ParsedAttachment {
    pub filename: String,
    pub content_type: String,
    /// Without angle brackets, for `cid:` references from the HTML body.
    pub content_id: Option<String>,
    pub inline: bool,
    pub data: Vec<u8>,
}

/// A delivery status notification: which of our messages failed and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The Message-ID of the message that could not be delivered, when the
    /// report quotes it.
    pub original_message_id: Option<String>,
    /// The failed recipient and the remote server's diagnostic, if given.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct ParsedEmail {
    /// Without angle brackets. Synthesised from a digest of the raw bytes
    /// when the message has none, so a re-delivery is still recognised.
    pub message_id: String,
    /// In-Reply-To first, then References newest first: the order in which
    /// threading tries them.
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from_name: Option<String>,
    /// Lower-case.
    pub from_address: Option<String>,
    /// Every To and Cc address, lower-case.
    pub recipients: Vec<String>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub attachments: Vec<ParsedAttachment>,
    /// Why this is an automatic message (`Auto-Submitted: auto-replied`,
    /// `Precedence: bulk`, ...), if it is one.
    pub auto_reply: Option<String>,
    pub bounce: Option<Bounce>,
    /// The Date header, epoch milliseconds.
    pub date_ms: Option<i64>,
}

/// Why a message could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("the message has no headers that could be read")]
    NoHeaders,
}

fn strip_brackets(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn id_list(value: &HeaderValue) -> Vec<String> {
    let ids: Vec<String> = match value {
        HeaderValue::Text(t) => t.split_whitespace().map(strip_brackets).collect(),
        HeaderValue::TextList(list) => list.iter().map(|t| strip_brackets(t)).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .filter(|id| !id.is_empty() && id.len() <= 250)
        .collect()
}

fn header_text(message: &Message, name: &str) -> Option<String> {
    message
        .header_raw(name)
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
}

/// `Auto-Submitted` (RFC 3834), `Precedence`, and the vendor headers that
/// Exchange and others put on out-of-office replies.
fn auto_reply_reason(message: &Message) -> Option<String> {
    if let Some(v) = header_text(message, "Auto-Submitted") {
        if v != "no" {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = header_text(message, "Precedence") {
        if ["bulk", "auto_reply", "junk", "list"].contains(&v.as_str()) {
            return Some(format!("Precedence: {v}"));
        }
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(v) = header_text(message, name) {
            if name != "X-Auto-Response-Suppress" || v.contains("all") || v.contains("oof") {
                return Some(format!("{name}: {v}"));
            }
        }
    }
    None
}

/// A `multipart/report; report-type=delivery-status` message (RFC 3464).
fn bounce(message: &Message) -> Option<Bounce> {
    let root = message.root_part();
    let ct = root.content_type()?;
    let is_report = ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && ct
            .attribute("report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut original = None;
    let mut detail = Vec::new();
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        match (ct.ctype().to_ascii_lowercase().as_str(), sub.as_str()) {
            ("message", "delivery-status") => {
                let text = String::from_utf8_lossy(part.contents());
                for line in text.lines() {
                    let lower = line.to_ascii_lowercase();
                    if lower.starts_with("final-recipient:")
                        || lower.starts_with("diagnostic-code:")
                        || lower.starts_with("status:")
                    {
                        detail.push(line.trim().to_string());
                    }
                }
            }
            ("message", "rfc822") | ("text", "rfc822-headers") | ("message", "rfc822-headers") => {
                let inner = match &part.body {
                    PartType::Message(m) => m.message_id().map(strip_brackets),
                    _ => MessageParser::default()
                        .parse_headers(part.contents())
                        .and_then(|m| m.message_id().map(strip_brackets)),
                };
                original = original.or(inner);
            }
            _ => {}
        }
    }
    Some(Bounce {
        original_message_id: original,
        detail: if detail.is_empty() {
            "The receiving server reported a delivery failure.".into()
        } else {
            detail.join("; ")
        },
    })
}

/// A stand-in Message-ID for a message without one: the same bytes always
/// give the same id.
pub fn synthetic_message_id(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@no-message-id.ayuda")
}

impl ParsedEmail {
    /// A digest of what the message says: sender, subject, bodies and
    /// attachments, not its headers, which relays add to (`Received`). The
    /// same message delivered again has the same fingerprint; a different
    /// message that reuses a Message-ID (some mailers do) has another.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        // Each part with its length first, so that moving text from one
        // part to the next changes the digest.
        let mut part = |bytes: &[u8]| {
            digest.update((bytes.len() as u64).to_le_bytes());
            digest.update(bytes);
        };
        part(self.from_address.as_deref().unwrap_or("").as_bytes());
        part(self.subject.as_bytes());
        part(self.text.as_deref().unwrap_or("").as_bytes());
        part(self.html.as_deref().unwrap_or("").as_bytes());
        for attachment in &self.attachments {
            part(attachment.filename.as_bytes());
            part(&attachment.data);
        }
        digest.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

pub fn parse(raw: &[u8]) -> Result<ParsedEmail, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(ParseError::NoHeaders)?;
    if message.headers().is_empty() {
        return Err(ParseError::NoHeaders);
    }
    let from = message.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'));
    let from_name = from
        .and_then(|a| a.name())
        .map(|n| display_name(&clean_header_text(n)))
        .filter(|n| !n.is_empty());
    let mut recipients = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        for addr in list.iter() {
            if let Some(a) = addr.address() {
                let a = a.trim().to_lowercase();
                if !recipients.contains(&a) {
                    recipients.push(a);
                }
            }
        }
    }
    let mut references = id_list(message.references());
    references.reverse();
    let mut attachments = Vec::new();
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        let content_id = part.content_id().map(strip_brackets);
        let inline = part.content_disposition().is_some_and(|d| d.is_inline())
            || (content_id.is_some() && content_type.starts_with("image/"));
        let filename = part
            .attachment_name()
            .map(clean_header_text)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                // A forwarded email travels as a .eml file.
                if part.is_message() {
                    "forwarded-message.eml".into()
                } else {
                    "attachment".into()
                }
            });
        attachments.push(ParsedAttachment {
            filename,
            content_type,
            content_id,
            inline,
            data: part.contents().to_vec(),
        });
    }
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .filter(|t| !t.trim().is_empty());
    // mail-parser converts a text-only message to HTML for body_html; only a
    // real HTML part counts here.
    let html = (message.html_body_count() > 0 && message.html_bodies().any(|p| p.is_text_html()))
        .then(|| message.body_html(0).map(|h| h.into_owned()))
        .flatten()
        .filter(|h| !h.trim().is_empty());
    Ok(ParsedEmail {
        message_id: message
            .message_id()
            .map(strip_brackets)
            .filter(|id| !id.is_empty() && id.len() <= 250)
            .unwrap_or_else(|| synthetic_message_id(raw)),
        in_reply_to: id_list(message.in_reply_to()),
        references,
        from_name,
        from_address,
        recipients,
        subject: message.subject().map(clean_header_text).unwrap_or_default(),
        text,
        html,
        attachments,
        auto_reply: auto_reply_reason(&message),
        bounce: bounce(&message),
        date_ms: message.date().map(|d| d.to_timestamp() * 1000),
    })
}

/// Header text made safe to store and to reuse in outgoing headers: control
/// characters (CR and LF included) become spaces, whitespace runs collapse.
pub fn clean_header_text(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.chars().count() > 250 {
        out = out.chars().take(250).collect();
    }
    out
}

/// A sender's display name as a contact name: cut to the longest a contact
/// name may be (a contact is created from it, and must not be refused).
fn display_name(name: &str) -> String {
    name.chars()
        .take(crate::contacts::MAX_NAME_CHARS)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The ticket number in a subject: the last `[#123]`.
pub fn subject_ticket_number(subject: &str) -> Option<i64> {
    let mut found = None;
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            found = digits.parse().ok();
        }
        rest = after;
    }
    found
}

/// The subject without reply prefixes and our ticket token, for a new
/// ticket's subject.
pub fn base_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let cut = ["re:", "fw:", "fwd:", "aw:", "sv:", "wg:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start(),
            None => break,
        }
    }
    let mut out = s.to_string();
    if let Some(n) = subject_ticket_number(&out) {
        out = out.replace(&format!("[#{n}]"), "");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ticket_tokens_in_subjects() {
        assert_eq!(subject_ticket_number("Re: Broken [#42]"), Some(42));
        assert_eq!(subject_ticket_number("[#1] then [#7]"), Some(7));
        assert_eq!(subject_ticket_number("#42 [#x] [#]"), None);
        assert_eq!(base_subject("RE: Fwd: Broken [#42]"), "Broken");
    }

    #[test]
    fn header_text_loses_line_breaks() {
        assert_eq!(
            clean_header_text("Hi\r\nBcc: victim@example.com"),
            "Hi Bcc: victim@example.com"
        );
    }

    #[test]
    fn long_display_names_fit_a_contact() {
        let long = format!("{} Smith", "Ana ".repeat(60));
        let raw = format!("From: \"{long}\" <ana@customer.example>\r\nSubject: Hi\r\n\r\nBody\r\n");
        let parsed = parse(raw.as_bytes()).unwrap();
        let name = parsed.from_name.unwrap();
        assert_eq!(name.chars().count(), crate::contacts::MAX_NAME_CHARS - 1);
        assert!(long.starts_with(&name));
    }

    #[test]
    fn fingerprints_follow_the_content_not_the_headers() {
        let mail = |received: &str, body: &str| {
            let raw = format!(
                "Received: {received}\r\nFrom: ana@customer.example\r\nMessage-ID: <same@x>\r\nSubject: Hi\r\n\r\n{body}\r\n"
            );
            parse(raw.as_bytes()).unwrap().fingerprint()
        };
        let first = mail("from relay-a", "The printer is on fire");
        assert_eq!(first.len(), 32);
        // The same message through another relay.
        assert_eq!(first, mail("from relay-b", "The printer is on fire"));
        // Another message under the same Message-ID.
        assert_ne!(first, mail("from relay-a", "The printer is fine now"));
    }

    #[test]
    fn synthetic_ids_are_stable() {
        assert_eq!(synthetic_message_id(b"abc"), synthetic_message_id(b"abc"));
        assert_ne!(synthetic_message_id(b"abc"), synthetic_message_id(b"abd"));
    }
}

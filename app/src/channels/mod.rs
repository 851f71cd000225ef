//! Channels: where customer messages come from and replies go out.
//!
//! Only email is built so far. A super admin connects a mailbox
//! ([`NewChannel`]): inbound mail arrives through Ayuda's own SMTP listener
//! or by polling an IMAP mailbox, and replies leave through the channel's
//! SMTP relay. The shared types here are the API's and the settings page's;
//! the rules and SQL are in [`service`], the mail machinery in [`email`].

#[cfg(feature = "ssr")]
pub mod email;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod service;

pub mod settings;

use serde::{Deserialize, Serialize};

/// How a mail connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text: only for a relay on the same machine or network.
    None,
    /// Plain connection upgraded with STARTTLS (ports 587, 143).
    #[default]
    Starttls,
    /// TLS from the first byte (ports 465, 993).
    Tls,
}

impl Security {
    pub fn label(self) -> &'static str {
        match self {
            Security::None => "None",
            Security::Starttls => "STARTTLS",
            Security::Tls => "TLS",
        }
    }
}

/// Connection settings as given when connecting or updating a channel.
/// `password` is write-only: it is stored sealed and never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// IMAP only: the folder to poll (default `INBOX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// A server as shown back: everything but the password, and whether one is
/// stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ServerSummary {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub has_password: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// A connected channel as admins see it. Secrets never appear here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Channel {
    pub id: i64,
    /// Always `email` for now.
    pub kind: String,
    pub name: String,
    /// The support address customers write to.
    pub address: String,
    /// New tickets from this channel go to this team.
    pub team_id: Option<i64>,
    pub from_name: Option<String>,
    pub signature: Option<String>,
    pub outbound: ServerSummary,
    pub imap: Option<ServerSummary>,
    /// The last IMAP poll's outcome: `ok` or a safe error text.
    pub imap_status: Option<String>,
    pub created_at: i64,
}

/// `POST /api/v1/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewChannel {
    /// `email`.
    pub kind: String,
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub team_id: Option<i64>,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    pub outbound: ServerSettings,
    #[serde(default)]
    pub imap: Option<ServerSettings>,
    /// Import the IMAP folder's existing mail (last `import_days` days) as
    /// closed tickets right after connecting.
    #[serde(default)]
    pub import_history: bool,
    #[serde(default)]
    pub import_days: Option<u32>,
}

/// `PATCH /api/v1/channels/{id}`: only the fields given change. A server
/// block given without a password keeps the stored one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChannelPatch {
    #[serde(default)]
    pub name: Option<String>,
    /// `Some(None)` (JSON `null`) clears the team.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub team_id: Option<Option<i64>>,
    #[serde(default)]
    pub from_name: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub outbound: Option<ServerSettings>,
    /// `Some(None)` (JSON `null`) stops IMAP polling.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<ServerSettings>))]
    pub imap: Option<Option<ServerSettings>>,
}

/// Tells a missing field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A quarantined email, as admins list it (the raw message is fetched
/// separately).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuarantinedEmail {
    pub id: i64,
    pub channel_id: Option<i64>,
    /// `smtp`, `imap` or `import`.
    pub source: String,
    /// `malformed`, `too_large`, `loop`, `rate_limited`, `auto_reply`,
    /// `bounce`, `no_sender`, `timeout`.
    pub category: String,
    pub reason: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub size: i64,
    pub received_at: i64,
}

/// A history import and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EmailImport {
    pub id: i64,
    pub channel_id: i64,
    /// `mbox` or `imap`.
    pub source: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub total: i64,
    pub processed: i64,
    pub imported: i64,
    /// Already present (same Message-ID): re-running an import adds nothing.
    pub skipped: i64,
    /// Quarantined.
    pub failed: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

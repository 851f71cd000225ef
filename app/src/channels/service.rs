//! Channel rules and SQL: connecting, changing and disconnecting email
//! channels (super admins only), reading the quarantine and imports.

use super::secrets::SecretKey;
use super::{
    Channel, ChannelPatch, EmailImport, NewChannel, QuarantinedEmail, Security, ServerSettings,
    ServerSummary,
};
use crate::db::{now_ms, Db};
use crate::error::AppError;
use crate::state::AppState;
use crate::users::service::{normalize_email, required_text};
use crate::users::User;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

pub fn require_admin(actor: &User) -> Result<(), AppError> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "Only super admins can manage channels.",
        ))
    }
}

/// A server's stored, showable settings (the `settings` column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredServer {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    folder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSettings {
    outbound: StoredServer,
    imap: Option<StoredServer>,
}

/// The `secrets` column before sealing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSecrets {
    outbound_password: Option<String>,
    imap_password: Option<String>,
}

/// Everything needed to talk to a mail server, password included. Lives
/// only in memory, for the duration of a connection.
#[derive(Clone)]
pub struct ServerConnection {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    pub folder: String,
}

impl std::fmt::Debug for ServerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConnection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

fn validate_server(field: &str, s: &ServerSettings, imap: bool) -> Result<StoredServer, AppError> {
    let host = s.host.trim().to_lowercase();
    if host.is_empty()
        || host.len() > 253
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    {
        return Err(AppError::invalid(
            &format!("{field}.host"),
            "Enter the server's host name, e.g. smtp.example.com.",
        ));
    }
    if s.port == 0 {
        return Err(AppError::invalid(
            &format!("{field}.port"),
            "Enter a port between 1 and 65535.",
        ));
    }
    let username = s
        .username
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| required_text(&format!("{field}.username"), "User name", u, 254))
        .transpose()?;
    if imap && username.is_none() {
        return Err(AppError::invalid(
            &format!("{field}.username"),
            "IMAP needs the mailbox's user name.",
        ));
    }
    let folder = if imap {
        let f = s
            .folder
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .unwrap_or("INBOX");
        if f.len() > 200 || f.chars().any(|c| c.is_control() || c == '"') {
            return Err(AppError::invalid(
                &format!("{field}.folder"),
                "That folder name is not valid.",
            ));
        }
        Some(f.to_string())
    } else {
        None
    };
    Ok(StoredServer {
        host,
        port: s.port,
        security: s.security,
        username,
        folder,
    })
}

fn password(field: &str, p: &Option<String>) -> Result<Option<String>, AppError> {
    match p.as_deref().filter(|p| !p.is_empty()) {
        Some(p) if p.len() > 1024 || p.contains(['\r', '\n']) => Err(AppError::invalid(
            &format!("{field}.password"),
            "That password is not valid.",
        )),
        other => Ok(other.map(str::to_string)),
    }
}

fn optional_text(
    field: &str,
    label: &str,
    v: &Option<String>,
    max: usize,
) -> Result<Option<String>, AppError> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(AppError::invalid(
            field,
            format!("{label} is too long (at most {max} characters)."),
        )),
        Some(v) => Ok(Some(v.to_string())),
        None => Ok(None),
    }
}

fn summary(s: &StoredServer, has_password: bool) -> ServerSummary {
    ServerSummary {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
        username: s.username.clone(),
        has_password,
        folder: s.folder.clone(),
    }
}

fn open_secrets(key: &SecretKey, sealed: &str) -> Result<StoredSecrets, AppError> {
    let json = key.open(sealed).map_err(|e| {
        tracing::error!(error = %e, "cannot open a channel's secrets");
        AppError::Internal
    })?;
    serde_json::from_str(&json).map_err(|_| AppError::Internal)
}

fn seal_secrets(key: &SecretKey, secrets: &StoredSecrets) -> String {
    key.seal(&serde_json::to_string(secrets).expect("secrets serialise"))
}

const SELECT: &str =
    "SELECT id, kind, name, address, team_id, from_name, signature, settings, secrets, \
                      imap_status, created_at FROM channels";

fn from_row(row: &AnyRow, key: &SecretKey) -> Result<Channel, AppError> {
    let settings: String = row.try_get("settings")?;
    let settings: StoredSettings =
        serde_json::from_str(&settings).map_err(|_| AppError::Internal)?;
    let sealed: String = row.try_get("secrets")?;
    // Only whether a password exists is shown; a key mismatch shows "no".
    let secrets = open_secrets(key, &sealed).unwrap_or_default();
    Ok(Channel {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        team_id: row.try_get("team_id")?,
        from_name: row.try_get("from_name")?,
        signature: row.try_get("signature")?,
        outbound: summary(&settings.outbound, secrets.outbound_password.is_some()),
        imap: settings
            .imap
            .as_ref()
            .map(|i| summary(i, secrets.imap_password.is_some())),
        imap_status: row.try_get("imap_status")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn check_team(db: &Db, team_id: Option<i64>) -> Result<(), AppError> {
    if let Some(id) = team_id {
        sqlx::query("SELECT id FROM teams WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| AppError::invalid("team_id", "That team does not exist."))?;
    }
    Ok(())
}

pub async fn list(db: &Db, key: &SecretKey, actor: &User) -> Result<Vec<Channel>, AppError> {
    require_admin(actor)?;
    let rows = sqlx::query(&format!("{SELECT} ORDER BY name, id"))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| from_row(r, key)).collect()
}

pub async fn get(db: &Db, key: &SecretKey, actor: &User, id: i64) -> Result<Channel, AppError> {
    require_admin(actor)?;
    let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Channel"))?;
    from_row(&row, key)
}

/// Checks `input` and writes the channel and, when `import_imap` and the
/// channel has an IMAP mailbox, the row of an import of its folder, in one
/// transaction: a failure leaves neither. Returns their ids.
async fn insert_new(
    db: &Db,
    key: &SecretKey,
    actor: &User,
    input: NewChannel,
    import_imap: bool,
) -> Result<(i64, Option<i64>), AppError> {
    require_admin(actor)?;
    if input.kind.trim() != "email" {
        return Err(AppError::invalid(
            "kind",
            "Only email channels can be connected here.",
        ));
    }
    let name = required_text("name", "Name", &input.name, 120)?;
    let address = normalize_email("address", &input.address)?;
    if address.split('@').next().is_some_and(|l| l.contains('+')) {
        return Err(AppError::invalid(
            "address",
            "Use the mailbox's plain address, without a +tag.",
        ));
    }
    let from_name = optional_text("from_name", "Sender name", &input.from_name, 120)?
        .map(|n| super::email::parse::clean_header_text(&n));
    let signature = optional_text("signature", "Signature", &input.signature, 2000)?;
    let outbound = validate_server("outbound", &input.outbound, false)?;
    let imap = input
        .imap
        .as_ref()
        .map(|i| validate_server("imap", i, true))
        .transpose()?;
    let secrets = StoredSecrets {
        outbound_password: password("outbound", &input.outbound.password)?,
        imap_password: match &input.imap {
            Some(i) => Some(password("imap", &i.password)?.ok_or_else(|| {
                AppError::invalid("imap.password", "IMAP needs the mailbox's password.")
            })?),
            None => None,
        },
    };
    check_team(db, input.team_id).await?;
    let import_imap = import_imap && imap.is_some();
    let settings =
        serde_json::to_string(&StoredSettings { outbound, imap }).expect("settings serialise");
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO channels (kind, name, address, team_id, from_name, signature, settings, secrets, created_at, updated_at) \
         VALUES ('email', $1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(&name)
    .bind(&address)
    .bind(input.team_id)
    .bind(&from_name)
    .bind(&signature)
    .bind(&settings)
    .bind(seal_secrets(key, &secrets))
    .bind(now)
    .fetch_one(tx.conn())
    .await
    .map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Conflict(format!("{address} is already connected.")),
        other => other,
    })?
    .try_get("id")?;
    let import_id = match import_imap {
        true => Some(super::email::import::insert_running(&mut tx, id, "imap").await?),
        false => None,
    };
    tx.commit().await?;
    Ok((id, import_id))
}

/// Connects a channel and, when asked and it has an IMAP mailbox, starts
/// importing the folder's last `import_days` (default 90) days as closed
/// tickets. The channel and its import are recorded together: an error
/// means neither was, so connecting again is safe.
pub async fn connect(
    state: &AppState,
    actor: &User,
    input: NewChannel,
) -> Result<Channel, AppError> {
    let import_days = input
        .import_history
        .then(|| input.import_days.unwrap_or(90));
    if let Some(days) = import_days {
        super::email::import::check_days(days)?;
    }
    let key = &state.config.secret_key;
    let (id, import_id) = insert_new(&state.db, key, actor, input, import_days.is_some()).await?;
    if let (Some(days), Some(import_id)) = (import_days, import_id) {
        super::email::import::run_imap_in_background(state, id, import_id, days);
    }
    get(&state.db, key, actor, id).await
}

pub async fn update(
    db: &Db,
    key: &SecretKey,
    actor: &User,
    id: i64,
    patch: ChannelPatch,
) -> Result<Channel, AppError> {
    require_admin(actor)?;
    if let Some(t) = patch.team_id {
        check_team(db, t).await?;
    }
    // The row is read in the transaction that writes it back, locked: two
    // admins saving at once each apply their change to the other's, and
    // neither is lost.
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT name, team_id, from_name, signature, settings, secrets FROM channels WHERE id = $1{}",
        tx.row_lock()
    ))
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| AppError::not_found("Channel"))?;
    let mut name: String = row.try_get("name")?;
    let mut team_id: Option<i64> = row.try_get("team_id")?;
    let mut from_name: Option<String> = row.try_get("from_name")?;
    let mut signature: Option<String> = row.try_get("signature")?;
    let settings: String = row.try_get("settings")?;
    let mut settings: StoredSettings =
        serde_json::from_str(&settings).map_err(|_| AppError::Internal)?;
    let sealed: String = row.try_get("secrets")?;
    let mut secrets = open_secrets(key, &sealed)?;
    if let Some(n) = &patch.name {
        name = required_text("name", "Name", n, 120)?;
    }
    if let Some(t) = patch.team_id {
        team_id = t;
    }
    if patch.from_name.is_some() {
        from_name = optional_text("from_name", "Sender name", &patch.from_name, 120)?
            .map(|n| super::email::parse::clean_header_text(&n));
    }
    if patch.signature.is_some() {
        signature = optional_text("signature", "Signature", &patch.signature, 2000)?;
    }
    if let Some(o) = &patch.outbound {
        settings.outbound = validate_server("outbound", o, false)?;
        if let Some(p) = password("outbound", &o.password)? {
            secrets.outbound_password = Some(p);
        } else if o
            .username
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .is_empty()
        {
            secrets.outbound_password = None;
        }
    }
    let mut imap_changed = false;
    match &patch.imap {
        None => {}
        Some(None) => {
            settings.imap = None;
            secrets.imap_password = None;
            imap_changed = true;
        }
        Some(Some(i)) => {
            settings.imap = Some(validate_server("imap", i, true)?);
            if let Some(p) = password("imap", &i.password)? {
                secrets.imap_password = Some(p);
            }
            if secrets.imap_password.is_none() {
                return Err(AppError::invalid(
                    "imap.password",
                    "IMAP needs the mailbox's password.",
                ));
            }
            imap_changed = true;
        }
    }
    sqlx::query(
        "UPDATE channels SET name = $1, team_id = $2, from_name = $3, signature = $4, settings = $5, secrets = $6, \
         updated_at = $7, imap_status = CASE WHEN $8 = 1 THEN NULL ELSE imap_status END WHERE id = $9",
    )
    .bind(&name)
    .bind(team_id)
    .bind(&from_name)
    .bind(&signature)
    .bind(serde_json::to_string(&settings).expect("settings serialise"))
    .bind(seal_secrets(key, &secrets))
    .bind(now_ms())
    .bind(imap_changed as i64)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    get(db, key, actor, id).await
}

/// Disconnects a channel. Its tickets stay; replies still queued for it
/// fail with a clear reason instead of waiting forever.
pub async fn delete(db: &Db, actor: &User, id: i64) -> Result<(), AppError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let found = sqlx::query("SELECT id FROM channels WHERE id = $1")
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    if found.is_none() {
        return Err(AppError::not_found("Channel"));
    }
    let reason = "The channel was disconnected before this reply was sent.";
    sqlx::query(
        "UPDATE messages SET delivery_state = 'failed', delivery_error = $1 \
         WHERE id IN (SELECT entry_id FROM email_outbox WHERE channel_id = $2 AND state = 'queued')",
    )
    .bind(reason)
    .bind(id)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE email_outbox SET state = 'failed', last_error = $1 WHERE channel_id = $2 AND state = 'queued'")
        .bind(reason)
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM channels WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The channel's outbound relay and IMAP mailbox with their passwords, for
/// the mail tasks. `None` when the channel is gone.
pub async fn load_connection(
    db: &Db,
    key: &SecretKey,
    id: i64,
) -> Result<Option<(ServerConnection, Option<ServerConnection>)>, AppError> {
    let Some(row) = sqlx::query("SELECT settings, secrets FROM channels WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    let settings: String = row.try_get("settings")?;
    let settings: StoredSettings =
        serde_json::from_str(&settings).map_err(|_| AppError::Internal)?;
    let sealed: String = row.try_get("secrets")?;
    let secrets = open_secrets(key, &sealed)?;
    let conn = |s: &StoredServer, password: Option<String>| ServerConnection {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
        username: s.username.clone(),
        password,
        folder: s.folder.clone().unwrap_or_else(|| "INBOX".into()),
    };
    Ok(Some((
        conn(&settings.outbound, secrets.outbound_password),
        settings
            .imap
            .as_ref()
            .map(|i| conn(i, secrets.imap_password)),
    )))
}

/// Channels with an IMAP mailbox, with the time their settings last changed
/// (a poller restarts when it does).
pub async fn imap_channels(db: &Db) -> Result<Vec<(i64, i64)>, AppError> {
    let rows = sqlx::query("SELECT id, updated_at, settings FROM channels ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let settings: String = r.try_get("settings")?;
        let has_imap =
            serde_json::from_str::<StoredSettings>(&settings).is_ok_and(|s| s.imap.is_some());
        if has_imap {
            out.push((r.try_get("id")?, r.try_get("updated_at")?));
        }
    }
    Ok(out)
}

/// Quarantined mail, newest first.
pub async fn list_quarantine(
    db: &Db,
    actor: &User,
    limit: i64,
) -> Result<Vec<QuarantinedEmail>, AppError> {
    require_admin(actor)?;
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit must be between 1 and 500.",
        ));
    }
    let rows = sqlx::query(
        "SELECT id, channel_id, source, category, reason, sender, subject, size, received_at \
         FROM email_quarantine ORDER BY received_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QuarantinedEmail {
                id: r.try_get("id")?,
                channel_id: r.try_get("channel_id")?,
                source: r.try_get("source")?,
                category: r.try_get("category")?,
                reason: r.try_get("reason")?,
                sender: r.try_get("sender")?,
                subject: r.try_get("subject")?,
                size: r.try_get("size")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .collect()
}

/// A quarantined message's raw bytes (downloaded as an .eml file).
pub async fn quarantine_raw(db: &Db, actor: &User, id: i64) -> Result<Vec<u8>, AppError> {
    require_admin(actor)?;
    let row = sqlx::query("SELECT raw FROM email_quarantine WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Quarantined email"))?;
    Ok(row.try_get("raw")?)
}

fn import_from_row(r: &AnyRow) -> Result<EmailImport, AppError> {
    Ok(EmailImport {
        id: r.try_get("id")?,
        channel_id: r.try_get("channel_id")?,
        source: r.try_get("source")?,
        state: r.try_get("state")?,
        total: r.try_get("total")?,
        processed: r.try_get("processed")?,
        imported: r.try_get("imported")?,
        skipped: r.try_get("skipped")?,
        failed: r.try_get("failed")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

const IMPORT_SELECT: &str =
    "SELECT id, channel_id, source, state, total, processed, imported, skipped, failed, \
                             error, created_at, finished_at FROM email_imports";

pub async fn list_imports(
    db: &Db,
    actor: &User,
    channel_id: i64,
) -> Result<Vec<EmailImport>, AppError> {
    require_admin(actor)?;
    let rows = sqlx::query(&format!(
        "{IMPORT_SELECT} WHERE channel_id = $1 ORDER BY id DESC LIMIT 20"
    ))
    .bind(channel_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(import_from_row).collect()
}

pub async fn get_import(db: &Db, actor: &User, id: i64) -> Result<EmailImport, AppError> {
    require_admin(actor)?;
    let row = sqlx::query(&format!("{IMPORT_SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| AppError::not_found("Import"))?;
    import_from_row(&row)
}

//! Contacts (the customers tickets are about) and their companies.

#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// The longest contact name, in characters. Names typed in are refused
/// beyond it; names that come with an email (its display name) are cut to
/// it, so a long display name never keeps a customer's mail out.
pub const MAX_NAME_CHARS: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub created_at: i64,
}

/// A contact to attach to a ticket: matched by email, created when new.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ContactRef {
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewContact {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

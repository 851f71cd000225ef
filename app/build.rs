//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!`
//! embeds the migration files at compile time, and on stable Rust nothing
//! else tells cargo that they are inputs (sqlx's documented remedy).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}

//! `ayuda-datagen`: fills a database with a realistic help desk workspace
//! for benchmarks.
//!
//! ```text
//! ayuda-datagen --size S|M|L|<tickets> [--database-url URL] [--seed N]
//! ```
//!
//! Sizes: S = 10k tickets, M = 100k, L = 1M tickets (~5M messages, 50
//! agents, 8 teams, 200k contacts). The database is migrated first and must
//! hold no tickets yet. Rows go in with multi-row INSERTs inside large
//! transactions, so L fits in minutes on SQLite.

use server::datagen::{generate, Plan};
use std::time::Instant;

fn usage() -> ! {
    eprintln!("usage: ayuda-datagen --size S|M|L|<tickets> [--database-url URL] [--seed N]");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    // The services log the real cause of a failure and return a safe
    // summary; a generator run that fails should say why.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let mut size = None;
    let mut url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://target/bench/ayuda.db".into());
    let mut seed = 42_u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--size" => size = args.next(),
            "--database-url" => url = args.next().unwrap_or_else(|| usage()),
            "--seed" => {
                seed = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            _ => usage(),
        }
    }
    let Some(plan) = size.as_deref().and_then(Plan::named) else {
        usage()
    };
    let db = match app::db::Db::connect(&url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("ayuda-datagen: cannot open {url}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = db.migrate().await {
        eprintln!("ayuda-datagen: cannot migrate: {e}");
        std::process::exit(1);
    }
    let started = Instant::now();
    let result = generate(&db, &plan, seed).await;
    db.close().await;
    match result {
        Ok(stats) => println!(
            "generated {} tickets, {} messages, {} contacts, {} agents, {} teams, {} mentions, {} follows in {:.1} s",
            stats.tickets,
            stats.messages,
            stats.contacts,
            stats.agents,
            stats.teams,
            stats.mentions,
            stats.follows,
            started.elapsed().as_secs_f64()
        ),
        Err(e) => {
            eprintln!("ayuda-datagen: {e}");
            std::process::exit(1);
        }
    }
}

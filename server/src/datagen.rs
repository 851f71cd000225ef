//! Benchmark data: a realistic help desk workspace of a chosen size, written
//! straight into the database with multi-row INSERTs.
//!
//! Distributions follow what support teams see: most tickets closed, a long
//! tail of thread lengths (most 1–6 entries, a few up to 1,000), more email
//! than other channels, a handful of agents owning most tickets. Everything
//! derives from one seed, so a size and seed always give the same data.

use app::db::{Arg, Db, DbKind, SqlBuilder};
use app::error::AppError;
use app::messages::sanitize::text_to_html;
use app::tickets::service::{category_choices, default_statuses};
use sqlx::{AnyConnection, Row};

/// How much to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tickets: i64,
    pub agents: i64,
    pub teams: i64,
    pub contacts: i64,
}

impl Plan {
    /// `S`, `M`, `L` or a number of tickets.
    pub fn named(name: &str) -> Option<Plan> {
        let tickets = match name {
            "S" | "s" => 10_000,
            "M" | "m" => 100_000,
            "L" | "l" => 1_000_000,
            n => n.parse().ok().filter(|n| *n > 0)?,
        };
        Some(Plan::for_tickets(tickets))
    }

    /// L is 1M tickets, 50 agents, 8 teams, 200k contacts; smaller sizes
    /// scale down with a floor that keeps every view populated.
    pub fn for_tickets(tickets: i64) -> Plan {
        Plan {
            tickets,
            agents: (tickets / 20_000).clamp(5, 50),
            teams: 8.min((tickets / 20_000).clamp(2, 8)),
            contacts: (tickets / 5).max(10),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub tickets: i64,
    pub messages: i64,
    pub contacts: i64,
    pub agents: i64,
    pub teams: i64,
    /// Agents @mentioned in notes, and tickets someone follows: what the
    /// My mentions and Followers views list.
    pub mentions: i64,
    pub follows: i64,
}

/// SplitMix64: small, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }

    fn chance(&mut self, percent: i64) -> bool {
        self.below(1000) < percent * 10
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as i64) as usize]
    }
}

/// Entries in one thread: mostly short, a long tail up to 1,000.
fn thread_length(rng: &mut Rng) -> i64 {
    let roll = rng.below(1000);
    if roll < 970 {
        1 + rng.below(6)
    } else if roll < 997 {
        7 + rng.below(34)
    } else {
        41 + rng.below(960)
    }
}

const FIRST: [&str; 24] = [
    "Maria", "James", "Sofia", "Liam", "Aiko", "Noah", "Fatima", "Lucas", "Elena", "Omar", "Chloe",
    "Mateo", "Priya", "Jonas", "Amara", "Felix", "Ines", "Tariq", "Hannah", "Yusuf", "Grace",
    "Leon", "Mei", "Ravi",
];
const LAST: [&str; 16] = [
    "Garcia",
    "Smith",
    "Rossi",
    "Tanaka",
    "Okafor",
    "Novak",
    "Silva",
    "Muller",
    "Haddad",
    "Kowalski",
    "Nguyen",
    "Johansson",
    "Dubois",
    "Costa",
    "Fischer",
    "Ali",
];
const TOPICS: [&str; 16] = [
    "login",
    "invoice",
    "refund",
    "export",
    "password reset",
    "two-factor code",
    "subscription",
    "shipping",
    "integration",
    "dashboard",
    "API key",
    "data import",
    "billing address",
    "mobile app",
    "notifications",
    "report",
];
const PROBLEMS: [&str; 8] = [
    "is not working",
    "shows an error",
    "is much slower than usual",
    "keeps failing",
    "looks wrong",
    "stopped working after the update",
    "needs to be changed",
    "question",
];
const SENTENCES: [&str; 16] = [
    "I have tried this several times today and it still does not work.",
    "Could you please look into this as soon as possible?",
    "It is blocking our whole team from finishing the month-end close.",
    "This worked fine last week and nothing changed on our side.",
    "I cleared the cache and tried another browser, same result.",
    "Thanks for getting back to me so quickly.",
    "Let me know if you need screenshots or the exact error message.",
    "We are on the annual plan, if that matters.",
    "I checked the settings page and everything looks correct there.",
    "The error appears right after I click save.",
    "Is there a workaround we can use in the meantime?",
    "Our account manager said you could help with this.",
    "Happy to jump on a call if that is easier.",
    "That fixed it, thank you so much for the help!",
    "Any update on this one? We are still waiting.",
    "I have attached the order number below for reference.",
];
const AGENT_SENTENCES: [&str; 8] = [
    "Thanks for reaching out, I am looking into this now.",
    "Could you tell me which browser and version you are using?",
    "I have escalated this to our engineering team and will update you shortly.",
    "Good news: this should be fixed now, could you try again?",
    "I have issued the refund; it will show within five business days.",
    "Sorry for the trouble, I corrected it on our side.",
    "I can see the problem in our logs and am working on a fix.",
    "Closing this for now, just reply if anything else comes up.",
];

fn text(rng: &mut Rng, pool: &[&str], sentences: i64) -> String {
    (0..sentences)
        .map(|_| *rng.pick(pool))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Inserts rows with as few statements as the parameter limits allow.
async fn insert_rows(
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
) -> Result<(), AppError> {
    // Modest statements: SQLite looks each `$N` up by name with a linear
    // scan, so binding is quadratic in the parameters of one statement.
    let per_statement = (900 / columns.len()).max(1);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    for chunk in rows.chunks(per_statement) {
        let mut sql = SqlBuilder::new(&head);
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(value.clone());
            }
            sql.push(")");
        }
        sql.query().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn max_id(db: &Db, table: &str) -> Result<i64, AppError> {
    let row = sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) AS n FROM {table}"))
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get("n")?)
}

/// Fills a migrated database that has no tickets yet according to `plan`.
/// An agent number from 1 to `agents`, the first ones far more often (the
/// product of two rolls skews low): who owns, is asked about and follows
/// tickets.
fn skewed_agent(rng: &mut Rng, agents: i64) -> i64 {
    1 + (rng.below(agents) * rng.below(agents)) / agents.max(1)
}

/// The name of generated agent `i`.
fn agent_name(i: i64) -> String {
    format!(
        "{} {} {i}",
        FIRST[i as usize % FIRST.len()],
        LAST[i as usize % LAST.len()]
    )
}

pub async fn generate(db: &Db, plan: &Plan, seed: u64) -> Result<Stats, AppError> {
    let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tickets")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    if existing > 0 {
        return Err(AppError::Conflict(
            "The database already has tickets; generate into an empty one.".into(),
        ));
    }
    let mut rng = Rng(seed);
    let now = app::db::now_ms();
    let day = 86_400_000_i64;
    // Tickets are spread over two years, oldest first.
    let span = 730 * day;
    let start = now - span;
    let password = app::auth::service::hash_password("bench-password")?;
    let mut stats = Stats {
        agents: plan.agents,
        teams: plan.teams,
        contacts: plan.contacts,
        ..Stats::default()
    };
    // Rows get explicit ids (so threads can point at their tickets without
    // a round trip), after whatever the database already holds.
    let team_base = max_id(db, "teams").await?;
    let user_base = max_id(db, "users").await?;
    let company_base = max_id(db, "companies").await?;
    let contact_base = max_id(db, "contacts").await?;
    let mut message_id = max_id(db, "messages").await?;
    let team_id = |i: i64| team_base + (i - 1) % plan.teams + 1;

    // People, teams and contacts.
    let mut tx = db.begin_write().await?;
    let teams: Vec<Vec<Arg>> = (1..=plan.teams)
        .map(|i| {
            vec![
                Arg::Int(team_base + i),
                Arg::Text(format!("Bench team {i}")),
                Arg::Int(start),
            ]
        })
        .collect();
    insert_rows(tx.conn(), "teams", &["id", "name", "created_at"], teams).await?;
    // Users 1..=agents are agents (the first one a super admin, so the
    // bench client can sign in as an admin too).
    let users: Vec<Vec<Arg>> = (1..=plan.agents)
        .map(|i| {
            let role = if i == 1 { "super_admin" } else { "agent" };
            vec![
                Arg::Int(user_base + i),
                Arg::Text(format!("agent{i}@bench.example")),
                Arg::Text(agent_name(i)),
                Arg::Text(role.into()),
                Arg::Text(password.clone()),
                Arg::Int(1),
                Arg::Int(start),
            ]
        })
        .collect();
    insert_rows(
        tx.conn(),
        "users",
        &[
            "id",
            "email",
            "name",
            "role",
            "password_hash",
            "active",
            "created_at",
        ],
        users,
    )
    .await?;
    let members: Vec<Vec<Arg>> = (1..=plan.agents)
        .map(|i| vec![Arg::Int(team_id(i)), Arg::Int(user_base + i), Arg::Int(1)])
        .collect();
    insert_rows(
        tx.conn(),
        "team_members",
        &["team_id", "user_id", "is_main"],
        members,
    )
    .await?;
    let companies = (plan.contacts / 20).max(1);
    let company_rows: Vec<Vec<Arg>> = (1..=companies)
        .map(|i| {
            vec![
                Arg::Int(company_base + i),
                Arg::Text(format!(
                    "{} {}",
                    LAST[i as usize % LAST.len()],
                    ["Ltd", "Inc", "GmbH", "SA"][i as usize % 4]
                )),
                Arg::Text(format!("company{i}.example")),
                Arg::Int(start),
            ]
        })
        .collect();
    insert_rows(
        tx.conn(),
        "companies",
        &["id", "name", "domain", "created_at"],
        company_rows,
    )
    .await?;
    let mut contact_rows = Vec::with_capacity(plan.contacts as usize);
    for i in 1..=plan.contacts {
        let first = *rng.pick(&FIRST);
        let last = *rng.pick(&LAST);
        let company = 1 + rng.below(companies);
        contact_rows.push(vec![
            Arg::Int(contact_base + i),
            Arg::Text(format!("{first} {last}")),
            Arg::Text(format!(
                "{}.{}.{i}@company{company}.example",
                first.to_lowercase(),
                last.to_lowercase()
            )),
            Arg::Text(format!("+1 555 {:07}", i)),
            Arg::Int(company_base + company),
            Arg::Int(start),
        ]);
    }
    insert_rows(
        tx.conn(),
        "contacts",
        &["id", "name", "email", "phone", "company_id", "created_at"],
        contact_rows,
    )
    .await?;
    tx.commit().await?;

    let statuses: Vec<(i64, String)> = default_statuses(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.category.as_str().to_string()))
        .collect();
    let by_category = |c: &str| {
        statuses
            .iter()
            .filter(|s| s.1 == c)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (open, waiting, closed) = (
        by_category("open"),
        by_category("waiting"),
        by_category("closed"),
    );
    let channels = [
        "email",
        "email",
        "email",
        "email",
        "chat",
        "chat",
        "form",
        "phone",
        "whatsapp",
        "messenger",
    ];
    let categories = category_choices();

    // Tickets and their threads, in batches of one transaction each.
    let batch = 20_000_i64;
    let mut first = 1_i64;
    while first <= plan.tickets {
        let last = (first + batch - 1).min(plan.tickets);
        let mut tickets = Vec::with_capacity((last - first + 1) as usize);
        let mut messages = Vec::new();
        let mut mentions = Vec::new();
        let mut follows = Vec::new();
        for id in first..=last {
            let created = start + span * (id - 1) / plan.tickets + rng.below(3_600_000);
            // Recent tickets are mostly open; older ones mostly closed.
            let age_days = (now - created) / day;
            let roll = rng.below(100);
            let (status_id, category) = if age_days > 14 && roll < 92 || roll < 45 {
                rng.pick(&closed).clone()
            } else if roll < 70 {
                rng.pick(&waiting).clone()
            } else {
                rng.pick(&open).clone()
            };
            let unassigned = category != "closed" && rng.chance(20);
            // A few agents own most tickets.
            let agent_index = skewed_agent(&mut rng, plan.agents);
            let agent = user_base + agent_index;
            let owner = (!unassigned).then_some(agent);
            let team = owner.map(|_| team_id(agent_index));
            let contact = contact_base + 1 + rng.below(plan.contacts);
            let topic = *rng.pick(&TOPICS);
            let problem = *rng.pick(&PROBLEMS);
            let subject = format!("{}{} {problem}", topic[..1].to_uppercase(), &topic[1..]);
            let entries = thread_length(&mut rng);
            let mut at = created;
            let mut first_reply = None;
            let mut last_inbound = None;
            for n in 0..entries {
                message_id += 1;
                let (kind, user, contact_author, body) =
                    if n == 0 || (n % 2 == 0 && !rng.chance(15)) {
                        let sentences = 1 + rng.below(4);
                        let mut body = text(&mut rng, &SENTENCES, sentences);
                        // An order number in a fifth of the customer's
                        // messages: the rare words search is measured on
                        // (each number is in a message or two).
                        if rng.chance(20) {
                            body.push_str(&format!(" Order {}.", 100_000 + rng.below(900_000)));
                        }
                        ("inbound", None, Some(contact), body)
                    } else if rng.chance(12) {
                        // A third of the notes ask a colleague (anyone,
                        // the same agent included) for help.
                        let mut body = text(&mut rng, &AGENT_SENTENCES, 1);
                        if rng.chance(33) {
                            // Skewed like owners: the first agents (team
                            // leads) are asked most.
                            let i = skewed_agent(&mut rng, plan.agents);
                            body = format!("@{} {body}", agent_name(i));
                            mentions.push(vec![
                                Arg::Int(message_id),
                                Arg::Int(user_base + i),
                                Arg::Int(id),
                            ]);
                        }
                        ("note", Some(agent), None, body)
                    } else {
                        let sentences = 1 + rng.below(3);
                        (
                            "reply",
                            Some(agent),
                            None,
                            text(&mut rng, &AGENT_SENTENCES, sentences),
                        )
                    };
                if kind == "reply" && first_reply.is_none() {
                    first_reply = Some(at);
                }
                if kind == "inbound" {
                    last_inbound = Some(at);
                }
                let html = text_to_html(&body);
                messages.push(vec![
                    Arg::Int(message_id),
                    Arg::Int(id),
                    Arg::Text(kind.into()),
                    user.into(),
                    contact_author.into(),
                    Arg::Text(body),
                    Arg::Text(html),
                    Arg::Int(at),
                ]);
                at += 60_000 + rng.below(8 * 3_600_000);
            }
            let updated = at.min(now);
            // One ticket in eight has a follower, most often a lead.
            if rng.chance(12) {
                follows.push(vec![
                    Arg::Int(user_base + skewed_agent(&mut rng, plan.agents)),
                    Arg::Int(id),
                    Arg::Int(created),
                ]);
            }
            tickets.push(vec![
                Arg::Int(id),
                Arg::Int(id),
                Arg::Text(subject),
                Arg::Int(1),
                Arg::Int(status_id),
                Arg::Text(category.clone()),
                Arg::Int([0, 1, 1, 1, 2, 2, 3][rng.below(7) as usize]),
                (*rng.pick(&categories)).into(),
                owner.into(),
                team.into(),
                Arg::Text((*rng.pick(&channels)).into()),
                Arg::Int(contact),
                Arg::Int(created),
                Arg::Int(updated),
                first_reply.into(),
                (category == "closed").then_some(updated).into(),
                last_inbound.into(),
            ]);
        }
        stats.tickets += tickets.len() as i64;
        stats.messages += messages.len() as i64;
        let mut tx = db.begin_write().await?;
        insert_rows(
            tx.conn(),
            "tickets",
            &[
                "id",
                "number",
                "subject",
                "pipeline_id",
                "status_id",
                "status_category",
                "priority",
                "category",
                "owner_id",
                "team_id",
                "channel",
                "contact_id",
                "created_at",
                "updated_at",
                "first_reply_at",
                "closed_at",
                "last_inbound_at",
            ],
            tickets,
        )
        .await?;
        insert_rows(
            tx.conn(),
            "messages",
            &[
                "id",
                "ticket_id",
                "kind",
                "author_user_id",
                "author_contact_id",
                "body",
                "body_html",
                "created_at",
            ],
            messages,
        )
        .await?;
        stats.mentions += mentions.len() as i64;
        stats.follows += follows.len() as i64;
        insert_rows(
            tx.conn(),
            "mentions",
            &["message_id", "user_id", "ticket_id"],
            mentions,
        )
        .await?;
        insert_rows(
            tx.conn(),
            "followers",
            &["user_id", "ticket_id", "created_at"],
            follows,
        )
        .await?;
        tx.commit().await?;
        first = last + 1;
    }

    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE counters SET value = $1 WHERE name = 'ticket_number'")
        .bind(plan.tickets)
        .execute(tx.conn())
        .await?;
    if db.kind() == DbKind::Postgres {
        // Explicit ids leave the identity sequences behind; move them on.
        for table in [
            "teams",
            "users",
            "companies",
            "contacts",
            "tickets",
            "messages",
        ] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
            .execute(tx.conn())
            .await?;
        }
    }
    tx.commit().await?;
    if db.kind() == DbKind::Postgres {
        // The count triggers updated a handful of rows a million times:
        // the dead versions leave a 45 MB table of 200 live rows, which
        // every count reads whole (7 ms) until rewritten. The owners'
        // loads (the assignee picker's) are kept the same way.
        for table in ["ticket_counts", "owner_loads"] {
            sqlx::query(&format!("VACUUM FULL {table}"))
                .execute(db.pool())
                .await?;
        }
    }
    // Both write outside a transaction: they take the write turn like
    // every other writer (the optimize holds SQLite's lock ~20 s at L).
    let turn = db.write_turn().await;
    // Fresh statistics, so the planner uses the indexes from the first query.
    sqlx::query("ANALYZE").execute(db.pool()).await?;
    if db.kind() == DbKind::Sqlite {
        // The search indexes were filled in bulk and carry a backlog of
        // segment merges, which the first few thousand writes of a server
        // on this file paid: an FTS5 crisis merge every so often, making
        // create ticket's p99 about 100-170 ms (5 ms once paid). Merged
        // here (about 20 s at L), every run measures a settled index.
        for index in ["messages_fts", "tickets_fts", "contacts_fts"] {
            sqlx::query(&format!("INSERT INTO {index}({index}) VALUES('optimize')"))
                .execute(db.pool())
                .await?;
        }
    }
    drop(turn);
    // Fold the write-ahead log into the file: the file alone is then the
    // whole dataset and can be moved or copied (`make bench` copies it).
    // A bulk load leaves gigabytes of WAL: minutes to copy on a slow disk.
    if !db
        .checkpoint_all(std::time::Duration::from_secs(600))
        .await?
    {
        tracing::error!("the WAL could not be copied into the database file");
        return Err(AppError::Internal);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let l = Plan::named("L").unwrap();
        assert_eq!(
            l,
            Plan {
                tickets: 1_000_000,
                agents: 50,
                teams: 8,
                contacts: 200_000
            }
        );
        assert_eq!(Plan::named("S").unwrap().tickets, 10_000);
        assert_eq!(Plan::named("250").unwrap().agents, 5);
        assert!(Plan::named("0").is_none());
        assert!(Plan::named("XL").is_none());
    }

    #[test]
    fn thread_lengths_have_a_long_tail_averaging_about_five() {
        let mut rng = Rng(7);
        let lengths: Vec<i64> = (0..200_000).map(|_| thread_length(&mut rng)).collect();
        let mean = lengths.iter().sum::<i64>() as f64 / lengths.len() as f64;
        assert!((4.0..7.0).contains(&mean), "mean {mean}");
        assert!(lengths.iter().any(|l| *l > 900));
        assert!(lengths.iter().all(|l| (1..=1000).contains(l)));
    }
}

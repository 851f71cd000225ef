//! Start-up data: the first super admin, and a demo workspace so that a new
//! install has something to click through (`AYUDA_DEMO=0` skips it).

use crate::auth::service::random_secret;
use crate::db::{now_ms, Db};
use crate::error::AppError;
use crate::events::{self, log::PendingEvent};
use crate::messages::sanitize::text_to_html;
use crate::messages::service::insert_entry;
use crate::tickets::service::{category_choices, default_statuses};
use crate::users::service::{count, create_team_unchecked, create_unchecked};
use crate::users::{NewUser, Role};
use serde_json::json;
use sqlx::Row;

/// Password of the demo users (printed at start-up, documented in the README).
pub const DEMO_PASSWORD: &str = "ayuda-demo";

/// Creates the first super admin when the database has no user yet.
/// Returns the password when it had to be generated, so it can be printed.
pub async fn ensure_admin(
    db: &Db,
    email: &str,
    password: Option<&str>,
) -> Result<Option<String>, AppError> {
    if count(db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p.to_string(), false),
        None => (random_secret()[..20].to_string(), true),
    };
    create_unchecked(
        db,
        NewUser {
            email: email.to_string(),
            name: "Admin".to_string(),
            password: Some(password.clone()),
            role: Role::SuperAdmin,
            team_ids: Vec::new(),
            access: Default::default(),
            include_unassigned: true,
            teams: Vec::new(),
        },
    )
    .await?;
    Ok(generated.then_some(password))
}

/// A tiny deterministic generator, so every demo workspace is the same.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const FIRST: [&str; 20] = [
    "Maria", "James", "Sofia", "Liam", "Aiko", "Noah", "Fatima", "Lucas", "Elena", "Omar", "Chloe",
    "Mateo", "Priya", "Jonas", "Amara", "Felix", "Ines", "Tariq", "Hannah", "Yusuf",
];
const LAST: [&str; 10] = [
    "Garcia", "Smith", "Rossi", "Tanaka", "Okafor", "Novak", "Silva", "Muller", "Haddad",
    "Kowalski",
];
const COMPANIES: [(&str, &str); 6] = [
    ("Northwind Traders", "northwind.example"),
    ("Globex", "globex.example"),
    ("Initech", "initech.example"),
    ("Umbrella Foods", "umbrella.example"),
    ("Stark Logistics", "stark.example"),
    ("Acme Studio", "acme.example"),
];
const SUBJECTS: [&str; 20] = [
    "Can't log in to my account",
    "Invoice shows the wrong amount",
    "Refund for order {n}",
    "App crashes when exporting to PDF",
    "How do I add a teammate?",
    "Password reset email never arrives",
    "Feature request: dark mode",
    "Charged twice this month",
    "Shipping address change for order {n}",
    "Integration with our CRM stopped syncing",
    "Cancel my subscription",
    "Data export is missing columns",
    "Two-factor code not accepted",
    "Upgrade to the annual plan",
    "Slow dashboard since yesterday",
    "Wrong VAT number on invoice",
    "Question about the API rate limits",
    "Delivery is late for order {n}",
    "Can I change my username?",
    "Broken link in the welcome email",
];
const CUSTOMER_LINES: [&str; 8] = [
    "Hi, I've been trying this since this morning and it still doesn't work.",
    "Could you please look into this as soon as possible? It's blocking our team.",
    "I attached nothing but I can send screenshots if that helps.",
    "This worked fine last week, nothing changed on our side.",
    "Thanks in advance for your help!",
    "Any update on this? We're still waiting.",
    "That fixed it, thank you so much.",
    "I tried clearing the cache and another browser, same result.",
];
const AGENT_LINES: [&str; 6] = [
    "Thanks for reaching out! I'm looking into this now and will get back to you shortly.",
    "Could you tell me which browser and version you are using?",
    "I've escalated this to our engineers; I'll update you as soon as I hear back.",
    "Good news: this should be fixed now. Could you try again and let me know?",
    "I've issued the refund; it should show on your statement within 5 business days.",
    "Sorry for the trouble! I've corrected it on our side.",
];
const NOTE_LINES: [&str; 4] = [
    "Customer is on the enterprise plan, let's prioritise.",
    "@ana can you double-check the billing history here?",
    "Known issue, linked to the export bug from last sprint.",
    "Waiting for engineering to confirm the fix.",
];

/// Seeds 2 teams, 5 more users, 40 contacts and 200 tickets with threads,
/// unless the workspace already has tickets. All in one transaction.
pub async fn seed(db: &Db) -> Result<bool, AppError> {
    let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tickets")
        .fetch_one(db.pool())
        .await?
        .try_get("n")?;
    if existing > 0 {
        return Ok(false);
    }
    let support = create_team_unchecked(db, "Support").await?;
    let billing = create_team_unchecked(db, "Billing").await?;
    let people = [
        ("ana@ayuda.example", "Ana Ruiz", Role::Agent, support.id),
        ("bo@ayuda.example", "Bo Chen", Role::Agent, support.id),
        ("carla@ayuda.example", "Carla Diaz", Role::Agent, billing.id),
        ("dev@ayuda.example", "Dev Patel", Role::Agent, billing.id),
        (
            "eli@ayuda.example",
            "Eli Moreau",
            Role::Collaborator,
            support.id,
        ),
    ];
    let mut agents = Vec::new();
    for (email, name, role, team) in people {
        let user = create_unchecked(
            db,
            NewUser {
                email: email.into(),
                name: name.into(),
                password: Some(DEMO_PASSWORD.into()),
                role,
                team_ids: vec![team],
                access: Default::default(),
                include_unassigned: true,
                teams: Vec::new(),
            },
        )
        .await?;
        if role == Role::Agent {
            agents.push((user.id, team));
        }
    }

    let mut rng = Lcg(0x5eed_a1da);
    let now = now_ms();
    let day = 24 * 60 * 60 * 1000_i64;
    let mut tx = db.begin_write().await?;

    let mut company_ids = Vec::new();
    for (name, domain) in COMPANIES {
        let row = sqlx::query(
            "INSERT INTO companies (name, domain, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(domain)
        .bind(now - 90 * day)
        .fetch_one(tx.conn())
        .await?;
        company_ids.push((row.try_get::<i64, _>("id")?, domain));
    }
    let mut contacts = Vec::new();
    for i in 0..40 {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7 + i / 20) % LAST.len()];
        let (company_id, domain) = company_ids[i % company_ids.len()];
        let email = format!(
            "{}.{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            domain
        );
        let phone = format!("+1 555 01{:02}", i);
        let row = sqlx::query(
            "INSERT INTO contacts (name, email, phone, company_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(format!("{first} {last}"))
        .bind(email)
        .bind(phone)
        .bind(company_id)
        .bind(now - 60 * day)
        .fetch_one(tx.conn())
        .await?;
        contacts.push(row.try_get::<i64, _>("id")?);
    }

    let statuses: Vec<(i64, String)> = default_statuses(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.category.as_str().to_string()))
        .collect();
    let channels = [
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

    for n in 1..=200_i64 {
        // Older tickets are more often closed; the newest 30 are open.
        let (status_id, category) = if n <= 30 {
            statuses[0].clone()
        } else {
            statuses[rng.below(statuses.len())].clone()
        };
        // At least two hours back, so that the whole thread (below) fits
        // before now.
        let created = now - (200 - n) * (day / 7) - 7_200_000 - rng.below(3_600_000) as i64;
        let contact = *rng.pick(&contacts);
        let unassigned = category != "closed" && rng.below(3) == 0;
        let owner = if unassigned {
            None
        } else {
            Some(*rng.pick(&agents))
        };
        let subject = rng
            .pick(&SUBJECTS)
            .replace("{n}", &format!("{}", 10_000 + n * 37));
        let channel = *rng.pick(&channels);
        let priority = [0_i64, 1, 1, 1, 2, 2, 3][rng.below(7)];
        let row = sqlx::query(
            "INSERT INTO tickets (number, subject, pipeline_id, status_id, status_category, priority, category, \
             owner_id, team_id, channel, contact_id, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(n)
        .bind(&subject)
        .bind(status_id)
        .bind(&category)
        .bind(priority)
        .bind(*rng.pick(&categories))
        .bind(owner.map(|o| o.0))
        .bind(owner.map(|o| o.1))
        .bind(channel)
        .bind(contact)
        .bind(created)
        .fetch_one(tx.conn())
        .await?;
        let id: i64 = row.try_get("id")?;
        tx.event(
            PendingEvent::ticket(
                events::TICKET_CREATED,
                id,
                None,
                json!({"number": n, "subject": subject}),
            )
            .at(created),
        );

        let mut at = created;
        let first_line = format!("{}\n\n{}", subject, rng.pick(&CUSTOMER_LINES));
        insert_entry(
            &mut tx,
            id,
            crate::messages::EntryKind::Inbound,
            None,
            Some(contact),
            &first_line,
            &text_to_html(&first_line),
            at,
        )
        .await?;
        let extra = rng.below(6);
        let mut first_reply = None;
        for i in 0..extra {
            // Nothing in the future: a reply written now must come last.
            at = (at + 600_000 + rng.below(20_000_000) as i64)
                .min(now - (extra - i) as i64 * 60_000);
            let (kind, user, contact_author, text) = match (i % 3, owner) {
                (0, Some((agent, _))) => (
                    crate::messages::EntryKind::Reply,
                    Some(agent),
                    None,
                    rng.pick(&AGENT_LINES).to_string(),
                ),
                (1, _) => (
                    crate::messages::EntryKind::Inbound,
                    None,
                    Some(contact),
                    rng.pick(&CUSTOMER_LINES).to_string(),
                ),
                (_, Some((agent, _))) => (
                    crate::messages::EntryKind::Note,
                    Some(agent),
                    None,
                    rng.pick(&NOTE_LINES).to_string(),
                ),
                (_, None) => (
                    crate::messages::EntryKind::Inbound,
                    None,
                    Some(contact),
                    rng.pick(&CUSTOMER_LINES).to_string(),
                ),
            };
            if kind == crate::messages::EntryKind::Reply && first_reply.is_none() {
                first_reply = Some(at);
            }
            let message = insert_entry(
                &mut tx,
                id,
                kind,
                user,
                contact_author,
                &text,
                &text_to_html(&text),
                at,
            )
            .await?;
            // The note that @mentions Ana puts the ticket in her My mentions,
            // as a note written in the workspace would.
            if kind == crate::messages::EntryKind::Note && text.starts_with("@ana") {
                sqlx::query(
                    "INSERT INTO mentions (message_id, user_id, ticket_id) VALUES ($1, $2, $3)",
                )
                .bind(message)
                .bind(agents[0].0)
                .bind(id)
                .execute(tx.conn())
                .await?;
            }
        }
        let at = at.min(now);
        sqlx::query(
            "UPDATE tickets SET updated_at = $1, first_reply_at = $2, closed_at = $3 WHERE id = $4",
        )
        .bind(at)
        .bind(first_reply)
        .bind((category == "closed").then_some(at))
        .bind(id)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query("UPDATE counters SET value = 200 WHERE name = 'ticket_number'")
        .execute(tx.conn())
        .await?;
    seed_sla(&mut tx, now).await?;
    tx.commit().await?;
    // The clocks of the open tickets under the policies just seeded.
    crate::sla::service::recalculate_open(db).await?;
    Ok(true)
}

/// An office-hours calendar and two SLA policies, so the demo shows SLA
/// states (and the SLA views have tickets): urgent and high tickets on
/// 24/7 targets, the rest on office hours, paused while waiting on the
/// customer.
async fn seed_sla(tx: &mut crate::db::WriteTx, now: i64) -> Result<(), AppError> {
    use crate::db::to_json;
    let calendar: i64 = sqlx::query(
        "INSERT INTO calendars (name, timezone, always_open, weekly, exceptions, created_at, updated_at) \
         VALUES ('Office hours', 'Europe/Madrid', 0, $1, '[]', $2, $2) RETURNING id",
    )
    .bind(to_json(&crate::business_hours::office_hours()))
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    let waiting: Vec<i64> =
        sqlx::query("SELECT id FROM pipeline_statuses WHERE category = 'waiting'")
            .fetch_all(tx.conn())
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
    let urgent = vec![crate::views::Condition {
        property: crate::views::Property::Priority,
        op: crate::views::Operator::IsAnyOf,
        values: vec!["urgent".into(), "high".into()],
    }];
    let policies = [
        ("Urgent and high", to_json(&urgent), 60, 120, 24 * 60, None),
        (
            "Standard",
            "[]".to_string(),
            8 * 60,
            8 * 60,
            5 * 8 * 60,
            Some(calendar),
        ),
    ];
    for (position, (name, conditions, first, next, close, calendar)) in
        policies.into_iter().enumerate()
    {
        sqlx::query(
            "INSERT INTO sla_policies (name, position, conditions, first_reply_minutes, next_reply_minutes, \
             close_minutes, calendar_id, due_soon_minutes, pause_statuses, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 30, $8, $9, $9)",
        )
        .bind(name)
        .bind(position as i64 + 1)
        .bind(conditions)
        .bind(first as i64)
        .bind(next as i64)
        .bind(close as i64)
        .bind(calendar)
        .bind(to_json(&waiting))
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

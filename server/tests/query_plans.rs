//! Every default view pages along an index: no sort of the whole table per
//! page, so the first page and a deep page cost the same at any size. My
//! mentions and Followers start from the viewer's short list instead.

mod common;

use app::tickets::{service::list_query, SortKey, TicketQuery};
use app::users::Role;
use app::views::ViewId;
use common::{Backend, TestApp};
use sqlx::Row;

#[tokio::test]
async fn default_views_use_their_partial_indexes_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let agent = app.user("Ana Ruiz", Role::Agent).await;
    for view in ViewId::ALL {
        for cursor in [None, Some("1795000000000_42".to_string())] {
            let q = TicketQuery {
                view: Some(view),
                // Each view in its own order.
                sort: view.default_sort().0,
                asc: view.default_sort().1,
                cursor: cursor.clone(),
                ..Default::default()
            };
            let sql = list_query(&agent, &q).unwrap();
            let text = format!("EXPLAIN QUERY PLAN {}", sql.sql());
            // Bind the same values, in the same order, as the real query.
            let mut plan_query = sqlx::query(&text);
            if matches!(view, ViewId::Mine | ViewId::Mentions | ViewId::Followers) {
                plan_query = plan_query.bind(agent.id);
            }
            if cursor.is_some() {
                plan_query = plan_query.bind(1_795_000_000_000_i64).bind(42_i64);
            }
            plan_query = plan_query.bind(26_i64);
            let rows = plan_query.fetch_all(app.state.db.pool()).await.unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>("detail").unwrap())
                .collect();
            let plan = plan.join(" | ");
            if matches!(view, ViewId::Mentions | ViewId::Followers) {
                // These start from the viewer's own mentions or follows (a
                // short list) and sort only those.
                assert!(
                    plan.contains("SEARCH t USING INTEGER PRIMARY KEY")
                        && (plan.contains("mentions_user") || plan.contains("followers USING")),
                    "{view:?} does not start from the viewer's list: {plan}"
                );
                continue;
            }
            assert!(
                !plan.contains("TEMP B-TREE"),
                "{view:?} sorts the table: {plan}"
            );
            assert!(
                plan.contains("USING INDEX tickets_"),
                "{view:?} does not page along an index: {plan}"
            );
        }
    }
}

/// Custom views page along the index of their sort key too, whatever they
/// filter on: the filters are checked row by row on the walk instead of
/// gathering every match through another index and sorting them all.
#[tokio::test]
async fn custom_views_page_along_their_sort_index_on_sqlite() {
    use app::views::{Condition, Operator, Property, ViewDefinition};
    let app = TestApp::spawn(Backend::Sqlite).await;
    let agent = app.user("Ana Ruiz", Role::Agent).await;
    let c = |property, op, values: &[&str]| Condition {
        property,
        op,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    let definitions = [
        vec![
            c(Property::Priority, Operator::IsAnyOf, &["high", "urgent"]),
            c(Property::StatusCategory, Operator::IsAnyOf, &["open"]),
        ],
        vec![
            c(Property::CreatedAt, Operator::InLastDays, &["30"]),
            c(Property::Channel, Operator::IsAnyOf, &["email"]),
        ],
        vec![c(Property::Owner, Operator::IsAnyOf, &["me", "none"])],
    ];
    for (groups, sort) in definitions
        .into_iter()
        .flat_map(|g| [(g.clone(), SortKey::Updated), (g, SortKey::Created)])
    {
        for cursor in [None, Some("1795000000000_42".to_string())] {
            let q = TicketQuery {
                custom: Some(ViewDefinition {
                    groups: vec![groups.clone()],
                    ..Default::default()
                }),
                sort,
                cursor,
                ..Default::default()
            };
            let sql = list_query(&agent, &q)
                .unwrap()
                .with_prefix("EXPLAIN QUERY PLAN ");
            let rows = sql.query().fetch_all(app.state.db.pool()).await.unwrap();
            let plan: Vec<String> = rows
                .iter()
                .map(|r| r.try_get::<String, _>("detail").unwrap())
                .collect();
            let plan = plan.join(" | ");
            assert!(
                !plan.contains("TEMP B-TREE") && plan.contains("USING INDEX tickets_"),
                "{groups:?} sorted by {sort:?} does not page along an index: {plan}"
            );
        }
    }
}

//! The OpenAPI document of API v1, generated from the handlers.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Ayuda API", version = "1", description = "Help desk REST API. Authenticate with the session cookie (POST /api/v1/session) or a personal token (Authorization: Bearer ...). Errors are {\"error\": {\"code\", \"message\", \"field\"?}}."),
    paths(
        super::session::sign_in, super::session::sign_out, super::session::me, super::session::create_token,
        super::tickets::list, super::tickets::create, super::tickets::get, super::tickets::update,
        super::tickets::list_messages, super::tickets::add_message, super::tickets::merge,
        super::tickets::unmerge, super::tickets::split, super::tickets::move_ticket,
        super::tickets::trash, super::tickets::restore, super::tickets::bulk, super::search::search,
        super::contacts::list, super::contacts::create, super::contacts::get,
        super::users::list, super::users::create, super::users::update, super::users::set_availability,
        super::users::list_teams, super::users::create_team, super::events::connect,
        super::views::list, super::views::create, super::views::get, super::views::update,
        super::views::delete, super::views::tickets, super::views::versions, super::views::rollback,
        super::views::preferences, super::views::set_preferences, super::views::follow,
        super::views::unfollow,
        super::channels::list, super::channels::create, super::channels::get, super::channels::update,
        super::channels::delete, super::channels::list_imports, super::channels::import_imap,
        super::channels::import_mbox, super::channels::get_import, super::channels::quarantine,
        super::channels::quarantine_raw, super::channels::attachment,
        super::settings::list_calendars, super::settings::create_calendar, super::settings::update_calendar,
        super::settings::delete_calendar, super::settings::list_rules, super::settings::create_rule,
        super::settings::update_rule, super::settings::delete_rule, super::settings::loads,
        super::settings::list_policies, super::settings::create_policy, super::settings::update_policy,
        super::settings::delete_policy, super::settings::list_layouts, super::settings::save_layout,
        super::settings::layout_versions, super::settings::rollback_layout,
        super::settings::remove_team_layout,
    ),
    modifiers(&Security),
    security(("bearer" = []), ("cookie" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                app::auth::service::SESSION_COOKIE,
            ))),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

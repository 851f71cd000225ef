//! Editing business hours in the settings pages: the weekly hours grid
//! (shared by calendars and users' working hours) and the calendars
//! section with its server functions.

use super::{Calendar, CalendarInput, DateException, HoursBlock, Weekday, WeeklyHours};
use crate::error::failure_message;
use crate::resource::ServerResource;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(prefix = "/rpc", endpoint = "list_calendars")]
pub async fn list_calendars() -> Result<Vec<Calendar>, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        crate::settings::require_admin(&user)?;
        let state = crate::state::app_state()?;
        super::service::list(&state.db).await
    })
    .await
}

/// Creates a calendar (`id` None) or replaces one (which recalculates the
/// SLA clocks of open tickets).
#[server(prefix = "/rpc", endpoint = "save_calendar", input = Json)]
pub async fn save_calendar(
    id: Option<i64>,
    calendar: CalendarInput,
) -> Result<Calendar, ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        match id {
            None => super::service::create(&state.db, &user, calendar).await,
            Some(id) => super::service::update(&state.db, &user, id, calendar).await,
        }
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "delete_calendar")]
pub async fn delete_calendar(id: i64) -> Result<(), ServerFnError> {
    crate::error::server_fn(async move {
        let user = crate::auth::require_user().await?;
        let state = crate::state::app_state()?;
        super::service::delete(&state.db, &user, id).await
    })
    .await
}

/// One day of the grid: open or not, from, to.
#[derive(Clone, Copy)]
pub struct DayHours {
    pub open: RwSignal<bool>,
    pub start: RwSignal<String>,
    pub end: RwSignal<String>,
}

/// The weekly grid's state: one row per weekday (one block per day; more
/// blocks, such as a lunch break, go through the API).
#[derive(Clone, Copy)]
pub struct WeekGrid {
    pub days: [DayHours; 7],
}

impl WeekGrid {
    pub fn new(hours: &[HoursBlock]) -> WeekGrid {
        let days = Weekday::ALL.map(|day| {
            let block = hours.iter().find(|b| b.day == day);
            DayHours {
                open: RwSignal::new(block.is_some()),
                start: RwSignal::new(block.map_or("09:00".into(), |b| b.start.clone())),
                end: RwSignal::new(block.map_or("17:00".into(), |b| b.end.clone())),
            }
        });
        WeekGrid { days }
    }

    pub fn set(&self, hours: &[HoursBlock]) {
        for (i, day) in Weekday::ALL.iter().enumerate() {
            let block = hours.iter().find(|b| b.day == *day);
            self.days[i].open.set(block.is_some());
            self.days[i]
                .start
                .set(block.map_or("09:00".into(), |b| b.start.clone()));
            self.days[i]
                .end
                .set(block.map_or("17:00".into(), |b| b.end.clone()));
        }
    }

    pub fn value(&self) -> WeeklyHours {
        Weekday::ALL
            .iter()
            .zip(self.days.iter())
            .filter(|(_, d)| d.open.get_untracked())
            .map(|(day, d)| HoursBlock {
                day: *day,
                start: d.start.get_untracked(),
                end: d.end.get_untracked(),
            })
            .collect()
    }
}

/// Seven rows: a checkbox for open days and their opening times.
#[component]
pub fn WeekGridEditor(grid: WeekGrid, testid: &'static str) -> impl IntoView {
    view! {
        <table class="week-grid" data-testid=testid>
            <tbody>
                {Weekday::ALL.iter().zip(grid.days).map(|(day, d)| view! {
                    <tr>
                        <td>
                            <label>
                                <input type="checkbox" data-day=day.label()
                                    prop:checked=move || d.open.get()
                                    on:change=move |ev| d.open.set(event_target_checked(&ev))/>
                                " "{day.label()}
                            </label>
                        </td>
                        <td><input type="time" aria-label=format!("{} from", day.label()) disabled=move || !d.open.get()
                            prop:value=move || d.start.get() on:input=move |ev| d.start.set(event_target_value(&ev))/></td>
                        <td><input type="time" aria-label=format!("{} to", day.label()) disabled=move || !d.open.get()
                            prop:value=move || d.end.get() on:input=move |ev| d.end.set(event_target_value(&ev))/></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "2026-12-25 Christmas" per line: the holidays of a calendar.
fn parse_holidays(text: &str) -> Vec<DateException> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (date, name) = line.split_once(' ').unwrap_or((line, ""));
            DateException {
                date: date.to_string(),
                name: name.trim().to_string(),
                hours: Vec::new(),
            }
        })
        .collect()
}

fn holidays_text(list: &[DateException]) -> String {
    list.iter()
        .filter(|e| e.hours.is_empty())
        .map(|e| format!("{} {}", e.date, e.name).trim().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Calendars: the list, and a form to add or change one.
#[component]
pub fn CalendarsSection(
    calendars: ServerResource<Vec<Calendar>>,
    epoch: RwSignal<u32>,
) -> impl IntoView {
    let save = ServerAction::<SaveCalendar>::new();
    let delete = ServerAction::<DeleteCalendar>::new();
    let editing = RwSignal::new(None::<i64>);
    let name = RwSignal::new(String::new());
    let timezone = RwSignal::new("UTC".to_string());
    let holidays = RwSignal::new(String::new());
    let grid = WeekGrid::new(&super::office_hours());
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editing.set(None);
            name.set(String::new());
            holidays.set(String::new());
            epoch.update(|e| *e += 1);
        }
    });
    Effect::new(move |_| {
        if delete.value().get().is_some() {
            epoch.update(|e| *e += 1);
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveCalendar {
            id: editing.get_untracked(),
            calendar: CalendarInput {
                name: name.get_untracked(),
                timezone: Some(timezone.get_untracked()),
                always_open: false,
                weekly: grid.value(),
                exceptions: parse_holidays(&holidays.get_untracked()),
            },
        });
    };
    let edit = move |c: Calendar| {
        editing.set(Some(c.id));
        name.set(c.name);
        timezone.set(c.timezone);
        grid.set(&c.weekly);
        holidays.set(holidays_text(&c.exceptions));
    };
    view! {
        <section class="settings-section" data-testid="calendars">
            <h2>"Business hours calendars"</h2>
            <p class="muted">"SLA targets count time on a calendar: only its opening hours, in its timezone, skipping its holidays."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let list = calendars.await.unwrap_or_default();
                    view! {
                        <ul class="settings-list">
                            {list.into_iter().map(|c| {
                                let summary = if c.always_open {
                                    "Open all the time".to_string()
                                } else {
                                    let days: Vec<String> = c.weekly.iter()
                                        .map(|b| format!("{} {}–{}", &b.day.label()[..3], b.start, b.end))
                                        .collect();
                                    format!("{} · {} · {} holidays", c.timezone, days.join(", "), c.exceptions.len())
                                };
                                let (id, always, cal) = (c.id, c.always_open, c.clone());
                                view! {
                                    <li data-testid="calendar-row">
                                        <strong>{c.name.clone()}</strong>" "<span class="muted">{summary}</span>
                                        {(!always).then(|| view! {
                                            <button class="btn link" on:click=move |_| edit(cal.clone())>"Edit"</button>
                                            <button class="btn link danger" on:click=move |_| { delete.dispatch(DeleteCalendar { id }); }>"Delete"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }
                })}
            </Transition>
            <form class="settings-form" on:submit=submit data-testid="calendar-form">
                <h3>{move || if editing.get().is_some() { "Edit calendar" } else { "New calendar" }}</h3>
                <label class="field"><span>"Name"</span>
                    <input data-testid="calendar-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label class="field"><span>"Timezone"</span>
                    <input data-testid="calendar-timezone" placeholder="Europe/Madrid" prop:value=move || timezone.get()
                        on:input=move |ev| timezone.set(event_target_value(&ev))/></label>
                <WeekGridEditor grid testid="calendar-hours"/>
                <label class="field"><span>"Holidays (one per line: 2026-12-25 Christmas)"</span>
                    <textarea data-testid="calendar-holidays" prop:value=move || holidays.get()
                        on:input=move |ev| holidays.set(event_target_value(&ev))></textarea></label>
                <p class="form-error" role="alert">{move || failure_message(save.value().get())}</p>
                <p class="form-error" role="alert">{move || failure_message(delete.value().get())}</p>
                <button class="btn primary" type="submit" data-testid="save-calendar">"Save calendar"</button>
            </form>
        </section>
    }
}

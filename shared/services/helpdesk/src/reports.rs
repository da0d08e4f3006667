//! `GET /v1/reports/tickets`: the open tickets (open or waiting on the subscriber) by age and
//! category, per assignee, and those past a promise of their service level now. Read from the
//! open tickets' sparse index (one Query, pages of 1 MB): what is open is what the helpdesk works
//! through, never the ISP's whole history. An operator sees its subtree's.

use chrono::{DateTime, Utc};
use domain::Result;
use domain::actor::Actor;
use domain::role::Permission;
use domain::ticket::{Breach, Category, Ticket, TicketStatus};
use kernel::App;
use kernel::support::StoreResultExt;
use serde::Serialize;
use std::collections::BTreeMap;
use store::{Filter, Query, keys};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketReport {
    pub at: DateTime<Utc>,
    pub open: usize,
    pub pending_customer: usize,
    /// `under_1_day`, `1_to_3_days`, `3_to_7_days`, `over_7_days` since opened, each by category.
    pub by_age: Vec<AgeBucket>,
    pub by_category: BTreeMap<String, usize>,
    pub by_assignee: Vec<AssigneeLoad>,
    /// Open tickets past a promise now, the most overdue first.
    pub breached: Vec<BreachedTicket>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgeBucket {
    pub age: String,
    pub count: usize,
    pub by_category: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssigneeLoad {
    /// None: nobody's yet.
    pub assignee_id: Option<Uuid>,
    pub name: Option<String>,
    pub open: usize,
    pub breached: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachedTicket {
    pub id: Uuid,
    pub token: String,
    pub subject: String,
    pub customer_name: Option<String>,
    pub assignee_name: Option<String>,
    pub breach: Breach,
    pub overdue_minutes: i64,
    /// Escalations made so far (`manager`, `admin`).
    pub escalations: usize,
}

fn name_of<T: Serialize>(v: T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn age_bucket(hours: i64) -> &'static str {
    match hours {
        h if h < 24 => "under_1_day",
        h if h < 72 => "1_to_3_days",
        h if h < 168 => "3_to_7_days",
        _ => "over_7_days",
    }
}

const AGES: [&str; 4] = ["under_1_day", "1_to_3_days", "3_to_7_days", "over_7_days"];

pub async fn tickets_report(app: &App, actor: &Actor) -> Result<TicketReport> {
    actor.require(Permission::TicketsRead)?;
    actor.require(Permission::ReportsRead)?;
    let tid = actor.tenant()?;
    let mut q = Query::index("gsi2", keys::open_tickets_gsi2(tid)).limit(1000);
    if let Some(scope) = actor.confinement()? {
        q = q.filter(Filter::default().in_subtree("scope", scope));
    }
    let open: Vec<Ticket> = app.store.query_all(q, 100_000).await.or_500()?;
    let now = app.now();
    let mut by_age: BTreeMap<&str, (usize, BTreeMap<String, usize>)> =
        AGES.iter().map(|a| (*a, Default::default())).collect();
    let mut by_category: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_assignee: BTreeMap<Option<Uuid>, AssigneeLoad> = BTreeMap::new();
    let mut breached = Vec::new();
    let mut pending = 0;
    for t in &open {
        if t.state.status == TicketStatus::PendingCustomer {
            pending += 1;
        }
        let category = name_of::<Category>(t.category);
        let bucket = by_age.get_mut(age_bucket((now - t.state.opened_at).num_hours())).expect("every age");
        bucket.0 += 1;
        *bucket.1.entry(category.clone()).or_default() += 1;
        *by_category.entry(category).or_default() += 1;
        let load = by_assignee.entry(t.assignee.as_ref().map(|a| a.user_id)).or_insert_with(|| AssigneeLoad {
            assignee_id: t.assignee.as_ref().map(|a| a.user_id),
            name: t.assignee.as_ref().map(|a| a.name.clone()),
            open: 0,
            breached: 0,
        });
        load.open += 1;
        if let Some(b) = t.state.breach(t.sla, now) {
            load.breached += 1;
            let due = match b {
                Breach::FirstResponse => t.first_response_due,
                Breach::Resolution => t.resolution_due,
            };
            breached.push(BreachedTicket {
                id: t.id,
                token: t.token.clone(),
                subject: t.subject.clone(),
                customer_name: t.customer_name.clone(),
                assignee_name: t.assignee.as_ref().map(|a| a.name.clone()),
                breach: b,
                overdue_minutes: (now - due).num_minutes(),
                escalations: t.state.escalations.len(),
            });
        }
    }
    breached.sort_by(|a, b| b.overdue_minutes.cmp(&a.overdue_minutes).then(a.token.cmp(&b.token)));
    let mut by_assignee: Vec<AssigneeLoad> = by_assignee.into_values().collect();
    by_assignee.sort_by(|a, b| b.open.cmp(&a.open).then(a.name.cmp(&b.name)));
    Ok(TicketReport {
        at: now,
        open: open.len(),
        pending_customer: pending,
        by_age: AGES
            .iter()
            .map(|a| {
                let (count, by_category) = by_age.remove(a).unwrap_or_default();
                AgeBucket { age: a.to_string(), count, by_category }
            })
            .collect(),
        by_category,
        by_assignee,
        breached,
    })
}

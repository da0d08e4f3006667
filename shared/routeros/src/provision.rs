//! Applying plans on a router: read, decide, write, drop sessions, read back ids. Every phase is
//! one pipelined batch on one connection, whatever the number of subscribers, so 1,000
//! subscribers cost a handful of round trips, not 1,000 logins; a batch reads whole menus, not
//! each subscriber's items, and an interrupted batch goes on in smaller parts from where it was.

use crate::client::{Command, RouterConnection, Row};
use crate::error::{RouterError, Stage};
use crate::menu::{
    self, ADDRESS_LIST, HOTSPOT_ACTIVE, HOTSPOT_PROFILE, HOTSPOT_USER, PPP_ACTIVE, PPP_PROFILE, PPP_SECRET,
    SIMPLE_QUEUE,
};
use crate::plan::{
    self, Access, Applied, Desired, Service, Snapshot, SubscriberPlan, UnknownAccount, profile_plan, reads_for,
    stale_owned, unknown_accounts,
};
use crate::session::RouterSession;
use serde::Serialize;
use std::collections::VecDeque;
use std::ops::Range;

/// What happened to one subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    pub subscription_id: String,
    /// `enabled`, `disabled`, `walled_garden` or `absent`.
    pub state: String,
    /// The router's `.id` of the account (or the static subscriber's queue).
    pub item_id: Option<String>,
    /// What was changed; empty when the router already matched.
    pub actions: Vec<String>,
    #[serde(skip)]
    pub applied: Applied,
}

pub type SubscriberResult = Result<Provisioned, RouterError>;

/// Converge these subscribers (all on the router behind `conn`). The outer error is a fault of
/// the connection (run it again on a new one: every step is safe to repeat); the inner results
/// are per subscriber (e.g. the router refused one secret).
pub async fn provision(conn: &RouterConnection, desired: &[Desired]) -> Result<Vec<SubscriberResult>, RouterError> {
    let snapshot = read_snapshot(conn, &reads_for(desired)).await?;
    execute(conn, desired, &snapshot).await
}

/// No new try of a batch's parts starts after this long, so a router that hangs (15 s of silence
/// per try) cannot keep the provisioning function past its 120 s: what is left is answered with
/// the error and comes back with the message's redelivery.
pub const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Converges a batch on a router's session and keeps what each part achieved. When the
/// connection fails under a part, that part alone is tried again on a new connection, in halves:
/// what converged stays converged and is not sent again, and a router that cannot take the whole
/// part at once gets smaller ones. Once the session's attempts (plus one per halving) or the
/// [`RETRY_BUDGET`] are spent, or on a fault that retrying cannot fix, what is left gets that
/// error. Every subscriber gets an
/// answer, in the order given.
pub async fn provision_in_parts(session: &RouterSession, desired: &[Desired]) -> Vec<SubscriberResult> {
    provision_in_parts_within(session, desired, RETRY_BUDGET).await
}

/// [`provision_in_parts`] with another retry budget.
pub async fn provision_in_parts_within(
    session: &RouterSession,
    desired: &[Desired],
    budget: std::time::Duration,
) -> Vec<SubscriberResult> {
    let mut results: Vec<Option<SubscriberResult>> = vec![None; desired.len()];
    let mut parts: VecDeque<Range<usize>> = VecDeque::new();
    parts.push_back(0..desired.len());
    let backoff = session.backoff();
    let halvings = usize::BITS - desired.len().leading_zeros();
    let allowed = backoff.attempts.max(1) + halvings;
    let mut failures = 0;
    let started = tokio::time::Instant::now();
    while let Some(part) = parts.pop_front() {
        if part.is_empty() {
            continue;
        }
        let outcome = match session.connection().await {
            Ok(conn) => provision(&conn, &desired[part.clone()]).await,
            // The session already retried the connect with its backoff.
            Err(e) => Err(e),
        };
        match outcome {
            Ok(answers) => {
                for (i, r) in part.zip(answers) {
                    results[i] = Some(r);
                }
            }
            Err(e) => {
                failures += 1;
                if e.kills_connection() {
                    session.reset().await;
                }
                let connect_failed = matches!(e, RouterError::Unreachable(_) | RouterError::Refused(_))
                    || matches!(e, RouterError::Timeout(Stage::Connect | Stage::Tls | Stage::Login));
                let out_of_time = started.elapsed() >= budget;
                if connect_failed || !e.is_transient() || failures >= allowed || out_of_time {
                    for i in part.chain(parts.drain(..).flatten()) {
                        results[i] = Some(Err(e.clone()));
                    }
                    break;
                }
                tracing::info!(host = %session.endpoint().host, subscribers = part.len(), failures, error = %e, "router batch interrupted; the rest goes again in smaller parts");
                tokio::time::sleep(backoff.delay(failures - 1)).await;
                if part.len() > 1 {
                    let mid = part.start + part.len() / 2;
                    parts.push_front(mid..part.end);
                    parts.push_front(part.start..mid);
                } else {
                    parts.push_front(part);
                }
            }
        }
    }
    results.into_iter().map(|r| r.expect("every part ends with an answer")).collect()
}

/// The outcome of a full comparison of a router with the database.
#[derive(Debug, Clone, Serialize)]
pub struct RouterReconcile {
    /// Per subscriber of the database on this router, in the order given.
    #[serde(skip)]
    pub results: Vec<(String, SubscriberResult)>,
    /// Subscribers whose router items had to change.
    pub repaired: usize,
    /// Items this system created for subscriptions no longer on this router, removed.
    pub stale_removed: usize,
    /// Accounts nobody in the database accounts for.
    pub unknown: Vec<UnknownAccount>,
    pub secrets_on_router: usize,
}

/// Full comparison: whole menus read once, every subscriber the database places on the router
/// converged, items we created for subscriptions that left the router removed, foreign accounts
/// reported (never touched).
pub async fn reconcile_router(conn: &RouterConnection, desired: &[Desired]) -> Result<RouterReconcile, RouterError> {
    let reads: Vec<Command> = [
        PPP_SECRET,
        HOTSPOT_USER,
        PPP_PROFILE,
        HOTSPOT_PROFILE,
        SIMPLE_QUEUE,
        ADDRESS_LIST,
        PPP_ACTIVE,
        HOTSPOT_ACTIVE,
    ]
    .into_iter()
    .map(menu::print)
    .collect();
    let snapshot = read_snapshot(conn, &reads).await?;
    let unknown = unknown_accounts(desired, &snapshot);
    let mut all: Vec<Desired> = desired.to_vec();
    let stale = stale_owned(desired, &snapshot);
    for (subscription_id, service, name) in &stale {
        all.push(Desired {
            subscription_id: subscription_id.clone(),
            service: *service,
            username: name.clone(),
            password: String::new(),
            address: None,
            mac_address: None,
            profile: plan::ProfileSpec { name: String::new(), rate_limit: String::new(), shared_users: None },
            queue: None,
            access: Access::Absent,
            last_applied: None,
            limit_bytes_total: None,
        });
    }
    let results = execute(conn, &all, &snapshot).await?;
    let mut repaired = 0;
    let mut stale_removed = 0;
    let mut out = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let id = all[i].subscription_id.clone();
        if let Ok(p) = &r
            && !p.actions.is_empty()
        {
            if i >= desired.len() {
                stale_removed += 1;
            } else {
                repaired += 1;
            }
        }
        if i < desired.len() {
            out.push((id, r));
        }
    }
    Ok(RouterReconcile {
        results: out,
        repaired,
        stale_removed,
        unknown,
        secrets_on_router: snapshot.ppp_secrets.len() + snapshot.hotspot_users.len(),
    })
}

async fn read_snapshot(conn: &RouterConnection, reads: &[Command]) -> Result<Snapshot, RouterError> {
    let mut snapshot = Snapshot::default();
    for (command, rows) in reads.iter().zip(conn.run_all(reads).await) {
        plan::absorb(&mut snapshot, command, &rows?);
    }
    Ok(snapshot)
}

/// mikrotik-rs 0.7.0 expects `.tag` right after `!done`; RouterOS answers an `add` with
/// `!done =ret=<id> .tag=..`, which the crate reports as a protocol-error trap although the add
/// ran. Such an add is taken as done and verified by reading the item back.
fn unparsed_done(e: &RouterError) -> bool {
    matches!(e, RouterError::Trap { message, .. } if message.starts_with("Protocol error"))
}

pub(crate) fn check(command: &Command, r: Result<Vec<Row>, RouterError>) -> Result<(), RouterError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if command.path.ends_with("/add") && unparsed_done(&e) => Ok(()),
        // Removing what is already gone reaches the goal.
        Err(e) if command.path.ends_with("/remove") && e.is_no_such_item() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs the commands `of` each subscriber not failed yet, all in one pipelined batch; a failure is
/// that subscriber's (the first one kept), unless it broke the connection.
async fn run_per_subscriber(
    conn: &RouterConnection,
    plans: &[SubscriberPlan],
    failed: &mut [Option<RouterError>],
    of: impl Fn(&SubscriberPlan) -> &Vec<Command>,
) -> Result<(), RouterError> {
    let mut batch = Vec::new();
    let mut owner = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        if failed[i].is_none() {
            for c in of(p) {
                batch.push(c.clone());
                owner.push(i);
            }
        }
    }
    for ((command, r), i) in batch.iter().zip(conn.run_all(&batch).await).zip(&owner) {
        if let Err(e) = check(command, r) {
            if e.kills_connection() {
                return Err(e);
            }
            failed[*i].get_or_insert(e);
        }
    }
    Ok(())
}

async fn execute(
    conn: &RouterConnection,
    desired: &[Desired],
    snapshot: &Snapshot,
) -> Result<Vec<SubscriberResult>, RouterError> {
    let mut failed: Vec<Option<RouterError>> = vec![None; desired.len()];

    // 1. Profiles first: a secret cannot name a profile the router does not have.
    let (profile_commands, rate_changed) = profile_plan(desired, snapshot);
    for (command, r) in profile_commands.iter().zip(conn.run_all(&profile_commands).await) {
        if let Err(e) = check(command, r) {
            if e.kills_connection() {
                return Err(e);
            }
            let name = command
                .attributes
                .iter()
                .find(|(k, _)| k == "name")
                .map(|(_, v)| v.clone())
                .or_else(|| profile_name_by_id(snapshot, command));
            for (i, d) in desired.iter().enumerate() {
                let uses = Some(&d.profile.name) == name.as_ref()
                    || matches!(&d.access, Access::WalledGarden { profile, .. } if Some(profile) == name.as_ref());
                if uses && failed[i].is_none() {
                    failed[i] = Some(e.clone());
                }
            }
        }
    }

    // 2. Accounts, queues, address lists: every subscriber's changes in one pipelined batch.
    let plans: Vec<SubscriberPlan> = desired.iter().map(|d| plan::plan(d, snapshot, &rate_changed)).collect();
    run_per_subscriber(conn, &plans, &mut failed, |p| &p.changes).await?;

    // 3. Sessions, once the account says what the reconnect will get.
    run_per_subscriber(conn, &plans, &mut failed, |p| &p.disconnects).await?;

    // 4. Router ids of what was added (the `!done =ret=` id does not survive mikrotik-rs 0.7.0):
    //    each added item's own print for a few, one print of each menu's ids and names for many.
    let added: Vec<usize> = (0..desired.len()).filter(|&i| failed[i].is_none() && plans[i].adds_item).collect();
    let mut added_ids: Vec<Option<String>> = vec![None; desired.len()];
    let read_back: Vec<(usize, Result<Vec<Row>, RouterError>)> = if added.len() < plan::WHOLE_MENUS_FROM {
        let batch: Vec<Command> = added
            .iter()
            .map(|&i| menu::print_named(item_menu(desired[i].service), &desired[i].username).proplist(".id,name"))
            .collect();
        added.iter().copied().zip(conn.run_all(&batch).await).collect()
    } else {
        let mut menus: Vec<&str> = added.iter().map(|&i| item_menu(desired[i].service)).collect();
        menus.sort_unstable();
        menus.dedup();
        let batch: Vec<Command> = menus.iter().map(|m| menu::print(m).proplist(".id,name")).collect();
        let mut by_menu = std::collections::HashMap::new();
        for (m, r) in menus.iter().zip(conn.run_all(&batch).await) {
            by_menu.insert(*m, r);
        }
        added
            .iter()
            .map(|&i| {
                let d = &desired[i];
                let rows = match &by_menu[item_menu(d.service)] {
                    Ok(rows) => Ok(rows.iter().filter(|row| row.get("name") == Some(&d.username)).cloned().collect()),
                    Err(e) => Err(e.clone()),
                };
                (i, rows)
            })
            .collect()
    };
    for (i, r) in read_back.iter().map(|(i, r)| (i, r.clone())) {
        match r {
            Ok(rows) => match rows.first().and_then(|row| row.get(".id")) {
                Some(id) => added_ids[*i] = Some(id.clone()),
                None => {
                    failed[*i].get_or_insert(RouterError::Trap {
                        command: format!("{}/add", item_menu(desired[*i].service)),
                        category: None,
                        message: "the item was not on the router after adding it".into(),
                    });
                }
            },
            Err(e) if e.kills_connection() => return Err(e),
            Err(e) => {
                failed[*i].get_or_insert(e);
            }
        }
    }

    Ok(desired
        .iter()
        .zip(plans)
        .enumerate()
        .map(|(i, (d, p))| match failed[i].take() {
            Some(e) => Err(e),
            None => Ok(Provisioned {
                subscription_id: d.subscription_id.clone(),
                state: d.access.state().to_string(),
                item_id: if d.access == Access::Absent {
                    None
                } else {
                    added_ids[i].clone().or_else(|| existing_id(d, snapshot))
                },
                actions: p.actions,
                applied: d.applied(),
            }),
        })
        .collect())
}

fn item_menu(service: Service) -> &'static str {
    match service {
        Service::Pppoe => PPP_SECRET,
        Service::Hotspot => HOTSPOT_USER,
        Service::Static => SIMPLE_QUEUE,
    }
}

fn existing_id(d: &Desired, snapshot: &Snapshot) -> Option<String> {
    match d.service {
        Service::Pppoe => snapshot.ppp_secrets.get(&d.username).map(|a| a.id.clone()),
        Service::Hotspot => snapshot.hotspot_users.get(&d.username).map(|a| a.id.clone()),
        Service::Static => snapshot.queues.get(&d.username).map(|q| q.id.clone()),
    }
}

fn profile_name_by_id(snapshot: &Snapshot, command: &Command) -> Option<String> {
    let id = command.attributes.iter().find(|(k, _)| k == ".id").map(|(_, v)| v)?;
    snapshot
        .ppp_profiles
        .values()
        .chain(snapshot.hotspot_profiles.values())
        .find(|p| &p.id == id)
        .map(|p| p.name.clone())
}

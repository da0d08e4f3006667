//! Configuration backups over the API: a snapshot of the menus a backup holds
//! ([`domain::router_config::MENUS`]) in one pipelined batch, a restore of chosen menus (read
//! them, plan the smallest change, apply it; safe to repeat), and the on-router daily
//! `/system backup` scheduler entry kept as desired.

use crate::client::{Command, RouterConnection, Row};
use crate::error::RouterError;
use crate::menu::{self, RESOURCE};
use crate::provision::check;
use domain::router_config::{
    self as config, BackupMenu, ConfigChange, ConfigSnapshot, MENUS, ON_ROUTER_BACKUP_ENTRY, RestoreCounts, SCHEDULER,
};
use std::collections::BTreeMap;

/// Every backed-up menu and the router's resource, read at once.
pub async fn snapshot(conn: &RouterConnection) -> Result<ConfigSnapshot, RouterError> {
    let mut commands: Vec<Command> = MENUS.iter().map(|m| menu::print(m.path)).collect();
    commands.push(menu::print(RESOURCE));
    let mut answers = conn.run_all(&commands).await.into_iter();
    let mut rows = BTreeMap::new();
    for m in MENUS {
        rows.insert(m.path.to_string(), answers.next().expect("one answer per command")?);
    }
    let resource = answers.next().expect("one answer per command")?;
    let res = resource.first();
    let get = |k: &str| res.and_then(|r| r.get(k)).filter(|v| !v.is_empty()).cloned();
    Ok(ConfigSnapshot::from_rows(get("version"), get("board-name"), rows))
}

fn command(change: &ConfigChange) -> Command {
    let attrs = |c: Command, a: &BTreeMap<String, String>| a.iter().fold(c, |c, (k, v)| c.attr(k, v.clone()));
    match change {
        ConfigChange::Add { menu, attrs: a } => attrs(Command::new(format!("{menu}/add")), a),
        ConfigChange::Set { menu, id, attrs: a } => {
            let c = Command::new(format!("{menu}/set"));
            attrs(if id.is_empty() { c } else { c.attr(".id", id.clone()) }, a)
        }
        ConfigChange::Remove { menu, ids } => Command::new(format!("{menu}/remove")).attr(".id", ids.join(",")),
    }
}

/// Brings the chosen `menus` of the router back to `backup` (secrets open): reads them, plans
/// the smallest change, applies it in order (adds and sets, then removals), menu by menu so a
/// refusal stops what depends on it. Repeating it changes nothing more. Unknown or
/// non-restorable menus are the caller's to refuse; here they are skipped.
pub async fn restore(
    conn: &RouterConnection,
    backup: &ConfigSnapshot,
    menus: &[String],
) -> Result<BTreeMap<String, RestoreCounts>, RouterError> {
    let chosen: Vec<&'static BackupMenu> =
        MENUS.iter().filter(|m| m.restorable && menus.iter().any(|p| p == m.path)).collect();
    let reads: Vec<Command> = chosen.iter().map(|m| menu::print(m.path)).collect();
    let current = conn.run_all(&reads).await;
    let empty = Vec::new();
    let mut per_menu = Vec::new();
    let mut counts = BTreeMap::new();
    for (spec, rows) in chosen.iter().zip(current) {
        let rows: Vec<Row> = rows?;
        let (changes, c) = config::restore_plan(spec, backup.menus.get(spec.path).unwrap_or(&empty), &rows);
        counts.insert(spec.path.to_string(), c);
        per_menu.push((*spec, changes));
    }
    // One pipelined batch per menu and phase (a menu's items do not depend on each other, and
    // RouterOS runs a connection's commands in order, so firewall rules keep theirs); a menu
    // waits for the one before it, and a refusal stops what comes after its batch.
    let ordered = config::restore_order(per_menu);
    let phase = |c: &ConfigChange| match c {
        ConfigChange::Add { menu, .. } | ConfigChange::Set { menu, .. } => (*menu, false),
        ConfigChange::Remove { menu, .. } => (*menu, true),
    };
    for batch in ordered.chunk_by(|a, b| phase(a) == phase(b)) {
        let commands: Vec<Command> = batch.iter().map(command).collect();
        for (c, r) in commands.iter().zip(conn.run_all(&commands).await) {
            check(c, r)?;
        }
    }
    Ok(counts)
}

/// Keeps the on-router daily backup's scheduler entry as wanted: present and as
/// [`config::on_router_backup_entry`] says, or absent. Only our entry (by its name) is touched.
/// Returns whether anything changed.
pub async fn ensure_on_router_backup(conn: &RouterConnection, wanted: bool) -> Result<bool, RouterError> {
    let found = conn.run(&menu::print_named(SCHEDULER, ON_ROUTER_BACKUP_ENTRY)).await?;
    let desired = config::on_router_backup_entry();
    match (found.first(), wanted) {
        (None, false) => Ok(false),
        (Some(row), false) => {
            let id = row.get(".id").cloned().unwrap_or_default();
            conn.run(&menu::remove(SCHEDULER, &id)).await?;
            Ok(true)
        }
        (None, true) => {
            let attrs: Vec<(&str, String)> = desired.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
            let add = menu::add(SCHEDULER, &attrs);
            check(&add, conn.run(&add).await)?;
            Ok(true)
        }
        (Some(row), true) => {
            let differ: Vec<(&str, String)> = desired
                .iter()
                .filter(|(k, v)| row.get(*k).map(|r| config::script_value(r)) != Some(config::script_value(v)))
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            if differ.is_empty() {
                return Ok(false);
            }
            let id = row.get(".id").cloned().unwrap_or_default();
            conn.run(&menu::set(SCHEDULER, &id, &differ)).await?;
            Ok(true)
        }
    }
}

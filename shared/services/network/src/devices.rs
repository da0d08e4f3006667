//! Devices watched by SNMP (`/v1/monitoring/devices`): OLTs, switches and other gear that is not
//! a MikroTik router. Their SNMP credentials are sealed and never shown; the provisioning
//! worker's sweep polls them (`provisioning::devices`).

use chrono::{DateTime, Utc};
use domain::actor::Actor;
use domain::monitoring::{Device, DeviceKind, Episode, MonitorPoint, MonitorState, SnmpCredentials};
use domain::patch::Patch;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, audit, decoded, expected_version, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    pub name: String,
    pub kind: DeviceKind,
    pub pop_id: Option<Uuid>,
    pub host: String,
    /// 161 by default.
    pub port: Option<u16>,
    pub snmp: SnmpCredentials,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    pub name: Option<String>,
    pub kind: Option<DeviceKind>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub pop_id: Patch<Uuid>,
    pub host: Option<String>,
    pub port: Option<u16>,
    /// New credentials, as a whole.
    pub snmp: Option<SnmpCredentials>,
    pub version: Option<u64>,
}

/// A device as stored: the API shape and its sealed credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceRecord {
    #[serde(flatten)]
    pub device: Device,
    pub snmp_sealed: String,
}

impl store::Stored for DeviceRecord {
    const TYPE: &'static str = "DEVICE";
    fn keys(&self) -> store::ItemKeys {
        keys::device(self.device.tenant_id, self.device.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.device.version)
    }
}

fn snmp_aad(tid: Uuid, id: Uuid) -> Vec<u8> {
    format!("device-snmp:{tid}:{id}").into_bytes()
}

fn seal(app: &App, tid: Uuid, id: Uuid, c: &SnmpCredentials) -> Result<String> {
    let json = serde_json::to_vec(c).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(app.secrets.seal(&json, &snmp_aad(tid, id)))
}

/// The device's credentials, opened (the poller's).
pub fn open_credentials(app: &App, rec: &DeviceRecord) -> Result<SnmpCredentials> {
    let d = &rec.device;
    let plain = app
        .secrets
        .open(&rec.snmp_sealed, &snmp_aad(d.tenant_id, d.id))
        .map_err(|_| Error::Internal("a device's SNMP credentials cannot be opened".into()))?;
    serde_json::from_slice(&plain).map_err(|e| Error::Internal(e.to_string()))
}

/// An address a device may be at: the routers' rules (`validate_host`), and an IP literal (the
/// worker polls it as given).
fn check_host(app: &App, v: &mut Validation, host: &str) -> String {
    let h = domain::network::validate_host(v, "host", host, app.router_hosts);
    if h.parse::<std::net::IpAddr>().is_err() {
        v.add("host", "must be an IP address");
    }
    h
}

pub async fn create_device(
    app: &App,
    actor: &Actor,
    input: CreateDevice,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Device>> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 80);
    let host = check_host(app, &mut v, &input.host);
    let port = input.port.unwrap_or(161);
    if port == 0 {
        v.add("port", "must be between 1 and 65535");
    }
    input.snmp.validate(&mut v);
    v.finish()?;
    let device = Device {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        kind: input.kind,
        pop_id: input.pop_id,
        host,
        port,
        snmp: input.snmp.summary(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let rec = DeviceRecord { snmp_sealed: seal(app, tid, device.id, &input.snmp)?, device: device.clone() };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&rec).or_500()?, Conflict::Exists);
    if let Some(p) = device.pop_id {
        tx.check(
            &keys::pop(tid, p, ""),
            "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            Default::default(),
            Conflict::Unique("pop_id".into()),
        );
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "device.created",
            entity: "device",
            id: device.id.to_string(),
            before: None,
            after: Some(snapshot(&device)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &device, app)?);
    }
    commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, device).await.map_err(|e| match e {
        Error::Conflict { field: Some(f), .. } if f == "pop_id" => Error::field("pop_id", "is not a POP of this ISP"),
        other => other,
    })
}

/// The device of the caller's ISP (one GetItem).
pub(crate) async fn device_record(app: &App, actor: &Actor, id: Uuid) -> Result<DeviceRecord> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    decoded(app.store.get_item(&keys::device(tid, id)).await.or_500()?)?.ok_or_else(|| Error::not_found("device"))
}

/// A device and its monitoring now (the last poll, the open episodes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: Device,
    /// `up`, `down`, or `unknown` before the first poll.
    pub status: String,
    pub last: Option<MonitorPoint>,
    pub open: Vec<Episode>,
}

/// `GET /v1/monitoring/devices/{id}`: the device (GetItem) and its newest point (the state; a
/// Query), at once.
pub async fn get_device(app: &App, actor: &Actor, id: Uuid) -> Result<DeviceDetail> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let (rec, state) = futures::try_join!(
        async { app.store.get::<DeviceRecord>(&keys::device(tid, id)).await.or_500() },
        crate::monitor_points::latest_state(app, tid, id)
    )?;
    let rec = rec.ok_or_else(|| Error::not_found("device"))?;
    let state: MonitorState = state.unwrap_or_default();
    let status = match &state.last {
        None => "unknown",
        Some(p) if p.reachable => "up",
        Some(_) => "down",
    };
    Ok(DeviceDetail {
        device: rec.device,
        status: status.into(),
        last: state.last,
        open: state.open.into_values().collect(),
    })
}

pub async fn list_devices(app: &App, actor: &Actor, limit: u32, cursor: Option<&str>) -> Result<Page<Device>> {
    actor.require(Permission::NetworkRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::devices_gsi1(tid)).limit(limit);
    app.store.query_page(Owner::Tenant(tid), "devices", q, cursor).await.or_500()
}

/// Every device of an ISP with its record (the poller's; one Query per 1,000).
pub async fn all_device_records(app: &App, tid: Uuid) -> Result<Vec<DeviceRecord>> {
    let q = Query::index("gsi1", keys::devices_gsi1(tid)).limit(1000);
    app.store.query_all(q, 100_000).await.or_500()
}

pub async fn update_device(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdateDevice,
    if_match: Option<u64>,
) -> Result<Device> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let rec = device_record(app, actor, id).await?;
    let before = rec.device.clone();
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 80);
    }
    if let Some(k) = input.kind {
        after.kind = k;
    }
    input.pop_id.clone().apply_to(&mut after.pop_id);
    if let Some(h) = &input.host {
        after.host = check_host(app, &mut v, h);
    }
    if let Some(p) = input.port {
        if p == 0 {
            v.add("port", "must be between 1 and 65535");
        }
        after.port = p;
    }
    if let Some(s) = &input.snmp {
        s.validate(&mut v);
        after.snmp = s.summary();
    }
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let sealed = match &input.snmp {
        Some(s) => seal(app, tid, id, s)?,
        None => rec.snmp_sealed.clone(),
    };
    let mut tx = Tx::new();
    tx.put_versioned(
        Store::encode_stored(&DeviceRecord { device: after.clone(), snmp_sealed: sealed }).or_500()?,
        expected,
    );
    if let (Some(p), true) = (after.pop_id, after.pop_id != before.pop_id) {
        tx.check(
            &keys::pop(tid, p, ""),
            "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            Default::default(),
            Conflict::Unique("pop_id".into()),
        );
    }
    let mut after_snap = snapshot(&after);
    if input.snmp.is_some() {
        after_snap["snmp_credentials_changed"] = serde_json::Value::Bool(true);
    }
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "device.updated",
            entity: "device",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(after_snap),
        },
        now,
    ));
    app.store.commit(tx).await.map_err(|e| match e {
        store::StoreError::Conflict(Conflict::Unique(f)) if f == "pop_id" => {
            Error::field("pop_id", "is not a POP of this ISP")
        }
        other => kernel::support::store_err(other),
    })?;
    Ok(after)
}

/// Deletes a device (its points, its monitoring state among them, expire by themselves).
pub async fn delete_device(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::NetworkWrite)?;
    let tid = actor.tenant()?;
    let rec = device_record(app, actor, id).await?;
    let before = rec.device;
    if if_match.is_some_and(|v| v != before.version) {
        return Err(Error::version_conflict());
    }
    let now: DateTime<Utc> = app.now();
    let mut tx = Tx::new();
    tx.delete_existing(&keys::device(tid, id), Conflict::Version);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "device.deleted",
            entity: "device",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.map_err(kernel::support::store_err)
}

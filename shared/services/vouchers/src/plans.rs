//! Voucher plans (`/v1/voucher-plans`): what an ISP's hotspot vouchers buy and cost. A plan's name
//! is unique within the ISP (a sentinel); its router profile name follows from it and never
//! changes, so vouchers already on routers keep theirs. A plan is retired, never deleted.

use domain::actor::Actor;
use domain::event::{DomainEvent, NetworkEvent, VoucherPlanUpdated};
use domain::patch::Patch;
use domain::role::Permission;
use domain::voucher::{self, PlanStatus, ValidityFrom, VoucherPlan};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, commit_create, record};
use kernel::support::{Audited, StoreResultExt, audit, decoded, expected_version, load_tenant, snapshot};
use serde::Deserialize;
use store::{Conflict, Owner, Query, Store, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    pub name: String,
    pub validity_hours: u32,
    pub validity_from: ValidityFrom,
    pub data_limit_mb: Option<u64>,
    pub rate_limit: String,
    #[serde(default = "one")]
    pub shared_users: u32,
    /// Minor units of the ISP's currency.
    pub price: i64,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlan {
    pub validity_hours: Option<u32>,
    pub validity_from: Option<ValidityFrom>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub data_limit_mb: Patch<u64>,
    pub rate_limit: Option<String>,
    pub shared_users: Option<u32>,
    pub price: Option<i64>,
    pub status: Option<PlanStatus>,
    pub version: Option<u64>,
}

fn write_access(actor: &Actor) -> Result<Uuid> {
    actor.require(Permission::PackagesWrite)?;
    actor.tenant()
}

pub async fn create_plan(
    app: &App,
    actor: &Actor,
    input: CreatePlan,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<VoucherPlan>> {
    let tid = write_access(actor)?;
    let mut v = Validation::new();
    let name = voucher::plan_name(&mut v, &input.name);
    let rate_limit = voucher::check_plan(
        &mut v,
        input.validity_hours,
        input.data_limit_mb,
        &input.rate_limit,
        input.shared_users,
        input.price,
    );
    v.finish()?;
    let tenant = load_tenant(app, tid).await?;
    let now = app.now();
    let plan = VoucherPlan {
        id: ids::new_id(),
        tenant_id: tid,
        router_profile: voucher::router_profile(&name),
        name,
        validity_hours: input.validity_hours,
        validity_from: input.validity_from,
        data_limit_mb: input.data_limit_mb,
        rate_limit,
        shared_users: input.shared_users,
        price: input.price,
        currency: tenant.currency.clone(),
        status: PlanStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let owner = Owner::Tenant(tid);
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&plan).or_500()?, Conflict::Exists);
    tx.put_unique(keys::unique(owner, "voucher_plan", &plan.name), "name", &plan.id.to_string());
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "voucher_plan.created",
            entity: "voucher_plan",
            id: plan.id.to_string(),
            before: None,
            after: Some(snapshot(&plan)),
        },
        now,
    ));
    if let Some(req) = idem {
        tx.put_idempotency(owner, &req.key_hash(actor.user_id), &record(req, 201, &plan, app)?);
    }
    commit_create(app, tx, owner, actor.user_id, idem, plan).await
}

pub async fn list_plans(app: &App, actor: &Actor) -> Result<Vec<VoucherPlan>> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    let q = Query::index("gsi1", keys::voucher_plans_gsi1(tid));
    app.store.query_all(q, 1000).await.or_500()
}

pub async fn get_plan(app: &App, actor: &Actor, id: Uuid) -> Result<VoucherPlan> {
    actor.require(Permission::PackagesRead)?;
    let tid = actor.tenant()?;
    decoded::<VoucherPlan>(app.store.get_item(&keys::voucher_plan(tid, id, None)).await.or_500()?)?
        .filter(|p| p.tenant_id == tid)
        .ok_or_else(|| Error::not_found("voucher plan"))
}

/// Changes what a plan's vouchers get and cost from now on (its name and router profile stay).
pub async fn update_plan(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: UpdatePlan,
    if_match: Option<u64>,
) -> Result<VoucherPlan> {
    write_access(actor)?;
    let expected = expected_version(if_match, input.version)?;
    let before = get_plan(app, actor, id).await?;
    let mut after = before.clone();
    if let Some(h) = input.validity_hours {
        after.validity_hours = h;
    }
    if let Some(f) = input.validity_from {
        after.validity_from = f;
    }
    input.data_limit_mb.clone().apply_to(&mut after.data_limit_mb);
    if let Some(r) = &input.rate_limit {
        after.rate_limit = r.clone();
    }
    if let Some(s) = input.shared_users {
        after.shared_users = s;
    }
    if let Some(p) = input.price {
        after.price = p;
    }
    if let Some(s) = input.status {
        after.status = s;
    }
    let mut v = Validation::new();
    after.rate_limit = voucher::check_plan(
        &mut v,
        after.validity_hours,
        after.data_limit_mb,
        &after.rate_limit,
        after.shared_users,
        after.price,
    );
    v.finish()?;
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, expected);
    // The routers' profile follows speed and devices; a full reconcile of the ISP's routers
    // corrects it where the plan's vouchers are.
    let detail = serde_json::to_value(VoucherPlanUpdated {
        plan_id: id,
        provisioning_changed: before.rate_limit != after.rate_limit || before.shared_users != after.shared_users,
    })
    .map_err(|e| Error::Internal(e.to_string()))?;
    tx.put_event(&DomainEvent::new(NetworkEvent::VoucherPlanUpdated, Some(before.tenant_id), detail, now));
    tx.put_audit(&audit(
        actor,
        Some(before.tenant_id),
        Audited {
            action: "voucher_plan.updated",
            entity: "voucher_plan",
            id: id.to_string(),
            before: Some(snapshot(&before)),
            after: Some(snapshot(&after)),
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Adds the product's example plans the ISP does not have yet (by name), at its currency's
/// prices; answers all of the ISP's plans. Repeating it adds nothing.
pub async fn add_examples(app: &App, actor: &Actor) -> Result<Vec<VoucherPlan>> {
    write_access(actor)?;
    let have: Vec<String> = list_plans(app, actor).await?.into_iter().map(|p| p.name).collect();
    for (name, hours, mb, rate, price) in voucher::EXAMPLES {
        if have.iter().any(|h| h == name) {
            continue;
        }
        let input = CreatePlan {
            name: name.into(),
            validity_hours: hours,
            validity_from: ValidityFrom::FirstLogin,
            data_limit_mb: mb,
            rate_limit: rate.into(),
            shared_users: 1,
            price: price * 100,
        };
        match create_plan(app, actor, input, None).await {
            // Made meanwhile by a concurrent call: the name's sentinel refused the second.
            Ok(_) | Err(Error::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    list_plans(app, actor).await
}

//! Leads (`/v1/leads`): prospects, their stages and assignment, and their conversion into a customer
//! in one transaction (the customer with everything it writes, and the lead marked won).

use crate::customers::{CreateCustomer, stage_new_customer};
use chrono::NaiveDate;
use domain::actor::Actor;
use domain::customer::Customer;
use domain::event::{CrmEvent, DomainEvent};
use domain::lead::{Lead, LeadStage, check_stage_move};
use domain::patch::Patch;
use domain::phone::to_e164;
use domain::role::Permission;
use domain::{Error, Result, Validation, ids};
use identity::users::UserRecord;
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay, stored_answer};
use kernel::support::{
    Audited, StoreResultExt, Updated, audit, decoded, expected_version, snapshot, store_err, tenant_of,
};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Page, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLead {
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub address: Option<String>,
    pub area: Option<String>,
    pub pop_id: Option<Uuid>,
    pub source: Option<String>,
    pub notes: Option<String>,
    pub assigned_to: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLead {
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub address: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    pub stage: Option<LeadStage>,
    /// Why a lead was lost (with `stage: lost`).
    pub lost_reason: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub assigned_to: Patch<Uuid>,
    pub version: Option<u64>,
}

/// What conversion adds to the lead's details.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertLead {
    /// Portal login (and default PPPoE username) of the new customer.
    pub username: String,
    pub national_id: Option<String>,
    pub connection_date: Option<NaiveDate>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The customer's fields for the BTRC report (the ISP may require them).
    pub house_no: Option<String>,
    pub road_no: Option<String>,
    pub thana: Option<String>,
    pub district: Option<String>,
    pub client_type: Option<domain::customer::ClientType>,
    pub access_medium: Option<domain::customer::AccessMedium>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Conversion {
    pub lead: Lead,
    pub customer: Customer,
}

#[derive(Debug, Default, Clone)]
pub struct LeadFilter {
    pub stage: Option<LeadStage>,
    pub assigned_to: Option<Uuid>,
}

fn lead_event(name: CrmEvent, l: &Lead, now: chrono::DateTime<chrono::Utc>) -> DomainEvent {
    DomainEvent::new(
        name,
        Some(l.tenant_id),
        serde_json::json!({"lead_id": l.id, "stage": l.stage, "customer_id": l.customer_id, "version": l.version}),
        now,
    )
}

fn check_assignee(v: &mut Validation, wanted: Option<Uuid>, found: Option<UserRecord>) {
    if wanted.is_some() && !found.is_some_and(|u| u.user.role.is_tenant_staff() && !u.user.email.is_empty()) {
        v.add("assigned_to", "must be a staff member of this ISP");
    }
}

pub async fn create_lead(
    app: &App,
    actor: &Actor,
    input: CreateLead,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Lead>> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let tk = keys::tenant(tid, None);
    let uk = keys::user(Some(tid), input.assigned_to.unwrap_or_default());
    let pk = keys::pop(tid, input.pop_id.unwrap_or_default(), "");
    let mut got = app.store.batch_get(&[&tk, &uk, &pk]).await.or_500()?.into_iter();
    let tenant = tenant_of(got.next().flatten())?;
    let assignee: Option<UserRecord> = decoded(got.next().flatten())?;
    let pop = network::pops::live_pop(got.next().flatten())?;
    let now = app.now();
    let mut v = Validation::new();
    let name = v.text("name", &input.name, 120);
    let phone = to_e164(&input.phone, &tenant.country).unwrap_or_else(|| {
        v.add("phone", "must be a valid phone number");
        String::new()
    });
    let email = input.email.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(|e| v.email("email", e));
    let address = v.optional_text("address", input.address.as_deref(), 300);
    let area = v.optional_text("area", input.area.as_deref(), 80);
    let source = v.optional_text("source", input.source.as_deref(), 80);
    let notes = v.optional_text("notes", input.notes.as_deref(), 2000);
    if input.pop_id.is_some() && pop.is_none() {
        v.add("pop_id", "is not a POP of this ISP");
    }
    check_assignee(&mut v, input.assigned_to, assignee);
    v.finish()?;
    let lead = Lead {
        id: ids::new_id(),
        tenant_id: tid,
        name,
        phone,
        email,
        address,
        area,
        pop_id: input.pop_id,
        source,
        notes,
        stage: LeadStage::New,
        lost_reason: None,
        assigned_to: input.assigned_to,
        operator_id: actor.role.is_scoped().then_some(actor.user_id),
        scope: actor.scope.clone(),
        customer_id: None,
        created_by: actor.user_id,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = Tx::new();
    tx.put_new(Store::encode_stored(&lead).or_500()?, Conflict::Exists);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "lead.created",
            entity: "lead",
            id: lead.id.to_string(),
            before: None,
            after: Some(snapshot(&lead)),
        },
        now,
    ));
    tx.put_event(&lead_event(CrmEvent::LeadCreated, &lead, now));
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &lead, app)?);
    }
    kernel::idempotency::commit_create(app, tx, Owner::Tenant(tid), actor.user_id, idem, lead).await
}

async fn visible(app: &App, actor: &Actor, id: Uuid) -> Result<Lead> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    visible_lead(actor, app.store.get(&keys::lead(tid, id, None)).await.or_500()?)
}

fn visible_lead(actor: &Actor, lead: Option<Lead>) -> Result<Lead> {
    match lead {
        Some(l) if actor.sees_scope(l.scope.as_deref()) => Ok(l),
        _ => Err(Error::not_found("lead")),
    }
}

pub async fn get_lead(app: &App, actor: &Actor, id: Uuid) -> Result<Lead> {
    visible(app, actor, id).await
}

pub async fn list_leads(
    app: &App,
    actor: &Actor,
    filter: LeadFilter,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<Lead>> {
    actor.require(Permission::CustomersRead)?;
    let tid = actor.tenant()?;
    let mut f = Filter::default();
    if let Some(s) = filter.stage {
        f = f.eq("stage", s.as_str());
    }
    if let Some(a) = filter.assigned_to {
        f = f.eq("assigned_to", &a.to_string());
    }
    let (q, scope) = if let Some(s) = actor.confinement()? {
        let s = s.to_string();
        (Query::index("gsi2", keys::leads_by_operator_gsi2(tid, &s)).prefix(s.clone()).newest_first(), s)
    } else {
        (Query::index("gsi1", keys::leads_gsi1(tid)).newest_first(), String::new())
    };
    let mut q = q.limit(limit);
    if !f.expression.is_empty() {
        q = q.filter(f);
    }
    let qid = format!("leads:{scope}:{:?}:{:?}", filter.stage.map(|s| s.as_str()), filter.assigned_to);
    app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()
}

pub async fn update_lead(app: &App, actor: &Actor, id: Uuid, input: UpdateLead, if_match: Option<u64>) -> Result<Lead> {
    actor.require(Permission::CustomersWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    // One round trip: the lead, its ISP (country of a local phone number) and a new assignee.
    let mut wanted = vec![keys::lead(tid, id, None), keys::tenant(tid, None)];
    if let Patch::Set(a) = input.assigned_to {
        wanted.push(keys::user(Some(tid), a));
    }
    let refs: Vec<&store::ItemKeys> = wanted.iter().collect();
    let mut got = app.store.batch_get(&refs).await.or_500()?.into_iter();
    let before = visible_lead(actor, decoded(got.next().flatten())?)?;
    let tenant = tenant_of(got.next().flatten())?;
    let now = app.now();
    let mut v = Validation::new();
    let mut after = before.clone();
    if let Some(n) = &input.name {
        after.name = v.text("name", n, 120);
    }
    if let Some(p) = &input.phone {
        match to_e164(p, &tenant.country) {
            Some(e) => after.phone = e,
            None => v.add("phone", "must be a valid phone number"),
        }
    }
    if let Some(e) = input.email.as_update() {
        after.email = e.map(|e| e.trim()).filter(|e| !e.is_empty()).map(|e| v.email("email", e));
    }
    if let Some(a) = input.address.as_update() {
        after.address = v.optional_text("address", a.map(String::as_str), 300);
    }
    if let Some(n) = input.notes.as_update() {
        after.notes = v.optional_text("notes", n.map(String::as_str), 2000);
    }
    if let Some(a) = input.assigned_to.as_update().map(Option::<&Uuid>::copied) {
        let found: Option<UserRecord> = match a {
            Some(_) => decoded(got.next().flatten())?,
            None => None,
        };
        check_assignee(&mut v, a, found);
        after.assigned_to = a;
    }
    if let Some(stage) = input.stage {
        after.stage = stage;
        after.lost_reason = if stage == LeadStage::Lost {
            v.optional_text("lost_reason", input.lost_reason.as_deref(), 300)
        } else {
            None
        };
    } else if input.lost_reason.is_some() {
        v.add("lost_reason", "goes with stage: lost");
    }
    v.finish()?;
    if before.stage == LeadStage::Won {
        return Err(Error::Conflict {
            code: "lead_closed",
            detail: "a won lead stays as it was converted; change the customer instead".into(),
            field: None,
        });
    }
    check_stage_move(before.stage, after.stage)?;
    finish_update(app, actor, tid, &before, after, expected, now).await
}

async fn finish_update(
    app: &App,
    actor: &Actor,
    tid: Uuid,
    before: &Lead,
    mut after: Lead,
    expected: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Lead> {
    if before.version != expected {
        return Err(Error::version_conflict());
    }
    after.version += 1;
    after.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(Store::encode_stored(&after).or_500()?, expected);
    let name = if after.stage != before.stage { CrmEvent::LeadStageChanged } else { CrmEvent::LeadUpdated };
    Updated { entity: "lead", id: after.id, before, after: &after }.stage(
        &mut tx,
        actor,
        Some(tid),
        lead_event(name, &after, now),
    );
    app.store.commit(tx).await.or_500()?;
    Ok(after)
}

/// Turns an open lead into a customer: one transaction writes the customer (profile, search
/// entries, sentinels, timeline, audit, event) and marks the lead won with the customer's id.
pub async fn convert_lead(
    app: &App,
    actor: &Actor,
    id: Uuid,
    input: ConvertLead,
    idem: Option<&IdempotentRequest>,
) -> Result<Outcome<Conversion>> {
    let tid = actor.tenant()?;
    if let Some(req) = idem
        && let Some(first) = stored_answer(app, Owner::Tenant(tid), actor.user_id, req).await?
    {
        return Ok(first);
    }
    let lead = visible(app, actor, id).await?;
    if !lead.stage.is_open() {
        return Err(Error::Conflict {
            code: "invalid_transition",
            detail: format!("a {} lead cannot be converted", lead.stage.as_str()),
            field: None,
        });
    }
    let (customer, mut tx) = stage_new_customer(
        app,
        actor,
        CreateCustomer {
            name: lead.name.clone(),
            phone: lead.phone.clone(),
            email: lead.email.clone(),
            username: input.username,
            address: lead.address.clone(),
            area: lead.area.clone(),
            pop_id: lead.pop_id,
            house_no: input.house_no,
            road_no: input.road_no,
            thana: input.thana,
            district: input.district,
            client_type: input.client_type,
            access_medium: input.access_medium,
            national_id: input.national_id,
            connection_date: input.connection_date,
            notes: lead.notes.clone(),
            tags: input.tags,
            language: None,
            operator_id: if actor.role.is_scoped() { None } else { lead.operator_id },
            // A lead taken by a branch's staff becomes a customer of that branch.
            branch_id: if lead.operator_id.is_some() || actor.branch().is_some() {
                None
            } else {
                domain::branch::branch_of(lead.scope.as_deref())
            },
        },
    )
    .await?;
    let now = app.now();
    let mut won = lead.clone();
    won.stage = LeadStage::Won;
    won.customer_id = Some(customer.id);
    won.version += 1;
    won.updated_at = now;
    tx.put_versioned(Store::encode_stored(&won).or_500()?, lead.version);
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "lead.converted",
            entity: "lead",
            id: id.to_string(),
            before: Some(snapshot(&lead)),
            after: Some(snapshot(&won)),
        },
        now,
    ));
    tx.put_event(&lead_event(CrmEvent::LeadConverted, &won, now));
    let out = Conversion { lead: won, customer };
    if let Some(req) = idem {
        tx.put_idempotency(Owner::Tenant(tid), &req.key_hash(actor.user_id), &record(req, 201, &out, app)?);
    }
    match app.store.commit(tx).await {
        Ok(()) => Ok(Outcome::Fresh(out)),
        Err(StoreError::Conflict(Conflict::Idempotency)) if idem.is_some() => {
            replay(app, Owner::Tenant(tid), actor.user_id, idem.expect("checked")).await
        }
        Err(e) => Err(store_err(e)),
    }
}

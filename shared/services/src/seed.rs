//! Demo data for `make run`: the platform owner, one platform reseller, one ISP ("Demo ISP") with its
//! admin and a few customers. Running it again changes nothing.

use crate::App;
use crate::customers::{CreateCustomer, create_customer};
use crate::platform::{CreateReseller, create_reseller};
use crate::support::StoreResultExt;
use crate::tenants::{CreateTenant, create_tenant};
use crate::users::{LoginPointer, NewStaff, UserRecord, stage_new_user};
use domain::actor::Actor;
use domain::role::Role;
use domain::user::{User, UserStatus};
use domain::{Result, ids};
use store::{Tx, keys};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub owner_email: String,
    pub owner_password: String,
    pub reseller_email: String,
    pub reseller_password: String,
    pub admin_email: String,
    pub admin_password: String,
}

impl DemoCredentials {
    /// From `DEMO_*` variables, with the documented defaults.
    pub fn from_env() -> Self {
        let get = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
        Self {
            owner_email: get("DEMO_OWNER_EMAIL", "owner@demo.isp.local"),
            owner_password: get("DEMO_OWNER_PASSWORD", "owner-demo-pass-1"),
            reseller_email: get("DEMO_RESELLER_EMAIL", "reseller@demo.isp.local"),
            reseller_password: get("DEMO_RESELLER_PASSWORD", "reseller-demo-pass-1"),
            admin_email: get("DEMO_ADMIN_EMAIL", "admin@demo.isp.local"),
            admin_password: get("DEMO_ADMIN_PASSWORD", "admin-demo-pass-1"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeedReport {
    pub owner_id: Uuid,
    pub reseller_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    pub created_anything: bool,
}

async fn pointer(app: &App, email: &str) -> Result<Option<LoginPointer>> {
    app.store.get(&keys::login(&email.trim().to_lowercase())).await.or_500()
}

pub async fn seed_demo(app: &App, creds: &DemoCredentials) -> Result<SeedReport> {
    let now = app.now();
    let mut created = false;

    let owner_id = match pointer(app, &creds.owner_email).await? {
        Some(p) => p.user_id,
        None => {
            let user = User {
                id: ids::new_id(),
                tenant_id: None,
                reseller_id: None,
                name: "Platform Owner".into(),
                email: creds.owner_email.trim().to_lowercase(),
                phone: None,
                role: Role::Developer,
                parent_id: None,
                scope: None,
                status: UserStatus::Active,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let mut tx = Tx::new();
            stage_new_user(&mut tx, &UserRecord::new(user.clone(), &creds.owner_password), "email")?;
            app.store.commit(tx).await.or_500()?;
            created = true;
            user.id
        }
    };
    let owner = Actor {
        user_id: owner_id,
        tenant_id: None,
        reseller_id: None,
        role: Role::Developer,
        scope: None,
        impersonator_id: None,
    };

    let (reseller_user, reseller_id) = match pointer(app, &creds.reseller_email).await? {
        Some(p) => (p.user_id, p.reseller_id),
        None => {
            let r = create_reseller(
                app,
                &owner,
                CreateReseller {
                    name: "Demo Reseller".into(),
                    phone: None,
                    subscription_expires_at: now + chrono::Duration::days(365),
                    isp_limit: 10,
                    admin: NewStaff {
                        name: "Demo Reseller".into(),
                        email: creds.reseller_email.clone(),
                        password: creds.reseller_password.clone(),
                        phone: None,
                    },
                },
            )
            .await?;
            created = true;
            let p = pointer(app, &creds.reseller_email).await?.expect("just created");
            (p.user_id, Some(r.id))
        }
    };

    let tenant_id = match pointer(app, &creds.admin_email).await? {
        Some(p) => p.tenant_id,
        None => {
            let reseller = Actor {
                user_id: reseller_user,
                tenant_id: None,
                reseller_id,
                role: Role::SuperAdmin,
                scope: None,
                impersonator_id: None,
            };
            let out = create_tenant(
                app,
                &reseller,
                CreateTenant {
                    name: "Demo ISP".into(),
                    slug: "demo-isp".into(),
                    time_zone: "Asia/Dhaka".into(),
                    currency: "BDT".into(),
                    country: Some("BD".into()),
                    billing: None,
                    reseller_id: None,
                    admin: NewStaff {
                        name: "Demo Admin".into(),
                        email: creds.admin_email.clone(),
                        password: creds.admin_password.clone(),
                        phone: None,
                    },
                },
                None,
            )
            .await?;
            let crate::Outcome::Fresh(t) = out else { unreachable!("no idempotency key was given") };
            let admin = Actor {
                user_id: t.admin_user_id,
                tenant_id: Some(t.tenant.id),
                reseller_id,
                role: Role::Admin,
                scope: None,
                impersonator_id: None,
            };
            for (name, phone, username) in [
                ("Rahim Uddin", "01712-345678", "rahim"),
                ("Karim Hossain", "01812-345679", "karim"),
                ("Nasrin Akter", "01912-345670", "nasrin"),
            ] {
                create_customer(
                    app,
                    &admin,
                    CreateCustomer {
                        name: name.into(),
                        phone: phone.into(),
                        email: None,
                        username: username.into(),
                        address: Some("Mirpur, Dhaka".into()),
                        area: Some("Mirpur".into()),
                        pop_id: None,
                        national_id: None,
                        connection_date: None,
                        notes: None,
                        tags: vec![],
                        operator_id: None,
                    },
                    None,
                )
                .await?;
            }
            created = true;
            Some(t.tenant.id)
        }
    };
    Ok(SeedReport { owner_id, reseller_id, tenant_id, created_anything: created })
}

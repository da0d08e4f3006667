//! Staff users of an ISP (`/v1/users`), and the user records shared with login and onboarding.

use domain::actor::Actor;
use domain::auth::{hash_password, verify_password};
use domain::event::{ContactDetailsChanged, DomainEvent, IdentityEvent};
use domain::patch::Patch;
use domain::role::{Permission, Role};
use domain::user::{User, UserStatus, scope_for};
use domain::{Error, Result, Validation, ids};
use kernel::App;
use kernel::support::{Audited, StoreResultExt, Updated, audit, expected_version, snapshot};
use serde::{Deserialize, Serialize};
use store::{Conflict, Filter, Owner, Page, Query, Store, Tx, keys};
use uuid::Uuid;

/// A user as stored: the profile plus what is never shown (the password hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    #[serde(flatten)]
    pub user: User,
    pub password_hash: String,
    /// Refresh-token families of an older epoch are dead: raised on password change, reset and
    /// deletion, which ends every session at once without finding them.
    #[serde(default)]
    pub session_epoch: u32,
}

impl UserRecord {
    pub fn new(user: User, password: &str) -> Self {
        Self { user, password_hash: hash_password(password), session_epoch: 0 }
    }
}

/// E-mail -> user: the login lookup, and what keeps staff e-mails unique across the platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginPointer {
    pub email: String,
    pub user_id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub reseller_id: Option<Uuid>,
}

/// Name, e-mail, password (and phone) of a new staff login, as requests carry them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub name: String,
    pub email: String,
    pub password: String,
    pub phone: Option<String>,
}

pub struct ValidStaff {
    pub name: String,
    pub email: String,
    pub password: String,
    pub phone: Option<String>,
}

impl NewStaff {
    pub fn validate(&self, v: &mut Validation, prefix: &str) -> ValidStaff {
        let f = |n: &str| if prefix.is_empty() { n.to_string() } else { format!("{prefix}.{n}") };
        let name = v.text(&f("name"), &self.name, 120);
        let email = v.email(&f("email"), &self.email);
        v.password(&f("password"), &self.password);
        let phone = v.optional_text(&f("phone"), self.phone.as_deref(), 32);
        ValidStaff { name, email, password: self.password.clone(), phone }
    }
}

impl store::Stored for UserRecord {
    const TYPE: &'static str = "USER";
    fn keys(&self) -> store::ItemKeys {
        keys::user(self.user.tenant_id, self.user.id)
    }
    fn version(&self) -> Option<u64> {
        Some(self.user.version)
    }
}

pub fn user_item(r: &UserRecord) -> Result<store::Item> {
    Store::encode_stored(r).or_500()
}

fn pointer_item(u: &User) -> Result<store::Item> {
    let p = LoginPointer { email: u.email.clone(), user_id: u.id, tenant_id: u.tenant_id, reseller_id: u.reseller_id };
    Store::encode(&keys::login(&u.email), "LOGIN", &p, None).or_500()
}

/// Adds a new user and its login pointer to a transaction; a taken e-mail fails as `email_field`.
pub fn stage_new_user(tx: &mut Tx, r: &UserRecord, email_field: &str) -> Result<()> {
    tx.put_new(user_item(r)?, Conflict::Exists);
    tx.put_new(pointer_item(&r.user)?, Conflict::Unique(email_field.to_string()));
    Ok(())
}

pub async fn load_user(app: &App, tenant: Option<Uuid>, id: Uuid) -> Result<Option<UserRecord>> {
    app.store.get(&keys::user(tenant, id)).await.or_500()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub email: String,
    pub password: String,
    pub phone: Option<String>,
    pub role: Role,
    /// For a sub-operator created by an admin or manager: the operator it works under.
    pub parent_id: Option<Uuid>,
    /// Binds the user to a branch: it sees and changes that branch's data only (an operator's
    /// whole subtree is then the branch's; a sub-operator is in its operator's). Not for admins.
    /// Staff bound to a branch create users in it only.
    #[serde(default)]
    pub branch_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Moves a manager, accountant or staff member into a branch, or (null) out of it. An
    /// operator's branch is set when it is created.
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    pub branch_id: Patch<Uuid>,
    pub version: Option<u64>,
    /// Your own password: needed to change your own e-mail or phone (where reset codes go).
    pub current_password: Option<String>,
}

/// A user the actor may see: in the tenant, and for operators within their subtree.
async fn visible_user(app: &App, actor: &Actor, id: Uuid) -> Result<UserRecord> {
    let tid = actor.tenant()?;
    match load_user(app, Some(tid), id).await? {
        Some(r) => {
            if !actor.sees_scope(r.user.scope.as_deref()) {
                return Err(Error::not_found("user"));
            }
            if is_deleted(&r) {
                return Err(Error::not_found("user"));
            }
            Ok(r)
        }
        _ => Err(Error::not_found("user")),
    }
}

fn is_deleted(r: &UserRecord) -> bool {
    r.user.email.is_empty()
}

pub async fn create_user(app: &App, actor: &Actor, input: CreateUser) -> Result<User> {
    actor.require(Permission::UsersWrite)?;
    actor.require_own_identity("creating a login")?;
    let tid = actor.tenant()?;
    if !actor.role.may_assign(input.role) {
        return Err(Error::forbidden(format!(
            "the {} role may not create a user with the {} role",
            actor.role, input.role
        )));
    }
    let now = app.now();
    let mut v = Validation::new();
    let staff = NewStaff { name: input.name, email: input.email, password: input.password, phone: input.phone }
        .validate(&mut v, "");
    // A branch's staff make users of their branch only.
    let branch = match (input.role, input.branch_id.or(actor.branch())) {
        (_, None) => None,
        (Role::Admin, Some(_)) => {
            v.add("branch_id", "an admin works across the ISP");
            None
        }
        (Role::SubOperator, Some(b)) => {
            if input.branch_id.is_some() {
                v.add("branch_id", "a sub-operator is in its operator's branch");
            }
            Some(b)
        }
        (_, Some(b)) => {
            kernel::access::check_branch_for_new(app, actor, &mut v, "branch_id", b).await?;
            Some(b)
        }
    };
    v.finish()?;

    // Sub-operators hang under an operator: the caller itself if it is one, otherwise the named one.
    let (parent_id, parent_scope) = match (input.role, actor.role) {
        (Role::SubOperator, Role::Operator) => {
            if input.parent_id.is_some_and(|p| p != actor.user_id) {
                return Err(Error::field("parent_id", "an operator creates sub-operators under itself only"));
            }
            (Some(actor.user_id), actor.scope.clone())
        }
        (Role::SubOperator, _) => {
            let pid = input.parent_id.ok_or_else(|| Error::field("parent_id", "is required for a sub-operator"))?;
            match load_user(app, Some(tid), pid).await? {
                Some(p)
                    if p.user.role == Role::Operator
                        && !is_deleted(&p)
                        && actor.sees_scope(p.user.scope.as_deref()) =>
                {
                    (Some(pid), p.user.scope)
                }
                _ => return Err(Error::field("parent_id", "must be an operator of this ISP")),
            }
        }
        _ => {
            if input.parent_id.is_some() {
                return Err(Error::field("parent_id", "only sub-operators have a parent"));
            }
            (None, None)
        }
    };
    let id = ids::new_id();
    // The ISP's reseller is in the caller's token (it never changes for an ISP): no read needed.
    let reseller_id = actor.reseller_id;
    let user = User {
        id,
        tenant_id: Some(tid),
        reseller_id,
        name: staff.name,
        email: staff.email,
        phone: staff.phone,
        role: input.role,
        parent_id,
        scope: scope_for(input.role, id, parent_scope.as_deref(), branch.filter(|_| input.role != Role::SubOperator)),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let rec = UserRecord::new(user.clone(), &staff.password);
    let mut tx = Tx::new();
    stage_new_user(&mut tx, &rec, "email")?;
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "user.created",
            entity: "user",
            id: id.to_string(),
            before: None,
            after: Some(snapshot(&user)),
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::UserCreated,
        Some(tid),
        serde_json::json!({"user_id": id, "role": user.role, "version": 1}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(user)
}

pub async fn get_user(app: &App, actor: &Actor, id: Uuid) -> Result<User> {
    actor.require(Permission::UsersRead)?;
    Ok(visible_user(app, actor, id).await?.user)
}

/// The ISP's active admins (where staff notices addressed to "the admins" go). One query of the
/// ISP's users, a few dozen at most.
pub async fn active_admins(app: &App, tid: Uuid) -> Result<Vec<User>> {
    let q = Query::index("gsi1", keys::users_gsi1(tid)).filter(Filter::default().eq("role", Role::Admin.as_str()));
    let recs: Vec<UserRecord> = app.store.query_all(q, 1000).await.or_500()?;
    Ok(recs
        .into_iter()
        .filter(|r| !is_deleted(r) && r.user.status == domain::user::UserStatus::Active)
        .map(|r| r.user)
        .collect())
}

pub async fn list_users(
    app: &App,
    actor: &Actor,
    role: Option<Role>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<Page<User>> {
    actor.require(Permission::UsersRead)?;
    let tid = actor.tenant()?;
    let mut q = Query::index("gsi1", keys::users_gsi1(tid)).limit(limit);
    let mut filter = Filter::default();
    if let Some(r) = role {
        filter = filter.eq("role", r.as_str());
    }
    if let Some(s) = actor.confinement()? {
        filter = filter.in_subtree("scope", s);
    }
    if !filter.expression.is_empty() {
        q = q.filter(filter);
    }
    let qid = format!("users:{}", role.map(|r| r.as_str()).unwrap_or(""));
    let page: Page<UserRecord> = app.store.query_page(Owner::Tenant(tid), &qid, q, cursor).await.or_500()?;
    Ok(Page { items: page.items.into_iter().map(|r| r.user).collect(), next_cursor: page.next_cursor })
}

/// Changes a user. Nobody changes their own role or status, and nobody manages a user whose role
/// they could not grant; scoped roles (operator, sub-operator) keep their role, since their
/// customers hang on it.
pub async fn update_user(app: &App, actor: &Actor, id: Uuid, input: UpdateUser, if_match: Option<u64>) -> Result<User> {
    actor.require(Permission::UsersWrite)?;
    let tid = actor.tenant()?;
    let expected = expected_version(if_match, input.version)?;
    let before = visible_user(app, actor, id).await?;
    let me = id == actor.user_id;
    if !me && !actor.role.may_assign(before.user.role) {
        return Err(Error::forbidden("the user's role is above what the caller may manage"));
    }
    let now = app.now();
    let mut after = before.clone();
    let mut v = Validation::new();
    if let Some(n) = &input.name {
        after.user.name = v.text("name", n, 120);
    }
    if let Some(e) = &input.email {
        after.user.email = v.email("email", e);
    }
    if let Some(p) = input.phone.as_update() {
        after.user.phone = v.optional_text("phone", p.map(String::as_str), 32);
    }
    if let Some(r) = input.role
        && r != before.user.role
    {
        if me {
            return Err(Error::forbidden("nobody changes their own role"));
        }
        if !actor.role.may_assign(r) {
            return Err(Error::forbidden(format!("the {} role may not grant the {r} role", actor.role)));
        }
        if r.is_scoped() || before.user.role.is_scoped() {
            v.add("role", "operators and sub-operators keep their role; create a new user instead");
        }
        after.user.role = r;
    }
    if let Some(s) = input.status
        && s != before.user.status
    {
        if me {
            return Err(Error::forbidden("nobody disables themselves"));
        }
        after.user.status = s;
    }
    if let Some(b) = input.branch_id.as_update().map(Option::<&Uuid>::copied)
        && b != domain::branch::branch_of(before.user.scope.as_deref())
    {
        if before.user.role.is_scoped() {
            v.add("branch_id", "an operator's branch is set when it is created (its customers hang on it)");
        } else if before.user.role == Role::Admin {
            v.add("branch_id", "an admin works across the ISP");
        } else if me {
            return Err(Error::forbidden("nobody moves themselves between branches"));
        } else if actor.branch().is_some() {
            v.add("branch_id", "only the ISP's own staff move people between branches");
        } else {
            if let Some(b) = b {
                kernel::access::check_branch_for_new(app, actor, &mut v, "branch_id", b).await?;
            }
            after.user.scope = b.map(domain::branch::scope_of);
        }
    }
    v.finish()?;
    if after.user.role != before.user.role
        || after.user.status != before.user.status
        || after.user.scope != before.user.scope
    {
        actor.require_own_identity("changing a user's role, status or branch")?;
    }
    let contact_changed = after.user.email != before.user.email || after.user.phone != before.user.phone;
    if contact_changed {
        check_may_change_contact(actor, &before, me, input.current_password.as_deref())?;
    }
    if before.user.version != expected {
        return Err(Error::version_conflict());
    }
    if after.user.status != before.user.status || after.user.scope != before.user.scope {
        // Disabling ends every session and outstanding reset code; enabling again revives none.
        // A new branch starts new sessions, whose tokens carry it.
        after.session_epoch += 1;
    }
    after.user.version += 1;
    after.user.updated_at = now;
    let mut tx = Tx::new();
    tx.put_versioned(user_item(&after)?, expected);
    if after.user.email != before.user.email {
        tx.put_new(pointer_item(&after.user)?, Conflict::Unique("email".into()));
        tx.delete(&keys::login(&before.user.email));
    }
    if contact_changed {
        let notice = ContactDetailsChanged {
            user_id: id,
            name: after.user.name.clone(),
            old_email: before.user.email.clone(),
            email_changed: after.user.email != before.user.email,
            phone_changed: after.user.phone != before.user.phone,
            changed_by: actor.real_actor(),
        };
        tx.put_event(&DomainEvent::new(
            IdentityEvent::ContactDetailsChanged,
            Some(tid),
            serde_json::to_value(&notice).map_err(|e| Error::Internal(e.to_string()))?,
            now,
        ));
    }
    Updated { entity: "user", id, before: &before.user, after: &after.user }.stage(
        &mut tx,
        actor,
        Some(tid),
        DomainEvent::new(
            IdentityEvent::UserUpdated,
            Some(tid),
            serde_json::json!({"user_id": id, "version": after.user.version}),
            now,
        ),
    );
    app.store.commit(tx).await.or_500()?;
    Ok(after.user)
}

/// Who may move the e-mail or phone that receives a login's reset codes: the user itself with its
/// current password (a stolen access token alone is not enough), or someone strictly above it (not
/// a peer); never under impersonation.
fn check_may_change_contact(
    actor: &Actor,
    before: &UserRecord,
    me: bool,
    current_password: Option<&str>,
) -> Result<()> {
    actor.require_own_identity("changing the e-mail or phone that receives reset codes")?;
    if me {
        let Some(password) = current_password.filter(|p| !p.is_empty()) else {
            return Err(Error::field("current_password", "is required to change your own e-mail or phone"));
        };
        if !verify_password(password, &before.password_hash) {
            return Err(Error::field("current_password", "is wrong"));
        }
        return Ok(());
    }
    if !actor.role.outranks(before.user.role) {
        return Err(Error::forbidden("only a user's superior changes its e-mail or phone, not a peer"));
    }
    Ok(())
}

/// Removes a user's access: the login goes (its e-mail is free again) and the user leaves listings;
/// the record stays for the audit trail.
pub async fn delete_user(app: &App, actor: &Actor, id: Uuid, if_match: Option<u64>) -> Result<()> {
    actor.require(Permission::UsersWrite)?;
    actor.require_own_identity("removing a login")?;
    let tid = actor.tenant()?;
    let before = visible_user(app, actor, id).await?;
    if id == actor.user_id {
        return Err(Error::forbidden("nobody deletes themselves"));
    }
    if !actor.role.may_assign(before.user.role) {
        return Err(Error::forbidden("the user's role is above what the caller may manage"));
    }
    if let Some(v) = if_match
        && v != before.user.version
    {
        return Err(Error::version_conflict());
    }
    let now = app.now();
    let mut after = before.clone();
    after.user.email = String::new();
    after.user.status = UserStatus::Disabled;
    after.user.version += 1;
    after.user.updated_at = now;
    after.session_epoch += 1;
    let mut item = user_item(&after)?;
    item.remove("gsi1pk");
    item.remove("gsi1sk");
    let mut tx = Tx::new();
    tx.put_versioned(item, before.user.version);
    tx.delete(&keys::login(&before.user.email));
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "user.deleted",
            entity: "user",
            id: id.to_string(),
            before: Some(snapshot(&before.user)),
            after: None,
        },
        now,
    ));
    tx.put_event(&DomainEvent::new(
        IdentityEvent::UserDeleted,
        Some(tid),
        serde_json::json!({"user_id": id, "version": after.user.version}),
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    Ok(())
}

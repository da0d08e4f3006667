//! Routers reached through the WireGuard edge (see `domain::edge`): enrolling a router (the next
//! address of its ISP's blocks, a key pair, the router's host moved to its tunnel address, all in
//! one transaction), its onboarding script, and the concentrator's list of peers.

use crate::routers::{RouterRecord, router_conflict, stage_router_update, visible_router};
use domain::actor::Actor;
use domain::edge::{ConcentratorPeer, EdgeConfig, EdgePeer, Onboarding, TenantEdge, onboarding_script};
use domain::role::Permission;
use domain::{Error, Result};
use kernel::App;
use kernel::idempotency::{IdempotentRequest, Outcome, record, replay};
use kernel::support::{Audited, StoreResultExt, audit, decoded};
use serde::{Deserialize, Serialize};
use store::{Conflict, Owner, Query, Store, StoreError, Tx, keys};
use uuid::Uuid;

/// The concentrator's list is read in pages of this many peers.
const PEERS_PAGE: u32 = 1000;

fn edge_config(app: &App) -> Result<&EdgeConfig> {
    app.edge.as_ref().ok_or_else(|| Error::Unavailable {
        detail: "this deployment has no edge concentrator (EDGE_ENDPOINT): routers are reached at their own addresses"
            .into(),
    })
}

fn private_key_aad(tenant: Uuid, router: Uuid) -> Vec<u8> {
    format!("edge-key:{tenant}:{router}").into_bytes()
}

/// The router's tunnel as stored: the peer and its sealed private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredPeer {
    #[serde(flatten)]
    peer: EdgePeer,
    private_key_sealed: String,
}

/// The concentrator's entry for a peer (platform: the concentrator serves every ISP).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PeerEntry {
    tenant_id: Uuid,
    router_id: Uuid,
    public_key: String,
    allowed_ip: String,
}

/// `POST /v1/routers/{id}/edge`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRouter {
    /// The API over TLS (8729, a certificate the router makes itself) rather than plain 8728
    /// (the tunnel already encrypts).
    #[serde(default)]
    pub api_ssl: bool,
}

async fn stored_peer(app: &App, tenant: Uuid, router: Uuid) -> Result<Option<StoredPeer>> {
    decoded(app.store.get_item(&keys::router_edge(tenant, router)).await.or_500()?)
}

/// Enrols a router at the edge: the next address of the ISP's blocks (a new block from the
/// platform when they are used up), a WireGuard key pair, and the router's host, port and TLS
/// moved to the tunnel, in one transaction (racing enrolments of the ISP's routers retry on the
/// ISP's edge item's version; no two routers, of one ISP or two, get one address). A router
/// already enrolled answers its peer.
pub async fn enrol(
    app: &App,
    actor: &Actor,
    router_id: Uuid,
    input: EnrolRouter,
    idem: &IdempotentRequest,
) -> Result<Outcome<EdgePeer>> {
    actor.require(Permission::NetworkWrite)?;
    let edge = edge_config(app)?.clone();
    for attempt in 0..30u32 {
        if attempt > 0 {
            // Racing enrolments of one ISP: apart, a little at random (the id's random bits).
            let jitter = (Uuid::now_v7().as_u128() % 20) as u64;
            tokio::time::sleep(std::time::Duration::from_millis(5 + jitter)).await;
        }
        let rec = visible_router(app, actor, router_id).await?;
        let tid = rec.router.tenant_id;
        if let Some(found) = stored_peer(app, tid, router_id).await? {
            if let Some(first) =
                kernel::idempotency::stored_answer(app, Owner::Tenant(tid), actor.user_id, idem).await?
            {
                return Ok(first);
            }
            return Ok(Outcome::Fresh(found.peer));
        }
        let tk = keys::tenant_edge(tid);
        let sk = keys::edge_blocks_sequence();
        let mut got = app.store.batch_get(&[&tk, &sk]).await.or_500()?.into_iter();
        let mut share: TenantEdge =
            decoded(got.next().flatten())?.unwrap_or(TenantEdge { tenant_id: tid, ..Default::default() });
        let issued = got.next().flatten().and_then(|i| store::number_attr(&i, "n")).unwrap_or(0);
        let mut tx = Tx::new();
        let address = match edge.pool.host(&share.blocks, share.hosts_used) {
            Some(a) => a,
            None => {
                // Block 0 is the concentrator's: the first block handed out is 1.
                let block = issued + 1;
                if block >= edge.pool.blocks() {
                    return Err(Error::Conflict {
                        code: "edge_pool_exhausted",
                        detail: format!("the edge pool {} has no block left", edge.pool.cidr()),
                        field: None,
                    });
                }
                tx.advance_sequence(&sk, issued, 1);
                share.blocks.push(block);
                edge.pool
                    .host(&share.blocks, share.hosts_used)
                    .ok_or_else(|| Error::Internal("edge block without hosts".into()))?
            }
        };
        let expected_share = share.version;
        share.hosts_used += 1;
        share.version += 1;
        let share_item = Store::encode(&tk, "EDGE", &share, Some(share.version)).or_500()?;
        if expected_share == 0 {
            tx.put_new(share_item, Conflict::Version);
        } else {
            tx.put_versioned(share_item, expected_share);
        }
        let now = app.now();
        let (private_key, public_key) = domain::edge::new_key_pair();
        let peer = EdgePeer {
            router_id,
            tenant_id: tid,
            address: address.to_string(),
            public_key: public_key.clone(),
            api_ssl: input.api_ssl,
            enrolled_at: now,
        };
        let stored = StoredPeer {
            peer: peer.clone(),
            private_key_sealed: app.secrets.seal(private_key.as_bytes(), &private_key_aad(tid, router_id)),
        };
        tx.put_new(
            Store::encode(&keys::router_edge(tid, router_id), "EDGE_PEER", &stored, None).or_500()?,
            Conflict::Exists,
        );
        let entry = PeerEntry { tenant_id: tid, router_id, public_key, allowed_ip: format!("{address}/32") };
        tx.put_new(
            Store::encode(&keys::edge_peer(&peer.address), "EDGE_PEER_ENTRY", &entry, None).or_500()?,
            Conflict::Exists,
        );
        let before = rec.router.clone();
        let mut after = before.clone();
        after.host = peer.address.clone();
        after.port = if input.api_ssl { 8729 } else { 8728 };
        after.tls = input.api_ssl;
        after.tls_insecure = input.api_ssl;
        after.version += 1;
        after.updated_at = now;
        let new_rec = RouterRecord { router: after, ..rec.clone() };
        stage_router_update(&mut tx, actor, &rec, &new_rec, Default::default(), before.version, now)?;
        tx.put_audit(&audit(
            actor,
            Some(tid),
            Audited {
                action: "router.edge_enrolled",
                entity: "router",
                id: router_id.to_string(),
                before: None,
                after: Some(serde_json::to_value(&peer).map_err(|e| Error::Internal(e.to_string()))?),
            },
            now,
        ));
        tx.put_idempotency(Owner::Tenant(tid), &idem.key_hash(actor.user_id), &record(idem, 201, &peer, app)?);
        match app.store.commit(tx).await {
            Ok(()) => return Ok(Outcome::Fresh(peer)),
            Err(StoreError::Conflict(Conflict::Idempotency)) => {
                return replay(app, Owner::Tenant(tid), actor.user_id, idem).await;
            }
            // Another enrolment of this ISP (or this router) or the platform's sequence moved: again.
            Err(StoreError::Conflict(Conflict::Version | Conflict::Exists)) => continue,
            Err(e) => return Err(router_conflict(e)),
        }
    }
    Err(Error::Unavailable { detail: "the edge's address plan stayed busy; try again".into() })
}

/// `GET /v1/routers/{id}/onboarding`: the router's RouterOS script (its tunnel key and its API
/// password: the right to change the network; every download is audited).
pub async fn onboarding(app: &App, actor: &Actor, router_id: Uuid) -> Result<(String, String)> {
    actor.require(Permission::NetworkWrite)?;
    let edge = edge_config(app)?;
    let tid = actor.tenant()?;
    // The three reads at once; nothing is shown unless the router may be seen.
    let (rec, stored, tenant) =
        futures::try_join!(visible_router(app, actor, router_id), stored_peer(app, tid, router_id), async {
            app.store.get::<domain::tenant::Tenant>(&keys::tenant(tid, None)).await.or_500()
        },)?;
    let stored = stored.ok_or_else(|| Error::Conflict {
        code: "not_enrolled",
        detail: "the router is not enrolled at the edge: POST /v1/routers/{id}/edge first".into(),
        field: None,
    })?;
    let tenant = tenant.ok_or_else(|| Error::not_found("ISP"))?;
    let private_key = kernel::support::open_text(
        &app.secrets,
        &stored.private_key_sealed,
        &private_key_aad(tid, router_id),
        "edge key",
    )?;
    let creds = crate::routers::open_credentials(app, rec)?;
    let script = onboarding_script(&Onboarding {
        isp: &tenant.name,
        router_name: &creds.router.name,
        edge,
        peer: &stored.peer,
        private_key: &private_key,
        api_username: &creds.router.username,
        api_password: &creds.password,
    });
    let now = app.now();
    let mut tx = Tx::new();
    tx.put_audit(&audit(
        actor,
        Some(tid),
        Audited {
            action: "router.onboarding_downloaded",
            entity: "router",
            id: router_id.to_string(),
            before: None,
            after: None,
        },
        now,
    ));
    app.store.commit(tx).await.or_500()?;
    let stem: String = domain::export::file_stem(&creds.router.name);
    Ok((format!("{stem}-onboarding.rsc"), script))
}

/// `GET /v1/edge/peers`: every router enrolled at the edge, for the concentrator's sync agent,
/// which presents `EDGE_SYNC_TOKEN` (compared in constant time). One Query per 1,000 peers.
pub async fn concentrator_peers(app: &App, token: Option<&str>) -> Result<Vec<ConcentratorPeer>> {
    kernel::support::check_platform_token(&app.edge_sync_token, token, "concentrator")?;
    edge_config(app)?;
    let q = Query::table(keys::EDGE_PEERS_PK.to_string()).limit(PEERS_PAGE);
    let entries: Vec<PeerEntry> = app.store.query_all(q, 1_000_000).await.or_500()?;
    Ok(entries.into_iter().map(|e| ConcentratorPeer { public_key: e.public_key, allowed_ip: e.allowed_ip }).collect())
}

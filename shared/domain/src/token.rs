//! Access tokens: HS256 JWTs, 15 minutes. Claims carry the tenant, role, operator scope and the
//! expiry of the platform subscription chain, so a request needs no database read to be authorised.

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::role::Role;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tid: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rid: Option<Uuid>,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// Expiry (epoch seconds) of the platform reseller subscription this identity depends on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sxp: Option<i64>,
    /// The impersonating person.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub act: Option<Uuid>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

pub const ISSUER: &str = "isp-billing";

#[derive(Clone)]
pub struct TokenKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret) }
    }

    pub fn issue(&self, actor: &Actor, subscription_expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
        let claims = Claims {
            sub: actor.user_id,
            tid: actor.tenant_id,
            rid: actor.reseller_id,
            role: actor.role,
            scope: actor.scope.clone(),
            sxp: subscription_expires_at.map(|t| t.timestamp()),
            act: actor.impersonator_id,
            iat: now.timestamp(),
            exp: (now + crate::auth::ACCESS_TOKEN_TTL).timestamp(),
            iss: ISSUER.into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc).expect("HS256 signing cannot fail")
    }

    /// Verifies signature, issuer and expiry (against `now`, so tests can move the clock), then
    /// the subscription chain: an ISP's staff are refused once their platform reseller has expired.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Actor> {
        self.verify_until(token, now).map(|(actor, _)| actor)
    }

    /// As [`TokenKeys::verify`], with the token's expiry (a live connection lasts no longer).
    pub fn verify_until(&self, token: &str, now: DateTime<Utc>) -> Result<(Actor, DateTime<Utc>)> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false; // checked below against the injected clock
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = decode::<Claims>(token, &self.dec, &v).map_err(|_| Error::Unauthorized {
            code: "invalid_token",
            detail: "the access token is not valid".into(),
        })?;
        let c = data.claims;
        if c.exp <= now.timestamp() {
            return Err(Error::Unauthorized { code: "token_expired", detail: "the access token has expired".into() });
        }
        if c.tid.is_some() && c.sxp.is_some_and(|sxp| sxp <= now.timestamp()) {
            return Err(Error::Forbidden {
                code: "subscription_expired",
                detail: "the platform subscription of this ISP has expired".into(),
            });
        }
        let expires_at = DateTime::from_timestamp(c.exp, 0).unwrap_or(now);
        let actor = Actor {
            user_id: c.sub,
            tenant_id: c.tid,
            reseller_id: c.rid,
            role: c.role,
            scope: c.scope,
            impersonator_id: c.act,
            key: None,
        };
        Ok((actor, expires_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// The tests' own clock: a fixed instant, never the real date.
    fn test_now() -> chrono::DateTime<chrono::Utc> {
        "2026-06-15T06:00:00Z".parse().expect("a UTC time")
    }

    fn staff(tid: Uuid) -> Actor {
        Actor {
            user_id: Uuid::now_v7(),
            tenant_id: Some(tid),
            reseller_id: None,
            role: Role::Admin,
            scope: None,
            impersonator_id: None,
            key: None,
        }
    }

    #[test]
    fn round_trip_expiry_and_foreign_keys() {
        let keys = TokenKeys::new(b"k1");
        let now = test_now();
        let a = staff(Uuid::now_v7());
        let t = keys.issue(&a, None, now);
        assert_eq!(keys.verify(&t, now).unwrap(), a);
        assert!(matches!(
            keys.verify(&t, now + Duration::minutes(15)),
            Err(Error::Unauthorized { code: "token_expired", .. })
        ));
        assert!(matches!(
            TokenKeys::new(b"k2").verify(&t, now),
            Err(Error::Unauthorized { code: "invalid_token", .. })
        ));
        assert!(matches!(keys.verify("not.a.jwt", now), Err(Error::Unauthorized { .. })));
    }

    #[test]
    fn expired_subscription_chain_is_forbidden_for_isp_staff_only() {
        let keys = TokenKeys::new(b"k1");
        let now = test_now();
        let expired = now - Duration::seconds(1);
        let t = keys.issue(&staff(Uuid::now_v7()), Some(expired), now);
        assert!(matches!(keys.verify(&t, now), Err(Error::Forbidden { code: "subscription_expired", .. })));
        let reseller = Actor { tenant_id: None, role: Role::SuperAdmin, ..staff(Uuid::now_v7()) };
        let t = keys.issue(&reseller, Some(expired), now);
        assert!(keys.verify(&t, now).is_ok(), "the reseller itself still works");
    }
}

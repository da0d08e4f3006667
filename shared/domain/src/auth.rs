//! Login rules: password policy, Argon2id hashing, the failed-login lockout.

use crate::Timestamp;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Duration;

pub const MAX_FAILED_LOGINS: u32 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
pub const PASSWORD_RESET_TTL: Duration = Duration::minutes(30);

/// A password must be 10-128 characters and not all one kind of character.
pub fn check_password_policy(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 10 {
        return Err("must be at least 10 characters");
    }
    if n > 128 {
        return Err("must be at most 128 characters");
    }
    let has_letter = password.chars().any(char::is_alphabetic);
    let has_other = password.chars().any(|c| !c.is_alphabetic());
    if !(has_letter && has_other) {
        return Err("must contain letters and at least one digit or symbol");
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    // OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): affordable in a 512 MB Lambda.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing cannot fail with valid params")
        .to_string()
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Verifies against a fixed hash so a login for an unknown e-mail costs the same time as a real one.
pub fn burn_password_check(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("dummy-password-never-matches-1"));
    let _ = verify_password(password, hash);
}

/// Failed-login state of one e-mail address (kept whether or not the address has an account, so the
/// answers never reveal which addresses exist).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginGuard {
    pub failed: u32,
    pub locked_until: Option<Timestamp>,
}

impl LoginGuard {
    pub fn locked_for(&self, now: Timestamp) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// State after one more failure: the fifth failure in a row locks for 15 minutes.
    pub fn after_failure(&self, now: Timestamp) -> LoginGuard {
        // A lock that has run out starts a fresh count.
        let base = if self.locked_until.is_some_and(|u| u <= now) { 0 } else { self.failed };
        let failed = base + 1;
        if failed >= MAX_FAILED_LOGINS {
            LoginGuard { failed: 0, locked_until: Some(now + LOCKOUT) }
        } else {
            LoginGuard { failed, locked_until: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> Timestamp {
        chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn fifth_failure_locks_for_fifteen_minutes() {
        let mut g = LoginGuard::default();
        for _ in 0..4 {
            g = g.after_failure(t0());
            assert_eq!(g.locked_for(t0()), None);
        }
        g = g.after_failure(t0());
        assert_eq!(g.locked_for(t0()), Some(LOCKOUT));
        assert_eq!(g.locked_for(t0() + LOCKOUT), None);
        let after = g.after_failure(t0() + LOCKOUT + Duration::seconds(1));
        assert_eq!(after.failed, 1, "an expired lock starts a new count");
    }

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short1").is_err());
        assert!(check_password_policy("onlyletterslong").is_err());
        assert!(check_password_policy("1234567890123").is_err());
        assert!(check_password_policy("correct horse 1").is_ok());
    }

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("s3cret-password");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("s3cret-password", &h));
        assert!(!verify_password("s3cret-passwore", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}

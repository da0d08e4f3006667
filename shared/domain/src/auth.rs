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

/// Login attempts of one e-mail address (kept whether or not the address has an account, so the
/// answers never reveal which addresses exist). An attempt is counted atomically *before* its
/// password is checked, so however many guesses arrive at once, at most [`MAX_FAILED_LOGINS`] are
/// ever checked; a success clears the count.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoginGuard {
    /// Attempts counted since the last success.
    #[serde(default)]
    pub failed: u32,
    /// When the latest counted attempt began.
    #[serde(default)]
    pub last_at: Option<Timestamp>,
}

impl LoginGuard {
    /// How long the address stays locked: its attempts are used up, and the last one began less
    /// than [`LOCKOUT`] ago.
    pub fn locked_for(&self, now: Timestamp) -> Option<Duration> {
        if self.failed < MAX_FAILED_LOGINS {
            return None;
        }
        let until = self.last_at? + LOCKOUT;
        (until > now).then(|| until - now)
    }

    /// Whether the attempts are used up but their lock has run out, so counting starts afresh.
    pub fn lock_ran_out(&self, now: Timestamp) -> bool {
        self.failed >= MAX_FAILED_LOGINS && self.locked_for(now).is_none()
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
    fn used_up_attempts_lock_for_fifteen_minutes_from_the_last() {
        let at = |failed, last: Timestamp| LoginGuard { failed, last_at: Some(last) };
        assert_eq!(LoginGuard::default().locked_for(t0()), None);
        assert_eq!(at(MAX_FAILED_LOGINS - 1, t0()).locked_for(t0()), None, "one attempt is left");
        assert_eq!(at(MAX_FAILED_LOGINS, t0()).locked_for(t0()), Some(LOCKOUT));
        let later = t0() + Duration::minutes(10);
        assert_eq!(at(MAX_FAILED_LOGINS, t0()).locked_for(later), Some(Duration::minutes(5)));
        assert!(!at(MAX_FAILED_LOGINS, t0()).lock_ran_out(later));
        assert_eq!(at(MAX_FAILED_LOGINS, t0()).locked_for(t0() + LOCKOUT), None);
        assert!(at(MAX_FAILED_LOGINS, t0()).lock_ran_out(t0() + LOCKOUT), "a new count may start");
        assert!(!at(2, t0()).lock_ran_out(t0() + LOCKOUT), "an unused count goes on");
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

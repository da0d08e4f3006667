//! Which ISPs a frequent job visits. Releasing due messages (every 5 minutes) and expiring
//! vouchers (every 15) gave every active ISP a share each run, something due or not: at 1,000
//! small ISPs that was most of what an idle ISP cost. Whatever puts such work on a time (a
//! message scheduled, claimed or retried, a voucher's validity started) also marks its ISP in
//! the interval that time falls in, and a run visits the ISPs marked in its own interval and
//! the two before it: every marked ISP is visited at least twice after its work comes due, so a
//! mark whose work was not yet readable at the first visit (written a moment later, or not yet
//! in the index) is caught by the second. Marks expire by themselves; nothing deletes them.
//!
//! The first run of each UTC day visits every ISP as before: it catches work from before the
//! marks existed and any mark lost to a crash between the two writes.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// Work a frequent job fans out only to ISPs that have some due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueWork {
    /// Messages waiting for their time: quiet hours, a retry's backoff, the send rate, a send's
    /// lease (`job-message-release`).
    Messages,
    /// Active vouchers whose validity ends (`job-voucher-expiry`).
    Vouchers,
}

impl DueWork {
    pub const fn as_str(self) -> &'static str {
        match self {
            DueWork::Messages => "MSG",
            DueWork::Vouchers => "VOUCHER",
        }
    }

    /// How often its job runs (the template's schedule).
    pub fn interval(self) -> TimeDelta {
        match self {
            DueWork::Messages => TimeDelta::minutes(5),
            DueWork::Vouchers => TimeDelta::minutes(15),
        }
    }

    /// The interval a mark for work due at `due`, written at `now`, goes in: the one holding the
    /// due time, or for work already due the one holding now (a run that has passed reads no
    /// interval after its own).
    pub fn bucket(self, due: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
        let at = due.max(now);
        at.duration_trunc(self.interval()).unwrap_or(at)
    }

    /// The intervals a run at `run_at` reads: from two before its own through its own
    /// (inclusive bounds).
    pub fn window(self, run_at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let own = run_at.duration_trunc(self.interval()).unwrap_or(run_at);
        (own - self.interval() * 2, own)
    }

    /// Whether a run at `run_at` visits every ISP (the first of the UTC day).
    pub fn visits_all(self, run_at: DateTime<Utc>) -> bool {
        run_at - run_at.duration_trunc(TimeDelta::days(1)).unwrap_or(run_at) < self.interval()
    }

    /// How long a mark is kept (its TTL): well past the last run that reads it.
    pub fn keep(self) -> TimeDelta {
        self.interval() * 3 + TimeDelta::hours(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn marked_work_is_visited_twice_after_it_comes_due() {
        let w = DueWork::Messages;
        for (due, now) in [
            ("2026-06-16T03:00:00Z", "2026-06-15T17:00:00Z"),
            ("2026-06-16T03:04:59Z", "2026-06-15T17:00:00Z"),
            ("2026-06-15T16:00:00Z", "2026-06-15T17:02:30Z"),
            ("2026-06-15T17:04:59.999Z", "2026-06-15T17:04:59.999Z"),
        ] {
            let (due, now) = (at(due), at(now));
            let bucket = w.bucket(due, now);
            let ready = due.max(now);
            // `rate(5 minutes)` runs at any offset in the interval: count the runs after the work
            // is due whose window holds the mark.
            for offset in [0, 17, 150, 299] {
                let mut run = at("2026-06-15T00:00:00Z") + TimeDelta::seconds(offset);
                let mut visits = 0;
                while run < at("2026-06-17T00:00:00Z") {
                    let (lo, hi) = w.window(run);
                    if run >= ready && lo <= bucket && bucket <= hi {
                        visits += 1;
                    }
                    run += w.interval();
                }
                assert!(visits >= 2, "due {due} written {now}, runs at +{offset}s: {visits} visits");
            }
        }
    }

    #[test]
    fn a_run_reads_its_interval_and_the_two_before() {
        let w = DueWork::Vouchers;
        let (lo, hi) = w.window(at("2026-06-15T10:16:40Z"));
        assert_eq!((lo, hi), (at("2026-06-15T09:45:00Z"), at("2026-06-15T10:15:00Z")));
        assert_eq!(w.bucket(at("2026-06-15T10:29:59Z"), at("2026-06-15T10:00:00Z")), at("2026-06-15T10:15:00Z"));
        // Work already due goes in now's interval, not one a run has passed.
        assert_eq!(w.bucket(at("2026-06-14T10:29:59Z"), at("2026-06-15T10:31:00Z")), at("2026-06-15T10:30:00Z"));
    }

    #[test]
    fn the_first_run_of_the_day_visits_everyone() {
        assert!(DueWork::Messages.visits_all(at("2026-06-15T00:00:00Z")));
        assert!(DueWork::Messages.visits_all(at("2026-06-15T00:04:59Z")));
        assert!(!DueWork::Messages.visits_all(at("2026-06-15T00:05:00Z")));
        assert!(DueWork::Vouchers.visits_all(at("2026-06-15T00:14:00Z")));
        assert!(!DueWork::Vouchers.visits_all(at("2026-06-15T23:59:00Z")));
        // Runs 5 minutes apart at any offset: exactly one a day visits everyone.
        for offset in [0, 17, 299] {
            let first = at("2026-06-15T00:00:00Z") + TimeDelta::seconds(offset);
            let all =
                (0..288).filter(|i| DueWork::Messages.visits_all(first + DueWork::Messages.interval() * *i)).count();
            assert_eq!(all, 1);
        }
    }
}

//! EventBridge schedule expressions, so the local runner starts each job when AWS would:
//! `rate(N unit)` and `cron(minutes hours day-of-month month day-of-week year)` in UTC. Supported in
//! cron fields: `*`, `?`, numbers, lists (`1,15`), ranges (`1-5`), steps (`*/10`, `5/15`) and the
//! month and weekday names; `L`, `W` and `#` are not (such a job runs on demand only).

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate(std::time::Duration),
    Cron(Cron),
}

/// The allowed values of each field (weekdays as chrono counts them from Sunday = 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days: Option<Vec<u32>>,
    months: Vec<u32>,
    weekdays: Option<Vec<u32>>,
    years: Option<Vec<u32>>,
}

impl Schedule {
    pub fn parse(expr: &str) -> Option<Schedule> {
        if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
            return rate(inner).map(Schedule::Rate);
        }
        let inner = expr.strip_prefix("cron(")?.strip_suffix(')')?;
        Cron::parse(inner).map(Schedule::Cron)
    }

    /// When the job runs next after `now`.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(every) => Some(now + Duration::from_std(*every).ok()?),
            Schedule::Cron(c) => c.next_after(now),
        }
    }
}

fn rate(inner: &str) -> Option<std::time::Duration> {
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        _ => return None,
    };
    (n > 0).then(|| std::time::Duration::from_secs(n * secs))
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// One field: `None` for `*`/`?` (any), else the sorted values within `lo..=hi`.
fn field(text: &str, lo: u32, hi: u32, names: &[&str], first_name: u32) -> Option<Option<Vec<u32>>> {
    if text == "*" || text == "?" {
        return Some(None);
    }
    let value = |s: &str| -> Option<u32> {
        let upper = s.to_ascii_uppercase();
        match names.iter().position(|n| *n == upper) {
            Some(i) => Some(first_name + i as u32),
            None => s.parse().ok().filter(|v| (lo..=hi).contains(v)),
        }
    };
    let mut out = vec![];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (part, 1),
        };
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, hi),
                None => (value(r)?, value(r)?),
            },
        };
        if from > to {
            return None;
        }
        out.extend((from..=to).step_by(step as usize));
    }
    out.sort_unstable();
    out.dedup();
    Some(Some(out))
}

impl Cron {
    pub fn parse(inner: &str) -> Option<Cron> {
        let f: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = f.as_slice() else { return None };
        // EventBridge wants one of day-of-month and day-of-week to be `?`.
        if *dom != "?" && *dow != "?" {
            return None;
        }
        let weekdays = field(dow, 1, 7, &WEEKDAYS, 1)?.map(|d| d.into_iter().map(|v| v - 1).collect());
        let days = field(dom, 1, 31, &[], 0)?;
        Some(Cron {
            minutes: field(min, 0, 59, &[], 0)?.unwrap_or_else(|| (0..60).collect()),
            hours: field(hour, 0, 23, &[], 0)?.unwrap_or_else(|| (0..24).collect()),
            days,
            months: field(month, 1, 12, &MONTHS, 1)?.unwrap_or_else(|| (1..=12).collect()),
            weekdays,
            years: field(year, 1970, 2199, &[], 0)?,
        })
    }

    fn day_matches(&self, t: DateTime<Utc>) -> bool {
        self.months.contains(&t.month())
            && self.years.as_ref().is_none_or(|y| y.contains(&(t.year() as u32)))
            && self.days.as_ref().is_none_or(|d| d.contains(&t.day()))
            && self.weekdays.as_ref().is_none_or(|w| w.contains(&t.weekday().num_days_from_sunday()))
    }

    /// The first matching minute after `now` (within five years, else never).
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = now.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let end = now + Duration::days(5 * 366);
        while t < end {
            if !self.day_matches(t) {
                t = (t + Duration::days(1)).duration_trunc(Duration::days(1)).ok()?;
                continue;
            }
            if !self.hours.contains(&t.hour()) {
                t = (t + Duration::hours(1)).duration_trunc(Duration::hours(1)).ok()?;
                continue;
            }
            if self.minutes.contains(&t.minute()) {
                return Some(t);
            }
            t += Duration::minutes(1);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn rates() {
        assert_eq!(Schedule::parse("rate(5 minutes)"), Some(Schedule::Rate(std::time::Duration::from_secs(300))));
        assert_eq!(Schedule::parse("rate(1 day)"), Some(Schedule::Rate(std::time::Duration::from_secs(86_400))));
        assert_eq!(Schedule::parse("rate(0 hours)"), None);
        assert_eq!(Schedule::parse("rate(2 weeks)"), None);
    }

    #[test]
    fn the_daily_billing_run_and_dunning() {
        let run = Schedule::parse("cron(5 0 * * ? *)").unwrap();
        assert_eq!(run.next_after(at("2026-12-31T23:59:30Z")), Some(at("2027-01-01T00:05:00Z")));
        assert_eq!(run.next_after(at("2027-01-01T00:05:00Z")), Some(at("2027-01-02T00:05:00Z")), "strictly after");
        assert_eq!(run.next_after(at("2028-02-28T12:00:00Z")), Some(at("2028-02-29T00:05:00Z")));
        let dunning = Schedule::parse("cron(35 0 * * ? *)").unwrap();
        assert_eq!(dunning.next_after(at("2027-01-01T00:05:00Z")), Some(at("2027-01-01T00:35:00Z")));
    }

    #[test]
    fn lists_ranges_steps_and_names() {
        // Every 15 minutes from 5 past, 08:00-09:59, on weekdays.
        let c = Schedule::parse("cron(5/15 8-9 ? * MON-FRI *)").unwrap();
        // 2027-01-02 is a Saturday.
        assert_eq!(c.next_after(at("2027-01-01T09:51:00Z")), Some(at("2027-01-04T08:05:00Z")));
        assert_eq!(c.next_after(at("2027-01-04T08:05:00Z")), Some(at("2027-01-04T08:20:00Z")));
        let c = Schedule::parse("cron(0 12 1,15 JAN,JUL ? 2027)").unwrap();
        assert_eq!(c.next_after(at("2027-01-01T12:00:00Z")), Some(at("2027-01-15T12:00:00Z")));
        assert_eq!(c.next_after(at("2027-01-15T12:00:00Z")), Some(at("2027-07-01T12:00:00Z")));
        assert_eq!(c.next_after(at("2027-07-15T12:00:00Z")), None, "only in 2027");
        // 31st only in months that have one.
        let c = Schedule::parse("cron(0 0 31 * ? *)").unwrap();
        assert_eq!(c.next_after(at("2027-04-01T00:00:00Z")), Some(at("2027-05-31T00:00:00Z")));
    }

    #[test]
    fn what_is_refused() {
        for bad in [
            "cron(5 0 * * * *)",       // both day fields set
            "cron(5 0 L * ? *)",       // last day: not supported
            "cron(5 0 ? * 2#1 *)",     // nth weekday: not supported
            "cron(60 0 * * ? *)",      // minute out of range
            "cron(5 0 * * ?)",         // five fields
            "cron(*/0 0 * * ? *)",     // zero step
            "at(2027-01-01T00:00:00)", // one-time schedules are not jobs
        ] {
            assert_eq!(Schedule::parse(bad), None, "{bad}");
        }
    }
}

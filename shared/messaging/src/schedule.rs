//! When a message may go: not during the ISP's quiet hours in its own time zone (a reminder due
//! at 02:00 goes when the quiet hours end), unless it is urgent (a code someone is waiting for).
//! Quiet hours may cross midnight (22:00-09:00); a local time that a daylight-saving change
//! skips or repeats is resolved to the earliest real instant.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A daily window in the ISP's local time during which subscribers are not messaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuietHours {
    #[schema(value_type = String, example = "22:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "09:00")]
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether local time `t` falls inside (start inclusive, end exclusive).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start == self.end {
            false
        } else if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The earliest instant at or after `now` when a message may be sent.
pub fn send_at(now: DateTime<Utc>, tz: Tz, quiet: Option<QuietHours>, urgent: bool) -> DateTime<Utc> {
    let Some(q) = quiet.filter(|_| !urgent) else { return now };
    let local = now.with_timezone(&tz);
    if !q.contains(local.time()) {
        return now;
    }
    // The end of this quiet spell: today's end if it is still ahead, else tomorrow's.
    let mut day = local.date_naive();
    if local.time() >= q.end {
        day += Duration::days(1);
    }
    let end = day.and_time(q.end);
    let resolved = tz.from_local_datetime(&end).earliest().or_else(|| {
        // The end falls in a skipped hour (clocks moved forward): an hour later exists.
        tz.from_local_datetime(&(end + Duration::hours(1))).earliest()
    });
    resolved.map(|t| t.with_timezone(&Utc)).unwrap_or(now).max(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Option<QuietHours> {
        Some(QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        })
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_reminder_due_at_two_in_dhaka_goes_at_nine_and_a_code_goes_at_once() {
        let dhaka: Tz = "Asia/Dhaka".parse().unwrap();
        // 02:00 in Dhaka (UTC+6) is 20:00 UTC the day before.
        let now = utc("2026-12-04T20:00:00Z");
        assert_eq!(send_at(now, dhaka, quiet(), false), utc("2026-12-05T03:00:00Z"));
        assert_eq!(send_at(now, dhaka, quiet(), true), now);
        // 23:30 Dhaka: the next morning.
        assert_eq!(send_at(utc("2026-12-05T17:30:00Z"), dhaka, quiet(), false), utc("2026-12-06T03:00:00Z"));
        // 12:00 Dhaka: now.
        let noon = utc("2026-12-05T06:00:00Z");
        assert_eq!(send_at(noon, dhaka, quiet(), false), noon);
        assert_eq!(send_at(now, dhaka, None, false), now);
    }

    #[test]
    fn a_window_within_one_day_and_daylight_saving_are_respected() {
        let nairobi: Tz = "Africa/Nairobi".parse().unwrap();
        let lunch = Some(QuietHours {
            start: NaiveTime::from_hms_opt(13, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
        });
        // 13:30 in Nairobi (UTC+3).
        assert_eq!(send_at(utc("2026-12-05T10:30:00Z"), nairobi, lunch, false), utc("2026-12-05T11:00:00Z"));
        assert_eq!(send_at(utc("2026-12-05T11:00:00Z"), nairobi, lunch, false), utc("2026-12-05T11:00:00Z"));
        // Quiet until 02:30 on the night New York's clocks jump from 02:00 to 03:00.
        let ny: Tz = "America/New_York".parse().unwrap();
        let night = Some(QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
        });
        // 2026-03-08 01:00 EST = 06:00 UTC; 02:30 does not exist: 03:30 EDT = 07:30 UTC.
        assert_eq!(send_at(utc("2026-03-08T06:00:00Z"), ny, night, false), utc("2026-03-08T07:30:00Z"));
    }
}

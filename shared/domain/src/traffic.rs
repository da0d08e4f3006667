//! Traffic: bytes up and down per subscription per local day, counted from the routers' session
//! counters (`/interface` `<pppoe-NAME>` for PPPoE, `/ip/hotspot/active` for hotspot) that the
//! health sweep reads every 5 minutes.
//!
//! A router keeps a cursor: each online session's counters at the last sample, and today's totals
//! per subscription and for the router. A sample adds what each session's counters grew by since
//! the last one; a session not seen before (a login or a reconnect since the last sample) adds its
//! counters in full; counters that went down (a reset) count from zero. The very first sample of a
//! router only takes the counters as they are (the bytes before it belong to days nobody measured).
//! Bytes a session moved between its last sample and its end are lost (polling cannot see them;
//! RADIUS accounting can).
//!
//! Totals are written out as day records at most once an hour per subscription (and when the day
//! turns), so a sweep writes the cursor and few day records; a day record is always the cursor's
//! whole total (a put, not an addition), so a sweep that runs twice or fails half-way never counts
//! twice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Days of history kept per subscription (day records expire after this).
pub const KEEP_DAYS: i64 = 90;

/// Days a router's day totals are kept (the ISP's usage over the year).
pub const ROUTER_KEEP_DAYS: i64 = 400;

/// When a day record kept `days` expires: the end of the day, `days` later.
pub fn expires_at(day: NaiveDate, days: i64) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + chrono::Duration::days(days + 1)
}

/// Sessions and day totals per stored part of a router's cursor (~150 bytes each, far below the
/// 400 KB an item may hold).
pub const ENTRIES_PER_PART: usize = 1000;

/// One online session's counters as the router reports them. Counts are the subscriber's: `up`
/// is what the router received from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCounters {
    /// The router's id of this session (`p*1A` for PPP, `h*3` for hotspot): a reconnect is a new one.
    pub key: String,
    /// PPP name or hotspot user.
    pub name: String,
    pub up: u64,
    pub down: u64,
}

/// The subscription a session's name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    #[serde(rename = "s")]
    pub subscription_id: Uuid,
    #[serde(rename = "c")]
    pub customer_id: Uuid,
}

/// What the cursor remembers of one session (short field names: a cursor part holds a thousand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMark {
    #[serde(rename = "k")]
    pub key: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "u")]
    pub up: u64,
    #[serde(rename = "d")]
    pub down: u64,
    /// None: not a subscription's (a voucher, an account made by hand).
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// A day's running total, and when it was last written out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    #[serde(rename = "day")]
    pub day: NaiveDate,
    #[serde(rename = "u")]
    pub up: u64,
    #[serde(rename = "d")]
    pub down: u64,
    /// Changed since it was last written out.
    #[serde(rename = "w", default)]
    pub unwritten: bool,
    /// The hour (Unix hours) it was last written out in.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub written_hour: Option<i64>,
}

impl DayTotal {
    fn new(day: NaiveDate) -> Self {
        DayTotal { day, up: 0, down: 0, unwritten: false, written_hour: None }
    }

    fn add(&mut self, up: u64, down: u64) {
        if up > 0 || down > 0 {
            self.up = self.up.saturating_add(up);
            self.down = self.down.saturating_add(down);
            self.unwritten = true;
        }
    }

    /// Written out now if it changed and was not written out this hour.
    fn due(&self, hour: i64) -> bool {
        self.unwritten && self.written_hour != Some(hour)
    }

    fn written(&mut self, hour: i64) {
        self.unwritten = false;
        self.written_hour = Some(hour);
    }
}

/// A subscription's total today on this router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionDay {
    #[serde(rename = "o")]
    pub owner: Owner,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "t")]
    pub total: DayTotal,
}

/// A router's cursor: the last sample and today's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// None: never sampled (the next sample is a baseline).
    pub sampled_at: Option<DateTime<Utc>>,
    /// The router's own total today.
    pub router: Option<DayTotal>,
    pub sessions: BTreeMap<String, SessionMark>,
    pub days: BTreeMap<Uuid, SubscriptionDay>,
}

/// One stored part of a cursor; part 0 carries the header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorPart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<CursorHeader>,
    #[serde(default)]
    pub sessions: Vec<SessionMark>,
    #[serde(default)]
    pub days: Vec<SubscriptionDay>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorHeader {
    pub sampled_at: DateTime<Utc>,
    /// How many parts the cursor was written in (parts beyond are left-overs, ignored).
    pub parts: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<DayTotal>,
}

/// A total to write out as a day record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRecord {
    /// None: the router's own total.
    pub owner: Option<Owner>,
    pub name: String,
    pub day: NaiveDate,
    pub up: u64,
    pub down: u64,
}

/// What a sample changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advance {
    /// Day records to write (before the cursor).
    pub records: Vec<DayRecord>,
    /// Bytes counted by this sample.
    pub up: u64,
    pub down: u64,
    /// Sessions counted in full (logins or reconnects since the last sample).
    pub new_sessions: usize,
    /// Sessions whose counters went down.
    pub resets: usize,
}

/// A subscription's traffic on one local day (stored as a day record; what the portal charts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionTrafficDay {
    pub subscription_id: Uuid,
    pub customer_id: Uuid,
    /// The PPPoE or hotspot name the router counted.
    pub username: String,
    pub router_id: Uuid,
    pub date: NaiveDate,
    /// Sent by the subscriber.
    pub up_bytes: u64,
    /// Received by the subscriber.
    pub down_bytes: u64,
    pub total_bytes: u64,
}

/// A router's traffic on one local day (its subscribers' sum).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RouterTrafficDay {
    pub router_id: Uuid,
    pub date: NaiveDate,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
}

/// The day records an advance wrote out, as stored.
pub enum Stored {
    Subscription(SubscriptionTrafficDay),
    Router(RouterTrafficDay),
}

impl DayRecord {
    pub fn stored(&self, router_id: Uuid) -> Stored {
        let total_bytes = self.up.saturating_add(self.down);
        match self.owner {
            Some(o) => Stored::Subscription(SubscriptionTrafficDay {
                subscription_id: o.subscription_id,
                customer_id: o.customer_id,
                username: self.name.clone(),
                router_id,
                date: self.day,
                up_bytes: self.up,
                down_bytes: self.down,
                total_bytes,
            }),
            None => Stored::Router(RouterTrafficDay {
                router_id,
                date: self.day,
                up_bytes: self.up,
                down_bytes: self.down,
                total_bytes,
            }),
        }
    }
}

/// A day's figures in a history or report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrafficFigures {
    pub date: NaiveDate,
    pub up_bytes: u64,
    pub down_bytes: u64,
    pub total_bytes: u64,
}

impl TrafficFigures {
    pub fn zero(date: NaiveDate) -> Self {
        TrafficFigures { date, up_bytes: 0, down_bytes: 0, total_bytes: 0 }
    }

    pub fn add(&mut self, up: u64, down: u64) {
        self.up_bytes = self.up_bytes.saturating_add(up);
        self.down_bytes = self.down_bytes.saturating_add(down);
        self.total_bytes = self.up_bytes.saturating_add(self.down_bytes);
    }
}

/// Every date of `from..=to` with its figures (zero where nothing was counted), oldest first.
pub fn series(
    from: NaiveDate,
    to: NaiveDate,
    counted: impl IntoIterator<Item = (NaiveDate, u64, u64)>,
) -> Vec<TrafficFigures> {
    let mut days: BTreeMap<NaiveDate, TrafficFigures> =
        from.iter_days().take_while(|d| *d <= to).map(|d| (d, TrafficFigures::zero(d))).collect();
    for (d, up, down) in counted {
        if let Some(f) = days.get_mut(&d) {
            f.add(up, down);
        }
    }
    days.into_values().collect()
}

/// The local dates a history covers: `from..=to` (default: the 30 days up to today), at most
/// `longest` days, and not before the days kept (`kept` days up to today).
pub fn window(
    today: NaiveDate,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    longest: i64,
    kept: i64,
) -> crate::Result<(NaiveDate, NaiveDate)> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to - chrono::Duration::days(29));
    if from > to {
        return Err(crate::Error::field("from", "must be on or before `to`"));
    }
    if (to - from).num_days() >= longest {
        return Err(crate::Error::field("from", format!("at most {longest} days before `to`")));
    }
    if from <= today - chrono::Duration::days(kept) {
        return Err(crate::Error::field("from", format!("must be within the last {kept} days")));
    }
    Ok((from, to))
}

fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// Small stable hash spreading keys over the parts.
fn part_of(key: &str, parts: usize) -> usize {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (h % parts as u64) as usize
}

impl Cursor {
    /// Reassembles a cursor from its stored parts (`(index, part)`); parts past the header's count
    /// are left-overs of a larger cursor and ignored. No header: never sampled.
    pub fn join(parts: Vec<(usize, CursorPart)>) -> Cursor {
        let Some(header) = parts.iter().find(|(i, _)| *i == 0).and_then(|(_, p)| p.header.clone()) else {
            return Cursor::default();
        };
        let mut c = Cursor { sampled_at: Some(header.sampled_at), router: header.router, ..Cursor::default() };
        for (_, p) in parts.into_iter().filter(|(i, _)| *i < header.parts) {
            c.sessions.extend(p.sessions.into_iter().map(|s| (s.key.clone(), s)));
            c.days.extend(p.days.into_iter().map(|d| (d.owner.subscription_id, d)));
        }
        c
    }

    /// The parts to store (at least one; every one of them written each time).
    pub fn split(&self) -> Vec<CursorPart> {
        let n = (self.sessions.len() + self.days.len()).div_ceil(ENTRIES_PER_PART).max(1);
        let mut parts = vec![CursorPart::default(); n];
        for s in self.sessions.values() {
            parts[part_of(&s.key, n)].sessions.push(s.clone());
        }
        for d in self.days.values() {
            parts[part_of(&d.owner.subscription_id.to_string(), n)].days.push(d.clone());
        }
        if let Some(at) = self.sampled_at {
            parts[0].header = Some(CursorHeader { sampled_at: at, parts: n, router: self.router.clone() });
        }
        parts
    }

    /// Names of sampled sessions the cursor does not know the owner of (new sessions, or a
    /// session id now used by another name); the caller looks them up.
    pub fn unknown_names(&self, samples: &[SessionCounters]) -> Vec<String> {
        let mut out: Vec<String> = samples
            .iter()
            .filter(|s| self.sessions.get(&s.key).is_none_or(|m| m.name != s.name))
            .map(|s| s.name.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Takes a sample at `now` (`today`: the ISP's local date). `owners` answers for the names
    /// [`Cursor::unknown_names`] gave (a name missing from it is nobody's).
    pub fn advance(
        &mut self,
        samples: &[SessionCounters],
        owners: &HashMap<String, Option<Owner>>,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Advance {
        let mut out = Advance::default();
        let baseline = self.sampled_at.is_none();
        let hour = hour_of(now);
        // A new day: yesterday's totals are written out for the last time and forgotten.
        if let Some(r) = self.router.take_if(|r| r.day != today)
            && r.unwritten
        {
            out.records.push(DayRecord { owner: None, name: String::new(), day: r.day, up: r.up, down: r.down });
        }
        let ended: Vec<Uuid> = self.days.iter().filter(|(_, d)| d.total.day != today).map(|(k, _)| *k).collect();
        for k in ended {
            let d = self.days.remove(&k).expect("listed");
            if d.total.unwritten {
                out.records.push(DayRecord {
                    owner: Some(d.owner),
                    name: d.name,
                    day: d.total.day,
                    up: d.total.up,
                    down: d.total.down,
                });
            }
        }
        let router = self.router.get_or_insert_with(|| DayTotal::new(today));
        let mut sessions = BTreeMap::new();
        for s in samples {
            let known = self.sessions.get(&s.key).filter(|m| m.name == s.name);
            let (up, down) = match known {
                Some(m) if s.up >= m.up && s.down >= m.down => (s.up - m.up, s.down - m.down),
                Some(_) => {
                    out.resets += 1;
                    (s.up, s.down)
                }
                None if baseline => (0, 0),
                None => {
                    out.new_sessions += 1;
                    (s.up, s.down)
                }
            };
            let owner = match known {
                Some(m) => m.owner,
                None => owners.get(&s.name).copied().flatten(),
            };
            if let Some(o) = owner
                && (up > 0 || down > 0)
            {
                let day = self.days.entry(o.subscription_id).or_insert_with(|| SubscriptionDay {
                    owner: o,
                    name: s.name.clone(),
                    total: DayTotal::new(today),
                });
                day.total.add(up, down);
                router.add(up, down);
                out.up += up;
                out.down += down;
            }
            sessions.insert(
                s.key.clone(),
                SessionMark { key: s.key.clone(), name: s.name.clone(), up: s.up, down: s.down, owner },
            );
        }
        self.sessions = sessions;
        for d in self.days.values_mut().filter(|d| d.total.due(hour)) {
            out.records.push(DayRecord {
                owner: Some(d.owner),
                name: d.name.clone(),
                day: d.total.day,
                up: d.total.up,
                down: d.total.down,
            });
            d.total.written(hour);
        }
        if router.due(hour) {
            out.records.push(DayRecord {
                owner: None,
                name: String::new(),
                day: router.day,
                up: router.up,
                down: router.down,
            });
            router.written(hour);
        }
        self.sampled_at = Some(now);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }
    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }
    fn s(key: &str, name: &str, up: u64, down: u64) -> SessionCounters {
        SessionCounters { key: key.into(), name: name.into(), up, down }
    }
    fn owner(n: u8) -> Owner {
        Owner { subscription_id: Uuid::from_bytes([n; 16]), customer_id: Uuid::from_bytes([n + 100; 16]) }
    }
    fn owners() -> HashMap<String, Option<Owner>> {
        HashMap::from([("rahim".to_string(), Some(owner(1))), ("karim".to_string(), Some(owner(2)))])
    }
    fn records_of(a: &Advance, o: Owner) -> Vec<(NaiveDate, u64, u64)> {
        a.records.iter().filter(|r| r.owner == Some(o)).map(|r| (r.day, r.up, r.down)).collect()
    }

    #[test]
    fn the_first_sample_is_a_baseline_and_growth_counts_after_it() {
        let mut c = Cursor::default();
        let a = c.advance(&[s("p*1", "rahim", 5_000, 90_000)], &owners(), at(10, 0), day(10));
        assert_eq!((a.up, a.down), (0, 0));
        assert!(records_of(&a, owner(1)).is_empty());
        let a = c.advance(&[s("p*1", "rahim", 6_000, 100_000)], &owners(), at(10, 5), day(10));
        assert_eq!((a.up, a.down), (1_000, 10_000));
        // The first growth is written at once, then at most once an hour.
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 1_000, 10_000)]);
        let a = c.advance(&[s("p*1", "rahim", 7_000, 110_000)], &owners(), at(10, 10), day(10));
        assert!(records_of(&a, owner(1)).is_empty());
        assert_eq!(c.days[&owner(1).subscription_id].total.up, 2_000);
        let a = c.advance(&[s("p*1", "rahim", 7_000, 110_000)], &owners(), at(11, 0), day(10));
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 2_000, 20_000)]);
        // Nothing new: nothing written.
        let a = c.advance(&[s("p*1", "rahim", 7_000, 110_000)], &owners(), at(12, 0), day(10));
        assert!(a.records.is_empty());
    }

    #[test]
    fn a_reconnect_counts_the_new_session_in_full_and_a_reset_from_zero() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 100, 1_000)], &owners(), at(10, 0), day(10));
        // Reconnected: a new session id with fresh counters.
        let mut samples = vec![s("p*9", "rahim", 40, 400)];
        assert_eq!(c.unknown_names(&samples), vec!["rahim".to_string()]);
        let a = c.advance(&samples, &owners(), at(10, 5), day(10));
        assert_eq!((a.up, a.down, a.new_sessions), (40, 400, 1));
        // The same session's counters went down: a reset, counted from zero.
        samples[0].up = 10;
        samples[0].down = 20;
        assert!(c.unknown_names(&samples).is_empty());
        let a = c.advance(&samples, &owners(), at(10, 10), day(10));
        assert_eq!((a.up, a.down, a.resets), (10, 20, 1));
        assert_eq!(c.days[&owner(1).subscription_id].total.down, 420);
    }

    #[test]
    fn a_new_day_writes_yesterday_out_and_starts_from_zero() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(22, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(22, 5), day(10));
        c.advance(&[s("p*1", "rahim", 30, 300)], &owners(), at(22, 10), day(10));
        let a = c.advance(&[s("p*1", "rahim", 35, 350)], &owners(), at(22, 15) + chrono::Duration::hours(2), day(11));
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 30, 300), (day(11), 5, 50)]);
        let router: Vec<_> = a.records.iter().filter(|r| r.owner.is_none()).map(|r| (r.day, r.down)).collect();
        assert_eq!(router, vec![(day(10), 300), (day(11), 50)]);
        assert_eq!(c.days.len(), 1);
    }

    #[test]
    fn an_offline_subscriber_keeps_todays_total_and_adds_to_it_on_return() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(9, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(9, 5), day(10));
        c.advance(&[], &owners(), at(9, 10), day(10));
        assert!(c.sessions.is_empty());
        let a = c.advance(&[s("p*2", "rahim", 1, 1)], &owners(), at(10, 15), day(10));
        // The day record is the whole day's, never only the new session's.
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 11, 101)]);
    }

    #[test]
    fn sessions_of_nobody_are_remembered_but_not_counted() {
        let mut c = Cursor::default();
        c.advance(&[s("h*1", "VCHR-1", 0, 0)], &owners(), at(9, 0), day(10));
        let samples = [s("h*1", "VCHR-1", 10, 100), s("h*2", "karim", 5, 5)];
        assert_eq!(c.unknown_names(&samples), vec!["karim".to_string()]);
        let a = c.advance(&samples, &owners(), at(9, 5), day(10));
        assert_eq!((a.up, a.down), (5, 5));
        assert_eq!(c.sessions.len(), 2);
        assert_eq!(c.days.len(), 1);
    }

    #[test]
    fn a_window_defaults_to_30_days_and_stays_within_what_is_kept() {
        let today = day(31);
        assert_eq!(window(today, None, None, 90, 90).unwrap(), (day(2), day(31)));
        assert!(window(today, Some(day(20)), Some(day(10)), 90, 90).is_err());
        let long_ago = today - chrono::Duration::days(90);
        assert!(window(today, Some(long_ago), None, 366, 90).is_err());
        assert!(window(today, Some(long_ago + chrono::Duration::days(1)), None, 366, 90).is_ok());
        assert!(window(today, Some(day(1)), Some(day(31)), 30, 400).is_err());
        let s = series(day(1), day(3), [(day(2), 5, 7), (day(9), 1, 1)]);
        assert_eq!(s.iter().map(|f| f.total_bytes).collect::<Vec<_>>(), vec![0, 12, 0]);
    }

    #[test]
    fn a_cursor_survives_its_parts() {
        let mut c = Cursor::default();
        let many: Vec<SessionCounters> = (0..2_500).map(|i| s(&format!("p*{i:X}"), &format!("u{i}"), 0, 0)).collect();
        let who: HashMap<String, Option<Owner>> = (0..2_500u32)
            .map(|i| {
                let o = Owner { subscription_id: Uuid::from_u128(i.into()), customer_id: Uuid::from_u128(7) };
                (format!("u{i}"), Some(o))
            })
            .collect();
        c.advance(&many, &who, at(9, 0), day(10));
        let grown: Vec<SessionCounters> = many.iter().map(|x| s(&x.key, &x.name, 1, 2)).collect();
        c.advance(&grown, &who, at(9, 5), day(10));
        let parts = c.split();
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|p| p.sessions.len() + p.days.len() < ENTRIES_PER_PART * 2));
        let mut stored: Vec<(usize, CursorPart)> = parts.into_iter().enumerate().collect();
        // A left-over part of an earlier, larger cursor is ignored.
        stored.push((
            7,
            CursorPart {
                sessions: vec![grown[0].clone()]
                    .into_iter()
                    .map(|x| SessionMark { key: "zz".into(), name: x.name, up: 0, down: 0, owner: None })
                    .collect(),
                ..Default::default()
            },
        ));
        assert_eq!(Cursor::join(stored), c);
        assert_eq!(Cursor::join(vec![]), Cursor::default());
    }
}

//! Traffic: bytes up and down per subscription per local day, counted from the routers' session
//! counters (`/interface` `<pppoe-NAME>` for PPPoE, `/ip/hotspot/active` for hotspot) that the
//! health sweep reads every 5 minutes; a sample is taken every 15 minutes (and on a new day's
//! first sweep).
//!
//! A router keeps a cursor: each online session's counters at the last sample, and today's totals
//! per subscription and for the router. A sample adds what each session's counters grew by since
//! the last one; a session not seen before (a login or a reconnect since the last sample) adds its
//! counters in full; counters that went down (a reset) count from zero. The very first sample of a
//! router only takes the counters as they are (the bytes before it belong to days nobody measured).
//! Bytes a session moved between its last sample and its end are lost (polling cannot see them;
//! RADIUS accounting can).
//!
//! What it costs is what the cursor weighs, rewritten every sample: so it is packed (postcard)
//! and holds numbers only: a session is its router id, the index of its subscription in the
//! router's directory (names and owners, rewritten only when a subscriber is new to the router
//! or the day turns) and two counters. A subscription's day record is written once, when its
//! day is over; until then its day is the cursor's (the readers look there for the days a cursor
//! still holds). The router's own day total is written out at most hourly. A day record is
//! always the cursor's whole total (a put, not an addition), so a sweep that runs twice or fails
//! half-way never counts twice.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Days of history kept per subscription (day records expire after this).
pub const KEEP_DAYS: i64 = 90;

/// Days a router's day totals are kept (the ISP's usage over the year).
pub const ROUTER_KEEP_DAYS: i64 = 400;

/// Minutes between two traffic samples of a router (its sessions are read every sweep, for the
/// vouchers; their counters are counted this often).
pub const SAMPLE_MINUTES: i64 = 15;

/// Days a cursor outlives its last sample: a router down over a day's turn (or an ISP suspended
/// for a while) still writes the day it last counted when it answers again.
pub const CURSOR_KEEP_DAYS: i64 = 35;

/// How far back the usage readers look into the routers' cursors: a day is written out by the
/// first sample after it, so only a router that stopped answering holds an older one (written
/// when it answers again).
pub const HELD_DAYS_READ: i64 = 3;

/// When a day record kept `days` expires: the end of the day, `days` later.
pub fn expires_at(day: NaiveDate, days: i64) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + chrono::Duration::days(days + 1)
}

/// Sessions and day totals per stored part of a cursor (~20 bytes each packed: a part stays far
/// below the 400 KB an item may hold).
pub const ENTRIES_PER_PART: usize = 8000;

/// Directory entries per stored part (a name and two ids, ~50 bytes each).
pub const NAMES_PER_PART: usize = 4000;

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

/// A name in a router's directory and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    pub name: String,
    pub owner: Owner,
}

/// What the cursor remembers of one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMark {
    pub key: String,
    /// A hash of the session's name: the router reusing an id for another name is a new session.
    pub tag: u16,
    /// The directory index of its subscription; None: nobody's (a voucher, an account made by hand).
    pub who: Option<u32>,
    pub up: u64,
    pub down: u64,
}

/// A day's running total (the router's own: written out at most hourly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTotal {
    pub day: NaiveDate,
    pub up: u64,
    pub down: u64,
    /// Changed since it was last written out.
    #[serde(default)]
    pub unwritten: bool,
    /// The hour (Unix hours) it was last written out in.
    #[serde(default)]
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

/// A subscription's running total on one day (the day it was counted on: today's, or a day
/// not yet written out because the router did not answer at the turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub up: u64,
    pub down: u64,
}

/// A router's cursor: the last sample, the directory of its subscribers, and the totals of the
/// days not yet written out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cursor {
    /// None: never sampled (the next sample is a baseline).
    pub sampled_at: Option<DateTime<Utc>>,
    /// The router's own total today.
    pub router: Option<DayTotal>,
    /// Changes only when the directory is renumbered (at a day's turn); entries are appended
    /// within a generation, so stored parts of it stay readable.
    pub generation: u32,
    pub directory: Vec<Known>,
    /// The directory changed since it was loaded (it is written out with the sample).
    pub directory_changed: bool,
    /// The write that stored the directory as loaded.
    pub directory_write: u64,
    pub sessions: BTreeMap<String, SessionMark>,
    /// Directory index -> the subscription's running total.
    pub days: BTreeMap<u32, DayCount>,
}

/// A subscription's running day in a stored part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDay {
    pub who: u32,
    /// Days since 0001-01-01 (three bytes packed, a date string is ten).
    pub day: i32,
    pub up: u64,
    pub down: u64,
}

/// One stored part of a cursor; part 0 carries the header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorPart {
    pub header: Option<CursorHeader>,
    pub sessions: Vec<SessionMark>,
    pub days: Vec<StoredDay>,
    /// The write this part was stored by (random, one per sample): parts of another write (a
    /// sample that failed half-way, or ran twice at once) are never joined.
    pub write: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CursorHeader {
    /// Unix seconds.
    pub sampled_at: i64,
    /// How many parts the cursor was written in (parts beyond are left-overs, ignored).
    pub parts: u32,
    pub router: Option<DayTotal>,
    /// The directory generation the parts' indexes refer to.
    pub generation: u32,
    /// The write that stored that directory.
    pub directory_write: u64,
}

/// One stored part of a directory. A generation is stored in the slot of its parity, so a
/// renumbered directory never overwrites the one the stored cursor still refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryPart {
    pub generation: u32,
    /// How many parts this generation was written in.
    pub parts: u32,
    pub entries: Vec<Known>,
    pub write: u64,
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
    /// Sessions of the last sample missing from this one (logged out), with their names where
    /// the directory knows them: RADIUS mode closes them in the subscriber's sessions.
    pub ended: Vec<(String, String)>,
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

/// Small stable hash (FNV-1a): spreads keys over the parts, tags names.
fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn part_of(key: &str, parts: usize) -> usize {
    (fnv(key) % parts as u64) as usize
}

fn tag_of(name: &str) -> u16 {
    (fnv(name) >> 48) as u16
}

fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

/// Whether the sweep scheduled at `at` takes a traffic sample: the sweep in the first five
/// minutes of each quarter hour (sweeps run every 5 minutes; local midnight is on a quarter hour
/// in every time zone, so a new day's first sweep always samples). Decided from the schedule,
/// so the sweeps that do not sample read nothing of the cursor.
pub fn sample_due(at: DateTime<Utc>) -> bool {
    use chrono::Timelike;
    at.minute() % (SAMPLE_MINUTES as u32) < 5
}

/// A subscription's day a cursor still holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldDay {
    pub owner: Owner,
    pub name: String,
    pub day: NaiveDate,
    pub up: u64,
    pub down: u64,
}

impl Cursor {
    /// Reassembles a cursor from its stored parts and directory parts (`(index, part)`); parts
    /// past the header's count are left-overs of a larger cursor and ignored. No header, a part
    /// or a directory of another write than the header names (a sample that failed half-way or
    /// ran twice at once), or indexes the directory does not hold: never sampled (a baseline
    /// loses what the cursor held; joining mismatched parts could count twice or for another
    /// subscriber).
    pub fn join(parts: Vec<(usize, CursorPart)>, directory: Vec<(usize, DirectoryPart)>) -> Cursor {
        let Some(header) = parts.iter().find(|(i, _)| *i == 0).and_then(|(_, p)| p.header.clone()) else {
            return Cursor::default();
        };
        let Some(sampled_at) = DateTime::from_timestamp(header.sampled_at, 0) else {
            return Cursor::default();
        };
        let Some(write) = parts.iter().find(|(i, _)| *i == 0).map(|(_, p)| p.write) else {
            return Cursor::default();
        };
        let mut names: Vec<(usize, DirectoryPart)> = directory
            .into_iter()
            .filter(|(_, d)| d.generation == header.generation && d.write == header.directory_write)
            .collect();
        names.sort_by_key(|(i, _)| *i);
        let count = names.first().map_or(0, |(_, d)| d.parts as usize);
        names.retain(|(i, _)| *i < count);
        if names.iter().enumerate().any(|(n, (i, _))| n != *i) || names.len() != count {
            return Cursor::default();
        }
        let directory: Vec<Known> = names.into_iter().flat_map(|(_, d)| d.entries).collect();
        let mut c = Cursor {
            sampled_at: Some(sampled_at),
            router: header.router,
            generation: header.generation,
            directory_changed: false,
            directory_write: header.directory_write,
            directory,
            ..Cursor::default()
        };
        let held = c.directory.len() as u32;
        let parts: Vec<CursorPart> =
            parts.into_iter().filter(|(i, _)| *i < header.parts as usize).map(|(_, p)| p).collect();
        if parts.len() != header.parts as usize || parts.iter().any(|p| p.write != write) {
            return Cursor::default();
        }
        for p in parts {
            for s in p.sessions {
                if s.who.is_some_and(|w| w >= held) {
                    return Cursor::default();
                }
                c.sessions.insert(s.key.clone(), s);
            }
            for d in p.days {
                let Some(day) = NaiveDate::from_num_days_from_ce_opt(d.day).filter(|_| d.who < held) else {
                    return Cursor::default();
                };
                c.days.insert(d.who, DayCount { day, up: d.up, down: d.down });
            }
        }
        c
    }

    /// The parts to store by the write `write` (at least one; every one of them written each
    /// sample).
    pub fn split(&self, write: u64) -> Vec<CursorPart> {
        let n = (self.sessions.len() + self.days.len()).div_ceil(ENTRIES_PER_PART).max(1);
        let mut parts = vec![CursorPart { write, ..CursorPart::default() }; n];
        for s in self.sessions.values() {
            parts[part_of(&s.key, n)].sessions.push(s.clone());
        }
        for (who, d) in &self.days {
            parts[*who as usize % n].days.push(StoredDay { who: *who, day: day_number(d.day), up: d.up, down: d.down });
        }
        if let Some(at) = self.sampled_at {
            parts[0].header = Some(CursorHeader {
                sampled_at: at.timestamp(),
                parts: n as u32,
                router: self.router.clone(),
                generation: self.generation,
                directory_write: if self.directory_changed { write } else { self.directory_write },
            });
        }
        parts
    }

    /// The directory's parts to store with this sample: none unless it changed. Stored in the
    /// slot of the generation's parity (`generation % 2`).
    pub fn directory_parts(&self, write: u64) -> Vec<DirectoryPart> {
        if !self.directory_changed {
            return Vec::new();
        }
        let n = self.directory.len().div_ceil(NAMES_PER_PART).max(1);
        (0..n)
            .map(|i| DirectoryPart {
                generation: self.generation,
                parts: n as u32,
                entries: self.directory.iter().skip(i * NAMES_PER_PART).take(NAMES_PER_PART).cloned().collect(),
                write,
            })
            .collect()
    }

    /// The directory index of `name` as `owner`'s (the latest, should the name have changed hands).
    fn index_of(&self, name: &str, owner: Option<Owner>) -> Option<u32> {
        self.directory.iter().rposition(|k| k.name == name && owner.is_none_or(|o| k.owner == o)).map(|i| i as u32)
    }

    /// The remembered session `s` continues: the same router id, name tag and name.
    fn continued(&self, s: &SessionCounters) -> Option<&SessionMark> {
        self.sessions.get(&s.key).filter(|m| {
            m.tag == tag_of(&s.name)
                && m.who.is_none_or(|w| self.directory.get(w as usize).is_some_and(|k| k.name == s.name))
        })
    }

    /// Names of sampled sessions the cursor does not continue (logins and reconnects since the
    /// last sample, a session id now used by another name): the caller looks up whose they are
    /// now (a name may have passed to another subscription since it entered the directory).
    pub fn unknown_names(&self, samples: &[SessionCounters]) -> Vec<String> {
        let mut out: Vec<String> =
            samples.iter().filter(|s| self.continued(s).is_none()).map(|s| s.name.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The days this cursor holds for a subscription (not yet written out as day records).
    pub fn held_days(&self) -> Vec<HeldDay> {
        self.days
            .iter()
            .filter_map(|(who, d)| {
                let k = self.directory.get(*who as usize)?;
                Some(HeldDay { owner: k.owner, name: k.name.clone(), day: d.day, up: d.up, down: d.down })
            })
            .collect()
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
        let turned = self.router.as_ref().is_some_and(|r| r.day != today);
        // A new day: yesterday's totals are written out, once, and forgotten.
        if let Some(r) = self.router.take_if(|r| r.day != today)
            && r.unwritten
        {
            out.records.push(DayRecord { owner: None, name: String::new(), day: r.day, up: r.up, down: r.down });
        }
        let ended: Vec<u32> = self.days.iter().filter(|(_, d)| d.day != today).map(|(k, _)| *k).collect();
        for who in ended {
            let d = self.days.remove(&who).expect("listed");
            if let Some(k) = self.directory.get(who as usize) {
                out.records.push(DayRecord {
                    owner: Some(k.owner),
                    name: k.name.clone(),
                    day: d.day,
                    up: d.up,
                    down: d.down,
                });
            }
        }
        let mut router = self.router.take().unwrap_or_else(|| DayTotal::new(today));
        let mut sessions = BTreeMap::new();
        for s in samples {
            let tag = tag_of(&s.name);
            let known = self.continued(s).map(|m| (m.up, m.down, m.who));
            let (up, down) = match known {
                Some((u, d, _)) if s.up >= u && s.down >= d => (s.up - u, s.down - d),
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
            let who = match known {
                Some((_, _, who)) => who,
                None => match owners.get(&s.name) {
                    // Nobody's now.
                    Some(None) => None,
                    Some(Some(owner)) => Some(self.index_of(&s.name, Some(*owner)).unwrap_or_else(|| {
                        self.directory.push(Known { name: s.name.clone(), owner: *owner });
                        self.directory_changed = true;
                        (self.directory.len() - 1) as u32
                    })),
                    // Not looked up: as the directory last knew it.
                    None => self.index_of(&s.name, None),
                },
            };
            if let Some(w) = who
                && (up > 0 || down > 0)
            {
                let day = self.days.entry(w).or_insert(DayCount { day: today, up: 0, down: 0 });
                day.up = day.up.saturating_add(up);
                day.down = day.down.saturating_add(down);
                router.add(up, down);
                out.up += up;
                out.down += down;
            }
            sessions.insert(s.key.clone(), SessionMark { key: s.key.clone(), tag, who, up: s.up, down: s.down });
        }
        for (key, m) in &self.sessions {
            if !sessions.contains_key(key)
                && let Some(k) = m.who.and_then(|w| self.directory.get(w as usize))
            {
                out.ended.push((key.clone(), k.name.clone()));
            }
        }
        self.sessions = sessions;
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
        self.router = Some(router);
        // Once a day the directory keeps only the names online now (subscribers who left the
        // router do not stay in it forever); renumbered, it is a new generation.
        if turned {
            self.renumber();
        }
        self.sampled_at = Some(now);
        out
    }

    fn renumber(&mut self) {
        let mut kept: Vec<Known> = Vec::new();
        let mut new_index: HashMap<u32, u32> = HashMap::new();
        for m in self.sessions.values_mut() {
            if let Some(w) = m.who {
                let i = *new_index.entry(w).or_insert_with(|| {
                    kept.push(self.directory[w as usize].clone());
                    (kept.len() - 1) as u32
                });
                m.who = Some(i);
            }
        }
        self.days = std::mem::take(&mut self.days)
            .into_iter()
            .map(|(w, d)| {
                let i = *new_index.entry(w).or_insert_with(|| {
                    kept.push(self.directory[w as usize].clone());
                    (kept.len() - 1) as u32
                });
                (i, d)
            })
            .collect();
        self.directory = kept;
        self.generation = self.generation.wrapping_add(1);
        self.directory_changed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::{pack, unpack};
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
    fn held(c: &Cursor, o: Owner) -> Vec<(NaiveDate, u64, u64)> {
        c.held_days().into_iter().filter(|d| d.owner == o).map(|d| (d.day, d.up, d.down)).collect()
    }
    /// Through storage and back, as a sweep leaves it.
    fn stored(c: &Cursor) -> Cursor {
        let parts = c.split(7).iter().map(|p| unpack::<CursorPart>(&pack(p)).unwrap()).enumerate().collect();
        let dir = c.directory_parts(7).iter().map(|p| unpack::<DirectoryPart>(&pack(p)).unwrap()).enumerate().collect();
        let mut back = Cursor::join(parts, dir);
        back.directory_changed = c.directory_changed;
        back.directory_write = c.directory_write;
        back
    }

    #[test]
    fn the_first_sample_is_a_baseline_and_growth_counts_after_it() {
        let mut c = Cursor::default();
        let a = c.advance(&[s("p*1", "rahim", 5_000, 90_000)], &owners(), at(10, 0), day(10));
        assert_eq!((a.up, a.down), (0, 0));
        assert!(records_of(&a, owner(1)).is_empty());
        let a = c.advance(&[s("p*1", "rahim", 6_000, 100_000)], &owners(), at(10, 15), day(10));
        assert_eq!((a.up, a.down), (1_000, 10_000));
        // The day is the cursor's until it is over: no record while it lasts.
        assert!(records_of(&a, owner(1)).is_empty());
        assert_eq!(held(&c, owner(1)), vec![(day(10), 1_000, 10_000)]);
        c = stored(&c);
        let a = c.advance(&[s("p*1", "rahim", 7_000, 110_000)], &owners(), at(10, 30), day(10));
        assert!(a.records.iter().all(|r| r.owner.is_none()), "only the router's hourly total");
        assert_eq!(held(&c, owner(1)), vec![(day(10), 2_000, 20_000)]);
    }

    #[test]
    fn samples_are_due_every_quarter_hour() {
        let due: Vec<u32> = (0..60).step_by(5).filter(|m| sample_due(at(10, *m))).collect();
        assert_eq!(due, vec![0, 15, 30, 45]);
        assert!(sample_due(at(10, 4) + chrono::Duration::seconds(59)));
        assert!(!sample_due(at(10, 5)));
    }

    #[test]
    fn a_reconnect_counts_the_new_session_in_full_and_a_reset_from_zero() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 100, 1_000)], &owners(), at(10, 0), day(10));
        // Reconnected: a new session id with fresh counters (whose it is now is looked up).
        let mut samples = vec![s("p*9", "rahim", 40, 400)];
        assert_eq!(c.unknown_names(&samples), vec!["rahim".to_string()]);
        let a = c.advance(&samples, &owners(), at(10, 15), day(10));
        assert_eq!((a.up, a.down, a.new_sessions), (40, 400, 1));
        assert_eq!(a.ended, vec![("p*1".to_string(), "rahim".to_string())], "the old session is gone");
        // The same session's counters went down: a reset, counted from zero.
        samples[0].up = 10;
        samples[0].down = 20;
        assert!(c.unknown_names(&samples).is_empty(), "the same session");
        let a = c.advance(&samples, &owners(), at(10, 30), day(10));
        assert_eq!((a.up, a.down, a.resets), (10, 20, 1));
        assert!(a.ended.is_empty());
        assert_eq!(held(&c, owner(1)), vec![(day(10), 50, 420)]);
        // The router gave the id to another name: a new session of that name.
        let a = c.advance(&[s("p*9", "karim", 7, 7)], &owners(), at(10, 45), day(10));
        assert_eq!((a.up, a.new_sessions), (7, 1));
        assert_eq!(held(&c, owner(2)), vec![(day(10), 7, 7)]);
    }

    #[test]
    fn a_name_given_to_another_subscription_counts_to_the_new_one() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(9, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(9, 15), day(10));
        // Rahim's subscription was cancelled and the name given to a new one, which logs in.
        let now_theirs = HashMap::from([("rahim".to_string(), Some(owner(3)))]);
        let samples = [s("p*2", "rahim", 5, 50)];
        assert_eq!(c.unknown_names(&samples), vec!["rahim".to_string()]);
        c.advance(&samples, &now_theirs, at(9, 30), day(10));
        assert_eq!(held(&c, owner(1)), vec![(day(10), 10, 100)]);
        assert_eq!(held(&c, owner(3)), vec![(day(10), 5, 50)]);
        let c2 = stored(&c);
        assert_eq!(held(&c2, owner(3)), vec![(day(10), 5, 50)]);
    }

    #[test]
    fn a_new_day_writes_yesterday_out_once_and_starts_from_zero() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(22, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(22, 15), day(10));
        c.advance(&[s("p*1", "rahim", 30, 300)], &owners(), at(22, 30), day(10));
        let generation = c.generation;
        let a = c.advance(&[s("p*1", "rahim", 35, 350)], &owners(), at(22, 30) + chrono::Duration::hours(2), day(11));
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 30, 300)]);
        assert_eq!(held(&c, owner(1)), vec![(day(11), 5, 50)]);
        let router: Vec<_> = a.records.iter().filter(|r| r.owner.is_none()).map(|r| (r.day, r.down)).collect();
        assert_eq!(router, vec![(day(10), 300), (day(11), 50)]);
        assert_eq!(c.generation, generation + 1, "renumbered at the day's turn");
        let c = stored(&c);
        assert_eq!(held(&c, owner(1)), vec![(day(11), 5, 50)]);
    }

    #[test]
    fn a_router_silent_over_the_turn_writes_the_day_it_last_counted_when_it_answers() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(20, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(20, 15), day(10));
        let mut c = stored(&c);
        // Two days later, rebooted: the old day is written, the new session counted in full.
        let a = c.advance(&[s("p*3", "rahim", 1, 2)], &owners(), at(20, 15) + chrono::Duration::days(2), day(12));
        assert_eq!(records_of(&a, owner(1)), vec![(day(10), 10, 100)]);
        assert_eq!(held(&c, owner(1)), vec![(day(12), 1, 2)]);
    }

    #[test]
    fn an_offline_subscriber_keeps_todays_total_and_adds_to_it_on_return() {
        let mut c = Cursor::default();
        c.advance(&[s("p*1", "rahim", 0, 0)], &owners(), at(9, 0), day(10));
        c.advance(&[s("p*1", "rahim", 10, 100)], &owners(), at(9, 15), day(10));
        c.advance(&[], &owners(), at(9, 30), day(10));
        assert!(c.sessions.is_empty());
        c.advance(&[s("p*2", "rahim", 1, 1)], &owners(), at(10, 15), day(10));
        assert_eq!(held(&c, owner(1)), vec![(day(10), 11, 101)]);
    }

    #[test]
    fn sessions_of_nobody_are_remembered_but_not_counted() {
        let mut c = Cursor::default();
        c.advance(&[s("h*1", "VCHR-1", 0, 0)], &owners(), at(9, 0), day(10));
        let samples = [s("h*1", "VCHR-1", 10, 100), s("h*2", "karim", 5, 5)];
        assert_eq!(c.unknown_names(&samples), vec!["karim".to_string()]);
        let a = c.advance(&samples, &owners(), at(9, 15), day(10));
        assert_eq!((a.up, a.down), (5, 5));
        assert_eq!(c.sessions.len(), 2);
        assert_eq!(c.directory.len(), 1, "nobody's names stay out of the directory");
    }

    #[test]
    fn a_cursor_survives_its_parts_and_weighs_little() {
        let mut c = Cursor::default();
        let many: Vec<SessionCounters> = (0..20_000).map(|i| s(&format!("p*{i:X}"), &format!("u{i}"), 0, 0)).collect();
        let who: HashMap<String, Option<Owner>> = (0..20_000u32)
            .map(|i| {
                let o = Owner { subscription_id: Uuid::from_u128(i.into()), customer_id: Uuid::from_u128(7) };
                (format!("u{i}"), Some(o))
            })
            .collect();
        c.advance(&many, &who, at(9, 0), day(10));
        let grown: Vec<SessionCounters> =
            many.iter().map(|x| s(&x.key, &x.name, 3_000_000_000, 40_000_000_000)).collect();
        c.advance(&grown, &who, at(9, 15), day(10));
        let parts = c.split(7);
        assert_eq!(parts.len(), 5);
        let bytes: usize = parts.iter().map(|p| pack(p).len()).sum();
        assert!(bytes < 20_000 * 42, "{} bytes a subscriber", bytes / 20_000);
        assert!(parts.iter().all(|p| pack(p).len() < 350_000));
        assert!(c.directory_parts(7).iter().all(|p| pack(p).len() < 350_000));
        let back = stored(&c);
        assert_eq!(back, c);
        // Parts of an older, larger cursor are ignored; a directory that is not all there
        // (its write was lost) makes the cursor a baseline, never a wrong owner.
        let mut with_leftover: Vec<(usize, CursorPart)> = c.split(7).into_iter().enumerate().collect();
        with_leftover.push((
            9,
            CursorPart { sessions: vec![c.sessions.values().next().unwrap().clone()], ..Default::default() },
        ));
        let dir: Vec<(usize, DirectoryPart)> = c.directory_parts(7).into_iter().enumerate().collect();
        assert_eq!(Cursor::join(with_leftover.clone(), dir.clone()).sessions.len(), 20_000);
        assert_eq!(Cursor::join(with_leftover.clone(), dir[1..].to_vec()), Cursor::default());
        // A part left from another write (a sample that failed half-way): a baseline, never
        // counters of one sample joined to another's header.
        let mut mixed = with_leftover.clone();
        mixed[3].1 = c.split(8).swap_remove(3);
        assert_eq!(Cursor::join(mixed, dir.clone()), Cursor::default());
        // A directory of another write (two samples at once appending different names).
        let other: Vec<(usize, DirectoryPart)> = c.directory_parts(8).into_iter().enumerate().collect();
        assert_eq!(Cursor::join(with_leftover, other), Cursor::default());
        assert_eq!(Cursor::join(vec![], vec![]), Cursor::default());
    }
}

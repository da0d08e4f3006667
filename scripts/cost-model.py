#!/usr/bin/env python3
"""The monthly AWS cost of the system from measured request counts (docs/cost.md).

Every figure marked `measured` comes from docs/benchmarks.md (the command that measured it is
named there); prices are AWS list prices (us-east-1, on demand) as used in docs/cost.md. Change a
number here and run `python3 scripts/cost-model.py` to print the tables again.

`--before` prints the model of the design before 2026-12-07 (a JSON usage cursor sampled every 5
minutes, day records hourly, monitoring state and point and the health record each sweep, one
scheduled event per ISP, the reconcile hourly), to compare.
"""

import sys

BEFORE = "--before" in sys.argv
MONTH_DAYS = 30
SWEEPS = MONTH_DAYS * 24 * 12  # the health sweep, every 5 minutes
HOURS = MONTH_DAYS * 24

# ---- prices (US$) -----------------------------------------------------------------------------
WRU = 0.625e-6  # DynamoDB on-demand write request unit
RRU = 0.125e-6  # DynamoDB on-demand read request unit
STORAGE_GB = 0.25 + 0.20  # DynamoDB storage + point-in-time recovery, per GB-month
EVENT = 1.00e-6  # EventBridge custom event
SQS_REQ = 0.40e-6  # SQS request
WS_MESSAGE = 1.00e-6  # API Gateway WebSocket message (32 KB units)
WS_MINUTE = 0.25e-6  # API Gateway WebSocket connection minute
APIGW = 1.00e-6  # HTTP API request
LAMBDA_REQ = 0.20e-6
LAMBDA_GBS = 0.0000133334  # arm64
LOGS_GB = 0.50  # CloudWatch Logs ingestion
CONCENTRATOR = 0.0042 * 730 + 0.005 * 730  # t4g.nano + its public IPv4 address
ALARMS = 5 * 0.10  # the DLQ alarms of the template
MB = 512  # every function's memory (infra/template.yaml)


def lambda_cost(invocations, ms, mb=MB):
    return invocations * (LAMBDA_REQ + LAMBDA_GBS * (mb / 1024) * (ms / 1000))


def worker_seconds(seconds, mb=MB):
    """Billed time a worker spends on something inside an invocation it shares."""
    return LAMBDA_GBS * (mb / 1024) * seconds


# ---- per subscriber and month -----------------------------------------------------------------
if BEFORE:
    # measured (traffic-sweep, 2026-12-04): a steady 5-minute sample 263 write units for 1,100
    # sessions; each subscription's day record (and its index entry) at most hourly.
    samples = SWEEPS
    cursor_wu = 263 / 1100
    cursor_ru = 150 / 4096
    day_record_wu = HOURS * 2
    usage_views_ru = 0
    reconciles = HOURS
else:
    # measured (traffic-sweep, 2026-12-07): a sample every quarter hour, a steady one 34 write
    # units and ~20 read units (the cursor's Query) for 1,100 sessions; a subscription's day
    # record once a day (2 units with its gsi1 entry), the directory renumbered once a day
    # (~50 bytes a name).
    samples = MONTH_DAYS * 24 * 4
    cursor_wu = 34 / 1100
    cursor_ru = 20 / 1100
    day_record_wu = MONTH_DAYS * (2 + 50 / 1024)
    # a usage view (staff or portal) reads the router's cursor for today: ~32 read units for a
    # router of 1,100 sessions; 5 views a month.
    usage_views_ru = 5 * 32
    # the full reconcile every 6 hours
    reconciles = MONTH_DAYS * 4
usage = (samples * cursor_wu + day_record_wu) * WRU + (samples * cursor_ru + usage_views_ru) * RRU
# the full reconcile reads the subscriber's provisioning record (and its share of the router's
# gsi4 page); it writes it only when something changed (measured: no write).
reconcile = reconciles * (0.5 + 0.04) * RRU
# measured (billing-run, request-counts): an invoice 20.8 WCU, a payment ~20, two reminders
# (reminders-10k: ~4 WCU each), ~6 events with their queue and worker share.
billing = (20.8 + 20 + 2 * 4) * WRU + 6 * (EVENT + 1.2 * SQS_REQ) + lambda_cost(6 / 10, 80)
if not BEFORE:
    # its ~2 messages a month (invoice, reminder or receipt) mark the ISP due in the release job's
    # window: one mark for a message sent at once (its send's lease), two for one held first
    # (its time, then the lease): 1.5 on average, a PutItem (1 unit) each, and 3 visits of the
    # ISP per mark (the release share: a Query and the worker's time). Marks and visits of an
    # ISP's messages in the same interval are shared; counted here as if every message were alone.
    per_visit = 1 * RRU + worker_seconds(0.002)
    billing += 2 * 1.5 * (1 * WRU + 3 * per_visit)
# 30 API calls a month (staff and portal): API Gateway, the function, ~1 read unit each, a JSON
# log line of ~1.5 KB with Lambda's own lines; the request limits' counts (measured, rate-limits
# bench: 0.041 writes a call at the default limits, their reads once a minute per container).
api = 30 * (APIGW + RRU) + lambda_cost(30, 40) + 30 * 1500 / 1e9 * LOGS_GB
if not BEFORE:
    api += 30 * 0.041 * WRU
# ~60 KB with indexes (90 usage days, invoices, payments, timeline).
storage = 60e3 / 1e9 * STORAGE_GB
# live updates: ~1.5 pushed events a subscriber a month (a payment, now and then a ticket, its
# router's news), each a queue message, a worker's share (10 a batch), a Query of the ISP's
# connections and a message to each of ~2 connections (the events are published for the other
# queues already: a rule's extra target costs nothing in EventBridge).
# After each payment (one a month) the dashboard's customer counts follow: a Query of the ISP's
# counters and a message to each of ~2 unscoped staff connections.
live = (
    1.5 * (1.2 * SQS_REQ + lambda_cost(0.1, 20) + 0.5 * RRU + 2 * WS_MESSAGE) + 1 * (0.5 * RRU + 2 * WS_MESSAGE)
    if not BEFORE
    else 0.0
)
per_subscriber = {
    "usage sampling (cursor, day records, usage views)": usage,
    "reconcile reads": reconcile,
    "billing: invoice, payment, reminders, events": billing,
    "API and portal calls": api,
    "live updates (pushes)": live,
    "storage and PITR": storage,
}

# ---- per router and month ---------------------------------------------------------------------
if BEFORE:
    health = SWEEPS * WRU + SWEEPS * 0.5 * RRU + SWEEPS * worker_seconds(0.1)
    # measured (monitoring-sweep, 2026-12-04): state and point ~4 write units a sweep, an hour's
    # summary once an hour.
    monitoring = (SWEEPS * 4 + HOURS) * WRU
    router_day = 0  # counted with the subscribers' day records then
else:
    # measured (monitoring-sweep, request counts): the health record written hourly (and on a
    # change); per sweep a BatchGetItem share (0.5 unit) for it and a Query for the newest
    # monitoring point (1 unit). Worker time: the sweep waits on the routers (a ping is ~1 s,
    # a check ~1.3 s); a page of 100 ISPs is checked at once with up to 256 routers in flight,
    # so a router's share of the invocation is ~1.3 s / 100 (ISPs of one router each) to
    # ~1.3 s / 256 (bigger ISPs): 0.015 s.
    health = HOURS * WRU + SWEEPS * 1.5 * RRU + SWEEPS * worker_seconds(0.015)
    # measured (monitoring-sweep, 2026-12-07): the point, packed with the state, 1 write unit a
    # sweep; an hour's summary once an hour.
    monitoring = (SWEEPS * 1 + HOURS) * WRU
    # the router's own day total, written at most hourly
    router_day = HOURS * WRU
per_router = {
    "health check (HEALTH item, reads, worker time)": health,
    "reconcile report, weekly backup": reconciles * 2 * WRU + 4.3 * 3 * WRU,
    "monitoring (a point every 5 min, hourly summary)": monitoring,
    "the router's day total (hourly)": router_day,
}

# ---- per ISP and month ------------------------------------------------------------------------
# a scheduled event: its outbox write and delete, the event, the queue, a worker's call (10
# messages a batch), logs.
per_event = 2 * WRU + EVENT + 1.2 * SQS_REQ + lambda_cost(0.1, 20) + 300 / 1e9 * LOGS_GB
# each ISP's share of a frequent job when it has nothing to do: a read or three (~1 read unit
# on average: the health share reads the routers, the ISP, its devices; the others one Query)
# and ~20 ms of waiting, 16 or more shares at once in a page (~2 ms of the worker each).
per_share = 1 * RRU + worker_seconds(0.002)
frequent = MONTH_DAYS * (2 * 288 + 96 + 24)  # health, due messages every 5 min; voucher expiry 15; expiry sweep hourly
# Shares actually taken (since 2026-12-08): the health sweep and the expiry sweep visit every
# ISP; due messages and voucher expiry only the ISPs marked due (the messages' visits are per
# subscriber, above), every ISP once a day, and the vouchers an ISP activates (~30 a month, 3
# visits each).
shares_taken = frequent if BEFORE else MONTH_DAYS * (288 + 24) + 2 * MONTH_DAYS + 30 * 3
if BEFORE:
    per_isp_events = MONTH_DAYS * (2 * 288 + 96 + 2 * 24 + 3)
    per_isp = {"scheduled jobs ({:,} events of its own)".format(per_isp_events): per_isp_events * per_event}
else:
    own = MONTH_DAYS * (3 + 4)  # billing, dunning, backups daily; the reconcile 4 times a day
    per_isp = {
        "scheduled jobs of its own ({:,} events: billing, dunning, backups, reconcile)".format(own): own * per_event,
        "frequent jobs' events, a page of 100 ISPs each ({:,} a month, shared)".format(frequent): frequent * per_event / 100,
        "its shares of the frequent jobs ({:,} of {:,}: reads, worker time)".format(shares_taken, frequent): shares_taken
        * per_share,
    }
    # Platform analytics (measured, platform-analytics bench): the daily snapshot reads the ISP's
    # counters and its month's collections (2 Queries, ~2.4 read units) and writes its snapshot (1
    # write unit), 16 ISPs at once (~30 ms of the job each).
    per_isp["platform analytics: a daily snapshot (2 Queries, 1 PutItem)"] = MONTH_DAYS * (
        2.4 * RRU + 1 * WRU + worker_seconds(0.03 / 16)
    )
    # Live updates: one staff member connected 8 hours a working day (26 a month): the connection
    # minutes are the ISP's; the pushes scale with its subscribers (per subscriber, above).
    live_minutes = 8 * 60 * 26
    per_isp["live updates: a staff connection 8 h a working day ({:,} minutes)".format(live_minutes)] = (
        live_minutes * WS_MINUTE
    )

# ---- fixed ------------------------------------------------------------------------------------
fixed = {
    "WireGuard concentrator (t4g.nano + public IPv4)": CONCENTRATOR,
    "CloudWatch alarms": ALARMS,
    "scheduled job invocations (turbo sweep every minute, the rest)": lambda_cost(43_200 + 30_000, 30),
}
if not BEFORE:
    # the release and voucher jobs read their window's due marks (one Query, ~1 read unit).
    fixed["due marks read by the frequent jobs (11,520 Queries)"] = MONTH_DAYS * (288 + 96) * 1 * RRU


# ---- RADIUS mode ------------------------------------------------------------------------------
# A router whose subscribers log in through FreeRADIUS at the edge (since 2026-12-08): its
# Interim-Updates stay in the edge's session table and its usage comes in one report per NAS and
# interval, counted into the router's cursor as API mode's sampling is (the same cost, above).
# What it adds per subscriber: its sessions (8 a month: a PPPoE session lasting ~4 days), each a
# login (authorize: a call and a Query; an accepted login has no post-auth call), a Start and a
# Stop (a call, a Query and a conditional PutItem each; measured, radius-latency) and the
# reports' reads of its sessions item when it ends (a GetItem when reported stopped, another when
# gone from the next report).
radius_call = APIGW + lambda_cost(1, 20) + 1500 / 1e9 * LOGS_GB
radius_session = 3 * radius_call + 5 * 1 * RRU + 2 * 1 * WRU
radius_per_subscriber = 0.0 if BEFORE else 8 * radius_session
if BEFORE:
    # before: every 15-minute interim a call, a Query and a transaction of three items (~6 units)
    radius_per_subscriber = MONTH_DAYS * 96 * (radius_call + 1 * RRU + 6 * WRU)


def total(d):
    return sum(d.values())


def show(title, d, unit):
    print(f"\n{title}\n\n| part | US$ a month {unit} |\n|---|---|")
    for k, v in d.items():
        print(f"| {k} | {v:.6f} |")
    print(f"| **total** | **{total(d):.6f}** |")


show("Per subscriber", per_subscriber, "per subscriber")
show("Per router", per_router, "per router")
show("Per ISP", per_isp, "per ISP")
show("Fixed", fixed, "")

print("\n| scenario | subscribers | routers | ISPs | US$ a month | per 1,000 subscribers |\n|---|---|---|---|---|---|")
for name, subs, routers, isps in [
    ("1 ISP with 50 subscribers", 50, 1, 1),
    ("100 ISPs with 1,000 each", 100_000, 1_000, 100),
    ("1,000 ISPs, 100,000 subscribers in all", 100_000, 1_000, 1_000),
    ("100 ISPs with 1,000 each, RADIUS mode", 100_000, 1_000, 100),
    ("1,000 ISPs, 100,000 subscribers in all, RADIUS mode", 100_000, 1_000, 1_000),
]:
    radius = radius_per_subscriber if "RADIUS" in name else 0.0
    cost = subs * (total(per_subscriber) + radius) + routers * total(per_router) + isps * total(per_isp) + total(fixed)
    print(f"| {name} | {subs:,} | {routers:,} | {isps:,} | {cost:,.2f} | {cost / subs * 1000:,.2f} |")
print(f"\nRADIUS mode adds US${radius_per_subscriber:.6f} a subscriber a month (its sessions' calls).")

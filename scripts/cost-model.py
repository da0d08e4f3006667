#!/usr/bin/env python3
"""The monthly AWS cost of the system from measured request counts (docs/cost.md).

Every figure marked `measured` comes from docs/benchmarks.md (the command that measured it is
named there); prices are AWS list prices (us-east-1, on demand) as used in docs/cost.md. Change a
number here and run `python3 scripts/cost-model.py` to print the tables again.
"""

import sys

MONTH_DAYS = 30
SWEEPS = MONTH_DAYS * 24 * 12  # every 5 minutes

# `--levers`: the cheaper design docs/cost.md proposes (not built), to see what it would cost.
LEVERS = "--levers" in sys.argv
TRAFFIC_SAMPLES = MONTH_DAYS * 24 * (4 if LEVERS else 12)  # every 15 or 5 minutes
DAY_RECORDS = MONTH_DAYS * (8 if LEVERS else 24)  # every 3 hours or hourly
DAY_RECORD_WU = 1 if LEVERS else 2  # without or with its by-day index entry
HEALTH_WRITES = MONTH_DAYS * (24 if LEVERS else 288)  # hourly (and on a change) or every sweep
RECONCILES = MONTH_DAYS * (4 if LEVERS else 24)  # every 6 hours or hourly
FAN_OUT_PER = 100 if LEVERS else 1  # ISPs named by one scheduled event

# ---- prices (US$) -----------------------------------------------------------------------------
WRU = 0.625e-6  # DynamoDB on-demand write request unit
RRU = 0.125e-6  # DynamoDB on-demand read request unit
STORAGE_GB = 0.25 + 0.20  # DynamoDB storage + point-in-time recovery, per GB-month
EVENT = 1.00e-6  # EventBridge custom event
SQS_REQ = 0.40e-6  # SQS request
APIGW = 1.00e-6  # HTTP API request
LAMBDA_REQ = 0.20e-6
LAMBDA_GBS = 0.0000133334  # arm64
LOGS_GB = 0.50  # CloudWatch Logs ingestion
CONCENTRATOR = 0.0042 * 730 + 0.005 * 730  # t4g.nano + its public IPv4 address
ALARMS = 5 * 0.10  # the DLQ alarms of the template


def lambda_cost(invocations, ms, mb=512):
    return invocations * (LAMBDA_REQ + LAMBDA_GBS * (mb / 1024) * (ms / 1000))


# ---- per subscriber and month -----------------------------------------------------------------
# measured (traffic-sweep): a steady 5-minute sample writes 263 write units for 1,100 sessions.
cursor_wu_per_session_sample = 40 / 1000 if LEVERS else 263 / 1100
# measured (traffic-sweep): a day record (and its by-day index entry) at most hourly.
day_records_wu = DAY_RECORDS * DAY_RECORD_WU
# the cursor read each sweep: ~150 bytes a session, strongly consistent (4 KB per unit).
cursor_ru = TRAFFIC_SAMPLES * (40 if LEVERS else 150) / 4096
usage = (TRAFFIC_SAMPLES * cursor_wu_per_session_sample + day_records_wu) * WRU + cursor_ru * RRU
# the hourly reconcile reads the subscriber's provisioning record (and its share of the router's
# gsi4 page); since 2026-12-07 it writes it only when something changed (measured: no write).
reconcile = RECONCILES * (0.5 + 0.04) * RRU
# measured (billing-run, request-counts): an invoice 20.8 WCU, a payment ~20, two reminders
# (reminders-10k: ~4 WCU each), ~6 events with their queue and worker share.
billing = (20.8 + 20 + 2 * 4) * WRU + 6 * (EVENT + 1.2 * SQS_REQ) + lambda_cost(6 / 10, 80)
# 30 API calls a month (staff and portal): API Gateway, the function, ~1 read unit each.
api = 30 * (APIGW + RRU) + lambda_cost(30, 40) + 30 * 1500 / 1e9 * LOGS_GB
# ~60 KB with indexes (90 usage days, invoices, payments, timeline).
storage = 60e3 / 1e9 * STORAGE_GB
per_subscriber = {
    "usage sampling (cursor, day records)": usage,
    "reconcile reads": reconcile,
    "billing: invoice, payment, reminders, events": billing,
    "API and portal calls": api,
    "storage and PITR": storage,
}

# ---- per router and month ---------------------------------------------------------------------
# measured (request counts): the health check writes HEALTH (1 unit) every 5 minutes, reads the
# router in a BatchGetItem; the worker's share of time ~100 ms a check; a weekly backup.
per_router = {
    "health check every 5 min (HEALTH item, reads, worker time)": HEALTH_WRITES * WRU
    + SWEEPS * 0.5 * RRU
    + SWEEPS * LAMBDA_GBS * 0.5 * 0.1,
    "reconcile report, weekly backup": RECONCILES * 2 * WRU + 4.3 * 3 * WRU,
    # measured (monitoring-sweep): the monitoring state and the 5-minute point ~4 write units a
    # router and sweep, an hour's summary once an hour (~1 unit); the ping targets' reads are the
    # router's own time.
    "monitoring (state and point every 5 min, hourly summary)": (SWEEPS * 4 + MONTH_DAYS * 24) * WRU,
}

# ---- per ISP and month ------------------------------------------------------------------------
# the scheduled jobs fan out one event per active ISP: health and message release every 5 min,
# voucher expiry every 15, reconcile and expiry sweep hourly, billing, dunning, backups daily.
fan_out_events = MONTH_DAYS * (2 * 288 + 96 + 2 * 24 + 3)
per_event = 2 * WRU + EVENT + 1.2 * SQS_REQ + lambda_cost(0.1, 20) + 1 * RRU + 300 / 1e9 * LOGS_GB
per_isp = {"scheduled fan-out ({:,} events)".format(fan_out_events): fan_out_events * per_event / FAN_OUT_PER}

# ---- fixed ------------------------------------------------------------------------------------
fixed = {
    "WireGuard concentrator (t4g.nano + public IPv4)": CONCENTRATOR,
    "CloudWatch alarms": ALARMS,
    "scheduled job invocations (turbo sweep every minute, the rest)": lambda_cost(43_200 + 30_000, 30),
}


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
]:
    cost = subs * total(per_subscriber) + routers * total(per_router) + isps * total(per_isp) + total(fixed)
    print(f"| {name} | {subs:,} | {routers:,} | {isps:,} | {cost:,.2f} | {cost / subs * 1000:,.2f} |")

#!/usr/bin/env bash
# Pays one of the demo ISP's open invoices online, as staff and a payer would, against what
# `make run` serves: a checkout at the demo Stripe (or bKash) sandbox account, the payer on the
# gateway's page (the fake), the browser's return confirmed with the gateway, then the invoice,
# the payment and the checkout's history. With Stripe the webhook arrives too and changes nothing
# more (paid once). Needs curl and python3.
#
#   scripts/pay-demo-invoice.sh                 # Stripe
#   GATEWAY=bkash scripts/pay-demo-invoice.sh   # bKash tokenized checkout (the return executes)
set -euo pipefail
URL=${URL:-http://127.0.0.1:3000}
GATEWAY=${GATEWAY:-stripe}
EMAIL=${DEMO_ADMIN_EMAIL:-admin@demo.isp.local}
PASSWORD=${DEMO_ADMIN_PASSWORD:-admin-demo-pass-1}

# json EXPR: evaluates EXPR on the JSON read from stdin (as `d`).
json() { python3 -c 'import sys, json; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

TOKEN=$(curl -sf "$URL/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" | json 'd["access_token"]')
AUTH="authorization: Bearer $TOKEN"
INVOICE=$(curl -sf "$URL/v1/invoices?status=issued&limit=1" -H "$AUTH" | json 'd["items"][0]["id"] if d["items"] else ""')
if [ -z "$INVOICE" ]; then echo "no open invoice left to pay"; exit 1; fi
ACCOUNT=$(curl -sf "$URL/v1/payment-gateways" -H "$AUTH" | json "[a['id'] for a in d['items'] if a['gateway'] == '$GATEWAY'][0]")
echo "1. staff ask $GATEWAY for invoice $INVOICE (account $ACCOUNT)"
CHECKOUT=$(curl -sf "$URL/v1/checkouts" -H "$AUTH" -H "idempotency-key: demo-$INVOICE" -H 'content-type: application/json' \
  -d "{\"invoice_id\":\"$INVOICE\",\"gateway_account_id\":\"$ACCOUNT\"}")
ID=$(echo "$CHECKOUT" | json 'd["id"]')
PAGE=$(echo "$CHECKOUT" | json 'd["redirect_url"]')
echo "   checkout $ID: $(echo "$CHECKOUT" | json 'd["amount"]') $(echo "$CHECKOUT" | json 'd["currency"]'), pay at $PAGE"
echo "2. the payer pays on the gateway's page"
BACK=$(curl -s -o /dev/null -w '%{redirect_url}' "$PAGE")
echo "   the gateway sends the browser back to $BACK"
echo "3. the return is confirmed with the gateway"
DONE=$(curl -s -o /dev/null -w '%{redirect_url}' "$BACK")
echo "   303 to the ISP's page: $DONE"
sleep 1
echo "4. the invoice, the payment and the checkout"
curl -sf "$URL/v1/invoices/$INVOICE" -H "$AUTH" | json '"   invoice %s: %s, due %s" % (d["number"], d["status"], d["amount_due"])'
curl -sf "$URL/v1/checkouts/$ID" -H "$AUTH" | json '"   checkout: %s, payment %s, transaction %s\n" % (d["state"], d["payment_id"], d["transaction_id"]) + "\n".join("     %s %s: %s" % (h["at"], h["kind"], h["detail"]) for h in d["history"])'
CUSTOMER=$(curl -sf "$URL/v1/invoices/$INVOICE" -H "$AUTH" | json 'd["customer_id"]')
curl -sf "$URL/v1/payments?customer_id=$CUSTOMER" -H "$AUTH" | json '"\n".join("   payment %s: %s %s %s" % (p["receipt_number"], p["amount"], p["currency"], p["method"]) for p in d["items"])'

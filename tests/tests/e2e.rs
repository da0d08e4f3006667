//! End-to-end tests: every call goes over HTTP to the local runner, which runs the functions' real
//! handlers against moto. Each test has its own table, bus and queues.

mod account_security;
mod architecture;
mod auth;
mod bad_input;
mod billing;
mod billing_life;
mod billing_run;
mod checkouts;
mod customers;
mod dashboard;
mod event_catalogue;
mod event_path;
mod gateway_refunds;
mod gateway_restores;
mod hardening;
mod imports;
mod isolation;
mod jobs;
mod leads;
mod live_routers;
mod network;
mod notifications;
mod payment_gateways;
mod platform;
mod platform_checkouts;
mod provisioning;
mod request_counts;
mod sample_events;
mod subscriptions;
mod template;
mod users;
mod vouchers;
mod wallets;
mod webhooks;

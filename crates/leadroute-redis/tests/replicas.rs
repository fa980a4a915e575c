//! Many replicas on one Redis: worker processes (this test binary re-run
//! with `LEADROUTE_TEST_WORKER`), each with its own `LeadRouter`, share one
//! `redis-server`. The scenarios and their checks are in
//! `leadroute_test_servers::replicas`; `support::Harness` connects them to
//! Redis.

mod support;

leadroute_test_servers::replicas_suite!(support::Harness);

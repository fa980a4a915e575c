//! `RedisOutbox` against a real `redis-server`: the `Outbox` contract and
//! concurrent claimers (`leadroute_test_servers::outbox_suite!`).

mod support;

leadroute_test_servers::outbox_suite!(support::Harness);

//! Benchmarks only; see `benches/compare.rs`.

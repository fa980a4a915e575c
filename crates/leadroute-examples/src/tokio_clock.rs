//! A `leadroute::Clock` over tokio's timer.

use std::future::Future;
use std::time::{Duration, SystemTime};

use leadroute::Clock;

/// A [`Clock`] over tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

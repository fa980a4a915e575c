//! A `leadroute::Clock` over tokio's timer, shared by the examples that run
//! under tokio (included with `#[path]`).

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

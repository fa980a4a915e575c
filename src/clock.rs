//! Time, injected: the current time for events and capacity periods, and a
//! sleep for time budgets. The crate never reads the clock itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

/// A source of time for the [`LeadRouter`](crate::LeadRouter).
///
/// Implement it over your runtime's timer in async services, e.g. with
/// tokio: `now()` → `SystemTime::now()`, `sleep(d)` →
/// `tokio::time::sleep(d)`. [`SystemClock`] works without a runtime.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// A future that completes after `duration` (used for time budgets).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        (**self).sleep(duration)
    }
}

/// The system clock, with a runtime-agnostic sleep that parks one helper
/// thread per pending timer. Fine for scripts, tests and modest rates; in an
/// async service prefer a [`Clock`] over the runtime's own timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        ThreadSleep::new(duration)
    }
}

#[derive(Debug, Default)]
struct Shared {
    done: bool,
    waker: Option<Waker>,
}

/// A timer future completed by a sleeping helper thread.
#[derive(Debug)]
struct ThreadSleep {
    duration: Duration,
    shared: Option<Arc<Mutex<Shared>>>,
}

impl ThreadSleep {
    fn new(duration: Duration) -> Self {
        ThreadSleep {
            duration,
            shared: None,
        }
    }
}

impl Future for ThreadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.duration.is_zero() {
            return Poll::Ready(());
        }
        let shared = match &self.shared {
            Some(s) => s.clone(),
            None => {
                let shared = Arc::new(Mutex::new(Shared::default()));
                let (thread_shared, duration) = (shared.clone(), self.duration);
                // If the thread cannot be spawned the timer never fires; the
                // guarded future then simply runs to completion.
                let _ = std::thread::Builder::new()
                    .name("leadroute-timer".into())
                    .spawn(move || {
                        std::thread::sleep(duration);
                        let mut s = thread_shared.lock().unwrap_or_else(|e| e.into_inner());
                        s.done = true;
                        if let Some(w) = s.waker.take() {
                            w.wake();
                        }
                    });
                self.shared = Some(shared.clone());
                shared
            }
        };
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        if s.done {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// Runs `work` but gives up after `budget` (as measured by `clock`).
/// `None` means the budget ran out first. `work` is polled before the timer,
/// so work that is ready at once always wins.
pub(crate) async fn within<K: Clock, F: Future>(
    clock: &K,
    budget: Duration,
    work: F,
) -> Option<F::Output> {
    let mut work = std::pin::pin!(work);
    let mut timer = std::pin::pin!(clock.sleep(budget));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_sleep_completes_and_bounds_work() {
        let start = std::time::Instant::now();
        pollster::block_on(SystemClock.sleep(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Work that never finishes is cut off by the budget.
        let out = pollster::block_on(within(
            &SystemClock,
            Duration::from_millis(10),
            std::future::pending::<u8>(),
        ));
        assert_eq!(out, None);
        // Work that finishes first wins.
        let out = pollster::block_on(within(&SystemClock, Duration::from_secs(5), async { 7 }));
        assert_eq!(out, Some(7));
    }
}

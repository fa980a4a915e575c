//! Time, injected: the current time for events and capacity periods, and a
//! sleep for time budgets. The crate never reads the clock itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

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

/// The system clock, with a runtime-agnostic sleep: each pending timer
/// waits on a helper thread, which ends as soon as the timer fires **or is
/// dropped** (a CRM call that answers within its budget releases its thread
/// at once). Fine for scripts, tests and modest rates; in an async service
/// prefer a [`Clock`] over the runtime's own timer.
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
struct State {
    done: bool,
    /// The future was dropped before the timer fired: the thread may go.
    cancelled: bool,
    waker: Option<Waker>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few flags written under the lock; a panic elsewhere
        // cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A timer future completed by a helper thread.
#[derive(Debug)]
struct ThreadSleep {
    duration: Duration,
    shared: Option<Arc<Shared>>,
}

impl ThreadSleep {
    fn new(duration: Duration) -> Self {
        ThreadSleep {
            duration,
            shared: None,
        }
    }

    /// Starts the helper thread: it waits until the deadline or until the
    /// future is dropped, whichever comes first.
    fn start(duration: Duration) -> Arc<Shared> {
        let shared = Arc::new(Shared::default());
        let theirs = shared.clone();
        // If the thread cannot be spawned the timer never fires; the guarded
        // future then simply runs to completion.
        let _ = std::thread::Builder::new()
            .name("leadroute-timer".into())
            .spawn(move || {
                let deadline = Instant::now() + duration;
                let mut s = theirs.lock();
                while !s.cancelled {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        s.done = true;
                        if let Some(w) = s.waker.take() {
                            w.wake();
                        }
                        break;
                    }
                    s = theirs
                        .changed
                        .wait_timeout(s, left)
                        .map_or_else(|e| e.into_inner().0, |(g, _)| g);
                }
            });
        shared
    }
}

impl Future for ThreadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.duration.is_zero() {
            return Poll::Ready(());
        }
        let duration = self.duration;
        let shared = self
            .shared
            .get_or_insert_with(|| ThreadSleep::start(duration));
        let mut s = shared.lock();
        if s.done {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for ThreadSleep {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.lock().cancelled = true;
            shared.changed.notify_all();
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

    #[test]
    fn a_dropped_timer_releases_its_thread_at_once() {
        // A pending 30 s timer whose future is dropped: its thread must end
        // now, not in 30 s.
        let mut sleep = std::pin::pin!(SystemClock.sleep(Duration::from_secs(30)));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(sleep.as_mut().poll(&mut cx).is_pending());
        let shared = {
            // Reach the shared state through a second, identical timer we
            // own, so the test sees the thread's exit.
            let mut own = ThreadSleep::new(Duration::from_secs(30));
            assert!(Pin::new(&mut own).poll(&mut cx).is_pending());
            let shared = own.shared.clone().unwrap();
            drop(own);
            shared
        };
        // The helper thread holds the other reference until it ends.
        let start = std::time::Instant::now();
        while Arc::strong_count(&shared) > 1 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timer thread still running"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(shared.lock().cancelled && !shared.lock().done);
    }
}

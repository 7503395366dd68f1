//! Single-flight: concurrent callers that need the same key run the work once. The first one
//! (the leader) runs it in its own task; the others (followers) wait on a `watch` channel for
//! the leader's value.
//!
//! A leader that is cancelled or panics drops its [`Leader`] guard, which removes its entry
//! and closes the channel: its followers wake up and join again, so one of them leads the work
//! anew and the others follow that one. Nobody waits for a leader that is gone.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

/// The in-flight work, by key.
#[derive(Debug)]
pub(crate) struct Flights<T> {
    inner: Mutex<Map<T>>,
}

#[derive(Debug)]
struct Map<T> {
    next_id: u64,
    /// The flight's id (so a guard removes only its own entry) and a receiver to clone.
    by_key: HashMap<String, (u64, watch::Receiver<Option<T>>)>,
}

/// How a caller got its value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Via<T> {
    /// It ran the work itself.
    Led(T),
    /// Another caller ran it.
    Followed(T),
}

impl<T: Clone> Flights<T> {
    pub(crate) fn new() -> Flights<T> {
        Flights {
            inner: Mutex::new(Map {
                next_id: 0,
                by_key: HashMap::new(),
            }),
        }
    }

    /// The value of `work` for `key`: run here when nobody else is running it, else the value
    /// the running caller produces. `work` is called at most once.
    pub(crate) async fn run<F, Fut>(&self, key: &str, work: F) -> Via<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        loop {
            match self.join(key) {
                Joined::Lead(leader) => {
                    let value = work().await;
                    leader.finish(value.clone());
                    return Via::Led(value);
                }
                Joined::Follow(mut receiver) => {
                    // `wait_for` looks at the current value first, so a value sent before this
                    // follower subscribed is seen too. An error means the leader vanished.
                    let value = receiver
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .and_then(|v| v.clone());
                    if let Some(value) = value {
                        return Via::Followed(value);
                    }
                    tracing::debug!("single-flight leader vanished; joining again");
                }
            }
        }
    }

    /// How many keys are in flight now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().by_key.len()
    }

    fn join(&self, key: &str) -> Joined<'_, T> {
        let mut map = self.lock();
        if let Some((_, receiver)) = map.by_key.get(key) {
            return Joined::Follow(receiver.clone());
        }
        let id = map.next_id;
        map.next_id += 1;
        let (sender, receiver) = watch::channel(None);
        map.by_key.insert(key.to_string(), (id, receiver));
        Joined::Lead(Leader {
            flights: self,
            key: key.to_string(),
            id,
            sender,
        })
    }

    /// The map; never held across an await. A panic while it was held cannot leave it
    /// inconsistent (every change is one insert or remove), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Map<T>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

enum Joined<'a, T> {
    Lead(Leader<'a, T>),
    Follow(watch::Receiver<Option<T>>),
}

/// The leader's hold on its key. Dropped without [`Leader::finish`] (cancelled, panicked),
/// it closes the channel so followers join again.
struct Leader<'a, T> {
    flights: &'a Flights<T>,
    key: String,
    id: u64,
    sender: watch::Sender<Option<T>>,
}

impl<T> Leader<'_, T> {
    fn finish(self, value: T) {
        // Sent before the entry goes (in `drop`): whoever joined until then gets this value,
        // whoever comes after finds no flight and starts a new one.
        self.sender.send_replace(Some(value));
    }
}

impl<T> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        let mut map = self
            .flights
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map
            .by_key
            .get(&self.key)
            .is_some_and(|(id, _)| *id == self.id)
        {
            map.by_key.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_run_and_later_ones_run_again() {
        let flights = Flights::new();
        let runs = AtomicU32::new(0);
        let work = || async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            runs.fetch_add(1, Ordering::SeqCst) + 1
        };
        let all = futures::future::join_all((0..50).map(|_| flights.run("k", work))).await;
        let led = all.iter().filter(|v| matches!(v, Via::Led(1))).count();
        let followed = all.iter().filter(|v| matches!(v, Via::Followed(1))).count();
        assert_eq!((led, followed), (1, 49));
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(flights.run("k", work).await, Via::Led(2));
        assert_eq!(flights.run("other", work).await, Via::Led(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_leader_hands_over_to_a_follower() {
        let flights = Arc::new(Flights::new());
        let runs = Arc::new(AtomicU32::new(0));
        let start = |flights: Arc<Flights<u32>>, runs: Arc<AtomicU32>| {
            tokio::spawn(async move {
                flights
                    .run("k", || async {
                        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        n
                    })
                    .await
            })
        };
        let leader = start(Arc::clone(&flights), Arc::clone(&runs));
        tokio::time::sleep(Duration::from_millis(10)).await;
        let followers: Vec<_> = (0..5)
            .map(|_| start(Arc::clone(&flights), Arc::clone(&runs)))
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        leader.abort();
        let mut got = Vec::new();
        for follower in followers {
            got.push(follower.await.unwrap());
        }
        // One follower led the second run, the other four followed it.
        let led = got.iter().filter(|v| **v == Via::Led(2)).count();
        let followed = got.iter().filter(|v| **v == Via::Followed(2)).count();
        assert_eq!((led, followed), (1, 4), "{got:?}");
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_leader_hands_over_too() {
        let flights = Arc::new(Flights::<u32>::new());
        let panicking = {
            let flights = Arc::clone(&flights);
            tokio::spawn(async move {
                flights
                    .run("k", || async {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        panic!("leader fails");
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let follower = flights.run("k", || async { 7 });
        assert_eq!(follower.await, Via::Led(7));
        assert!(panicking.await.is_err());
    }
}

//! Client-side rate limiting: a rolling window for the 10-second burst limit (adapting to the
//! `X-HubSpot-RateLimit-*` headers) and a separate one for search (5 requests per second).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use tokio::sync::Mutex;

/// The longest rolling window believed from `X-HubSpot-RateLimit-Interval-Milliseconds`.
const MAX_INTERVAL_MS: u64 = 60_000;

/// A rolling-window limiter: at most `capacity` requests in any `interval`.
#[derive(Debug)]
pub struct Limiter {
    inner: Mutex<Window>,
}

#[derive(Debug, Clone)]
struct Window {
    capacity: u32,
    /// The capacity HubSpot allows (its headers', or the documented figure): a capacity lowered
    /// after a 429 without headers grows back to it.
    nominal: u32,
    /// When the capacity was last lowered or grown back; it doubles after each whole interval
    /// without a refusal.
    lowered_at: Option<Instant>,
    interval: Duration,
    sent: VecDeque<Instant>,
    /// HubSpot said the budget is used up (other clients of the same app count too).
    paused_until: Option<Instant>,
}

/// Requests left unused from HubSpot's figure, for other processes of the same app.
const RESERVE: u32 = 2;

impl Limiter {
    /// The burst limiter. 100 per 10 s is the lowest tier's limit; headers raise it.
    #[must_use]
    pub fn ten_secondly() -> Self {
        Self::new(100, Duration::from_secs(10))
    }

    /// The search limiter: 5 per second per account.
    #[must_use]
    pub fn search() -> Self {
        Self::new(5, Duration::from_secs(1))
    }

    #[must_use]
    pub fn new(capacity: u32, interval: Duration) -> Self {
        Self {
            inner: Mutex::new(Window {
                capacity: capacity.max(1),
                nominal: capacity.max(1),
                lowered_at: None,
                interval,
                sent: VecDeque::new(),
                paused_until: None,
            }),
        }
    }

    /// Wait until a request may be sent, and count it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut w = self.inner.lock().await;
                let now = Instant::now();
                match w.next_slot(now) {
                    None => {
                        w.sent.push_back(now);
                        return;
                    }
                    Some(at) => at.saturating_duration_since(now),
                }
            };
            tracing::debug!(wait_ms = wait.as_millis(), "rate limiter: waiting");
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }

    /// Adapt to HubSpot's `X-HubSpot-RateLimit-Max`, `-Remaining` and `-Interval-Milliseconds`.
    pub async fn observe(&self, headers: &HeaderMap) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let max = num("x-hubspot-ratelimit-max");
        let remaining = num("x-hubspot-ratelimit-remaining");
        let interval = num("x-hubspot-ratelimit-interval-milliseconds");
        if max.is_none() && remaining.is_none() {
            return;
        }
        let mut w = self.inner.lock().await;
        w.adapt(max, remaining, interval, Instant::now());
    }

    /// HubSpot answered 429 without saying when to come back. It counts at most what this
    /// client sent in the window, so the window holds no more than that: lower the capacity to
    /// it and pause until the oldest of those requests leaves the window (a whole interval when
    /// none is in it). Returns how long that is.
    pub async fn refused(&self) -> Duration {
        let mut w = self.inner.lock().await;
        let now = Instant::now();
        w.refused(now).saturating_duration_since(now)
    }

    /// The current capacity per interval (for logs and tests).
    pub async fn capacity(&self) -> (u32, Duration) {
        let w = self.inner.lock().await;
        (w.capacity, w.interval)
    }
}

impl Window {
    /// `None` when a request may go now; otherwise the instant a slot frees up.
    fn next_slot(&mut self, now: Instant) -> Option<Instant> {
        self.grow_back(now);
        if let Some(until) = self.paused_until {
            if until > now {
                return Some(until);
            }
            self.paused_until = None;
        }
        let span = self.forget_old(now);
        if self.sent.len() < self.capacity as usize {
            None
        } else {
            self.sent.front().map(|&first| first + span)
        }
    }

    /// Drop the requests that left the window; returns the window's span. HubSpot counts a
    /// request when it arrives, a little after we count it: the span keeps a 5% margin.
    fn forget_old(&mut self, now: Instant) -> Duration {
        let span = self.interval + self.interval / 20;
        while let Some(&first) = self.sent.front() {
            if now.duration_since(first) >= span {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        span
    }

    /// A capacity lowered by a 429 doubles after each whole interval without another, up to
    /// the nominal one: a budget someone else used up for a while is not given up for good
    /// (search answers carry no headers that would restore it).
    fn grow_back(&mut self, now: Instant) {
        let Some(at) = self.lowered_at else {
            return;
        };
        if self.capacity >= self.nominal {
            self.lowered_at = None;
        } else if now.saturating_duration_since(at) >= self.interval {
            self.capacity = self.capacity.saturating_mul(2).min(self.nominal);
            self.lowered_at = Some(now);
        }
    }

    fn refused(&mut self, now: Instant) -> Instant {
        let span = self.forget_old(now);
        let until = match self.sent.front() {
            Some(&oldest) => {
                let ours = u32::try_from(self.sent.len()).unwrap_or(u32::MAX);
                self.capacity = self.capacity.min(ours).max(1);
                self.lowered_at = Some(now);
                oldest + span
            }
            None => now + self.interval,
        };
        let until = self.paused_until.map_or(until, |p| p.max(until));
        self.paused_until = Some(until);
        until
    }

    fn adapt(
        &mut self,
        max: Option<u64>,
        remaining: Option<u64>,
        interval: Option<u64>,
        now: Instant,
    ) {
        if let Some(ms) = interval.filter(|ms| *ms > 0) {
            // HubSpot's windows are 1 s and 10 s; a server claiming more (or a broken proxy)
            // must not pause the run for hours.
            self.interval = Duration::from_millis(ms.min(MAX_INTERVAL_MS));
        }
        if let Some(max) = max {
            let max = u32::try_from(max).unwrap_or(u32::MAX);
            self.capacity = max.saturating_sub(RESERVE).max(1);
            self.nominal = self.capacity;
            self.lowered_at = None;
        }
        if let Some(rem) = remaining {
            if rem <= u64::from(RESERVE) {
                // When the used budget is all ours, a slot frees as soon as the oldest request
                // HubSpot still counts leaves its window. When others share it (another
                // integration, or an earlier run), a slot frees when our oldest leaves, or when
                // theirs have all left (within an interval), whichever comes first.
                let span = self.interval + self.interval / 20;
                let ours: Vec<Instant> = self
                    .sent
                    .iter()
                    .copied()
                    .filter(|t| now.saturating_duration_since(*t) < span)
                    .collect();
                let used = max.map_or(0, |m| m.saturating_sub(rem));
                let until = match usize::try_from(used) {
                    Ok(used) if used > 0 && ours.len() >= used => ours[ours.len() - used] + span,
                    _ => ours.first().map_or(now + self.interval, |&oldest| {
                        (oldest + span).min(now + self.interval)
                    }),
                };
                self.paused_until = Some(until);
            } else if max.is_some_and(|m| rem >= m / 4) {
                // A quarter of the budget is free by HubSpot's own count: a pause from a bare
                // 429 (or an older answer near the limit) no longer holds. A quarter, so an
                // answer overtaken by later requests of ours cannot lift a real exhaustion.
                self.paused_until = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window of `capacity` per 10 s, empty.
    fn window(capacity: u32) -> Window {
        Window {
            capacity,
            nominal: capacity,
            lowered_at: None,
            interval: Duration::from_secs(10),
            sent: VecDeque::new(),
            paused_until: None,
        }
    }

    #[test]
    fn window_allows_capacity_then_waits_for_the_oldest() {
        let mut w = window(3);
        let t0 = Instant::now();
        for i in 0..3 {
            let at = t0 + Duration::from_secs(i);
            assert_eq!(w.next_slot(at), None);
            w.sent.push_back(at);
        }
        let t = t0 + Duration::from_secs(4);
        // The window plus a 5% margin for the time a request takes to reach HubSpot.
        assert_eq!(w.next_slot(t), Some(t0 + Duration::from_millis(10_500)));
        assert!(w.next_slot(t0 + Duration::from_secs(10)).is_some());
        // After the oldest leaves the window, one more fits.
        assert_eq!(w.next_slot(t0 + Duration::from_millis(10_500)), None);
    }

    #[test]
    fn headers_set_capacity_and_pause_when_exhausted() {
        let mut w = window(100);
        let now = Instant::now();
        w.adapt(Some(190), Some(150), Some(10_000), now);
        assert_eq!(w.capacity, 188);
        assert_eq!(w.next_slot(now), None);
        w.adapt(Some(190), Some(1), Some(10_000), now);
        assert_eq!(w.next_slot(now), Some(now + Duration::from_secs(10)));
        assert_eq!(w.next_slot(now + Duration::from_secs(10)), None);
    }

    #[test]
    fn a_429_without_headers_waits_for_the_oldest_of_ours_only() {
        let t0 = Instant::now();
        let mut w = window(100);
        w.sent.extend((0..4).map(|i| t0 + Duration::from_secs(i)));
        // Refused at 5 s: HubSpot holds at most our 4; the first leaves at 0 s + 10.5 s.
        let now = t0 + Duration::from_secs(5);
        assert_eq!(w.refused(now), t0 + Duration::from_millis(10_500));
        assert_eq!(w.capacity, 4);
        assert_eq!(w.next_slot(now), Some(t0 + Duration::from_millis(10_500)));
        // Each whole interval without another refusal doubles the pace, up to the nominal one.
        let later = now + Duration::from_secs(10);
        assert_eq!(w.next_slot(later), None);
        assert_eq!(w.capacity, 8);
        w.next_slot(later + Duration::from_secs(5));
        assert_eq!(w.capacity, 8, "not a whole interval yet");
        for i in 2..6 {
            w.next_slot(now + Duration::from_secs(10 * i));
        }
        assert_eq!(w.capacity, 100);
        // A refusal while growing back lowers it again and starts over.
        let mut w = window(5);
        w.sent.extend([t0]);
        w.refused(t0);
        assert_eq!(w.capacity, 1);
        w.next_slot(t0 + Duration::from_secs(10));
        assert_eq!(w.capacity, 2);
        w.sent.clear();
        w.sent.extend([t0 + Duration::from_secs(11)]);
        w.refused(t0 + Duration::from_secs(11));
        assert_eq!(w.capacity, 1);
        w.next_slot(t0 + Duration::from_secs(20));
        assert_eq!(
            w.capacity, 1,
            "an interval since the last refusal, not the first"
        );
        // Nothing of ours in the window (another client used it up): a whole interval.
        let mut idle = window(100);
        assert_eq!(idle.refused(t0), t0 + Duration::from_secs(10));
        assert_eq!(idle.capacity, 100);
    }

    #[test]
    fn headers_showing_budget_left_lift_the_pause_of_a_bare_429() {
        let t0 = Instant::now();
        let mut w = window(98);
        w.sent.extend([t0]);
        assert!(w.refused(t0) > t0);
        // An answer still near the limit keeps the pause...
        w.adapt(Some(100), Some(10), Some(10_000), t0);
        assert!(w.next_slot(t0).is_some());
        // ...one showing a quarter of the budget free lifts it.
        w.adapt(Some(100), Some(80), Some(10_000), t0);
        assert_eq!(w.next_slot(t0), None);
        assert_eq!(w.capacity, 98);
    }

    #[test]
    fn an_absurd_interval_header_is_clamped() {
        let mut w = window(100);
        let now = Instant::now();
        w.adapt(Some(100), Some(0), Some(u64::MAX / 2), now);
        assert_eq!(w.interval, Duration::from_millis(MAX_INTERVAL_MS));
        assert!(w
            .next_slot(now)
            .is_some_and(|t| t <= now + Duration::from_millis(MAX_INTERVAL_MS)));
    }

    #[test]
    fn an_exhausted_budget_of_our_own_requests_frees_when_the_oldest_leaves() {
        let t0 = Instant::now();
        let mut w = Window {
            sent: (0..3).map(|i| t0 + Duration::from_secs(i)).collect(),
            ..window(3)
        };
        let now = t0 + Duration::from_secs(3);
        // HubSpot counts all three of ours: the first leaves at 0 s + 10.5 s.
        w.adapt(Some(5), Some(2), Some(10_000), now);
        assert_eq!(w.paused_until, Some(t0 + Duration::from_millis(10_500)));
        // HubSpot counts more than we sent: other clients use the budget too. A slot frees
        // when our oldest leaves (theirs only leave), or an interval on at the latest.
        w.adapt(Some(10), Some(2), Some(10_000), now);
        assert_eq!(w.paused_until, Some(t0 + Duration::from_millis(10_500)));
        let late = t0 + Duration::from_millis(8_020);
        let mut w = Window {
            sent: [t0 + Duration::from_secs(8)].into_iter().collect(),
            ..window(3)
        };
        w.adapt(Some(10), Some(0), Some(1_000), late);
        assert_eq!(w.paused_until, Some(late + Duration::from_secs(1)));
        // None of ours in the window: a whole interval.
        let mut w = window(3);
        w.adapt(Some(10), Some(0), Some(10_000), now);
        assert_eq!(w.paused_until, Some(now + Duration::from_secs(10)));
    }

    #[tokio::test]
    async fn acquire_spaces_requests_over_the_interval() {
        let l = Limiter::new(4, Duration::from_millis(300));
        let start = Instant::now();
        for _ in 0..8 {
            l.acquire().await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(300), "took {took:?}");
        // Generous: a loaded machine is slow, but an unbounded wait would still show.
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
}

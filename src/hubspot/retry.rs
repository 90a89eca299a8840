//! When to retry a HubSpot request: a pure function of what happened and how often, tested by a
//! table (API.md §2 "Rate limits", "Other documented statuses").

use std::time::Duration;

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// HubSpot answered with a non-success status.
    Status {
        status: u16,
        /// `Retry-After`, in seconds, when present.
        retry_after: Option<Duration>,
        /// The 429 body's `policyName` (`DAILY`, `TEN_SECONDLY_ROLLING`, `SECONDLY`).
        policy: Option<&'a str>,
        /// The body's `message` (the search limit is only recognisable by it).
        message: &'a str,
    },
    /// No answer in time.
    Timeout,
    /// The connection failed (refused, reset, DNS).
    Connect,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Stop,
    Wait(Duration),
}

/// Limits of the policy. The defaults are what hubsync uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff for 5xx, timeouts and connection errors; doubled each retry.
    pub base: Duration,
    /// The longest backoff and the longest `Retry-After` honoured.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }
}

/// The 10-second burst window; the wait after a `TEN_SECONDLY_ROLLING` 429 without `Retry-After`.
pub const TEN_SECONDLY: Duration = Duration::from_secs(10);
/// The wait after the secondly (search) 429.
pub const SECONDLY: Duration = Duration::from_secs(1);
/// The least wait after `423 Locked`.
pub const LOCKED: Duration = Duration::from_secs(2);

/// Statuses HubSpot says to pause on and retry.
const TRANSIENT: [u16; 6] = [502, 503, 504, 521, 523, 524];

impl RetryPolicy {
    /// Decide after attempt number `attempt` (1 = the first request) ended with `outcome`.
    /// `jitter` in `[0, 1)` spreads backoffs of concurrent clients; pass 0 for a deterministic
    /// answer.
    #[must_use]
    pub fn decide(&self, outcome: &Outcome<'_>, attempt: u32, jitter: f64) -> Decision {
        if attempt > self.max_retries {
            return Decision::Stop;
        }
        let backoff = self.backoff(attempt, jitter);
        match *outcome {
            Outcome::Timeout | Outcome::Connect => Decision::Wait(backoff),
            Outcome::Status {
                status,
                retry_after,
                policy,
                message,
            } => match status {
                429 => {
                    if is_daily(policy, message) {
                        return Decision::Stop;
                    }
                    if let Some(ra) = retry_after {
                        return self.honour(ra);
                    }
                    if is_secondly(policy, message) {
                        Decision::Wait(SECONDLY)
                    } else {
                        Decision::Wait(TEN_SECONDLY)
                    }
                }
                // Locked: wait and retry, but never longer than `max_wait` per wait.
                423 => match retry_after {
                    Some(ra) if ra > self.max_wait => Decision::Stop,
                    ra => Decision::Wait(
                        ra.unwrap_or(LOCKED)
                            .max(LOCKED)
                            .max(backoff)
                            .min(self.max_wait),
                    ),
                },
                477 => match retry_after {
                    Some(ra) => self.honour(ra),
                    None => Decision::Wait(backoff.max(LOCKED)),
                },
                s if TRANSIENT.contains(&s) => match retry_after {
                    Some(ra) => self.honour(ra),
                    None => Decision::Wait(backoff),
                },
                _ => Decision::Stop,
            },
        }
    }

    /// A `Retry-After` longer than `max_wait` isn't worth blocking a cron run for.
    fn honour(&self, ra: Duration) -> Decision {
        if ra > self.max_wait {
            Decision::Stop
        } else {
            Decision::Wait(ra)
        }
    }

    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(16);
        let d = self.base.saturating_mul(1 << exp).min(self.max_wait);
        d.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0))
    }
}

/// A 429 of the daily limit: stop the run, the next one resumes.
#[must_use]
pub fn is_daily(policy: Option<&str>, message: &str) -> bool {
    policy.is_some_and(|p| p.eq_ignore_ascii_case("DAILY"))
        || message.to_ascii_lowercase().contains("daily limit")
}

fn is_secondly(policy: Option<&str>, message: &str) -> bool {
    policy.is_some_and(|p| p.eq_ignore_ascii_case("SECONDLY"))
        || message.to_ascii_lowercase().contains("secondly limit")
            && !message.to_ascii_lowercase().contains("ten_secondly")
}

/// The longest server-set wait kept as given; anything longer (`1e300`) reads as this, which
/// every caller treats as "longer than worth waiting".
pub const LONGEST_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Parse a `Retry-After` header given in seconds (HubSpot doesn't send the HTTP-date form).
/// Whatever the server sends, the result is at most [`LONGEST_WAIT`]; garbage is ignored.
#[must_use]
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(LONGEST_WAIT));
    }
    v.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::try_from_secs_f64(s).map_or(LONGEST_WAIT, |d| d.min(LONGEST_WAIT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, ra: Option<u64>, policy: Option<&'static str>) -> Outcome<'static> {
        Outcome::Status {
            status,
            retry_after: ra.map(Duration::from_secs),
            policy,
            message: "",
        }
    }

    const fn ms(n: u64) -> Decision {
        Decision::Wait(Duration::from_millis(n))
    }

    #[test]
    fn table() {
        let p = RetryPolicy::default();
        let secondly = Outcome::Status {
            status: 429,
            retry_after: None,
            policy: None,
            message: "You have reached your secondly limit.",
        };
        let daily_msg = Outcome::Status {
            status: 429,
            retry_after: None,
            policy: None,
            message: "You have reached your daily limit.",
        };
        let cases: Vec<(Outcome<'_>, u32, Decision)> = vec![
            // Rate limits.
            (
                status(429, None, Some("TEN_SECONDLY_ROLLING")),
                1,
                ms(10_000),
            ),
            (
                status(429, Some(3), Some("TEN_SECONDLY_ROLLING")),
                1,
                ms(3_000),
            ),
            (status(429, None, None), 2, ms(10_000)),
            (secondly, 1, ms(1_000)),
            (status(429, None, Some("DAILY")), 1, Decision::Stop),
            (status(429, Some(1), Some("DAILY")), 1, Decision::Stop),
            (daily_msg, 1, Decision::Stop),
            (status(429, Some(3600), None), 1, Decision::Stop),
            // Transient server errors: exponential backoff from 500 ms.
            (status(502, None, None), 1, ms(500)),
            (status(503, None, None), 2, ms(1_000)),
            (status(504, None, None), 3, ms(2_000)),
            (status(521, None, None), 4, ms(4_000)),
            (status(523, None, None), 5, ms(8_000)),
            (status(524, None, None), 6, Decision::Stop),
            (status(503, Some(7), None), 1, ms(7_000)),
            (Outcome::Timeout, 1, ms(500)),
            (Outcome::Connect, 2, ms(1_000)),
            (Outcome::Connect, 6, Decision::Stop),
            // Locked: at least 2 s.
            (status(423, None, None), 1, ms(2_000)),
            (status(423, Some(5), None), 1, ms(5_000)),
            // Migration in progress: Retry-After.
            (status(477, Some(30), None), 1, ms(30_000)),
            (status(477, None, None), 1, ms(2_000)),
            // Never retried.
            (status(400, None, None), 1, Decision::Stop),
            (status(401, None, None), 1, Decision::Stop),
            (status(403, None, None), 1, Decision::Stop),
            (status(404, None, None), 1, Decision::Stop),
            (status(409, None, None), 1, Decision::Stop),
            (status(500, None, None), 1, Decision::Stop),
            (status(522, None, None), 1, Decision::Stop),
            (status(525, None, None), 1, Decision::Stop),
        ];
        for (i, (outcome, attempt, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                p.decide(&outcome, attempt, 0.0),
                want,
                "case {i}: {outcome:?} attempt {attempt}"
            );
        }
    }

    #[test]
    fn jitter_adds_at_most_a_quarter() {
        let p = RetryPolicy::default();
        let Decision::Wait(d) = p.decide(&status(502, None, None), 1, 0.999) else {
            panic!("expected a wait");
        };
        assert!(d >= Duration::from_millis(500) && d <= Duration::from_millis(625));
    }

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy {
            max_retries: 30,
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.decide(&status(502, None, None), 20, 0.0),
            Decision::Wait(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("0.5")),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_retry_after(Some("soon")), None);
        assert_eq!(parse_retry_after(None), None);
        // Whatever a server sends, nothing panics and nothing exceeds the longest wait.
        for hostile in ["1e300", "inf", "NaN", "-1", "99999999999999999999", "1e19"] {
            let d = parse_retry_after(Some(hostile));
            assert!(d.is_none_or(|d| d <= LONGEST_WAIT), "{hostile}: {d:?}");
        }
        assert_eq!(parse_retry_after(Some("1e300")), Some(LONGEST_WAIT));
    }

    #[test]
    fn a_day_long_423_stops_the_run_instead_of_sleeping() {
        let p = RetryPolicy::default();
        let locked = |ra| Outcome::Status {
            status: 423,
            retry_after: ra,
            policy: None,
            message: "",
        };
        assert_eq!(
            p.decide(&locked(Some(Duration::from_secs(86_400))), 1, 0.0),
            Decision::Stop
        );
        assert_eq!(
            p.decide(&locked(Some(Duration::from_secs(3))), 1, 0.0),
            Decision::Wait(Duration::from_secs(3))
        );
        // A long backoff is capped at the longest wait.
        assert!(matches!(p.decide(&locked(None), 5, 0.9), Decision::Wait(d) if d <= p.max_wait));
    }
}

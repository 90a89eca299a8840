//! Rate limits (rolling burst window, daily, search per second) and injected faults.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;

use super::config::{Fault, FaultPlan, RateLimit, SandboxConfig};
use super::errors::{correlation_id, ApiError};

/// The rate-limit headers of one admitted (or refused) request.
#[derive(Debug, Clone, Default)]
pub struct RateHeaders {
    /// `(max, remaining, interval ms)` of the burst window.
    pub burst: Option<(u32, u32, u128)>,
    /// `(daily max, daily remaining)`.
    pub daily: Option<(u64, u64)>,
}

impl RateHeaders {
    /// Header pairs; the daily pair only for private-app tokens (HubSpot omits it for OAuth).
    pub fn pairs(&self, include_daily: bool) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some((max, remaining, interval)) = self.burst {
            out.push(("x-hubspot-ratelimit-max", max.to_string()));
            out.push(("x-hubspot-ratelimit-remaining", remaining.to_string()));
            out.push((
                "x-hubspot-ratelimit-interval-milliseconds",
                interval.to_string(),
            ));
        }
        if include_daily {
            if let Some((max, remaining)) = self.daily {
                out.push(("x-hubspot-ratelimit-daily", max.to_string()));
                out.push(("x-hubspot-ratelimit-daily-remaining", remaining.to_string()));
            }
        }
        out
    }
}

pub struct Limits {
    pub rate: Option<RateLimit>,
    window: VecDeque<Instant>,
    pub daily_limit: Option<u64>,
    pub daily_used: u64,
    day: NaiveDate,
    pub search_per_second: Option<u32>,
    search_window: VecDeque<Instant>,
    pub faults: FaultPlan,
    fault_counter: u64,
    fault_rng: StdRng,
    /// Faults for the next OAuth token requests (code exchanges and refreshes), in order.
    pub token_faults: VecDeque<Fault>,
}

/// A 429 in HubSpot's form.
pub fn rate_limited(policy: &str, message: &str) -> ApiError {
    ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        body: json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "requestId": correlation_id(),
        }),
    }
}

pub fn ten_secondly() -> ApiError {
    rate_limited(
        "TEN_SECONDLY_ROLLING",
        "You have reached your ten_secondly_rolling limit.",
    )
}

pub fn daily() -> ApiError {
    rate_limited("DAILY", "You have reached your daily limit.")
}

fn trim(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while let Some(&first) = window.front() {
        if now.duration_since(first) >= span {
            window.pop_front();
        } else {
            break;
        }
    }
}

impl Limits {
    pub fn new(cfg: &SandboxConfig) -> Self {
        let seed = cfg.faults.random.as_ref().map_or(cfg.seed, |r| r.seed);
        Self {
            rate: cfg.rate_limit,
            window: VecDeque::new(),
            daily_limit: cfg.daily_limit,
            daily_used: 0,
            day: Utc::now().date_naive(),
            search_per_second: cfg.search_per_second,
            search_window: VecDeque::new(),
            faults: cfg.faults.clone(),
            fault_counter: 0,
            fault_rng: StdRng::seed_from_u64(seed),
            token_faults: VecDeque::new(),
        }
    }

    pub fn set_faults(&mut self, plan: FaultPlan) {
        if let Some(r) = &plan.random {
            self.fault_rng = StdRng::seed_from_u64(r.seed);
        }
        self.faults = plan;
        self.fault_counter = 0;
    }

    pub fn set_rate_limit(&mut self, rate: Option<RateLimit>) {
        self.rate = rate;
        self.window.clear();
    }

    pub fn set_daily_limit(&mut self, limit: Option<u64>) {
        self.daily_limit = limit;
        self.daily_used = 0;
    }

    /// The fault for the next API request, if any.
    pub fn next_fault(&mut self) -> Option<Fault> {
        self.fault_counter += 1;
        let n = self.fault_counter;
        if let Some(s) = self
            .faults
            .scheduled
            .iter()
            .find(|s| n >= s.first && n < s.first.saturating_add(s.count))
        {
            return Some(s.fault.clone());
        }
        let r = self.faults.random.clone()?;
        let x: f64 = self.fault_rng.gen();
        if x < r.server_error {
            let status = [502, 503, 504][self.fault_rng.gen_range(0..3)];
            Some(Fault::Status { status })
        } else if x < r.server_error + r.rate_limited {
            Some(Fault::RateLimited)
        } else if x < r.server_error + r.rate_limited + r.timeout {
            Some(Fault::Hang { duration: r.hang })
        } else {
            None
        }
    }

    fn daily_headers(&self) -> Option<(u64, u64)> {
        self.daily_limit
            .map(|max| (max, max.saturating_sub(self.daily_used)))
    }

    /// Admits one API request (`None`) or refuses it with a 429, with the headers to send either
    /// way. Search requests have their own per-second limit and are exempt from the burst window.
    pub fn admit(&mut self, search: bool) -> (RateHeaders, Option<ApiError>) {
        let now = Instant::now();
        let today = Utc::now().date_naive();
        if today != self.day {
            self.day = today;
            self.daily_used = 0;
        }
        if let Some(max) = self.daily_limit {
            if self.daily_used >= max {
                let mut h = self.burst_headers(now, search);
                h.daily = Some((max, 0));
                return (h, Some(daily()));
            }
        }
        if search {
            if let Some(per_second) = self.search_per_second {
                trim(&mut self.search_window, now, Duration::from_secs(1));
                if self.search_window.len() >= per_second as usize {
                    return (
                        RateHeaders::default(),
                        Some(rate_limited(
                            "SECONDLY",
                            "You have reached your secondly limit.",
                        )),
                    );
                }
                self.search_window.push_back(now);
            }
            self.daily_used += 1;
            // Search answers carry no rate-limit headers.
            return (RateHeaders::default(), None);
        }
        if let Some(rate) = self.rate {
            trim(&mut self.window, now, rate.interval);
            if self.window.len() >= rate.max as usize {
                let mut h = self.burst_headers(now, false);
                h.daily = self.daily_headers();
                return (h, Some(ten_secondly()));
            }
            self.window.push_back(now);
        }
        self.daily_used += 1;
        let mut h = self.burst_headers(now, false);
        h.daily = self.daily_headers();
        (h, None)
    }

    fn burst_headers(&mut self, now: Instant, search: bool) -> RateHeaders {
        if search {
            return RateHeaders::default();
        }
        let burst = self.rate.map(|rate| {
            trim(&mut self.window, now, rate.interval);
            let used = u32::try_from(self.window.len()).unwrap_or(u32::MAX);
            (
                rate.max,
                rate.max.saturating_sub(used),
                rate.interval.as_millis(),
            )
        });
        RateHeaders { burst, daily: None }
    }
}

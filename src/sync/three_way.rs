//! The three-way rule (SPEC §6), field by field, with no IO: HubSpot's value R, the local value L
//! and the base B (what both sides last agreed on) decide which side's value carries over.
//!
//! Values are compared in the form push sends them (a HubSpot property value string), so a
//! date, a number or a checkbox list spelled differently by HubSpot compares equal to the
//! local value it came from. `None` is an empty value: "no opinion" on either side.

use crate::mapping::{ConflictPolicy, PullPolicy, PushPolicy};

/// Which side's value a conflict kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Hubspot,
    Local,
}

impl Side {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Hubspot => "hubspot",
            Side::Local => "local",
        }
    }
}

/// How one mapped field is synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub pull: PullPolicy,
    pub push: PushPolicy,
    pub conflict: ConflictPolicy,
}

/// What data-in does with one field of one matched record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// Nothing: HubSpot's value is empty, or nothing moved, or the policy keeps the local value.
    Skip,
    /// Both sides hold the same value: it becomes the base.
    Agree,
    /// Only HubSpot moved (or HubSpot owns the field): write R locally; R becomes the base.
    Take,
    /// Only the local side moved: keep L (push sends it); the base stays.
    Keep,
    /// Both moved: a conflict, resolved for this side. R becomes the base either way, so a
    /// kept local value is pushed.
    Conflict(Side),
    /// Both moved and the policy is `newest`: the timestamps decide ([`newest`]).
    NeedsTimes,
}

/// Decide data-in for one field. `local_edit_newer` answers a `newest` conflict when the
/// timestamps are known (`None`: not read yet).
#[must_use]
pub fn pull(
    rule: Rule,
    r: Option<&str>,
    l: Option<&str>,
    b: Option<&str>,
    local_edit_newer: Option<bool>,
) -> Pull {
    let Some(r) = r else {
        return Pull::Skip; // an empty HubSpot value never erases
    };
    let fill_empty = rule.pull == PullPolicy::FillEmpty;
    if l == Some(r) {
        return if b == Some(r) {
            Pull::Skip
        } else {
            Pull::Agree
        };
    }
    let Some(l) = l else {
        // An emptied local value is no edit: only a HubSpot change flows in.
        return if b == Some(r) { Pull::Skip } else { Pull::Take };
    };
    if fill_empty {
        // The local value is not empty: kept on purpose, and not a conflict.
        return Pull::Skip;
    }
    if rule.push == PushPolicy::Never {
        // Pull-only: HubSpot owns the field.
        return Pull::Take;
    }
    let Some(b) = b else {
        // Never agreed (a record pulled for the first time): the pull policy decides.
        return Pull::Take;
    };
    match (r != b, l != b) {
        (false, _) => Pull::Keep,
        (true, false) => Pull::Take,
        (true, true) => match rule.conflict {
            ConflictPolicy::Hubspot => Pull::Conflict(Side::Hubspot),
            ConflictPolicy::Local => Pull::Conflict(Side::Local),
            ConflictPolicy::Newest => match local_edit_newer {
                Some(true) => Pull::Conflict(Side::Local),
                Some(false) => Pull::Conflict(Side::Hubspot),
                None => Pull::NeedsTimes,
            },
        },
    }
}

/// `newest`: the local edit wins only when it is strictly later than HubSpot's change of the
/// property; an unknown time on either side lets HubSpot's value win (the default policy).
#[must_use]
pub fn local_is_newer(local_edit_ms: Option<i64>, hubspot_ms: Option<i64>) -> bool {
    matches!((local_edit_ms, hubspot_ms), (Some(l), Some(h)) if l > h)
}

/// Whether push sends a property: the local value moved away from the base (or there is none).
#[must_use]
pub fn push(value: &str, b: Option<&str>) -> bool {
    b != Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_WAY: Rule = Rule {
        pull: PullPolicy::Overwrite,
        push: PushPolicy::Always,
        conflict: ConflictPolicy::Hubspot,
    };

    #[test]
    fn only_the_side_that_moved_carries_over() {
        // (R, L, B) → decision, for a two-way field with the default policies.
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Pull);
        let cases: &[Case<'_>] = &[
            // Nothing moved.
            (Some("a"), Some("a"), Some("a"), Pull::Skip),
            // The echo: HubSpot still holds what was pushed; the local edit stays.
            (Some("a"), Some("b"), Some("a"), Pull::Keep),
            // Only HubSpot moved.
            (Some("b"), Some("a"), Some("a"), Pull::Take),
            // Both moved to different values: a conflict, HubSpot wins by default.
            (
                Some("b"),
                Some("c"),
                Some("a"),
                Pull::Conflict(Side::Hubspot),
            ),
            // Both moved to the same value: agreed.
            (Some("b"), Some("b"), Some("a"), Pull::Agree),
            // Never agreed: the pull policy (overwrite).
            (Some("b"), Some("a"), None, Pull::Take),
            (Some("a"), Some("a"), None, Pull::Agree),
            // Empty HubSpot value: no opinion.
            (None, Some("a"), Some("a"), Pull::Skip),
            (None, Some("b"), Some("a"), Pull::Skip),
            // Emptied locally: no edit; HubSpot unchanged → nothing, HubSpot moved → taken.
            (Some("a"), None, Some("a"), Pull::Skip),
            (Some("b"), None, Some("a"), Pull::Take),
            (Some("b"), None, None, Pull::Take),
        ];
        for &(r, l, b, want) in cases {
            assert_eq!(
                pull(TWO_WAY, r, l, b, None),
                want,
                "R={r:?} L={l:?} B={b:?}"
            );
        }
    }

    #[test]
    fn policies_change_only_what_they_name() {
        let rule = |pull, push, conflict| Rule {
            pull,
            push,
            conflict,
        };
        use ConflictPolicy as C;
        use PullPolicy as P;
        use PushPolicy as S;
        let local = rule(P::Overwrite, S::Always, C::Local);
        assert_eq!(
            pull(local, Some("b"), Some("c"), Some("a"), None),
            Pull::Conflict(Side::Local)
        );
        // `local` only resolves conflicts: a HubSpot-only change still flows in.
        assert_eq!(
            pull(local, Some("b"), Some("a"), Some("a"), None),
            Pull::Take
        );
        let newest = rule(P::Overwrite, S::Always, C::Newest);
        assert_eq!(
            pull(newest, Some("b"), Some("c"), Some("a"), None),
            Pull::NeedsTimes
        );
        assert_eq!(
            pull(newest, Some("b"), Some("c"), Some("a"), Some(true)),
            Pull::Conflict(Side::Local)
        );
        assert_eq!(
            pull(newest, Some("b"), Some("c"), Some("a"), Some(false)),
            Pull::Conflict(Side::Hubspot)
        );
        // fill-empty keeps a non-empty local value, whatever moved; fills an empty one.
        let fill = rule(P::FillEmpty, S::Always, C::Hubspot);
        assert_eq!(
            pull(fill, Some("b"), Some("a"), Some("a"), None),
            Pull::Skip
        );
        assert_eq!(
            pull(fill, Some("b"), Some("c"), Some("a"), None),
            Pull::Skip
        );
        assert_eq!(pull(fill, Some("b"), None, None, None), Pull::Take);
        // push: never — HubSpot owns the field: its value is taken even over a local edit.
        let owned = rule(P::Overwrite, S::Never, C::Hubspot);
        assert_eq!(
            pull(owned, Some("a"), Some("b"), Some("a"), None),
            Pull::Take
        );
        assert_eq!(
            pull(owned, Some("a"), Some("a"), Some("a"), None),
            Pull::Skip
        );
    }

    #[test]
    fn newest_needs_both_times_and_a_strictly_later_local_edit() {
        assert!(local_is_newer(Some(2), Some(1)));
        assert!(!local_is_newer(Some(1), Some(1)));
        assert!(!local_is_newer(None, Some(1)));
        assert!(!local_is_newer(Some(1), None));
    }

    #[test]
    fn push_sends_what_moved_from_the_base() {
        assert!(push("a", None));
        assert!(push("b", Some("a")));
        assert!(!push("a", Some("a")));
    }
}

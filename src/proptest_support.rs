//! Strategies the property tests share.

use proptest::prelude::*;
use serde_json::Value;

/// JSON scalars of every kind: null, booleans, integers, any float (those JSON can't hold
/// become null), any string.
pub fn json_scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
        any::<String>().prop_map(Value::String),
    ]
    .boxed()
}

/// `leaf` values nested up to `depth` levels in arrays and in objects keyed by `key`.
pub fn nested(
    leaf: BoxedStrategy<Value>,
    depth: u32,
    size: u32,
    key: BoxedStrategy<String>,
) -> BoxedStrategy<Value> {
    leaf.prop_recursive(depth, size, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

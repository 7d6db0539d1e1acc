//! A Greenwave decision read the way Bodhi reads it (`Update._get_test_gating_status` in
//! bodhi-server): passed when the policies are satisfied; waiting while every unmet
//! requirement is only a missing result (queued and running results count as missing);
//! failed as soon as one is anything else — a failed or errored test, an invalid
//! `gating.yaml`. Greenwave's summary says "1 of 3 required tests failed, 1 result
//! missing" for a decision that is failed, not waiting.

use super::extract::Decision;
use serde_json::Value;

/// The most requirements looked at (a decision lists one per test case and subject).
const REQUIREMENTS_MAX: usize = 500;

/// The verdict of a `greenwave.decision.update` body; `None` when it gives none.
pub(super) fn decision(body: &Value) -> Option<Decision> {
    if body.get("policies_satisfied").and_then(Value::as_bool)? {
        return Some(Decision::Passed);
    }
    let requirements = body
        .get("unsatisfied_requirements")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty());
    if let Some(requirements) = requirements {
        let missing_only = requirements
            .iter()
            .take(REQUIREMENTS_MAX)
            .all(|r| r.get("type").and_then(Value::as_str) == Some("test-result-missing"));
        return Some(if missing_only {
            Decision::Waiting
        } else {
            Decision::Failed
        });
    }
    // Without the requirements, the summary: a failure named in it is a failure.
    let summary = body
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(
        if !summary.contains("failed")
            && (summary.contains("missing") || summary.contains("waiting"))
        {
            Decision::Waiting
        } else {
            Decision::Failed
        },
    )
}

#[cfg(test)]
mod tests {
    use super::{decision, Decision};
    use serde_json::{json, Value};

    /// Greenwave's own summaries (`greenwave/tests/test_summary.py`) with the requirement
    /// types it lists beside them.
    #[test]
    fn a_failed_requirement_fails_even_with_results_missing() {
        let missing = json!({"type": "test-result-missing", "testcase": "a"});
        let queued = json!({"type": "test-result-missing", "testcase": "a", "result_id": 7});
        let failed = json!({"type": "test-result-failed", "testcase": "b", "result_id": 1});
        let errored = json!({"type": "test-result-errored", "testcase": "c", "result_id": 2});
        let cases: [(Value, &str, Option<Decision>); 9] = [
            (
                json!([missing, failed]),
                "1 of 2 required tests failed, 1 result missing",
                Some(Decision::Failed),
            ),
            (
                json!([missing, queued]),
                "2 of 2 required test results missing",
                Some(Decision::Waiting),
            ),
            (
                json!([errored]),
                "1 of 1 required tests failed",
                Some(Decision::Failed),
            ),
            (
                json!([{"type": "invalid-gating-yaml"}]),
                "1 of 1 required tests failed",
                Some(Decision::Failed),
            ),
            (
                json!(null),
                "1 of 3 required tests failed, 1 result missing",
                Some(Decision::Failed),
            ),
            (
                json!(null),
                "2 of 3 required test results missing",
                Some(Decision::Waiting),
            ),
            (
                json!([]),
                "1 of 1 required tests failed",
                Some(Decision::Failed),
            ),
            (json!(null), "", Some(Decision::Failed)),
            (json!([failed]), "no verdict", None),
        ];
        for (requirements, summary, want) in cases {
            let mut body = json!({"policies_satisfied": false, "summary": summary,
                "unsatisfied_requirements": requirements});
            if want.is_none() {
                body["policies_satisfied"] = json!("no");
            }
            assert_eq!(decision(&body), want, "{summary} {requirements}");
        }
        let passed = json!({"policies_satisfied": true, "summary": "All required tests passed",
            "unsatisfied_requirements": []});
        assert_eq!(decision(&passed), Some(Decision::Passed));
    }
}

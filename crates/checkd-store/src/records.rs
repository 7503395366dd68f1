//! Check results in the store: one entry per (check, environment) under `result/`.

use checkd_model::{JobKey, RunRecord};

use crate::{Entry, StoreError};

/// Prefix of every check-result key.
pub const PREFIX: &str = "result/";

/// `result/<environment>/<check>`.
pub fn key(job: &JobKey) -> String {
    format!("{PREFIX}{}/{}", job.environment, job.check)
}

/// Encodes a record; the entry is fresh as long as the record is.
pub fn encode(record: &RunRecord, producer: &str) -> Result<Entry, StoreError> {
    let payload = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
        key: key(&record.key),
        reason: e.to_string(),
    })?;
    Ok(Entry {
        stored_ms: record.attempted_ms,
        valid_for_ms: record.valid_for_s.saturating_mul(1000),
        producer: producer.to_string(),
        payload,
    })
}

/// Decodes a record; anything that is not a record is `Corrupt`, never a panic.
pub fn decode(key: &str, entry: &Entry) -> Result<RunRecord, StoreError> {
    serde_json::from_slice(&entry.payload).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkd_model::{ServiceResult, State};

    #[test]
    fn records_round_trip_and_garbage_is_corrupt() {
        let record = RunRecord {
            key: JobKey::new("api", "prod"),
            host: "prod".into(),
            services: vec![ServiceResult {
                service: "API".into(),
                state: State::Warn,
                summary: "slow".into(),
                details: String::new(),
                metrics: vec![],
                labels: Default::default(),
            }],
            produced_ms: 5,
            duration_ms: 1,
            valid_for_s: 60,
            attempted_ms: 7,
            unavailable: None,
            soft: None,
        };
        let entry = encode(&record, "me").unwrap();
        assert_eq!((entry.stored_ms, entry.valid_for_ms), (7, 60_000));
        assert_eq!(key(&record.key), "result/prod/api");
        assert_eq!(decode("k", &entry).unwrap(), record);
        let garbage = Entry {
            payload: b"{not json".to_vec(),
            ..entry
        };
        assert!(matches!(
            decode("k", &garbage),
            Err(StoreError::Corrupt { .. })
        ));
    }
}

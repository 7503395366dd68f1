//! The sled layer's own tests: reopening, locked, unusable and damaged databases, corrupt
//! entries, format versions and the sweeper.
//!
//! What sled must do like every other layer (put, get, scan, remove) is in the conformance
//! suite `tests/conformance.rs`.

use super::*;

fn entry(stored_ms: i64, valid_for_ms: u64, payload: &[u8]) -> Entry {
    Entry {
        stored_ms,
        valid_for_ms,
        producer: "t".into(),
        payload: payload.to_vec(),
    }
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("cache")
}

// Put, get, scan, remove and corrupt entries, as every layer does them: tests/conformance.rs.

#[tokio::test(flavor = "current_thread")]
async fn the_size_on_disk_is_reported_once_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&db(&dir)).unwrap();
    store.put("result/a", entry(1, 10, b"a")).await.unwrap();
    // The size on disk only grows once sled has written its buffers.
    store.flush().await.unwrap();
    let stats = &store.stats()[0];
    assert_eq!(stats.layer, "sled");
    assert!(stats.bytes.unwrap() > 0, "{stats:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn entries_survive_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open_async(db(&dir)).await.unwrap();
    store
        .put("result/prod/api", entry(7, 60_000, b"kept"))
        .await
        .unwrap();
    store.flush().await.unwrap();
    drop(store);
    let reopened = SledStore::open(&db(&dir)).unwrap();
    assert_eq!(
        reopened.get("result/prod/api").await.unwrap(),
        Some(entry(7, 60_000, b"kept"))
    );
}

#[test]
fn an_unusable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let path = file.join("cache");
    let error = SledStore::open(&path).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Open { layer: "sled", .. }),
        "{error:?}"
    );
    assert!(
        message.starts_with(&format!("cannot use sled layer at {}: ", path.display())),
        "{message}"
    );
    assert!(
        message.to_lowercase().contains("not a directory"),
        "{message}"
    );
}

#[test]
fn a_database_in_use_is_reported_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::open(&db(&dir)).unwrap();
    // A second open takes a second lock on the file, exactly as another process would.
    let message = SledStore::open(&db(&dir)).unwrap_err().to_string();
    assert_eq!(
        message,
        format!("cannot use sled layer at {}: the database is locked by another process (is another checkd running?)", db(&dir).display())
    );
}

#[test]
fn a_corrupt_database_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    drop(SledStore::open(&path).unwrap());
    for file in std::fs::read_dir(&path).unwrap() {
        let file = file.unwrap().path();
        if file.is_file() {
            std::fs::write(&file, vec![0xA5; 4096]).unwrap();
        }
    }
    let message = SledStore::open(&path).unwrap_err().to_string();
    assert!(
        message.starts_with(&format!(
            "cannot use sled layer at {}: the database is corrupt",
            path.display()
        )),
        "{message}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_damaged_data_file_is_an_error_or_readable_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = SledStore::open(&path).unwrap();
    for i in 0..200 {
        store
            .put(&format!("k{i}"), entry(i, 10, &[b'x'; 100]))
            .await
            .unwrap();
    }
    store.flush().await.unwrap();
    drop(store);
    let data = path.join("db");
    let mut bytes = std::fs::read(&data).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..].iter_mut().for_each(|b| *b ^= 0x5A);
    std::fs::write(&data, bytes).unwrap();
    // sled may recover up to the damage, or refuse the file; either way no panic escapes.
    match SledStore::open(&path) {
        Ok(store) => drop(store.scan("").await),
        Err(error) => assert!(
            error.to_string().starts_with("cannot use sled layer at "),
            "{error}"
        ),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn another_format_version_does_not_see_these_entries() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = SledStore::open(&db(&dir)).unwrap();
    v1.put("k", entry(1, 10, b"v1")).await.unwrap();
    drop(v1);
    let v2 = SledStore::open_version(&db(&dir), FORMAT_VERSION + 1).unwrap();
    assert_eq!(v2.get("k").await.unwrap(), None);
    v2.put("k", entry(2, 10, b"v2")).await.unwrap();
    assert_eq!(v2.scan("").await.unwrap().len(), 1);
    drop(v2);
    let v1 = SledStore::open(&db(&dir)).unwrap();
    assert_eq!(v1.get("k").await.unwrap(), Some(entry(1, 10, b"v1")));
}

#[tokio::test(flavor = "current_thread")]
async fn sweep_removes_long_expired_and_unreadable_entries_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&db(&dir)).unwrap();
    let now = 1_000_000;
    let keep = Duration::from_secs(100);
    store
        .put("fresh", entry(now - 10, 60_000, b""))
        .await
        .unwrap();
    store
        .put("expired-recently", entry(now - 150_000, 60_000, b""))
        .await
        .unwrap(); // 90 s ago
    store
        .put("expired-long-ago", entry(now - 200_000, 60_000, b""))
        .await
        .unwrap(); // 140 s ago
    store.put_raw("garbage", b"nope").unwrap();
    assert_eq!(store.sweep(now, keep).await.unwrap(), 2);
    let keys: Vec<String> = store
        .scan("")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, vec!["expired-recently", "fresh"]);
}

#[tokio::test(flavor = "current_thread")]
async fn the_background_sweeper_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(&db(&dir)).unwrap();
    store.put("ancient", entry(0, 1, b"")).await.unwrap();
    store
        .put("fresh", entry(unix_now_ms(), 3_600_000, b""))
        .await
        .unwrap();
    let task = store.spawn_sweeper(Duration::from_millis(20), Duration::from_secs(1));
    let deadline = checkd_clock::now() + Duration::from_secs(10);
    while store.get("ancient").await.unwrap().is_some() {
        assert!(
            checkd_clock::now() < deadline,
            "the sweeper never removed the ancient entry"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.get("fresh").await.unwrap().is_some());
    drop(store);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

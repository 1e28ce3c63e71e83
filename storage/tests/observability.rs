//! The metrics and tracing spans of DESIGN.md, captured from creates, restores and retries. One
//! test in its own binary: the recorder and the subscriber are global to the process.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use akidb_snapshot::codec::SnapshotId;
use akidb_snapshot::metrics as m;
use akidb_snapshot::{StorageBackend, StorageBackendConfig};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{Answer, FakeS3, TestStore, collection, docs};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use uuid::Uuid;

/// Fields of a span or an event, as text.
type Fields = BTreeMap<String, String>;

/// An event: the name of its span, its level and its fields.
type Event = (Option<String>, tracing::Level, Fields);

#[derive(Default)]
struct FieldText(Fields);

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// What the subscriber saw: every closed span with its final fields, every event with the name
/// of its span.
#[derive(Default, Clone)]
struct Captured {
    spans: Arc<Mutex<Vec<(String, Fields)>>>,
    events: Arc<Mutex<Vec<Event>>>,
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<FieldText>()
        {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        event.record(&mut fields);
        let span = ctx.event_span(event).map(|s| s.name().to_owned());
        let level = *event.metadata().level();
        self.events.lock().unwrap().push((span, level, fields.0));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id) {
            let fields = span
                .extensions()
                .get::<FieldText>()
                .map(|f| f.0.clone())
                .unwrap_or_default();
            self.spans
                .lock()
                .unwrap()
                .push((span.name().to_owned(), fields));
        }
    }
}

impl Captured {
    /// The fields of the closed spans named `name`, in the order they closed.
    fn spans(&self, name: &str) -> Vec<Fields> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, f)| f.clone())
            .collect()
    }

    /// The events of spans named `span` whose message is `message`.
    fn events(&self, span: &str, message: &str) -> Vec<(tracing::Level, Fields)> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|(s, _, f)| {
                s.as_deref() == Some(span) && f.get("message").map(String::as_str) == Some(message)
            })
            .map(|(_, level, f)| (*level, f.clone()))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_and_histograms_move() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    let captured = Captured::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(captured.clone()))
        .expect("the only subscriber of this binary");

    let store = TestStore::memory();
    let mut config = StorageBackendConfig::with_uri(&store.uri);
    config.parquet = config.parquet.with_row_group_size(500);
    let backend = StorageBackend::from_config(config).unwrap();
    let c = collection();
    let id = backend
        .snapshotter()
        .create_snapshot(c, docs(2_000, 32, 1))
        .await
        .unwrap();
    let size = backend.store().metadata(c, id).await.unwrap().size_bytes;
    assert_eq!(
        backend
            .snapshotter()
            .restore_snapshot(c, id)
            .await
            .unwrap()
            .len(),
        2_000
    );

    // A restore that fails its checksum is not counted as a restore.
    let damaged = backend
        .snapshotter()
        .create_snapshot(c, docs(100, 32, 2))
        .await
        .unwrap();
    let manifest = backend.store().metadata(c, damaged).await.unwrap();
    let key = manifest.parts[0].key.clone();
    let op = backend.store().operator();
    let mut bytes = op.read(&key).await.unwrap().to_vec();
    bytes[10] ^= 1;
    op.delete(&key).await.unwrap();
    op.write(&key, bytes).await.unwrap();
    let err = backend
        .snapshotter()
        .restore_snapshot(c, damaged)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), akidb_snapshot::ErrorKind::DataCorruption);

    // A store that always answers 503: two retries.
    let server = FakeS3::start(Answer::Status(503, "SlowDown")).await;
    let mut config = StorageBackendConfig::with_uri(&server.uri);
    config.retry.max_retries = 2;
    config.retry.min_delay_ms = 1;
    config.retry.max_delay_ms = 2;
    let failing = StorageBackend::from_config(config).unwrap();
    failing
        .store()
        .metadata(c, SnapshotId::from_uuid(Uuid::now_v7()))
        .await
        .unwrap_err();

    let values = snapshotter.snapshot().into_vec();
    let find = |kind: MetricKind, name: &str, label: (&str, &str)| {
        values
            .iter()
            .find(|(key, _, _, _)| {
                key.kind() == kind
                    && key.key().name() == name
                    && key
                        .key()
                        .labels()
                        .any(|l| l.key() == label.0 && l.value() == label.1)
            })
            .map(|entry| &entry.3)
            .unwrap_or_else(|| panic!("{name}{{{}={}}} was not recorded", label.0, label.1))
    };
    let counter = |name, label| match find(MetricKind::Counter, name, label) {
        DebugValue::Counter(n) => *n,
        other => panic!("{name} is {other:?}"),
    };
    let histogram = |name, label| match find(MetricKind::Histogram, name, label) {
        DebugValue::Histogram(values) => {
            values.iter().map(|v| v.into_inner()).collect::<Vec<f64>>()
        }
        other => panic!("{name} is {other:?}"),
    };
    let parquet = ("format", "parquet");
    assert_eq!(counter(m::CREATES_TOTAL, parquet), 2);
    assert_eq!(counter(m::RESTORES_TOTAL, parquet), 1);
    assert_eq!(histogram(m::CREATE_DURATION_SECONDS, parquet).len(), 2);
    assert_eq!(histogram(m::RESTORE_DURATION_SECONDS, parquet).len(), 1);
    assert_eq!(histogram(m::SIZE_BYTES, parquet)[0], size as f64);
    // A gauge: the ratio of the last create (the 100-document one).
    let ratio = match find(MetricKind::Gauge, m::COMPRESSION_RATIO, parquet) {
        DebugValue::Gauge(value) => value.into_inner(),
        other => panic!("{} is {other:?}", m::COMPRESSION_RATIO),
    };
    let last = backend
        .store()
        .metadata(c, damaged)
        .await
        .unwrap()
        .size_bytes;
    let expected = 100.0 * 32.0 * 4.0 / last as f64;
    assert!((ratio - expected).abs() < 1e-9, "{ratio} vs {expected}");
    // Data and metadata files went up, and came down again (metadata read twice).
    assert!(counter(m::UPLOAD_BYTES_TOTAL, ("store", "memory")) > size);
    assert!(counter(m::DOWNLOAD_BYTES_TOTAL, ("store", "memory")) > size);
    assert_eq!(counter(m::STORE_RETRIES_TOTAL, ("operation", "read")), 2);

    // The spans: one per operation, with DESIGN's fields recorded by the time it closed.
    let created = captured.spans("create_snapshot");
    assert_eq!(created.len(), 2);
    let first = &created[0];
    assert_eq!(first["collection_id"], c.to_string());
    assert_eq!(first["snapshot_id"], id.to_string());
    assert_eq!(first["vector_count"], "2000");
    assert_eq!(first["size_bytes"], size.to_string());
    assert!(first["duration_ms"].parse::<u64>().is_ok(), "{first:?}");

    let restored = captured.spans("restore_snapshot");
    assert_eq!(restored.len(), 2, "{restored:?}");
    let good = restored
        .iter()
        .find(|f| f["snapshot_id"] == id.to_string())
        .unwrap();
    assert_eq!(
        (good["vector_count"].as_str(), good["size_bytes"].clone()),
        ("2000", size.to_string())
    );
    assert!(good.contains_key("duration_ms"), "finished: {good:?}");
    let bad = restored
        .iter()
        .find(|f| f["snapshot_id"] == damaged.to_string())
        .unwrap();
    assert!(
        !bad.contains_key("duration_ms"),
        "a failed restore never finished: {bad:?}"
    );

    // One info event per phase, with its time and bytes; one debug event per row group.
    let phase = |span: &str, message: &str| {
        let found = captured.events(span, message);
        assert!(!found.is_empty(), "no `{message}` in {span}");
        assert!(
            found
                .iter()
                .all(|(level, f)| *level == tracing::Level::INFO && f.contains_key("duration_ms")),
            "{found:?}"
        );
        found
    };
    let written = phase("create_snapshot", "data written");
    assert_eq!(written[0].1["bytes"], size.to_string());
    assert_eq!(written[0].1["rows"], "2000");
    phase("create_snapshot", "metadata committed");
    phase("create_snapshot", "snapshot created");
    phase("restore_snapshot", "metadata read");
    phase("restore_snapshot", "footer read");
    assert_eq!(phase("restore_snapshot", "snapshot restored").len(), 1);
    let row_groups = |message: &str| {
        let found = captured.events("create_snapshot", message);
        let found = if found.is_empty() {
            captured.events("restore_snapshot", message)
        } else {
            found
        };
        assert!(
            found
                .iter()
                .all(|(level, _)| *level == tracing::Level::DEBUG)
        );
        found
            .iter()
            .map(|(_, f)| f["rows"].parse::<u64>().unwrap())
            .collect::<Vec<_>>()
    };
    // 2,000 rows in groups of 500, then the 100-document create.
    assert_eq!(row_groups("row group encoded"), [500, 500, 500, 500, 100]);
    let decoded = row_groups("row group decoded");
    assert_eq!(decoded.iter().sum::<u64>() % 2_000, 0, "{decoded:?}");

    // A shard's restore records what it reads: its parts, not the whole snapshot.
    let mut config = StorageBackendConfig::with_uri(&store.uri);
    config.part_rows = 800;
    let in_parts = StorageBackend::from_config(config).unwrap();
    let sharded = in_parts
        .snapshotter()
        .create_snapshot(c, docs(2_000, 32, 2))
        .await
        .unwrap();
    let last = in_parts.store().metadata(c, sharded).await.unwrap().parts[2].clone();
    let mut rows = in_parts
        .store()
        .restore_shard_stream(c, sharded, "2/3".parse().unwrap())
        .await
        .unwrap();
    while futures::TryStreamExt::try_next(&mut rows)
        .await
        .unwrap()
        .is_some()
    {}
    let shard = captured
        .spans("restore_snapshot")
        .into_iter()
        .find(|f| f["snapshot_id"] == sharded.to_string())
        .unwrap();
    assert_eq!(shard["shard"], "2/3");
    assert_eq!(
        (shard["vector_count"].as_str(), shard["size_bytes"].clone()),
        ("400", last.size_bytes.to_string())
    );
}

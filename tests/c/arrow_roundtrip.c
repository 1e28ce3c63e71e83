/* Documents → Parquet → ArrowArrayStream → Parquet → documents, through the Arrow C Data
 * Interface: the stream's schema and arrays are read in C as any Arrow host would, the stream is
 * moved into the encoder, and what comes back equals what went in, bit for bit. The same through
 * a store: create from a stream, restore into one. Then the Arrow bad inputs: NULL, a released
 * stream, a stream whose batches have the wrong columns, a stream that fails, garbage bytes. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { COUNT = 250, DIM = 16 };

static float vectors[COUNT * DIM];
static uint8_t ids[COUNT][16];
static const char *external[COUNT];
static const char *metadata[COUNT];
static int64_t times[COUNT];
static char names[COUNT][16];
static const uint8_t collection[16] = {1}, snapshot[16] = {2}, again[16] = {3};

static akidb_bytes *encode_documents(void) {
  for (size_t i = 0; i < COUNT; i++) {
    for (size_t j = 0; j < DIM; j++) vectors[i * DIM + j] = (float)i * 0.5f - (float)j;
    memset(ids[i], 0, 16);
    ids[i][6] = 0x40;
    ids[i][14] = (uint8_t)(i >> 8);
    ids[i][15] = (uint8_t)i;
    snprintf(names[i], sizeof names[i], "row-%zu", i);
    external[i] = i % 2 ? names[i] : NULL;
    metadata[i] = i % 5 == 0 ? "{\"tag\":[1,2]}" : NULL;
    times[i] = 1700000000000 + (int64_t)i * 1000;
  }
  uint32_t nan_payload = 0x7fc0beefu;
  memcpy(&vectors[3], &nan_payload, 4);
  vectors[4] = -0.0f;
  vectors[5] = -INFINITY;
  akidb_documents_view view = {COUNT, DIM, vectors, (const uint8_t(*)[16])ids, external, metadata, times};
  akidb_parquet_options options = {AKIDB_COMPRESSION_SNAPPY, 0, 100, true};
  akidb_bytes *bytes = NULL;
  CHECK_OK(akidb_encode_parquet(&view, &collection, &snapshot, 1700000000123, &options, &bytes, &err));
  return bytes;
}

/* Reads the stream as an Arrow host would: the schema, then every batch's vectors in place. */
static void read_stream(struct ArrowArrayStream *stream, size_t min_batches) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  CHECK(strcmp(schema.format, "+s") == 0 && schema.n_children == 6);
  int64_t vector = child_index(&schema, "vector");
  int64_t id = child_index(&schema, "document_id");
  CHECK(vector >= 0 && id >= 0);
  CHECK(strcmp(schema.children[vector]->format, "+w:16") == 0);
  CHECK(strcmp(schema.children[vector]->children[0]->format, "f") == 0);
  CHECK(strcmp(schema.children[id]->format, "w:16") == 0);

  size_t row = 0, batches = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream->get_next(stream, &batch) == 0);
    if (batch.release == NULL) break; /* the end */
    batches++;
    CHECK(batch.n_children == 6 && batch.null_count == 0);
    const struct ArrowArray *list = batch.children[vector];
    const struct ArrowArray *floats = list->children[0];
    const float *data = (const float *)floats->buffers[1] + floats->offset;
    size_t first = (size_t)(batch.offset + list->offset) * DIM;
    CHECK(memcmp(data + first, vectors + row * DIM, (size_t)batch.length * DIM * 4) == 0);
    const struct ArrowArray *id_array = batch.children[id];
    const uint8_t *id_bytes = (const uint8_t *)id_array->buffers[1];
    CHECK(memcmp(id_bytes + (batch.offset + id_array->offset) * 16, ids[row], 16) == 0);
    row += (size_t)batch.length;
    batch.release(&batch);
    CHECK(batch.release == NULL);
  }
  CHECK(row == COUNT && batches >= min_batches);
  schema.release(&schema);
}

static void compare(const akidb_documents *docs) {
  akidb_documents_view view = {COUNT, DIM, vectors, (const uint8_t(*)[16])ids, external, metadata, times};
  check_same_documents(docs, &view);
}

/* A hand-made stream of one batch with a single int32 column `score`: well-formed Arrow, but
 * not a snapshot. Its callbacks count releases, so the test sees the library release it. */
static int releases;
static const char *wrong_error = "the host's cursor failed";
static int32_t scores[2] = {7, 8};
static const void *score_buffers[2] = {NULL, scores};
static const void *struct_buffers[1] = {NULL};

static void release_schema(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++) s->children[i]->release(s->children[i]);
  s->release = NULL;
  releases++;
}
static void release_leaf_schema(struct ArrowSchema *s) { s->release = NULL; }
static void release_array(struct ArrowArray *a) {
  for (int64_t i = 0; i < a->n_children; i++) a->children[i]->release(a->children[i]);
  a->release = NULL;
  releases++;
}
static void release_leaf_array(struct ArrowArray *a) { a->release = NULL; }

static struct ArrowSchema score_schema;
static struct ArrowSchema *score_schema_ptr = &score_schema;
static struct ArrowArray score_array;
static struct ArrowArray *score_array_ptr = &score_array;

static int wrong_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
  (void)stream;
  score_schema = (struct ArrowSchema){"i", "score", NULL, 0, 0, NULL, NULL, release_leaf_schema, NULL};
  *out = (struct ArrowSchema){"+s", "", NULL, 0, 1, &score_schema_ptr, NULL, release_schema, NULL};
  return 0;
}
static int wrong_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  int *sent = stream->private_data;
  if (*sent) {
    out->release = NULL; /* the end */
    return 0;
  }
  *sent = 1;
  score_array = (struct ArrowArray){2, 0, 0, 2, 0, score_buffers, NULL, NULL, release_leaf_array, NULL};
  *out = (struct ArrowArray){2, 0, 0, 1, 1, struct_buffers, &score_array_ptr, NULL, release_array, NULL};
  return 0;
}
static int failing_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  (void)stream;
  (void)out;
  return 5; /* EIO */
}
static const char *wrong_last_error(struct ArrowArrayStream *stream) {
  (void)stream;
  return wrong_error;
}
static void release_stream(struct ArrowArrayStream *stream) {
  stream->release = NULL;
  releases++;
}

static struct ArrowArrayStream hand_made(int *sent, int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *)) {
  *sent = 0;
  return (struct ArrowArrayStream){wrong_get_schema, get_next, wrong_last_error, release_stream, sent};
}

int main(void) {
  akidb_bytes *bytes = encode_documents();

  /* Read a decoded stream in C. */
  struct ArrowArrayStream stream;
  CHECK_OK(akidb_decode_parquet_arrow(akidb_bytes_data(bytes), akidb_bytes_len(bytes), &stream, &err));
  read_stream(&stream, 3); /* 100 rows per row group */
  stream.release(&stream);
  CHECK(stream.release == NULL);

  /* Decode → Arrow → encode, the stream moved into the encoder → decode. */
  CHECK_OK(akidb_decode_parquet_arrow(akidb_bytes_data(bytes), akidb_bytes_len(bytes), &stream, &err));
  akidb_bytes_free(bytes);
  akidb_bytes *copy = NULL;
  CHECK_OK(akidb_encode_parquet_arrow(&stream, &collection, &again, 1700000000999, NULL, &copy, &err));
  CHECK(stream.release == NULL);
  akidb_snapshot_info info;
  CHECK_OK(akidb_inspect_parquet(akidb_bytes_data(copy), akidb_bytes_len(copy), &info, &err));
  CHECK(memcmp(info.snapshot_id, again, 16) == 0 && info.vector_count == COUNT);
  CHECK(info.compression == AKIDB_COMPRESSION_ZSTD); /* NULL options: the defaults */
  akidb_documents *docs = NULL;
  CHECK_OK(akidb_decode_parquet(akidb_bytes_data(copy), akidb_bytes_len(copy), &docs, &err));
  compare(docs);
  akidb_documents_free(docs);

  /* Bad Arrow input. */
  akidb_bytes *none = NULL;
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_encode_parquet_arrow(NULL, &collection, &again, 0, NULL, &none, &err));
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, /* released: nothing to take */
              akidb_encode_parquet_arrow(&stream, &collection, &again, 0, NULL, &none, &err));

  int sent;
  struct ArrowArrayStream wrong = hand_made(&sent, wrong_get_next);
  releases = 0;
  CHECK_FAILS(AKIDB_ERR_VALIDATION,
              akidb_encode_parquet_arrow(&wrong, &collection, &again, 0, NULL, &none, &err));
  CHECK(wrong.release == NULL && releases == 3); /* stream, its schema, its batch */

  struct ArrowArrayStream failing = hand_made(&sent, failing_get_next);
  releases = 0;
  akidb_error *failed = NULL;
  CHECK(akidb_encode_parquet_arrow(&failing, &collection, &again, 0, NULL, &none, &failed) ==
        AKIDB_ERR_INVALID_ARGUMENT);
  CHECK(strstr(akidb_error_message(failed), wrong_error) != NULL);
  akidb_error_free(failed);
  CHECK(failing.release == NULL && releases == 2); /* stream and schema */

  /* The stream is taken even when another argument is wrong. */
  struct ArrowArrayStream unused = hand_made(&sent, wrong_get_next);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_encode_parquet_arrow(&unused, NULL, &again, 0, NULL, &none, &err));
  CHECK(unused.release == NULL);
  CHECK(none == NULL);

  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_decode_parquet_arrow(akidb_bytes_data(copy), akidb_bytes_len(copy), NULL, &err));

  /* Through a store: create from a stream, restore into one, read it in C, decode it. */
  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open("memory://", &store, &err));
  uint8_t snapshot_id[16];
  CHECK_OK(akidb_decode_parquet_arrow(akidb_bytes_data(copy), akidb_bytes_len(copy), &stream, &err));
  CHECK_OK(akidb_store_create_arrow(store, &collection, &stream, &snapshot_id, &err));
  CHECK(stream.release == NULL);
  CHECK_OK(akidb_store_restore_arrow(store, &collection, &snapshot_id, &stream, &err));
  read_stream(&stream, 1);
  stream.release(&stream);
  CHECK_OK(akidb_store_restore_arrow(store, &collection, &snapshot_id, &stream, &err));
  akidb_bytes *stored = NULL;
  CHECK_OK(akidb_encode_parquet_arrow(&stream, &collection, &again, 0, NULL, &stored, &err));
  CHECK_OK(akidb_decode_parquet(akidb_bytes_data(stored), akidb_bytes_len(stored), &docs, &err));
  compare(docs);
  akidb_documents_free(docs);
  akidb_bytes_free(stored);

  /* A store refuses the same bad streams, commits nothing, and keeps each failure's code. */
  wrong = hand_made(&sent, wrong_get_next);
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_store_create_arrow(store, &again, &wrong, &snapshot_id, &err));
  CHECK(wrong.release == NULL);
  failing = hand_made(&sent, failing_get_next);
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, akidb_store_create_arrow(store, &again, &failing, &snapshot_id, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_create_arrow(store, &again, NULL, &snapshot_id, &err));
  akidb_snapshot_list *list = NULL;
  CHECK_OK(akidb_store_list(store, &again, &list, &err));
  CHECK(akidb_snapshot_list_len(list) == 0);
  akidb_snapshot_list_free(list);
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND, akidb_store_restore_arrow(store, &collection, &again, &stream, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_restore_arrow(store, &collection, &snapshot_id, NULL, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_restore_arrow(NULL, &collection, &snapshot_id, &stream, &err));
  akidb_store_free(store);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_decode_parquet_arrow(NULL, 10, &stream, &err));
  static const uint8_t garbage[64] = "PAR1 this is not a snapshot at all, only bytes PAR1";
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_decode_parquet_arrow(garbage, sizeof garbage, &stream, &err));
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_decode_parquet_arrow(garbage, 0, &stream, &err));
  akidb_bytes_free(copy);

  printf("arrow_roundtrip: 1 passed, 0 failed\n");
  return 0;
}

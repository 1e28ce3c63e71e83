/* A partial restore from C: documents by id, through the Arrow C Data Interface. The ids held
 * come back in the snapshot's order, every float as written; an id not held is counted, or with
 * `strict` is AKIDB_ERR_NOT_FOUND; an id the next snapshot deleted no longer comes back; none
 * held is an empty stream of the snapshot's schema; NULL ids with a count are refused.
 * `partial DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { COUNT = 300, DIM = 4 };

static float vectors[COUNT * DIM];
static uint8_t ids[COUNT][16];

/* Reads the stream and checks it holds exactly the documents at rows `expected` (in order);
 * releases it. */
static void check_rows(struct ArrowArrayStream *stream, const size_t *expected, size_t count) {
  struct ArrowSchema schema;
  CHECK(stream->get_schema(stream, &schema) == 0);
  CHECK(strcmp(schema.format, "+s") == 0 && schema.n_children == 6);
  int64_t vector = child_index(&schema, "vector");
  int64_t doc_id = child_index(&schema, "document_id");
  CHECK(vector >= 0 && doc_id >= 0);
  CHECK(strcmp(schema.children[vector]->format, "+w:4") == 0);
  size_t row = 0;
  for (;;) {
    struct ArrowArray batch;
    CHECK(stream->get_next(stream, &batch) == 0);
    if (batch.release == NULL) break;
    const struct ArrowArray *list = batch.children[vector];
    const struct ArrowArray *floats = list->children[0];
    const float *data = (const float *)floats->buffers[1] + floats->offset;
    const struct ArrowArray *id_array = batch.children[doc_id];
    const uint8_t *id_bytes = (const uint8_t *)id_array->buffers[1];
    for (int64_t i = 0; i < batch.length; i++, row++) {
      CHECK(row < count);
      size_t at = (size_t)(batch.offset + list->offset + i) * DIM;
      CHECK(memcmp(data + at, vectors + expected[row] * DIM, DIM * sizeof(float)) == 0);
      CHECK(memcmp(id_bytes + (batch.offset + id_array->offset + i) * 16, ids[expected[row]], 16) ==
            0);
    }
    batch.release(&batch);
  }
  CHECK(row == count);
  schema.release(&schema);
  stream->release(stream);
  CHECK(stream->release == NULL);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (uint32_t i = 0; i < COUNT; i++) {
    id(ids[i], i + 1);
    for (size_t d = 0; d < DIM; d++) vectors[i * DIM + d] = (float)i + (float)d / 8.0f;
  }
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[1]);
  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open(uri, &store, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 25};
  akidb_documents_view view = {COUNT, DIM, vectors, (const uint8_t(*)[16])ids, NULL, NULL, NULL};
  uint8_t snapshot[16];
  CHECK_OK(akidb_store_create(store, &collection, &view, &snapshot, &err));

  /* Three held (asked out of order), one not. */
  uint8_t wanted[4][16];
  memcpy(wanted[0], ids[250], 16);
  memcpy(wanted[1], ids[3], 16);
  id(wanted[2], 999999);
  memcpy(wanted[3], ids[120], 16);
  struct ArrowArrayStream stream;
  size_t missing = 0;
  CHECK_OK(akidb_store_restore_ids_arrow(store, &collection, &snapshot,
                                         (const uint8_t(*)[16])wanted, 4, false, &stream,
                                         &missing, &err));
  CHECK(missing == 1);
  const size_t held[] = {3, 120, 250};
  check_rows(&stream, held, 3);

  /* Strict: the missing id fails the call. */
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND,
              akidb_store_restore_ids_arrow(store, &collection, &snapshot,
                                            (const uint8_t(*)[16])wanted, 4, true, &stream, NULL,
                                            &err));

  /* The next snapshot deletes row 120: it no longer comes back. */
  uint8_t next[16];
  CHECK_OK(akidb_store_update(store, &collection, &snapshot, NULL, (const uint8_t(*)[16])ids[120],
                              1, &next, &err));
  CHECK_OK(akidb_store_restore_ids_arrow(store, &collection, &next,
                                         (const uint8_t(*)[16])wanted, 4, false, &stream,
                                         &missing, &err));
  CHECK(missing == 2);
  const size_t still[] = {3, 250};
  check_rows(&stream, still, 2);

  /* None held: an empty stream, with the snapshot's schema. */
  CHECK_OK(akidb_store_restore_ids_arrow(store, &collection, &snapshot,
                                         (const uint8_t(*)[16])wanted[2], 1, false, &stream,
                                         &missing, &err));
  CHECK(missing == 1);
  check_rows(&stream, NULL, 0);

  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_restore_ids_arrow(store, &collection, &snapshot, NULL, 2, false,
                                            &stream, NULL, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_restore_ids_arrow(store, &collection, &snapshot,
                                            (const uint8_t(*)[16])wanted, 4, false, NULL, NULL,
                                            &err));
  akidb_store_free(store);
  printf("partial: 1 passed, 0 failed\n");
  return 0;
}

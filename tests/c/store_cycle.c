/* create → list → verify → restore → prune → delete on a local store: `store_cycle DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { COUNT = 500, DIM = 16 };

static float vectors[COUNT * DIM];

static void create(const akidb_store *store, const uint8_t (*collection)[16], uint8_t (*id)[16]) {
  akidb_documents_view view = {COUNT, DIM, vectors, NULL, NULL, NULL, NULL};
  CHECK_OK(akidb_store_create(store, collection, &view, id, &err));
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (size_t i = 0; i < COUNT * DIM; i++) vectors[i] = (float)i * 0.5f;
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[1]);

  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open(uri, &store, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 7};
  uint8_t first[16], second[16];
  create(store, &collection, &first);
  create(store, &collection, &second);

  akidb_snapshot_list *list = NULL;
  CHECK_OK(akidb_store_list(store, &collection, &list, &err));
  CHECK(akidb_snapshot_list_len(list) == 2);
  const akidb_snapshot_metadata *newest = akidb_snapshot_list_get(list, 0);
  CHECK(newest != NULL && memcmp(newest->snapshot_id, second, 16) == 0);
  CHECK(newest->vector_count == COUNT && newest->dimension == DIM);
  /* Format v2: a manifest of one part (500 documents), whose own SHA-256 each restore checks. */
  CHECK(newest->format == AKIDB_FORMAT_PARQUET && !newest->has_checksum);
  CHECK(newest->schema_version == 2 && newest->part_count == 1);
  CHECK(newest->compression == AKIDB_COMPRESSION_ZSTD && newest->compression_level == 1);
  CHECK(akidb_snapshot_list_get(list, 2) == NULL);
  akidb_snapshot_list_free(list);

  akidb_snapshot_metadata verified;
  CHECK_OK(akidb_store_verify(store, &collection, &first, &verified, &err));
  CHECK(memcmp(verified.snapshot_id, first, 16) == 0 && verified.size_bytes > 0);

  akidb_documents *docs = NULL;
  CHECK_OK(akidb_store_restore(store, &collection, &first, &docs, &err));
  CHECK(akidb_documents_count(docs) == COUNT);
  CHECK(memcmp(akidb_documents_vectors(docs), vectors, sizeof vectors) == 0);
  akidb_documents_free(docs);

  akidb_retention keep_one = {1, -1, 0, false};
  size_t deleted = 0;
  CHECK_OK(akidb_store_prune(store, &collection, &keep_one, &deleted, &err));
  CHECK(deleted == 1);
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND, akidb_store_restore(store, &collection, &first, &docs, &err));

  CHECK_OK(akidb_store_delete(store, &collection, &second, &err));
  CHECK_OK(akidb_store_list(store, &collection, &list, &err));
  CHECK(akidb_snapshot_list_len(list) == 0);
  akidb_snapshot_list_free(list);
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND, akidb_store_delete(store, &collection, &second, &err));
  /* The deleted snapshots' parts go with gc, each with its id index. */
  size_t removed = 0;
  CHECK_OK(akidb_store_gc(store, 0, &removed, &err));
  CHECK(removed == 2 * 2);

  akidb_store_free(store);
  printf("store_cycle: 1 passed, 0 failed\n");
  return 0;
}

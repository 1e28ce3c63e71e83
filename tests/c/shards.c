/* Many writers, one snapshot, from C: begin → a shard per writer → commit → restore by shard →
 * delete → gc; and the refusals: a missing shard, a shard that does not exist, abort.
 * `shards DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { PER_SHARD = 300, DIM = 8, SHARDS = 3 };

static float vectors[SHARDS][PER_SHARD * DIM];

static void write_shard(const akidb_store *store, const uint8_t (*collection)[16],
                        const uint8_t (*id)[16], uint32_t index) {
  akidb_documents_view view = {PER_SHARD, DIM, vectors[index], NULL, NULL, NULL, NULL};
  CHECK_OK(akidb_store_create_shard(store, collection, id, index, SHARDS, &view, &err));
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (size_t s = 0; s < SHARDS; s++)
    for (size_t i = 0; i < PER_SHARD * DIM; i++) vectors[s][i] = (float)(s * 100000 + i);
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[1]);
  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open(uri, &store, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 9};

  uint8_t id[16];
  CHECK_OK(akidb_store_begin(store, &collection, SHARDS, &id, &err));
  write_shard(store, &collection, &id, 2);
  write_shard(store, &collection, &id, 0);
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_store_commit(store, &collection, &id, &err));
  akidb_documents_view view = {PER_SHARD, DIM, vectors[1], NULL, NULL, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT,
              akidb_store_create_shard(store, &collection, &id, 3, SHARDS, &view, &err));
  write_shard(store, &collection, &id, 1);
  CHECK_FAILS(AKIDB_ERR_ALREADY_EXISTS,
              akidb_store_create_shard(store, &collection, &id, 1, SHARDS, &view, &err));
  CHECK_OK(akidb_store_commit(store, &collection, &id, &err));

  akidb_documents *docs = NULL;
  CHECK_OK(akidb_store_restore(store, &collection, &id, &docs, &err));
  CHECK(akidb_documents_count(docs) == SHARDS * PER_SHARD);
  CHECK(memcmp(akidb_documents_vectors(docs), vectors, sizeof vectors) == 0);
  akidb_documents_free(docs);
  /* Each shard of the restore is one writer's shard here (one part each). */
  for (uint32_t s = 0; s < SHARDS; s++) {
    CHECK_OK(akidb_store_restore_shard(store, &collection, &id, s, SHARDS, &docs, &err));
    CHECK(akidb_documents_count(docs) == PER_SHARD);
    CHECK(memcmp(akidb_documents_vectors(docs), vectors[s], sizeof vectors[s]) == 0);
    akidb_documents_free(docs);
  }

  /* An abandoned attempt: abort discards it. */
  uint8_t other[16];
  CHECK_OK(akidb_store_begin(store, &collection, 2, &other, &err));
  CHECK_OK(akidb_store_create_shard(store, &collection, &other, 0, 2, &view, &err));
  CHECK_OK(akidb_store_abort(store, &collection, &other, &err));
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND, akidb_store_commit(store, &collection, &other, &err));

  /* A committed snapshot is not aborted: it is deleted. */
  CHECK_FAILS(AKIDB_ERR_ALREADY_EXISTS, akidb_store_abort(store, &collection, &id, &err));

  /* Delete removes the manifest; gc the three parts no snapshot names any more with their id
     indexes, and the committed snapshot's pending records (begin and one receipt a shard), old
     by now. */
  CHECK_OK(akidb_store_delete(store, &collection, &id, &err));
  size_t removed = 0;
  CHECK_OK(akidb_store_gc(store, 0, &removed, &err));
  CHECK(removed == 2 * SHARDS + 1 + SHARDS);
  CHECK_OK(akidb_store_gc(store, 0, &removed, &err));
  CHECK(removed == 0);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_begin(store, NULL, 1, &other, &err));

  akidb_store_free(store);
  printf("shards: 1 passed, 0 failed\n");
  return 0;
}

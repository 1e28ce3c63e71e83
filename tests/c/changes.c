/* Snapshots built on another, from C: an append of new documents, an update that replaces one
 * document and deletes another, a delete-only update, and full exports (identical, and with a
 * document changed and some gone), and a compaction; each restores to what the change says,
 * shares the base's parts, and the refusals (a document of the base appended again, delete ids NULL with a count,
 * no export) leave nothing. `changes DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { BASE = 40, DIM = 4, MORE = 5 };

static float base_vectors[BASE * DIM];
static float more_vectors[MORE * DIM];
static uint8_t base_ids[BASE][16];
static uint8_t more_ids[MORE][16];

static size_t count(const akidb_store *store, const uint8_t (*collection)[16],
                    const uint8_t (*snapshot)[16], akidb_documents **docs) {
  CHECK_OK(akidb_store_restore(store, collection, snapshot, docs, &err));
  return akidb_documents_count(*docs);
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (uint32_t i = 0; i < BASE; i++) {
    id(base_ids[i], i + 1);
    for (size_t d = 0; d < DIM; d++) base_vectors[i * DIM + d] = (float)(i * 10 + d);
  }
  for (uint32_t i = 0; i < MORE; i++) {
    id(more_ids[i], 1000 + i);
    for (size_t d = 0; d < DIM; d++) more_vectors[i * DIM + d] = (float)(-1.0 - i);
  }
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[1]);
  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open(uri, &store, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 21};

  akidb_documents_view base_view = {BASE, DIM, base_vectors, (const uint8_t(*)[16])base_ids,
                                    NULL, NULL, NULL};
  uint8_t base[16];
  CHECK_OK(akidb_store_create(store, &collection, &base_view, &base, &err));

  /* Append: the base's 40, then the 5 new ones. */
  akidb_documents_view more = {MORE, DIM, more_vectors, (const uint8_t(*)[16])more_ids,
                               NULL, NULL, NULL};
  uint8_t appended[16];
  CHECK_OK(akidb_store_append(store, &collection, &base, &more, &appended, &err));
  akidb_documents *docs = NULL;
  CHECK(count(store, &collection, &appended, &docs) == BASE + MORE);
  CHECK(memcmp(akidb_documents_vectors(docs), base_vectors, sizeof base_vectors) == 0);
  akidb_documents_free(docs);

  /* Appending a document of the base again is refused. */
  akidb_documents_view again = {1, DIM, base_vectors, (const uint8_t(*)[16])base_ids,
                                NULL, NULL, NULL};
  uint8_t refused[16];
  CHECK_FAILS(AKIDB_ERR_VALIDATION,
              akidb_store_append(store, &collection, &base, &again, &refused, &err));

  /* Update: document 1 of the base replaced (by the first "more" vector), document 2 deleted. */
  float replacement[DIM] = {7, 7, 7, 7};
  akidb_documents_view upsert = {1, DIM, replacement, (const uint8_t(*)[16])base_ids[0],
                                 NULL, NULL, NULL};
  uint8_t gone[1][16];
  memcpy(gone[0], base_ids[1], 16);
  uint8_t updated[16];
  CHECK_OK(akidb_store_update(store, &collection, &base, &upsert, (const uint8_t(*)[16])gone, 1,
                              &updated, &err));
  CHECK(count(store, &collection, &updated, &docs) == BASE - 1);
  /* The base's 3rd document first (1 replaced, 2 deleted), the replacement last. */
  CHECK(memcmp(akidb_documents_vectors(docs), base_vectors + 2 * DIM, DIM * sizeof(float)) == 0);
  CHECK(memcmp(akidb_documents_vectors(docs) + (BASE - 2) * DIM, replacement, sizeof replacement) ==
        0);
  akidb_documents_free(docs);

  /* Delete only: no upserts. */
  uint8_t fewer[16];
  CHECK_OK(akidb_store_update(store, &collection, &updated, NULL, (const uint8_t(*)[16])base_ids[5],
                              1, &fewer, &err));
  CHECK(count(store, &collection, &fewer, &docs) == BASE - 2);
  akidb_documents_free(docs);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_update(store, &collection, &base, NULL, NULL, 3, &fewer, &err));
  CHECK_OK(akidb_store_verify(store, &collection, &fewer, NULL, &err));

  /* A full export identical to the base restores as the base. */
  uint8_t same[16];
  CHECK_OK(akidb_store_create_incremental(store, &collection, &base, &base_view, &same, &err));
  CHECK(count(store, &collection, &same, &docs) == BASE);
  CHECK(memcmp(akidb_documents_vectors(docs), base_vectors, sizeof base_vectors) == 0);
  akidb_documents_free(docs);

  /* An export of the base's first 30 documents, the 3rd changed: the other 29 in the base's
     order, then the changed one. */
  static float export_vectors[30 * DIM];
  memcpy(export_vectors, base_vectors, sizeof export_vectors);
  export_vectors[2 * DIM] = -3;
  akidb_documents_view export_view = {30, DIM, export_vectors, (const uint8_t(*)[16])base_ids,
                                      NULL, NULL, NULL};
  uint8_t exported[16];
  CHECK_OK(
      akidb_store_create_incremental(store, &collection, &base, &export_view, &exported, &err));
  CHECK(count(store, &collection, &exported, &docs) == 30);
  CHECK(memcmp(akidb_documents_vectors(docs) + 29 * DIM, export_vectors + 2 * DIM,
               DIM * sizeof(float)) == 0);
  uint8_t last[16];
  CHECK(akidb_documents_id(docs, 29, &last) == AKIDB_OK);
  CHECK(memcmp(last, base_ids[2], 16) == 0);
  akidb_documents_free(docs);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_create_incremental(store, &collection, &base, NULL, &exported, &err));

  /* Compaction of the update (a tombstone part, too few rows hidden to compact by itself): the
     same documents, as a new snapshot; again, nothing to do, and the same snapshot back. */
  uint8_t compacted[16], same_again[16];
  CHECK_OK(akidb_store_compact(store, &collection, &updated, &compacted, &err));
  CHECK(memcmp(compacted, updated, 16) != 0);
  CHECK(count(store, &collection, &compacted, &docs) == BASE - 1);
  akidb_documents_free(docs);
  CHECK_OK(akidb_store_compact(store, &collection, &compacted, &same_again, &err));
  CHECK(memcmp(same_again, compacted, 16) == 0);
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_compact(store, &collection, &compacted, NULL, &err));

  akidb_store_free(store);
  printf("changes: 1 passed, 0 failed\n");
  return 0;
}

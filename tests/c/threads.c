/* Several threads create snapshots through one store handle at once: `threads DIR`. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { THREADS = 8, EACH = 3, COUNT = 200, DIM = 32 };

static const akidb_store *store;
static uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 9};
static uint8_t created[THREADS * EACH][16];

static void *worker(void *arg) {
  size_t t = (size_t)arg;
  float vectors[COUNT * DIM];
  for (size_t i = 0; i < COUNT * DIM; i++) vectors[i] = (float)(t * 1000 + i);
  akidb_documents_view view = {COUNT, DIM, vectors, NULL, NULL, NULL, NULL};
  for (size_t k = 0; k < EACH; k++) {
    CHECK_OK(akidb_store_create(store, (const uint8_t(*)[16])&collection, &view, &created[t * EACH + k], &err));
  }
  return NULL;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  char uri[4096];
  snprintf(uri, sizeof uri, "file://%s", argv[1]);
  akidb_store *owned = NULL;
  CHECK_OK(akidb_store_open(uri, &owned, &err));
  store = owned;

  pthread_t threads[THREADS];
  for (size_t t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
  for (size_t t = 0; t < THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);

  akidb_snapshot_list *list = NULL;
  CHECK_OK(akidb_store_list(store, (const uint8_t(*)[16])&collection, &list, &err));
  CHECK(akidb_snapshot_list_len(list) == THREADS * EACH);
  for (size_t i = 0; i < THREADS * EACH; i++) {
    int found = 0;
    for (size_t j = 0; j < akidb_snapshot_list_len(list); j++) {
      found |= memcmp(akidb_snapshot_list_get(list, j)->snapshot_id, created[i], 16) == 0;
    }
    CHECK(found);
    akidb_documents *docs = NULL;
    CHECK_OK(akidb_store_restore(store, (const uint8_t(*)[16])&collection, (const uint8_t(*)[16])&created[i], &docs, &err));
    CHECK(akidb_documents_count(docs) == COUNT);
    akidb_documents_free(docs);
  }
  akidb_snapshot_list_free(list);
  akidb_store_free(owned);
  printf("threads: 1 passed, 0 failed\n");
  return 0;
}

/* Several threads share one store handle and, for a bounded time, create, restore, list and
 * delete snapshots of two collections at once: `threads DIR`. Afterwards the store holds
 * exactly the snapshots reported created and not deleted, each verifying.
 * AKIDB_SOAK_SECS sets the time (default 2 seconds). */
#define _POSIX_C_SOURCE 200809L /* rand_r */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"

enum { THREADS = 6, COUNT = 100, DIM = 16, MAX_SNAPSHOTS = 4096 };

static const akidb_store *store;
static uint8_t collections[2][16] = {{0x01, 0x93, [6] = 0x70, [15] = 1},
                                     {0x01, 0x93, [6] = 0x70, [15] = 2}};
static time_t deadline;

/* The ledger: every snapshot reported created, the seed of its vectors, and whether it is
 * still live. A snapshot leaves it before it is deleted, so no thread expects it any more. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  uint8_t id[16];
  size_t collection;
  uint32_t seed;
  int live;
} ledger[MAX_SNAPSHOTS];
static size_t recorded;
static size_t counts[4];

static void fill(float *vectors, uint32_t seed) {
  for (size_t i = 0; i < COUNT * DIM; i++) vectors[i] = (float)seed * 1000.0f + (float)i;
}

/* A live entry chosen by `roll`, or -1; with `take`, it stops being live. */
static long pick(unsigned roll, int take) {
  long chosen = -1;
  pthread_mutex_lock(&lock);
  size_t live = 0;
  for (size_t i = 0; i < recorded; i++) live += ledger[i].live;
  if (live > 0) {
    size_t nth = roll % live;
    for (size_t i = 0; i < recorded && chosen < 0; i++) {
      if (ledger[i].live && nth-- == 0) chosen = (long)i;
    }
    if (take) ledger[chosen].live = 0;
  }
  pthread_mutex_unlock(&lock);
  return chosen;
}

static int is_live(long entry) {
  pthread_mutex_lock(&lock);
  int live = ledger[entry].live;
  pthread_mutex_unlock(&lock);
  return live;
}

static void create(unsigned roll, uint32_t seed) {
  float vectors[COUNT * DIM];
  fill(vectors, seed);
  akidb_documents_view view = {COUNT, DIM, vectors, NULL, NULL, NULL, NULL};
  size_t c = roll % 2;
  uint8_t id[16];
  CHECK_OK(akidb_store_create(store, (const uint8_t(*)[16])&collections[c], &view, &id, &err));
  pthread_mutex_lock(&lock);
  CHECK(recorded < MAX_SNAPSHOTS);
  memcpy(ledger[recorded].id, id, 16);
  ledger[recorded].collection = c;
  ledger[recorded].seed = seed;
  ledger[recorded].live = 1;
  recorded++;
  pthread_mutex_unlock(&lock);
}

static void restore(unsigned roll) {
  long e = pick(roll, 0);
  if (e < 0) return;
  akidb_documents *docs = NULL;
  akidb_error *err = NULL;
  akidb_result rc = akidb_store_restore(store, (const uint8_t(*)[16])&collections[ledger[e].collection],
                                        (const uint8_t(*)[16])&ledger[e].id, &docs, &err);
  if (rc == AKIDB_OK) {
    CHECK(akidb_documents_count(docs) == COUNT);
    CHECK(akidb_documents_vectors(docs)[0] == (float)ledger[e].seed * 1000.0f);
    akidb_documents_free(docs);
  } else {
    /* Only a snapshot deleted meanwhile may be missing, and only as such. */
    if (rc != AKIDB_ERR_NOT_FOUND || is_live(e)) {
      fprintf(stderr, "restore: %s: %s\n", akidb_result_name((uint32_t)rc), akidb_error_message(err));
      exit(1);
    }
    akidb_error_free(err);
  }
}

static void list(unsigned roll) {
  akidb_snapshot_list *listed = NULL;
  CHECK_OK(akidb_store_list(store, (const uint8_t(*)[16])&collections[roll % 2], &listed, &err));
  for (size_t i = 0; i < akidb_snapshot_list_len(listed); i++) {
    CHECK(akidb_snapshot_list_get(listed, i)->vector_count == COUNT);
  }
  akidb_snapshot_list_free(listed);
}

static void delete_one(unsigned roll) {
  long e = pick(roll, 1);
  if (e < 0) return;
  CHECK_OK(akidb_store_delete(store, (const uint8_t(*)[16])&collections[ledger[e].collection],
                              (const uint8_t(*)[16])&ledger[e].id, &err));
}

static void *worker(void *arg) {
  unsigned state = (unsigned)(size_t)arg * 2654435761u + 1;
  uint32_t seed = (uint32_t)(size_t)arg;
  while (time(NULL) < deadline) {
    unsigned roll = (unsigned)rand_r(&state);
    size_t action = roll % 4;
    roll /= 4;
    switch (action) {
      case 0:
        create(roll, seed += THREADS);
        break;
      case 1:
        restore(roll);
        break;
      case 2:
        list(roll);
        break;
      default:
        delete_one(roll);
    }
    pthread_mutex_lock(&lock);
    counts[action]++;
    pthread_mutex_unlock(&lock);
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
  const char *soak = getenv("AKIDB_SOAK_SECS");
  deadline = time(NULL) + (soak ? atoi(soak) : 2);

  pthread_t threads[THREADS];
  for (size_t t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
  for (size_t t = 0; t < THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);

  size_t live = 0;
  for (size_t c = 0; c < 2; c++) {
    akidb_snapshot_list *listed = NULL;
    CHECK_OK(akidb_store_list(store, (const uint8_t(*)[16])&collections[c], &listed, &err));
    size_t expected = 0;
    for (size_t i = 0; i < recorded; i++) {
      if (!ledger[i].live || ledger[i].collection != c) continue;
      expected++;
      int found = 0;
      for (size_t j = 0; j < akidb_snapshot_list_len(listed); j++) {
        found |= memcmp(akidb_snapshot_list_get(listed, j)->snapshot_id, ledger[i].id, 16) == 0;
      }
      CHECK(found);
      CHECK_OK(akidb_store_verify(store, (const uint8_t(*)[16])&collections[c],
                                  (const uint8_t(*)[16])&ledger[i].id, NULL, &err));
    }
    CHECK(akidb_snapshot_list_len(listed) == expected);
    live += expected;
    akidb_snapshot_list_free(listed);
  }
  akidb_store_free(owned);
  printf("threads: %zu creates, %zu restores, %zu lists, %zu deletes, %zu live and verified\n",
         counts[0], counts[1], counts[2], counts[3], live);
  printf("threads: 1 passed, 0 failed\n");
  return 0;
}

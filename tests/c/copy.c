/* Copies from C: a snapshot and then a collection from one store to another, only the parts the
 * destination lacks, nothing written to the source; the refusals. `copy DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { N = 200, DIM = 8 };

static float base_vectors[N * DIM];
static float added_vectors[N * DIM];

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (size_t i = 0; i < N * DIM; i++) {
    base_vectors[i] = (float)i;
    added_vectors[i] = (float)i + 0.5f;
  }
  char here_uri[4096], offsite_uri[4096];
  snprintf(here_uri, sizeof here_uri, "file://%s/here", argv[1]);
  snprintf(offsite_uri, sizeof offsite_uri, "file://%s/offsite", argv[1]);
  akidb_store *here = NULL, *offsite = NULL;
  CHECK_OK(akidb_store_open(here_uri, &here, &err));
  CHECK_OK(akidb_store_open(offsite_uri, &offsite, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 11};

  uint8_t base[16], appended[16];
  akidb_documents_view view = {N, DIM, base_vectors, NULL, NULL, NULL, NULL};
  CHECK_OK(akidb_store_create(here, &collection, &view, &base, &err));
  akidb_documents_view more = {N, DIM, added_vectors, NULL, NULL, NULL, NULL};
  CHECK_OK(akidb_store_append(here, &collection, &base, &more, &appended, &err));

  /* The base alone: its part and the part's id index. */
  akidb_copy_report report;
  CHECK_OK(akidb_store_copy(here, offsite, &collection, &base, &report, &err));
  CHECK(report.snapshots_copied == 1 && report.snapshots_present == 0);
  CHECK(report.files_copied == 2 && report.files_present == 0 && report.bytes_copied > 0);

  /* Every snapshot: the base is there; the append brings only its own part and index. */
  CHECK_OK(akidb_store_copy(here, offsite, &collection, NULL, &report, &err));
  CHECK(report.snapshots_copied == 1 && report.snapshots_present == 1);
  CHECK(report.files_copied == 2 && report.files_present == 2);

  akidb_snapshot_metadata verified;
  CHECK_OK(akidb_store_verify(offsite, &collection, &appended, &verified, &err));
  CHECK(verified.vector_count == 2 * N && verified.part_count == 2);
  akidb_documents *docs = NULL;
  CHECK_OK(akidb_store_restore(offsite, &collection, &appended, &docs, &err));
  CHECK(akidb_documents_count(docs) == 2 * N);
  CHECK(memcmp(akidb_documents_vectors(docs), base_vectors, sizeof base_vectors) == 0);
  CHECK(memcmp(akidb_documents_vectors(docs) + N * DIM, added_vectors, sizeof added_vectors) == 0);
  akidb_documents_free(docs);

  /* The refusals: a snapshot the source lacks, a NULL store or collection. The report may be
     NULL. */
  uint8_t missing[16] = {0x01, 0x93, [6] = 0x70, [15] = 99};
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND,
              akidb_store_copy(here, offsite, &collection, &missing, NULL, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT,
              akidb_store_copy(here, NULL, &collection, NULL, &report, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_copy(here, offsite, NULL, NULL, NULL, &err));

  akidb_store_free(offsite);
  akidb_store_free(here);
  printf("copy: 1 passed, 0 failed\n");
  return 0;
}

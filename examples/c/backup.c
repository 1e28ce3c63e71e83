/*
 * A database's backup and restore through libakidb_snapshot, in the fewest lines that handle
 * every error: copy from here.
 *
 *   make            # builds the library (cargo) and this program
 *   ./backup file:///tmp/akidb-backups
 *
 * The "database" is an in-memory table of N vectors with an id and a name each. It is backed
 * up as a Parquet snapshot, listed, verified, restored into a fresh table and compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "akidb_snapshot.h"

enum { ROWS = 1000, DIM = 64 };

/* Prints a failed call's code and message, frees the error, and says whether it failed. */
static int failed(akidb_result rc, akidb_error *err, const char *what) {
  if (rc == AKIDB_OK) return 0;
  fprintf(stderr, "%s failed: %s: %s\n", what, akidb_result_name(rc), akidb_error_message(err));
  akidb_error_free(err);
  return 1;
}

int main(int argc, char **argv) {
  const char *uri = argc > 1 ? argv[1] : "file://./akidb-snapshots";

  /* The table to back up: contiguous vectors plus parallel columns. */
  static float vectors[ROWS * DIM];
  static uint8_t ids[ROWS][16];
  static char names[ROWS][32];
  static const char *name_ptrs[ROWS];
  for (size_t i = 0; i < ROWS; i++) {
    for (size_t j = 0; j < DIM; j++) vectors[i * DIM + j] = (float)((i * 31 + j * 7) % 101) / 100.0f;
    memset(ids[i], 0, 16);
    ids[i][6] = 0x40; /* a version-4 UUID made of the row number */
    ids[i][8] = 0x80;
    memcpy(&ids[i][12], &i, sizeof(uint32_t));
    snprintf(names[i], sizeof names[i], "row-%zu", i);
    name_ptrs[i] = names[i];
  }
  akidb_documents_view table = {
      .count = ROWS,
      .dimension = DIM,
      .vectors = vectors,
      .document_ids = (const uint8_t(*)[16])ids,
      .external_ids = name_ptrs,
      .metadata_json = NULL,
      .inserted_at_ms = NULL,
  };
  uint8_t collection[16] = {0x01, 0x93, 0xa5, 0xb0, 0, 0, 0x70, 0, 0x80, [15] = 1};

  akidb_error *err = NULL;
  akidb_store *store = NULL;
  if (failed(akidb_store_open(uri, &store, &err), err, "open")) return 1;

  uint8_t snapshot[16];
  akidb_result rc = akidb_store_create(store, (const uint8_t(*)[16])&collection, &table, &snapshot, &err);
  if (failed(rc, err, "backup")) goto fail;

  akidb_snapshot_metadata meta;
  rc = akidb_store_verify(store, (const uint8_t(*)[16])&collection, (const uint8_t(*)[16])&snapshot, &meta, &err);
  if (failed(rc, err, "verify")) goto fail;
  printf("backed up %llu vectors of dimension %u: %llu bytes\n",
         (unsigned long long)meta.vector_count, meta.dimension, (unsigned long long)meta.size_bytes);

  akidb_documents *restored = NULL;
  rc = akidb_store_restore(store, (const uint8_t(*)[16])&collection, (const uint8_t(*)[16])&snapshot, &restored, &err);
  if (failed(rc, err, "restore")) goto fail;
  int same = akidb_documents_count(restored) == ROWS &&
             memcmp(akidb_documents_vectors(restored), vectors, sizeof vectors) == 0 &&
             strcmp(akidb_documents_external_id(restored, 7), "row-7") == 0;
  akidb_documents_free(restored);
  if (!same) {
    fprintf(stderr, "the restored table differs\n");
    goto fail;
  }
  printf("restored and compared: identical\n");
  akidb_store_free(store);
  return 0;

fail:
  akidb_store_free(store);
  return 1;
}

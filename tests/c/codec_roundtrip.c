/* Documents → Parquet bytes → inspect → documents, through the codec API, every field and
 * every float bit compared. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { COUNT = 100, DIM = 8 };

int main(void) {
  static float vectors[COUNT * DIM];
  static uint8_t ids[COUNT][16];
  static const char *external[COUNT];
  static const char *metadata[COUNT];
  static int64_t times[COUNT];
  static char names[COUNT][16];
  for (size_t i = 0; i < COUNT; i++) {
    for (size_t j = 0; j < DIM; j++) vectors[i * DIM + j] = (float)i - (float)j / 8.0f;
    memset(ids[i], 0, 16);
    ids[i][6] = 0x40; /* version 4 */
    ids[i][15] = (uint8_t)i;
    snprintf(names[i], sizeof names[i], "doc-%zu", i);
    external[i] = i % 2 == 0 ? names[i] : NULL;
    metadata[i] = i % 3 == 0 ? "{\"k\":1}" : NULL;
    times[i] = 1700000000000 + (int64_t)i;
  }
  /* Bit patterns JSON could not hold survive Parquet. */
  uint32_t nan_payload = 0x7fc01234u;
  memcpy(&vectors[5], &nan_payload, 4);
  vectors[6] = -0.0f;
  vectors[7] = INFINITY;

  akidb_documents_view view = {COUNT, DIM, vectors, (const uint8_t(*)[16])ids, external, metadata, times};
  uint8_t collection[16] = {1}, snapshot[16] = {2};
  akidb_parquet_options options = {AKIDB_COMPRESSION_ZSTD, 3, 30, true};

  akidb_bytes *bytes = NULL;
  CHECK_OK(akidb_encode_parquet(&view, &collection, &snapshot, 1700000000123, &options, &bytes, &err));
  CHECK(bytes != NULL && akidb_bytes_len(bytes) > 0);

  akidb_snapshot_info info;
  CHECK_OK(akidb_inspect_parquet(akidb_bytes_data(bytes), akidb_bytes_len(bytes), &info, &err));
  CHECK(info.vector_count == COUNT && info.dimension == DIM);
  CHECK(info.row_groups == 4 && info.schema_version == 1);
  CHECK(info.compression == AKIDB_COMPRESSION_ZSTD);
  CHECK(memcmp(info.collection_id, collection, 16) == 0);
  CHECK(memcmp(info.snapshot_id, snapshot, 16) == 0);
  CHECK(info.created_at_ms == 1700000000123 && info.file_bytes == akidb_bytes_len(bytes));

  akidb_documents *docs = NULL;
  CHECK_OK(akidb_decode_parquet(akidb_bytes_data(bytes), akidb_bytes_len(bytes), &docs, &err));
  akidb_bytes_free(bytes);
  check_same_documents(docs, &view);
  uint8_t id[16];
  CHECK(akidb_documents_id(docs, COUNT, &id) == AKIDB_ERR_INVALID_ARGUMENT);
  CHECK(akidb_documents_external_id(docs, COUNT) == NULL);
  akidb_documents_free(docs);

  printf("codec_roundtrip: 1 passed, 0 failed\n");
  return 0;
}

/* A host that links the packaged static library beside its own zstd (the system's libzstd),
 * calls both, and round-trips a snapshot through the library: the two zstd builds must not
 * meet. Built by tests/package/run.sh with the flags pkg-config gives for akidb_snapshot. */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "akidb_snapshot.h"

int main(void) {
  /* The system's zstd, by its own symbols. */
  const char text[] = "the host's own zstd compresses this, the library's compresses snapshots";
  char packed[256], unpacked[256];
  size_t n = ZSTD_compress(packed, sizeof packed, text, sizeof text, 3);
  if (ZSTD_isError(n)) return 1;
  size_t m = ZSTD_decompress(unpacked, sizeof unpacked, packed, n);
  if (ZSTD_isError(m) || m != sizeof text || memcmp(text, unpacked, m) != 0) return 2;

  /* The library, with its own zstd inside. */
  float vectors[6] = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, -0.5f};
  akidb_documents_view view = {2, 3, vectors, NULL, NULL, NULL, NULL};
  uint8_t collection[16] = {1}, snapshot[16] = {2};
  akidb_parquet_options options = {AKIDB_COMPRESSION_ZSTD, 3, 10, true};
  akidb_bytes *bytes = NULL;
  akidb_error *err = NULL;
  if (akidb_encode_parquet(&view, &collection, &snapshot, 0, &options, &bytes, &err) != AKIDB_OK) {
    fprintf(stderr, "encode: %s\n", akidb_error_message(err));
    return 3;
  }
  akidb_documents *docs = NULL;
  if (akidb_decode_parquet(akidb_bytes_data(bytes), akidb_bytes_len(bytes), &docs, &err) != AKIDB_OK) {
    fprintf(stderr, "decode: %s\n", akidb_error_message(err));
    return 4;
  }
  int same = akidb_documents_count(docs) == 2 && memcmp(akidb_documents_vectors(docs), vectors, sizeof vectors) == 0;
  akidb_documents_free(docs);
  akidb_bytes_free(bytes);
  if (!same) return 5;
  printf("zstd %s beside akidb_snapshot %s: both work\n", ZSTD_versionString(), akidb_version());
  return 0;
}

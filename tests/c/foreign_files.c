/* Snapshot files written by pyarrow, DuckDB and Polars (codec/tests/data/foreign/, made by
 * tests/interop/write_foreign.py) decode through the C API to the five documents that script
 * writes; a null vector element is a decoding error naming its row. argv[1] is that folder. */
#include <stdint.h>
#include <string.h>

#include "check.h"

static uint8_t *read_file(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  CHECK(f != NULL);
  CHECK(fseek(f, 0, SEEK_END) == 0);
  long size = ftell(f);
  CHECK(size > 0);
  rewind(f);
  uint8_t *data = malloc((size_t)size);
  CHECK(data != NULL && fread(data, 1, (size_t)size, f) == (size_t)size);
  fclose(f);
  *len = (size_t)size;
  return data;
}

int main(int argc, char **argv) {
  CHECK(argc == 2);
  const char *writers[] = {"pyarrow.parquet", "duckdb.parquet", "polars.parquet"};
  for (size_t w = 0; w < 3; w++) {
    size_t len = 0;
    uint8_t *data = read_file(argv[1], writers[w], &len);
    akidb_snapshot_info info;
    CHECK_OK(akidb_inspect_parquet(data, len, &info, &err));
    CHECK(info.vector_count == 5 && info.dimension == 4);
    akidb_documents *docs = NULL;
    CHECK_OK(akidb_decode_parquet(data, len, &docs, &err));
    free(data);
    CHECK(akidb_documents_count(docs) == 5 && akidb_documents_dimension(docs) == 4);
    const float *vectors = akidb_documents_vectors(docs);
    for (size_t i = 0; i < 5; i++) {
      for (size_t j = 0; j < 4; j++) CHECK(vectors[i * 4 + j] == (float)i + (float)j / 4.0f);
      uint8_t id[16];
      CHECK(akidb_documents_id(docs, i, &id) == AKIDB_OK);
      CHECK(id[6] == 0x40 && id[8] == 0x80 && id[15] == i + 1);
      int64_t at = akidb_documents_inserted_at_ms(docs, i);
      CHECK(at == (i == 0 ? -86400000 : 1732435200000 + (int64_t)i * 1000));
      const char *external = akidb_documents_external_id(docs, i);
      CHECK((i == 1) == (external == NULL));
      CHECK((i % 2 == 1) == (akidb_documents_metadata_json(docs, i) != NULL));
    }
    akidb_documents_free(docs);
  }

  size_t len = 0;
  uint8_t *data = read_file(argv[1], "pyarrow-null-element.parquet", &len);
  akidb_documents *docs = NULL;
  akidb_error *err = NULL;
  CHECK(akidb_decode_parquet(data, len, &docs, &err) == AKIDB_ERR_DECODING && docs == NULL);
  CHECK(strstr(akidb_error_message(err), "row 3: vector[1] is null") != NULL);
  akidb_error_free(err);
  free(data);

  printf("foreign_files: 1 passed, 0 failed\n");
  return 0;
}

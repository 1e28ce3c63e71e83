/* Every kind of bad argument gets its code and an error object, never a crash. */
#include <stdint.h>
#include <string.h>

#include "check.h"

int main(void) {
  float vectors[4] = {1, 2, 3, 4};
  uint8_t collection[16] = {1}, snapshot[16] = {2}, id[16];
  akidb_documents_view view = {2, 2, vectors, NULL, NULL, NULL, NULL};
  akidb_bytes *bytes = NULL;
  akidb_documents *docs = NULL;
  akidb_store *store = NULL;
  akidb_snapshot_info info;

  /* NULL pointers. */
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_encode_parquet(NULL, &collection, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_encode_parquet(&view, NULL, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_encode_parquet(&view, &collection, &snapshot, 0, NULL, NULL, &err));
  akidb_documents_view no_vectors = {2, 2, NULL, NULL, NULL, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_encode_parquet(&no_vectors, &collection, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_decode_parquet(NULL, 10, &docs, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_inspect_parquet((const uint8_t *)"x", 1, NULL, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_open(NULL, &store, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_list(NULL, &collection, NULL, &err));
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_restore(NULL, &collection, &snapshot, &docs, &err));
  CHECK(akidb_documents_id(NULL, 0, &id) == AKIDB_ERR_NULL_ARGUMENT);
  /* The error argument itself may be NULL: the code still says what happened. */
  CHECK(akidb_decode_parquet(NULL, 0, &docs, NULL) == AKIDB_ERR_NULL_ARGUMENT);

  /* Zero lengths, wrong dimensions, invalid values. */
  akidb_documents_view empty = {0, 2, vectors, NULL, NULL, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_encode_parquet(&empty, &collection, &snapshot, 0, NULL, &bytes, &err));
  akidb_documents_view zero_dim = {2, 0, vectors, NULL, NULL, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_encode_parquet(&zero_dim, &collection, &snapshot, 0, NULL, &bytes, &err));
  akidb_documents_view huge = {SIZE_MAX, 2, vectors, NULL, NULL, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, akidb_encode_parquet(&huge, &collection, &snapshot, 0, NULL, &bytes, &err));
  const char *bad_json[2] = {"{\"ok\": true}", "{not json"};
  akidb_documents_view bad_meta = {2, 2, vectors, NULL, NULL, bad_json, NULL};
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_encode_parquet(&bad_meta, &collection, &snapshot, 0, NULL, &bytes, &err));
  /* The nil UUID names nothing: not as a collection, a snapshot or a document. */
  uint8_t nil[16] = {0};
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_encode_parquet(&view, &nil, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_VALIDATION, akidb_encode_parquet(&view, &collection, &nil, 0, NULL, &bytes, &err));
  uint8_t doc_ids[2][16] = {{7}, {0}};
  akidb_documents_view nil_doc = {2, 2, vectors, (const uint8_t(*)[16])doc_ids, NULL, NULL, NULL};
  {
    akidb_error *err = NULL;
    CHECK(akidb_encode_parquet(&nil_doc, &collection, &snapshot, 0, NULL, &bytes, &err) == AKIDB_ERR_VALIDATION);
    CHECK(strstr(akidb_error_message(err), "document #1") != NULL);
    CHECK(strstr(akidb_error_message(err), "nil UUID") != NULL);
    akidb_error_free(err);
  }
  akidb_parquet_options bad_codec = {99, 0, 0, true};
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, akidb_encode_parquet(&view, &collection, &snapshot, 0, &bad_codec, &bytes, &err));

  /* Non-UTF-8 strings. */
  const char not_utf8[] = {(char)0xff, (char)0xfe, 0};
  const char *bad_ext[2] = {not_utf8, NULL};
  akidb_documents_view bad_text = {2, 2, vectors, NULL, bad_ext, NULL, NULL};
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, akidb_encode_parquet(&bad_text, &collection, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_INVALID_ARGUMENT, akidb_store_open(not_utf8, &store, &err));

  /* Garbage bytes, and a file cut short. */
  const uint8_t garbage[64] = {'P', 'A', 'R', '1', 1, 2, 3};
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_decode_parquet(garbage, sizeof garbage, &docs, &err));
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_decode_parquet(garbage, 0, &docs, &err));
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_inspect_parquet(garbage, sizeof garbage, &info, &err));
  CHECK_OK(akidb_encode_parquet(&view, &collection, &snapshot, 0, NULL, &bytes, &err));
  CHECK_FAILS(AKIDB_ERR_DATA_CORRUPTION, akidb_decode_parquet(akidb_bytes_data(bytes), akidb_bytes_len(bytes) - 9, &docs, &err));
  akidb_bytes_free(bytes);

  /* Bad store URIs and configurations. */
  CHECK_FAILS(AKIDB_ERR_CONFIG, akidb_store_open("ftp://nowhere", &store, &err));
  CHECK_FAILS(AKIDB_ERR_CONFIG, akidb_store_open_toml("[storage]\nurl = \"memory://\"", &store, &err));
  CHECK_OK(akidb_store_open_toml("[storage]\nuri = \"memory://\"", &store, &err));
  CHECK_FAILS(AKIDB_ERR_NOT_FOUND, akidb_store_restore(store, &collection, &snapshot, &docs, &err));
  akidb_retention policy = {-1, -1, 0, true};
  CHECK_FAILS(AKIDB_ERR_NULL_ARGUMENT, akidb_store_prune(store, &collection, NULL, NULL, &err));
  CHECK_OK(akidb_store_prune(store, &collection, &policy, NULL, &err));
  akidb_store_free(store);

  /* Frees accept NULL; names of codes. */
  akidb_store_free(NULL);
  akidb_documents_free(NULL);
  akidb_bytes_free(NULL);
  akidb_snapshot_list_free(NULL);
  akidb_error_free(NULL);
  CHECK(strcmp(akidb_result_name(AKIDB_ERR_NOT_FOUND), "AKIDB_ERR_NOT_FOUND") == 0);
  CHECK(strcmp(akidb_result_name(12345), "unknown") == 0);
  CHECK(akidb_version()[0] != '\0');

  printf("bad_input: 1 passed, 0 failed\n");
  return 0;
}

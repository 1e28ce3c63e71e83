/* Encrypted snapshots from C (docs/ENCRYPTION.md): a store opened from TOML with
 * [storage.encryption] creates and restores; the same store opened without the key refuses the
 * restore with AKIDB_ERR_ENCRYPTION_KEY, naming the key, and still verifies the stored bytes.
 * `encryption DIR`. */
#include <stdint.h>
#include <string.h>

#include "check.h"

enum { COUNT = 300, DIM = 8 };

static float vectors[COUNT * DIM];

int main(int argc, char **argv) {
  CHECK(argc == 2);
  for (size_t i = 0; i < COUNT * DIM; i++) vectors[i] = (float)i * 0.25f;
  char key_path[2048], toml[8192], uri[2048];
  snprintf(key_path, sizeof key_path, "%s/master.key", argv[1]);
  FILE *key = fopen(key_path, "w");
  CHECK(key != NULL);
  fputs("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", key);
  fclose(key);
  snprintf(uri, sizeof uri, "file://%s/store", argv[1]);
  snprintf(toml, sizeof toml,
           "[storage]\nuri = \"%s\"\n[storage.encryption]\nkey_id = \"c-host\"\nkey_file = \"%s\"\n",
           uri, key_path);

  akidb_store *store = NULL;
  CHECK_OK(akidb_store_open_toml(toml, &store, &err));
  uint8_t collection[16] = {0x01, 0x93, [6] = 0x70, [15] = 9};
  uint8_t id[16];
  akidb_documents_view view = {COUNT, DIM, vectors, NULL, NULL, NULL, NULL};
  CHECK_OK(akidb_store_create(store, &collection, &view, &id, &err));
  akidb_documents *docs = NULL;
  CHECK_OK(akidb_store_restore(store, &collection, &id, &docs, &err));
  CHECK(akidb_documents_count(docs) == COUNT);
  CHECK(memcmp(akidb_documents_vectors(docs), vectors, sizeof vectors) == 0);
  akidb_documents_free(docs);

  akidb_store *keyless = NULL;
  CHECK_OK(akidb_store_open(uri, &keyless, &err));
  akidb_error *err = NULL;
  CHECK(akidb_store_restore(keyless, &collection, &id, &docs, &err) == AKIDB_ERR_ENCRYPTION_KEY);
  CHECK(err != NULL && strstr(akidb_error_message(err), "`c-host`") != NULL);
  CHECK(strcmp(akidb_result_name(AKIDB_ERR_ENCRYPTION_KEY), "AKIDB_ERR_ENCRYPTION_KEY") == 0);
  akidb_error_free(err);
  akidb_snapshot_metadata verified;
  CHECK_OK(akidb_store_verify(keyless, &collection, &id, &verified, &err));
  CHECK(verified.vector_count == COUNT);

  /* A key file that is not a key is a configuration error. */
  key = fopen(key_path, "w");
  CHECK(key != NULL);
  fputs("0011", key);
  fclose(key);
  akidb_store *bad = NULL;
  CHECK_FAILS(AKIDB_ERR_CONFIG, akidb_store_open_toml(toml, &bad, &err));
  CHECK(bad == NULL);

  akidb_store_free(keyless);
  akidb_store_free(store);
  printf("encryption: 1 passed, 0 failed\n");
  return 0;
}
